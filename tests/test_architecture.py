"""The layout is the architecture: the rules stay pure, the channels go through the services."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imports(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def test_domain_imports_only_the_standard_library_and_itself():
    """gateway/domain has no I/O library, no asyncio, no store: its rules are plain functions."""
    banned = {"asyncio", "sqlite3", "socket", "time", "random", "secrets", "os"}
    for path, names in imports(ROOT / "gateway" / "domain").items():
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or name.startswith("gateway.domain") or top == "__future__", (path, name)
            assert top not in banned, (path, name)


#: What each package may import from this project and beyond the standard library, by prefix.
#: (``gateway/domain`` is checked above: the standard library only.)
ALLOWED = {
    # The adapters: the port, the domain types it speaks, and the drivers.
    "gateway/store": ("gateway.domain", "gateway.store", "sqlite3", "sqlite_utils", "psycopg", "psycopg_pool"),
    # The use cases: the rules and the store port, never a driver or an adapter's module.
    "gateway/services": ("gateway.domain", "gateway.services", "gateway.store.port", "gateway.clock",
                         "gateway.profile", "gateway.logs"),
    # The channels: the services (and the domain's value types), never the store.
    "gateway/ussd": ("gateway.services", "gateway.domain", "gateway.ussd", "gateway.clock", "gateway.config",
                     "gateway.profile", "gateway.logs", "menus", "aiohttp", "prometheus_client", "multidict",
                     "yarl", "cachetools"),
    "gateway/sms": ("gateway.services", "gateway.domain", "gateway.sms", "gateway.logs", "menus"),
    # The operator console: a channel of the operator's, on the services like the others.
    "gateway/console": ("gateway.services", "gateway.domain", "gateway.console", "gateway.clock", "gateway.logs",
                        "aiohttp"),
    "gateway/smpp": ("gateway.services", "gateway.domain", "gateway.smpp", "gateway.sms", "gateway.clock",
                     "gateway.config", "gateway.profile", "gateway.logs", "menus", "aiosmpplib",
                     "prometheus_client"),
    "menus": ("menus", "gateway.domain", "gateway.services.facade", "gateway.services.model", "gateway.config",
              "gateway.profile", "tomllib"),
}

#: Named exceptions, each with its reason: ``services.errors`` names the database's failures (its
#: driver's among them) for the channels.
EXCEPTIONS = {
    "gateway/services/errors.py": ("gateway.store",),
    # The PostgreSQL adapter masks the password of the configured URL in its messages.
    "gateway/store/postgres/connection.py": ("gateway.config",),
    "gateway/store/postgres/migrations.py": ("gateway.config",),
    # USSD over SMPP is a path into the USSD dialogues, as the HTTP dialects are: it hands them
    # the same requests (``gateway.ussd.request``).
    "gateway/smpp/ussd.py": ("gateway.ussd.request",),
}


def _allowed(path: str, name: str, allowed: tuple[str, ...]) -> bool:
    top = name.split(".")[0]
    if top == "__future__" or (top in sys.stdlib_module_names and top != "sqlite3"):
        return True
    prefixes = allowed + EXCEPTIONS.get(path, ())
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_every_package_imports_only_what_its_layer_may():
    """The table above holds for every module: services speak only the port, channels only the services."""
    for folder, allowed in ALLOWED.items():
        for path, names in imports(ROOT / folder).items():
            for name in names:
                assert _allowed(path, name, allowed), (path, name)


def test_the_menu_engine_needs_no_services():
    """The engine walks menus and renders screens; the actions that call the services are in ``menus.actions``."""
    for module in ("menus/engine.py", "menus/model.py"):
        names = imports(ROOT / "menus")[module]
        assert not any(n.startswith("gateway.services") or n.startswith("gateway.store") for n in names), names


def _sql_calls(path: Path) -> list[int]:
    """Lines that run SQL: ``.execute``/``.executemany``/``.executescript`` calls."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"execute", "executemany", "executescript"}
    ]


def test_no_sql_outside_the_store():
    """Only gateway/store runs SQL: a statement added to a service or a channel fails here."""
    found = imports(ROOT / "gateway") | imports(ROOT / "menus")
    for relative, names in found.items():
        if relative.startswith("gateway/store/"):
            continue  # the adapters
        assert not _sql_calls(ROOT / relative), (relative, _sql_calls(ROOT / relative))
        # The CLI names the driver's error to print one line for a damaged file.
        assert "sqlite3" not in names or relative == "gateway/cli/__init__.py", relative


def test_channels_reach_the_store_only_through_the_services():
    """The adapters and the menus never run SQL of their own on business tables."""
    for folder in ("menus", "gateway/ussd", "gateway/sms", "gateway/smpp", "gateway/console"):
        for path, names in imports(ROOT / folder).items():
            assert "sqlite_utils" not in names and "sqlite3" not in names, path
            assert not any(n == "gateway.store" or n.startswith("gateway.store.") for n in names), (path, names)


def test_no_module_imports_another_modules_private_names():
    """What a module shares is public and documented: ``from gateway.x import _name`` reaches past that
    (an underscore name may change without notice). The store adapters are left out: the modules of
    one adapter share its SQL fragments among themselves, behind the port."""
    found = []
    for folder in (ROOT / "gateway", ROOT / "menus"):
        for path in folder.rglob("*.py"):
            if path.is_relative_to(ROOT / "gateway" / "store"):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(("gateway", "menus")):
                    found += [f"{path.relative_to(ROOT)}: {node.module}.{alias.name}" for alias in node.names
                              if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert found == []
