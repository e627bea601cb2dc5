"""The operator command line as real subprocesses (``tests.support.cli``): one real ``db migrate`` per
session, its file copied for each test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import Gateway, environment


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database made by a real ``db migrate``, once per session (each test gets a copy)."""
    db = tmp_path_factory.mktemp("migrated") / "gateway.db"
    proc = subprocess.run([sys.executable, "-m", "gateway", "db", "migrate"], cwd=db.parent,
                          env=environment(db), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
    return db


@pytest.fixture
def gateway(tmp_path: Path, migrated_db: Path) -> Gateway:
    return Gateway(tmp_path, migrated_db)
