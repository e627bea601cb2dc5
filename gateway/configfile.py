"""Reading TOML settings into typed objects: msgspec converts, this module makes its refusals name the key.

A schema is a dataclass (or a ``msgspec.Struct``) whose fields carry their constraints as
``Annotated[T, must("refusal", ge=0)]``; ``convert`` checks a table against it and turns
msgspec's ``Expected `int` >= 0 - at `$.http.port``` into ``http.port: <the refusal>``,
so every message an operator sees names the key to fix. ``from_environment`` reads the
``GATEWAY_<SECTION>_<KEY>`` overrides of one section with the same types.

Used by ``gateway.config`` (the gateway's settings), ``gateway.profile`` (operator profiles)
and the SMSC simulator's own settings.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import inspect

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Where an installed package keeps its copy of ``config/`` (``setup.py`` puts it there when the
#: wheel is built; a checkout has none).
PACKAGED_CONFIG_DIR = Path(__file__).resolve().parent / "defaults"
#: The embedded default configuration and operator profiles: the package's copy when installed,
#: else the repository's ``config/``.
CONFIG_DIR = PACKAGED_CONFIG_DIR if (PACKAGED_CONFIG_DIR / "gateway.toml").is_file() else PROJECT_ROOT / "config"
#: ``gateway.toml``: the gateway's sections and the simulator's ``[simulator]``.
DEFAULT_CONFIG = CONFIG_DIR / "gateway.toml"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


#: How a refusal names the expected type (a ``tuple`` is a TOML list, a ``dict`` a table).
TYPE_WORDS: Mapping[type, str] = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
                                  tuple: "a list of strings", dict: "a table of strings"}
#: The Python type of each of msgspec's kinds of type, for ``words``.
_PYTHON = {inspect.BoolType: bool, inspect.IntType: int, inspect.FloatType: float, inspect.StrType: str,
           inspect.LiteralType: str, inspect.VarTupleType: tuple, inspect.DictType: dict}
#: The kinds of type that are tables: refused without quoting the value.
TABLES = (inspect.DataclassType, inspect.StructType)
#: msgspec's words for a broken bound, and the ``must`` keyword of each.
_BOUNDS = (("of length <=", "max_length"), ("of length >=", "min_length"), (">=", "ge"), ("<=", "le"),
           (">", "gt"), ("<", "lt"), ("Invalid enum value", "choice"), ("Invalid value", "choice"))


def must(refusal: str, *, choice: bool = False, typed: bool = False, **bounds: Any) -> msgspec.Meta:
    """Constraints (``ge=0``, ``max_length=15``) and what to say when one breaks.

    ``choice``: the refusal of a value a ``Literal`` does not list; ``typed``: of a value of the wrong
    type (instead of ``expected an integer, got 'x'``). ``refusal`` may quote the value as ``{value}``
    (``"not a TCP port: {value}"``). Several ``must`` on one type keep a refusal each.
    """
    names = [*bounds] + ["choice"] * choice + ["type"] * typed
    return msgspec.Meta(**bounds, extra={name: refusal for name in names})


# The constraints several sections share, each with its refusal.
Port = Annotated[int, must("not a TCP port: {value}", ge=0, le=65535)]
Positive = Annotated[float, must("must be greater than 0, got {value}", gt=0)]
PositiveInt = Annotated[int, must("must be greater than 0, got {value}", gt=0)]


def read_toml(path: Path) -> dict[str, Any]:
    """The file's tables. Raises ConfigError naming the file when it cannot be read or parsed."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def convert(data: Mapping[str, Any], schema: type[T], *, prefix: str = "",
            words: Mapping[type, str] = TYPE_WORDS) -> T:
    """``data`` as a ``schema``, every value checked; a refusal is ``ConfigError("<prefix><key>: <why>")``.

    Unknown keys are refused for dataclass schemas here (msgspec does it for Structs declared with
    ``forbid_unknown_fields``); floats must be finite, since nan and inf pass every bound.
    """
    info = inspect.type_info(schema)
    try:
        _check_keys(data, info, "")
        value = msgspec.convert(data, schema)
    except _Refused as refused:
        raise ConfigError(f"{prefix}{refused.key}: {refused.reason}") from None
    except msgspec.ValidationError as exc:
        raise ConfigError(prefix + _explain(str(exc), data, info, words)) from None
    return value


def names(schema: type) -> tuple[str, ...]:
    """The keys of a dataclass or Struct schema, in order."""
    info = inspect.type_info(schema)
    assert isinstance(info, (inspect.DataclassType, inspect.StructType))
    return tuple(field.name for field in info.fields)


