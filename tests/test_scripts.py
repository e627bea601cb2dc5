"""The README's commands: ``scripts/run`` passes its arguments to ``demo``."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_scripts_run_passes_its_arguments_to_the_demo():
    """``scripts/run --help`` reaches the demo's own help (arguments are not taken for pip extras)."""
    result = subprocess.run([str(ROOT / "scripts" / "run"), "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--http-port" in result.stdout and "demo" in result.stdout
