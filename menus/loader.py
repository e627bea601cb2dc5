"""Loading the menu trees: ``menus/trees/*.toml``, checked once at start-up.

An option may carry ``when`` (``postpaid``, ``language:ne``, ``care:statement``):
it is offered only where the profile has that, so one tree serves every operator.

The gateway refuses to start on a broken tree, naming the file and the path
inside it: a target that names no screen, an action that is not a use case,
an argument the action does not take, a stored answer nobody asks for, a
validator it does not know, or a text missing in one of the languages.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.config import ConfigError
from gateway.profile import OperatorProfile
from gateway.services.facade import ACTIONS
from menus.actions import ACTION_TABLE, Texts
from menus.model import MenuTree, Option, Screen, ScreenKind
from menus.validators import Validator, build_validator

TREES_DIR = Path(__file__).resolve().parent / "trees"

#: The customer-care requests a ``care:<request>`` condition may name (``gateway.domain.care.CarePolicy``).
CARE_REQUESTS = frozenset({"statement", "dispute", "complaint", "number_change"})

#: Texts the engine itself shows, whatever the trees say.
ENGINE_TEXTS = ("ussd.more", "ussd.back", "ussd.hint_choice", "ussd.confirm_yes",
                "ussd.confirm_no", "ussd.expired", "ussd.unknown_code", "ussd.unavailable")

_KEYS: dict[ScreenKind, frozenset[str]] = {
    ScreenKind.MENU: frozenset({"text", "options", "show", "own_line"}),
    ScreenKind.INPUT: frozenset({"text", "validate", "min_length", "max_length", "store", "next",
                                 "dialled_only", "own_line", "secret"}),
    ScreenKind.CONFIRM: frozenset({"text", "next", "cancel", "own_line"}),
    ScreenKind.ACTION: frozenset({"text", "action", "args", "own_line"}),
    ScreenKind.END: frozenset({"text", "own_line"}),
}
_REQUIRED: dict[ScreenKind, tuple[str, ...]] = {
    ScreenKind.MENU: ("text", "options"),
    ScreenKind.INPUT: ("text", "validate", "store", "next"),
    ScreenKind.CONFIRM: ("text", "next"),
    ScreenKind.ACTION: ("action",),
    ScreenKind.END: ("text",),
}


class MenuError(ConfigError):
    """A menu tree cannot be used; the message names the file and the key path.

    A configuration error like any other: the command line refuses in one line.
    """


@dataclass(frozen=True)
class Menus:
    trees: Mapping[str, MenuTree]
    #: Service code as dialled (``*100#``) → tree name.
    by_code: Mapping[str, str]
    #: (tree, screen) → the compiled validator of an input screen.
    validators: Mapping[tuple[str, str], Validator]


def load_menus(texts: Texts, profile: OperatorProfile, root: Path = TREES_DIR) -> Menus:
    """Read every ``*.toml`` under ``root`` and check it against the texts.

    The catalog has already checked that every language has every key; here
    each key a tree names must exist.

    Raises:
        MenuError: naming the file and the path of the first problem.
    """
    trees: dict[str, MenuTree] = {}
    by_code: dict[str, str] = {}
    validators: dict[tuple[str, str], Validator] = {}
    for path in sorted(root.glob("*.toml")):
        tree, compiled = _load_tree(path, profile)
        code = getattr(profile.codes, tree.code)
        if code in by_code:
            raise MenuError(f"{path}: code: {tree.code} ({code}) is also answered by "
                            f"{by_code[code]}.toml")
        by_code[code] = tree.name
        trees[tree.name] = tree
        validators.update({(tree.name, sid): v for sid, v in compiled.items()})
        for where, key in _text_keys(tree, compiled):
            if not texts.has(key):
                raise MenuError(f"{path}: {where}: no text {key!r} in menus/locales/*/"
                                f"{key.split('.')[0]}.toml")
    for key in ENGINE_TEXTS:
        if not texts.has(key):
            raise MenuError(f"menus/locales/*/ussd.toml: no text {key!r}")
    if not trees:
        raise MenuError(f"{root}: no menu trees")
    return Menus(trees, by_code, validators)


def _load_tree(path: Path, profile: OperatorProfile) -> tuple[MenuTree, dict[str, Validator]]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MenuError(f"{path}: cannot read: {exc}") from None
    for key in raw:
        if key not in ("code", "start", "screens"):
            raise MenuError(f"{path}: {key}: unknown key")
    code, start, table = raw.get("code"), raw.get("start"), raw.get("screens")
    codes = {f.name for f in dataclasses.fields(profile.codes)}
    if code not in codes:
        raise MenuError(f"{path}: code: {code!r} is not one of {', '.join(sorted(codes))}")
    if not isinstance(table, dict) or not table:
        raise MenuError(f"{path}: screens: missing")
    screens: dict[str, Screen] = {}
    validators: dict[str, Validator] = {}
    for sid, spec in table.items():
        where = f"screens.{sid}"
        if not isinstance(spec, dict):
            raise MenuError(f"{path}: {where}: expected a table")
        screens[sid], validator = _screen(str(path), where, sid, spec, profile)
        if validator is not None:
            validators[sid] = validator
    if start not in screens:
        raise MenuError(f"{path}: start: no screen {start!r}")
    tree = MenuTree(path.stem, code, start, screens, path)
    _check_links(tree)
    return tree, validators


def _screen(
    fname: str, where: str, sid: str, spec: dict[str, Any], profile: OperatorProfile
) -> tuple[Screen, Validator | None]:
    try:
        kind = ScreenKind(spec.get("kind"))
    except ValueError:
        raise MenuError(f"{fname}: {where}.kind: expected one of "
                        f"{', '.join(k.value for k in ScreenKind)}") from None
    for key in spec:
        if key != "kind" and key not in _KEYS[kind]:
            raise MenuError(f"{fname}: {where}.{key}: unknown key for a {kind.value} screen")
    for key in _REQUIRED[kind]:
        if key not in spec:
            raise MenuError(f"{fname}: {where}.{key}: missing")
    options = []
    for i, opt in enumerate(spec.get("options", ())):
        if not (isinstance(opt, dict) and {"label", "target"} <= set(opt) <= {"label", "target", "when"}):
            raise MenuError(f"{fname}: {where}.options[{i}]: expected {{label, target[, when]}}")
        try:
            offered = "when" not in opt or offers(profile, str(opt["when"]))
        except ValueError as exc:
            raise MenuError(f"{fname}: {where}.options[{i}].when: {exc}") from None
        if offered:
            options.append(Option(str(opt["label"]), str(opt["target"])))
    validator = None
    if kind is ScreenKind.INPUT:
        try:
            validator = build_validator(str(spec["validate"]), spec, profile.number_plan)
        except ValueError as exc:
            raise MenuError(f"{fname}: {where}.validate: {exc}") from None
    action = spec.get("action")
    if action is not None and (action not in ACTIONS or action not in ACTION_TABLE):
        raise MenuError(f"{fname}: {where}.action: unknown action {action!r}")
    show = spec.get("show")
    if show is not None and (show not in ACTION_TABLE or ACTION_TABLE[show].writes):
        raise MenuError(f"{fname}: {where}.show: {show!r} is not a read-only action")
    args = spec.get("args", {})
    if not isinstance(args, dict):
        raise MenuError(f"{fname}: {where}.args: expected a table")
    if action is not None:
        spec_ = ACTION_TABLE[action]
        for name in args:
            if name not in spec_.params:
                raise MenuError(f"{fname}: {where}.args.{name}: {action} takes no {name!r}")
        for name in spec_.params - spec_.optional - set(args):
            raise MenuError(f"{fname}: {where}.args.{name}: missing for {action}")
    return Screen(
        id=sid, kind=kind, text=spec.get("text"), options=tuple(options), next=spec.get("next"),
        cancel=spec.get("cancel"), validate=spec.get("validate"), store=spec.get("store"),
        dialled_only=bool(spec.get("dialled_only", False)), action=action,
        args=tuple((str(k), str(v)) for k, v in args.items()), show=show,
        own_line=bool(spec.get("own_line", False)), secret=bool(spec.get("secret", False)),
    ), validator


def offers(profile: OperatorProfile, condition: str) -> bool:
    """Whether the profile has what an option's ``when`` names: ``postpaid`` (it has postpaid
    lines), ``language:<code>`` (it speaks that language) or ``care:<request>`` (it offers that
    customer-care request, ``OperatorProfile.care``). Profile data, never its name.

    Raises:
        ValueError: a condition nobody knows.
    """
    if condition == "postpaid":
        return profile.has_postpaid
    kind, _, value = condition.partition(":")
    if kind == "language" and value:
        return value in profile.languages
    if kind == "care" and value in CARE_REQUESTS:
        return value in profile.care.offered
    raise ValueError(f"unknown condition {condition!r} (postpaid, language:<code>, "
                     f"care:{'|'.join(sorted(CARE_REQUESTS))})")


def _check_links(tree: MenuTree) -> None:
    fname = str(tree.path)
    stored = {s.store for s in tree.screens.values() if s.store}
    for sid, screen in tree.screens.items():
        links: list[tuple[str, str | None]] = [
            (f"options[{i}].target", o.target) for i, o in enumerate(screen.options)
        ]
        links += [("next", screen.next), ("cancel", screen.cancel)]
        for where, target in links:
            if target is not None and target not in tree.screens:
                raise MenuError(f"{fname}: screens.{sid}.{where}: no screen {target!r}")
        for name, value in screen.args:
            if value.startswith("$") and value[1:] not in stored:
                raise MenuError(f"{fname}: screens.{sid}.args.{name}: no input stores {value[1:]!r}")


def _text_keys(tree: MenuTree, validators: Mapping[str, Validator]) -> Iterable[tuple[str, str]]:
    for sid, screen in tree.screens.items():
        if screen.text:
            yield f"screens.{sid}.text", screen.text
        for i, option in enumerate(screen.options):
            yield f"screens.{sid}.options[{i}].label", option.label
        if sid in validators:
            yield f"screens.{sid}.validate", validators[sid].hint
