"""Versioned schema migrations, tracked in ``PRAGMA user_version``.

Each migration is a module ``mNNNN_name.py`` with ``VERSION = NNNN`` and
``def apply(db: sqlite_utils.Database) -> None``. They run in order, each in
its own transaction, so a failed upgrade leaves the previous version intact.
Migrations are never edited once released: add a new one.
"""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Protocol

import sqlite_utils

from gateway.store.port import StoreError


class Store(Protocol):
    """What a migration runs on (``gateway.store.db.Store``, which opens this package: named here, not imported)."""

    @property
    def conn(self) -> sqlite3.Connection: ...
    @property
    def path(self) -> str: ...
    @property
    def db(self) -> sqlite_utils.Database: ...
    def write(self) -> AbstractContextManager[sqlite3.Connection]: ...


def available() -> list[ModuleType]:
    modules = [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if info.name.startswith("m")
    ]
    modules.sort(key=lambda m: m.VERSION)
    versions = [m.VERSION for m in modules]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version: {versions}")
    return modules


def current_version(store: Store) -> int:
    return int(store.conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(store: Store) -> list[int]:
    """Apply every migration newer than the database; returns the versions applied.

    Raises:
        StoreError: the database is newer than this code, or a migration failed.
    """
    modules = available()
    latest = modules[-1].VERSION if modules else 0
    try:
        version = current_version(store)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{store.path}: {exc}") from None
    if version > latest:
        raise StoreError(
            f"{store.path}: schema version {version} is newer than this gateway ({latest})"
        )
    applied = []
    for module in modules:
        if module.VERSION <= version:
            continue
        try:
            with store.write():
                module.apply(store.db)
                store.conn.execute(f"PRAGMA user_version = {int(module.VERSION)}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"migration {module.__name__} failed: {exc}") from exc
        applied.append(module.VERSION)
    return applied
