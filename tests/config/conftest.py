"""The settings loader, in process: files under ``tmp_path``, environments as dicts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def config_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write a TOML file and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "gateway.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write
