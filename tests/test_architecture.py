"""The layout is the architecture: each package's allowed imports, stated here and checked on every module.

The rules stay pure (``gateway/domain``), the store is reached through its port, the channels go
through the services, the menus engine depends on a Protocol (``menus.ports``) rather than on the
services, and one composition root (``gateway.app``) wires the concrete objects. Imports are read
from the source (``ast``): inside functions and under ``TYPE_CHECKING`` too, since a lazy import is
still a dependency.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The top-level packages of the distribution and the benchmark beside them.
TOPS = ("gateway", "menus", "simulator", "benchmarks")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the project by dotted name."""
    return {_module_name(p): p for top in TOPS for p in sorted((ROOT / top).rglob("*.py"))}


@cache
def imported(name: str) -> frozenset[str]:
    """What module ``name`` imports, as absolute dotted names (``from a import b`` gives ``a.b`` when
    that is a module of ours, else ``a``; relative imports resolved)."""
    path = modules()[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            if base == "__future__":
                continue
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules() else base for a in node.names)
    return frozenset(found)


def in_unit(name: str, unit: str) -> bool:
    return name == unit or name.startswith(unit + ".")


#: What each package (and each top-level module of ``gateway``) may import from this project and beyond
#: the standard library, by dotted prefix. Every module of the project falls under exactly one entry.
ALLOWED: dict[str, tuple[str, ...]] = {
    # The rules: the standard library only (checked apart below, with the modules it may not use either).
    "gateway.domain": ("gateway.domain",),
    # The adapters: the port, the domain types it speaks, and the drivers; the PostgreSQL adapter masks
    # the password of the configured URL in its messages (``gateway.config.mask_url``).
    "gateway.store": ("gateway.store", "gateway.domain", "gateway.config", "sqlite3", "sqlite_utils", "psycopg",
                      "psycopg_pool"),
    # The use cases: the rules and the store port, never a driver or an adapter's module.
    "gateway.services": ("gateway.services", "gateway.domain", "gateway.store.port", "gateway.clock",
                         "gateway.profile", "gateway.logs"),
    # The channels: the services (and the domain's value types), never the store.
    "gateway.ussd": ("gateway.ussd", "gateway.services", "gateway.domain", "gateway.clock", "gateway.config",
                     "gateway.profile", "gateway.logs", "gateway.ratelimit", "menus", "aiohttp", "prometheus_client",
                     "multidict", "yarl"),
    # SMS routing: keywords in, replies out, over the SMPP link it runs.
    "gateway.sms": ("gateway.sms", "gateway.services", "gateway.domain", "gateway.smpp", "gateway.clock",
                    "gateway.config", "gateway.logs", "gateway.ratelimit", "menus"),
    # The SMPP link only (its routing is in gateway/sms): the ESME, its store adapters, the codec.
    "gateway.smpp": ("gateway.smpp", "gateway.services", "gateway.domain", "gateway.clock", "gateway.config",
                     "gateway.logs", "aiosmpplib", "prometheus_client"),
    # The operator console: a channel of the operator's, on the services like the others.
    "gateway.console": ("gateway.console", "gateway.services", "gateway.domain", "gateway.clock", "gateway.logs",
                        "aiohttp"),
    # The command line: an entry point, so anything of the product; the simulator only for ``smsc-sim``
    # (``test_the_product_never_imports_the_simulator``).
    "gateway.cli": ("gateway", "menus", "simulator", "sqlite3", "aiohttp", "uvloop"),
    # The top-level modules of gateway, one by one.
    "gateway.__main__": ("gateway.cli",),
    # The composition root builds everything but the command line.
    "gateway.app": ("gateway.clock", "gateway.config", "gateway.console", "gateway.logs", "gateway.profile",
                    "gateway.ratelimit", "gateway.services", "gateway.smpp", "gateway.sms", "gateway.store",
                    "gateway.ussd", "menus", "aiohttp", "prometheus_client"),
    # Runs what the composition root built: listeners and jobs.
    "gateway.serving": ("gateway.app", "gateway.clock", "gateway.config", "gateway.logs", "gateway.monitoring",
                        "gateway.ratelimit", "gateway.services", "gateway.store", "gateway.ussd", "aiohttp",
                        "prometheus_client"),
    "gateway.workers": ("gateway.config", "gateway.logs", "gateway.profile", "gateway.store", "menus"),
    "gateway.config": ("gateway.configfile",),
    # Reading a TOML file with GATEWAY_* overrides into typed settings: the gateway's and the simulator's.
    "gateway.configfile": ("msgspec",),
    "gateway.clock": (),
    "gateway.healthcheck": (),
    "gateway.profile": ("gateway.config", "gateway.configfile", "gateway.domain"),
    "gateway.logs": ("gateway.domain", "structlog"),
    "gateway.ratelimit": ("gateway.clock", "gateway.domain", "gateway.logs"),
    "gateway.monitoring": ("gateway.logs", "gateway.services", "prometheus_client"),
    "gateway.demo_seed": ("gateway.domain", "gateway.services"),
    "gateway": (),
    # The menus: data, a sans-I/O engine and the replies; the domain's values, the operator's profile
    # (what the trees and texts are chosen by) and their own ports, never the services or the settings.
    "menus": ("menus", "gateway.domain", "gateway.profile"),
    # The SMSC simulator, a test tool beside the product: the SMPP codec and the profile's number plan.
    # Its own settings through ``gateway.configfile``, never the gateway's settings.
    "simulator": ("simulator", "gateway.configfile", "gateway.domain", "gateway.logs", "gateway.profile",
                  "gateway.smpp", "aiosmpplib", "aiohttp", "smpp34"),
    # The benchmark drives the product as a user would, and reads its database to check the figures.
    "benchmarks": ("benchmarks", "gateway", "menus", "simulator", "aiohttp", "psycopg", "sqlite3",
                   "structlog"),
}

