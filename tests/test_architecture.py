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


def test_channels_reach_the_store_only_through_the_services():
    """The USSD adapter and the menus never run SQL of their own on business tables."""
    for folder in ("menus", "gateway/ussd"):
        for path, names in imports(ROOT / folder).items():
            assert "sqlite_utils" not in names, path
            assert not any(n.startswith("gateway.store.accounts") or n.startswith("gateway.store.outbox")
                           for n in names), (path, names)
