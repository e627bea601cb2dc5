"""The operator command line, run as real subprocesses on a real SQLite file.

``Gateway`` (the ``gateway`` fixture of ``tests/cli``): ``gateway("subscribers", "add", ...)``
runs ``python -m gateway ...`` with a fresh database under ``tmp_path`` and
a valid PIN secret, and returns the finished process (text stdout/stderr).
As an operator does, the database is made by ``db migrate`` before the first
other command on it: one real ``db migrate`` per test session, its file
copied for each test (only ``db migrate``, ``serve`` and ``demo`` create one).
``gateway.snapshot()`` dumps the whole database; calling what it returns
asserts that nothing changed (refusals change nothing).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PIN_SECRET = "cli-test-secret-0123456789"
ROOT = Path(__file__).resolve().parents[2]
HEADER = "msisdn,balance,expires_at,id_number,language,type"


def environment(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_SECURITY_PIN_SECRET=PIN_SECRET, GATEWAY_DATABASE_PATH=str(db),
               GATEWAY_LOGGING_FORMAT="json",
               # No fsync per commit: these files need not survive a power cut.
               GATEWAY_DATABASE_SYNCHRONOUS="normal")
    return env


class Gateway:
    def __init__(self, tmp_path: Path, migrated: Path) -> None:
        self.tmp = tmp_path
        self.db = tmp_path / "gateway.db"
        self.env = environment(self.db)
        self._migrated = migrated

    def migrated(self) -> None:
        """Give ``self.db`` the schema (a copy of a ``db migrate`` result) unless it exists already."""
        if not self.db.exists():
            shutil.copyfile(self._migrated, self.db)

    def __call__(self, *args: str, env: dict[str, str | None] | None = None,
                 check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command; with ``check`` a non-zero exit fails the test with its stderr."""
        environ = dict(self.env)
        for key, value in (env or {}).items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value
        if args[:2] != ("db", "migrate") and environ.get("GATEWAY_DATABASE_PATH") == str(self.db):
            self.migrated()
        proc = subprocess.run([sys.executable, "-m", "gateway", *args], cwd=self.tmp, env=environ,
                              capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            pytest.fail(f"{args} exited {proc.returncode}: {proc.stderr}")
        return proc

    def show(self, msisdn: str) -> dict[str, Any]:
        return json.loads(self("subscribers", "show", msisdn).stdout)

    def refused(self, *args: str, env: dict[str, str | None] | None = None) -> str:
        """Run a command that must be refused: exit 2, one line on stderr, returned."""
        proc = self(*args, env=env, check=False)
        assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
        lines = proc.stderr.splitlines()
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("error: "), lines[0]
        return lines[0]

    def snapshot(self) -> Callable[[], None]:
        """Dump the database now; calling the result asserts nothing changed since."""
        self.migrated()
        before = dump(self.db)

        def check() -> None:
            assert dump(self.db) == before

        return check

    def own_menus(self) -> Path:
        """A copy of the menus package in the command's working directory, which Python imports
        first: trees and texts to break without touching the shipped ones."""
        copy = self.tmp / "menus"
        shutil.copytree(ROOT / "menus", copy, ignore=shutil.ignore_patterns("__pycache__"))
        return copy

    def csv(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        return path


def dump(db: Path) -> list[str]:
    """Every schema statement and row of the database (empty if there is none)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()