#: Named exceptions, each with its reason.
EXCEPTIONS = {
    # USSD over SMPP is a path into the USSD dialogues, as the HTTP dialects are: it hands them
    # the same requests (``gateway.ussd.request``) and gets their screens (``menus.tree.Reply``).
    "gateway/smpp/ussd.py": ("gateway.ussd.request", "menus.tree"),
}


def unit_of(name: str) -> str:
    """The entry of ``ALLOWED`` that module ``name`` falls under (the longest prefix)."""
    return max((u for u in ALLOWED if in_unit(name, u)), key=len)


def _ours(name: str) -> bool:
    return name.split(".")[0] in TOPS


def _allowed(path: str, name: str, allowed: tuple[str, ...]) -> bool:
    top = name.split(".")[0]
    if top in sys.stdlib_module_names and top != "sqlite3":
        return True
    return any(in_unit(name, p) for p in allowed + EXCEPTIONS.get(path, ()))


def test_every_module_falls_under_a_stated_entry():
    """A new package or top-level module needs its line in ``ALLOWED`` (``gateway`` itself is only its
    ``__init__``)."""
    loose = [name for name in modules() if unit_of(name) == "gateway" and name != "gateway"]
    assert loose == []


def test_domain_imports_only_the_standard_library_and_itself():
    """gateway/domain has no I/O library, no asyncio, no store: its rules are plain functions."""
    banned = {"asyncio", "sqlite3", "socket", "time", "random", "secrets", "os"}
    for name in modules():
        if in_unit(name, "gateway.domain"):
            for target in imported(name):
                top = target.split(".")[0]
                assert top in sys.stdlib_module_names or in_unit(target, "gateway.domain"), (name, target)
                assert top not in banned, (name, target)


def test_every_package_imports_only_what_its_layer_may():
    """The table above holds for every module: services speak only the port, channels only the services."""
    wrong = []
    for name, path in modules().items():
        relative = str(path.relative_to(ROOT))
        allowed = ALLOWED[unit_of(name)]
        wrong += [f"{relative}: {target}" for target in sorted(imported(name))
                  if not _allowed(relative, target, allowed)]
    assert wrong == []


