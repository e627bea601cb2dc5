"""``scripts/bench --smoke`` keeps working (the real run is not for CI)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_smoke_run_measures_every_part_and_writes_json(tmp_path):
    """A tiny run finishes, prints the table and writes every part's figures as JSON."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--results", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Budgets:" in proc.stdout
    result = json.loads((tmp_path / "smoke.json").read_text())
    levels = result["ussd"]["levels"]
    assert [lv["concurrency"] for lv in levels] == [1, 8]
    for lv in levels:
        assert lv["baseline"]["steps"] > 0 and lv["gateway"]["steps"] > 0
        assert lv["gateway"]["errors"] == 0, lv["gateway"]["error_samples"]
        assert set(lv["gateway"]["dialogues"]) == {"balance", "menu", "topup"}
    assert result["ussd"]["topups_in_db"] > 0
    minimal = result["minimal"]
    for name in ("baseline", "minimal", "serve"):
        assert minimal[name]["steps"] > 0 and minimal[name]["errors"] == 0, minimal[name]["error_samples"]
    for name in ("minimal", "serve"):  # both redeem for real: every top-up answered is in its file
        assert set(minimal[name]["dialogues"]) == {"balance", "menu", "topup"}
        assert minimal[name]["topups_in_db"] == minimal[name]["topups_sent"] > 0
    assert minimal["serve_over_minimal"] > 0
    soak = result["soak"]
    assert len(soak["rounds"]) == 2 and soak["errors"] == 0 and soak["serve_peak_rss_mb"] > 0
    assert soak["topups_in_db"] == soak["topups_sent"] > 0
    assert result["growth"]["levels"][0]["p50_ratio"] > 0
    for procs in ("processes_1", "processes_2"):
        workers = result["workers"][procs]
        assert workers["errors"] == 0 and workers["steps_per_s"] > 0
        assert workers["topups_in_db"] == workers["topups_sent"] > 0  # every top-up answered is in the file
    assert len(result["workers"]["processes_2"]["per_process_steps_per_s"]) == 2
    for procs in ("processes_1", "processes_2"):
        assert result["topups"][procs]["errors"] == 0
        assert result["topups"][procs]["per_s"] > 0
    assert result["simulator"]["submit_sm_per_s"] > 0
    assert "sms" in result
