"""Loading the menu trees: ``menus/trees/*.toml``, checked once at start-up.

An option may carry ``when`` (``postpaid``, ``language:ne``, ``care:statement``):
it is offered only where the profile has that, so one tree serves every operator.

The gateway refuses to start on a broken tree, naming the file and the path
inside it: a target that names no screen, an action that is not a use case,
an argument the action does not take, a stored answer nobody asks for, a
validator it does not know, or a text missing in one of the languages.
``read_menus`` finds every such problem (``load_menus`` refuses on the
first); ``menus.lint`` adds what needs the whole tree and the texts.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.profile import OperatorProfile
from menus.actions import ACTION_TABLE, Texts
from menus.tree import MenusError, MenuTree, Option, Problem, Screen, ScreenKind
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


class MenuError(MenusError):
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
    menus, problems = read_menus(texts, profile, root)
    if problems:
        raise MenuError(str(problems[0]))
    return menus


def read_menus(texts: Texts, profile: OperatorProfile, root: Path = TREES_DIR) -> tuple[Menus, list[Problem]]:
    """Every tree under ``root`` and every problem found in them, in file order.

    A screen with a problem is left out of its tree (links to it are not
    reported again); a file that cannot be used at all is left out.
    """
    problems: list[Problem] = []
    trees: dict[str, MenuTree] = {}
    by_code: dict[str, str] = {}
    validators: dict[tuple[str, str], Validator] = {}
    for path in sorted(root.glob("*.toml")):
        loaded = _load_tree(path, profile, problems)
        if loaded is None:
            continue
        tree, compiled = loaded
        code = getattr(profile.codes, tree.code)
        if code in by_code:
            problems.append(Problem(path, "code", f"{tree.code} ({code}) is also answered by "
                                                  f"{by_code[code]}.toml"))
            continue
        by_code[code] = tree.name
        trees[tree.name] = tree
        validators.update({(tree.name, sid): v for sid, v in compiled.items()})
        for where, key in text_keys(tree, compiled):
            if not texts.has(key):
                problems.append(Problem(path, where, f"no text {key!r} in menus/locales/*/"
                                                     f"{key.split('.')[0]}.toml"))
    for key in ENGINE_TEXTS:
        if not texts.has(key):
            problems.append(Problem(Path("menus/locales/*/ussd.toml"), key, "missing (the engine shows it)"))
    if not trees and not problems:
        problems.append(Problem(root, "", "no menu trees"))
    return Menus(trees, by_code, validators), problems


def _load_tree(
    path: Path, profile: OperatorProfile, problems: list[Problem]
) -> tuple[MenuTree, dict[str, Validator]] | None:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append(Problem(path, "", f"cannot read: {exc}"))
        return None
    before = len(problems)
    for key in raw:
        if key not in ("code", "start", "screens"):
            problems.append(Problem(path, key, "unknown key"))
    code, start, table = raw.get("code"), raw.get("start"), raw.get("screens")
    codes = {f.name for f in dataclasses.fields(profile.codes)}
    if code not in codes:
        problems.append(Problem(path, "code", f"{code!r} is not one of {', '.join(sorted(codes))}"))
    if not isinstance(table, dict) or not table:
        problems.append(Problem(path, "screens", "missing"))
    if len(problems) > before:
        return None
    assert isinstance(table, dict)
    screens: dict[str, Screen] = {}
    broken: set[str] = set()
    validators: dict[str, Validator] = {}
    for sid, spec in table.items():
        where = f"screens.{sid}"
        if not isinstance(spec, dict):
            problems.append(Problem(path, where, "expected a table"))
            broken.add(sid)
            continue
        screen, validator = _screen(path, where, sid, spec, profile, problems)
        if screen is None:
            broken.add(sid)
            continue
        screens[sid] = screen
        if validator is not None:
            validators[sid] = validator
    if start not in screens and start not in broken:
        problems.append(Problem(path, "start", f"no screen {start!r}"))
    tree = MenuTree(path.stem, str(code), str(start), screens, path)
    _check_links(tree, broken, problems)
    return tree, validators


def _screen(
    path: Path, where: str, sid: str, spec: dict[str, Any], profile: OperatorProfile, problems: list[Problem]
) -> tuple[Screen | None, Validator | None]:
    """The screen ``spec`` describes, or None (its problems added to ``problems``)."""
    before = len(problems)

    def refuse(key: str, message: str) -> None:
        problems.append(Problem(path, f"{where}.{key}", message))

    try:
        kind = ScreenKind(spec.get("kind"))
    except ValueError:
        refuse("kind", f"expected one of {', '.join(k.value for k in ScreenKind)}")
        return None, None
    for key in spec:
        if key != "kind" and key not in _KEYS[kind]:
            refuse(key, f"unknown key for a {kind.value} screen")
    for key in _REQUIRED[kind]:
        if key not in spec:
            refuse(key, "missing")
    options: list[Option] = []
    withheld: list[Option] = []
    for i, opt in enumerate(spec.get("options", ())):
        if not (isinstance(opt, dict) and {"label", "target"} <= set(opt) <= {"label", "target", "when"}):
            refuse(f"options[{i}]", "expected {label, target[, when]}")
            continue
        try:
            offered = "when" not in opt or offers(profile, str(opt["when"]))
        except ValueError as exc:
            refuse(f"options[{i}].when", str(exc))
            continue
        (options if offered else withheld).append(Option(str(opt["label"]), str(opt["target"]), i))
    validator = None
    if kind is ScreenKind.INPUT and "validate" in spec:
        try:
            validator = build_validator(str(spec["validate"]), spec, profile.number_plan)
        except ValueError as exc:
            refuse("validate", str(exc))
    action = spec.get("action")
    if action is not None and action not in ACTION_TABLE:
        refuse("action", f"unknown action {action!r}")
    show = spec.get("show")
    if show is not None and (show not in ACTION_TABLE or ACTION_TABLE[show].writes):
        refuse("show", f"{show!r} is not a read-only action")
    args = spec.get("args", {})
    if not isinstance(args, dict):
        refuse("args", "expected a table")
    elif isinstance(action, str) and action in ACTION_TABLE:
        spec_ = ACTION_TABLE[action]
        for name in args:
            if name not in spec_.params:
                refuse(f"args.{name}", f"{action} takes no {name!r}")
        for name in sorted(spec_.params - spec_.optional - set(args)):
            refuse(f"args.{name}", f"missing for {action}")
    if len(problems) > before:
        return None, None
    return Screen(
        id=sid, kind=kind, text=spec.get("text"), options=tuple(options), next=spec.get("next"),
        cancel=spec.get("cancel"), validate=spec.get("validate"), store=spec.get("store"),
        dialled_only=bool(spec.get("dialled_only", False)), action=action,
        args=tuple((str(k), str(v)) for k, v in args.items()), show=show,
        own_line=bool(spec.get("own_line", False)), secret=bool(spec.get("secret", False)),
        withheld=tuple(withheld),
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


def _check_links(tree: MenuTree, broken: set[str], problems: list[Problem]) -> None:
    """Targets naming no screen and arguments naming no stored answer (``broken``: screens
    left out for problems of their own, not reported again)."""
    stored = {s.store for s in tree.screens.values() if s.store}
    for sid, screen in tree.screens.items():
        for where, target in screen.links():
            if target not in tree.screens and target not in broken:
                problems.append(Problem(tree.path, f"screens.{sid}.{where}", f"no screen {target!r}"))
        for name, value in screen.args:
            if value.startswith("$") and value[1:] not in stored:
                problems.append(Problem(tree.path, f"screens.{sid}.args.{name}",
                                        f"no input stores {value[1:]!r}"))


def text_keys(tree: MenuTree, validators: Mapping[str, Validator]) -> Iterable[tuple[str, str]]:
    """(key path, text key) of every text the tree shows, withheld options' labels too."""
    for sid, screen in tree.screens.items():
        if screen.text:
            yield f"screens.{sid}.text", screen.text
        for option in (*screen.options, *screen.withheld):
            yield f"screens.{sid}.options[{option.place}].label", option.label
        if sid in validators:
            yield f"screens.{sid}.validate", validators[sid].hint