def test_the_menus_need_no_services_and_no_settings():
    """The menus engine and its actions depend on ``menus.ports`` (a Protocol ``Services`` satisfies),
    so importing them pulls in neither the store nor the settings."""
    for name in modules():
        if in_unit(name, "menus"):
            assert not any(in_unit(t, p) for t in imported(name)
                           for p in ("gateway.services", "gateway.store", "gateway.config")), name


def _units_graph() -> dict[str, set[str]]:
    """Package → the packages it imports, a package being an entry of ``ALLOWED`` (a top-level module of
    ``gateway`` is one of its own; ``gateway.store.postgres`` is part of ``gateway.store``)."""
    graph: dict[str, set[str]] = {}
    for name in modules():
        for target in imported(name):
            if _ours(target):
                assert target in modules(), f"{name} imports {target}, which is no module of ours"
                if unit_of(target) != unit_of(name):
                    graph.setdefault(unit_of(name), set()).add(unit_of(target))
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's, on an explicit stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    u = stack.pop()
                    component.append(u)
                    if u == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_two_packages_import_each_other():
    """The import graph of the packages has no cycle: each layer can be read, tested and replaced
    knowing only what is below it."""
    assert _cycles(_units_graph()) == []


def _mutual_imports() -> list[tuple[str, str]]:
    return sorted((a, b) for a in modules() for b in imported(a)
                  if a < b and b in modules() and a in imported(b))


def test_no_two_modules_import_each_other():
    """Two modules that import each other are one idea in two files, or a layer upside down."""
    assert _mutual_imports() == []


def test_the_product_never_imports_the_simulator():
    """The simulator is a test tool: only the ``smsc-sim`` command (``gateway/cli``) loads it, lazily."""
    for name in modules():
        if in_unit(name, "gateway"):
            simulator = [t for t in imported(name) if in_unit(t, "simulator")]
            assert not simulator or in_unit(name, "gateway.cli"), (name, simulator)
            if simulator:
                top_level = {a.name if isinstance(node, ast.Import) else node.module
                             for node in ast.parse(modules()[name].read_text(encoding="utf-8")).body
                             if isinstance(node, ast.Import | ast.ImportFrom) for a in node.names}
                assert not any(in_unit(str(t), "simulator") for t in top_level), (name, "a lazy import only")


def test_every_menu_action_is_a_use_case():
    """The action table names methods of ``menus.ports.UseCases``, each one a use case of ``Services``."""
    from gateway.services.api import ACTIONS
    from menus.actions import ACTION_TABLE
    from menus.ports import UseCases

    assert set(ACTION_TABLE) <= ACTIONS
    assert all(callable(getattr(UseCases, name, None)) for name in ACTION_TABLE)


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
    for name, path in modules().items():
        if not (in_unit(name, "gateway") or in_unit(name, "menus")) or in_unit(name, "gateway.store"):
            continue  # the adapters (and the test tools)
        relative = str(path.relative_to(ROOT))
        assert not _sql_calls(path), (relative, _sql_calls(path))
        # The CLI names the driver's error to print one line for a damaged file.
        assert "sqlite3" not in imported(name) or relative == "gateway/cli/__init__.py", relative


def test_channels_reach_the_store_only_through_the_services():
    """The adapters and the menus never run SQL of their own on business tables."""
    for name in modules():
        if any(in_unit(name, u) for u in ("menus", "gateway.ussd", "gateway.sms", "gateway.smpp", "gateway.console")):
            names = imported(name)
            assert "sqlite_utils" not in names and "sqlite3" not in names, name
            assert not any(in_unit(n, "gateway.store") for n in names), (name, names)


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


def test_tests_share_helpers_only_through_tests_support():
    """A test module or conftest imports shared helpers from ``tests.support`` and nothing else of
    ``tests``: another test module or a folder's conftest is not a library (pytest finds fixtures by
    itself, and a helper kept in a test file is hidden from the next reader)."""
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                package = path.relative_to(ROOT).parent.parts
                base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
                module = ".".join(part for part in (base, node.module or "") if part)
                names = [f"{module}.{a.name}" for a in node.names] if module == "tests" else [module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names
                      if n.split(".")[0] == "tests" and n.split(".")[:2] != ["tests", "support"]]
    assert found == []
