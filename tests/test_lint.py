"""The code passes ruff (configured in pyproject.toml: pyflakes, pycodestyle, isort, bugbear, pyupgrade)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    """An unused import, an unsorted block or a loop variable caught late in a closure fails here, as mypy's
    findings fail ``test_typing``."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