def from_environment(section: str, schema: type, environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``GATEWAY_<SECTION>_<KEY>`` values set for ``section``, parsed to the types of ``schema``.

    Booleans take 1/0, true/false, yes/no, on/off; lists are comma-separated; tables cannot be set.
    """
    info = inspect.type_info(schema)
    assert isinstance(info, (inspect.DataclassType, inspect.StructType))
    values: dict[str, Any] = {}
    for field in info.fields:
        env = f"GATEWAY_{section}_{field.name}".upper()
        if env in environ:
            values[field.name] = _from_text(f"{section}.{field.name}", env, _unwrap(field.type), environ[env])
    return values


def variables(sections: Mapping[str, type]) -> set[str]:
    """The ``GATEWAY_*`` names of every key of ``sections`` (section name → schema)."""
    return {f"GATEWAY_{section}_{key}".upper() for section, schema in sections.items() for key in names(schema)}


def _from_text(key: str, env: str, kind: inspect.Type, text: str) -> Any:
    try:
        if isinstance(kind, inspect.BoolType):
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(kind, inspect.IntType):
            return int(text)
        if isinstance(kind, inspect.FloatType):
            return float(text)
        if isinstance(kind, (inspect.StrType, inspect.LiteralType)):
            return text
        if isinstance(kind, inspect.VarTupleType):
            return [part.strip() for part in text.split(",") if part.strip()]
    except ValueError:
        name = {inspect.BoolType: "boolean", inspect.IntType: "integer", inspect.FloatType: "number"}[type(kind)]
        raise ConfigError(f"{key} (from {env}): {text!r} is not a valid {name}") from None
    raise ConfigError(f"{env}: {key} cannot be set from the environment")


class _Refused(Exception):
    def __init__(self, key: str, reason: str) -> None:
        self.key, self.reason = key, reason


def _check_keys(data: Any, info: inspect.Type, key: str) -> None:
    """Unknown keys of dataclass tables, and floats that are not finite, before msgspec sees them."""
    kind = _unwrap(info)
    if isinstance(kind, inspect.DataclassType) and isinstance(data, Mapping):
        fields = {field.name: field.type for field in kind.fields}
        for name, value in data.items():
            dotted = f"{key}.{name}" if key else name
            if name not in fields:
                raise _Refused(dotted, "unknown key")
            _check_keys(value, fields[name], dotted)
    elif isinstance(kind, inspect.FloatType) and isinstance(data, float) and not math.isfinite(data):
        raise _Refused(key, f"expected a finite number, got {data!r}")


def _unwrap(kind: inspect.Type) -> inspect.Type:
    """The type under its constraints, and under ``| None`` (an optional key or table)."""
    if isinstance(kind, inspect.UnionType):
        others = [t for t in kind.types if not isinstance(t, inspect.NoneType)]
        kind = others[0] if len(others) == 1 else kind
    return kind.type if isinstance(kind, inspect.Metadata) else kind


def _explain(message: str, data: Any, info: inspect.Type, words: Mapping[type, str]) -> str:
    """``key: why`` for one of msgspec's refusals, from the schema's refusals and ``words``."""
    message, _, where = message.partition(" - at `")
    steps: list[tuple[str, str]] = re.findall(r"\.(\w+)|\[([^\]]*)\]", where.rstrip("`").removeprefix("$"))
    field = re.search(r"field `(\w+)`", message)
    if field:  # missing or unknown: the key is one step further
        steps.append((field.group(1), ""))
    depth = next((n for n, (name, _) in enumerate(steps) if not name), len(steps))
    key = ".".join(name for name, _ in steps[:depth])
    kind, value, extras = info, data, {}
    field_kind, whole = kind, value
    for n, (name, item) in enumerate(steps):
        kind, found = _step(kind, name)
        extras.update(found)
        value = _child(value, name or item)
        if n < depth:
            field_kind, whole = kind, value
    base, field_kind = _unwrap(kind), _unwrap(field_kind)
    if message.startswith("Object missing required field"):
        return f"[{key}] is missing" if isinstance(base, TABLES) else f"{key}: missing"
    if message.startswith("Object contains unknown field"):
        return f"{key}: unknown key"
    if isinstance(base, inspect.FloatType) and isinstance(value, int):
        value = float(value)
    for said, bound in _BOUNDS:
        if said in message and bound in extras:
            return f"{key}: {extras[bound].format(value=value)}"
    if message.startswith("Expected `"):
        if "type" in extras:
            return f"{key}: {extras['type']}"
        expected = f"expected {words.get(_PYTHON.get(type(field_kind), dict), 'a table')}"
        return f"{key}: {expected}" if isinstance(field_kind, TABLES) else f"{key}: {expected}, got {whole!r}"
    return f"{key}: {message[:1].lower()}{message[1:]}"


def _step(kind: inspect.Type, name: str) -> tuple[inspect.Type, dict[str, Any]]:
    """The type one step down (a field ``name``, else an item) and the refusals it carries."""
    base = _unwrap(kind)
    down: inspect.Type = base
    if name and isinstance(base, (inspect.DataclassType, inspect.StructType)):
        down = next((field.type for field in base.fields if field.name == name), base)
    elif isinstance(base, (inspect.VarTupleType, inspect.ListType)):
        down = base.item_type
    elif isinstance(base, inspect.DictType):
        down = base.value_type
    if down is base:
        return base, {}
    optional = [t for t in down.types if not isinstance(t, inspect.NoneType)] if isinstance(
        down, inspect.UnionType) else [down]
    extras = optional[0].extra if len(optional) == 1 and isinstance(optional[0], inspect.Metadata) else None
    return down, dict(extras or {})


def _child(value: Any, step: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(step)
    if isinstance(value, list) and step.isdigit() and int(step) < len(value):
        return value[int(step)]
    return value
