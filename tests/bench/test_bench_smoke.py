"""``scripts/bench --smoke`` keeps working (the real run is not for CI)."""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.__main__ import PARTS
from benchmarks.common import BACKENDS
from benchmarks.instructions import SMOKE_MEASURED
from benchmarks.instructions import unavailable as instructions_unavailable
from benchmarks.postgres import unavailable as postgres_unavailable

ROOT = Path(__file__).resolve().parents[2]


def _nodes(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object of the result, with its path (``ussd/levels/0/gateway``)."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _nodes(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _nodes(value, f"{path}/{i}")


def _every_part_ran(result: dict[str, Any], backends: list[str]) -> None:
    """Each part is in the file and took time, and each backend of a per-backend part was measured
    or says why it was skipped (only PostgreSQL may be, and only where it cannot run)."""
    assert set(PARTS) <= set(result), set(PARTS) - set(result)
    for part in PARTS:
        assert result[part]["took_s"] >= 0, part
        measured = {k: v for k, v in result[part].items() if k in BACKENDS}
        for backend, figures in measured.items():
            if backend in backends:
                assert "skipped" not in figures, (part, figures)
            else:
                assert isinstance(figures["skipped"], str) and figures["skipped"], (part, backend)


def _no_errors_and_every_topup_in_its_file(result: dict[str, Any]) -> None:
    """Every run anywhere in the file answered without an error, and wherever top-ups were sent, every
    one answered is in the database (``topups_in_db`` == ``topups_sent`` > 0, per backend for ``pg``)."""
    pairs = 0
    for path, node in _nodes(result):
        for key in ("errors", "failed"):
            if key in node and not path.startswith("/budgets"):
                assert node[key] == 0, (path, node.get("error_samples"))
        for key in [k for k in node if k.startswith("topups_in_db")]:
            sent = key.replace("in_db", "sent")
            assert node[key] == node[sent] > 0, (path, key, node[key], node.get(sent))
            pairs += 1
    assert pairs >= 9, pairs  # ussd, minimal x2, soak, pg, growth, workers, topups, dialects


@pytest.mark.slow
def test_smoke_run_measures_every_part_and_writes_json(tmp_path):
    """A tiny run finishes, prints the table and writes every part's figures as JSON: on SQLite, and
    on PostgreSQL too where its server binaries are installed (else those parts say why they skipped)."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--results", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=480)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Budgets:" in proc.stdout
    result = json.loads((tmp_path / "smoke.json").read_text())
    backends = ["sqlite"] + (["postgres"] if postgres_unavailable() is None else [])
    _every_part_ran(result, backends)
    _no_errors_and_every_topup_in_its_file(result)
    levels = result["ussd"]["levels"]
    assert [lv["concurrency"] for lv in levels] == [1, 8]
    for lv in levels:
        assert lv["baseline"]["steps"] > 0 and lv["gateway"]["steps"] > 0
        assert lv["gateway"]["errors"] == 0, lv["gateway"]["error_samples"]
        assert set(lv["gateway"]["dialogues"]) == {"balance", "menu", "topup"}
    assert result["ussd"]["topups_in_db"] == result["ussd"]["topups_sent"] > 0
    minimal = result["minimal"]
    for name in ("baseline", "minimal", "serve"):
        assert minimal[name]["steps"] > 0 and minimal[name]["errors"] == 0, minimal[name]["error_samples"]
    for name in ("minimal", "serve"):  # both redeem for real: every top-up answered is in its file
        assert set(minimal[name]["dialogues"]) == {"balance", "menu", "topup"}
        assert minimal[name]["topups_in_db"] == minimal[name]["topups_sent"] > 0
    soak = result["soak"]
    assert len(soak["rounds"]) == 2 and soak["errors"] == 0 and soak["serve_peak_rss_mb"] > 0
    assert soak["topups_in_db"] == soak["topups_sent"] > 0
    for backend in backends:
        for size in ("small", "big"):  # the same dialogues on both sizes, every one answered
            run = result["growth"][backend]["levels"][0][size]
            assert run["steps"] > 0 and set(run["dialogues"]) == {"balance", "menu", "topup"}
        workers = result["workers"][backend]
        for procs in ("processes_1", "processes_2"):
            assert workers[procs]["errors"] == 0 and workers[procs]["steps_per_s"] > 0
            assert workers[procs]["topups_in_db"] == workers[procs]["topups_sent"] > 0  # every top-up answered is in
        assert workers["derived"]["steps_per_s_per_serve_core"] > 0
        for procs in ("processes_1", "processes_2"):
            assert result["topups"][backend][procs]["errors"] == 0
            assert result["topups"][backend][procs]["per_s"] > 0
        sms = result["sms"][backend]
        assert sms["round_trips"]["answered"] == sms["round_trips"]["count"] > 0
        assert sms["campaign"]["submitted"] == sms["campaign"]["count"]
    assert result["simulator"]["submit_sm_per_s"] > 0 and "simulator_submit_per_s" in result["budgets"]
    assert "sms_round_trips_per_s_sqlite" in result["budgets"]
    dialects = result["dialects"]  # the same mix through every HTTP dialect, every top-up in the file
    assert set(dialects["dialects"]) == {"africastalking", "hubtel", "nalo", "arkesel", "madapi"}
    for run in dialects["dialects"].values():
        assert run["errors"] == 0 and run["steps_per_s"] > 0, run["error_samples"]
        assert set(run["dialogues"]) == {"balance", "menu", "topup"}
    assert dialects["topups_in_db"] == dialects["topups_sent"] > 0
    assert all(c["codec_us"] > 0 and c["with_json_us"] > 0 for c in dialects["codec"]["dialects"].values())
    assert {"dialect_step_cpu_over_at", "dialect_codec_share"} <= set(result["budgets"])
    instructions = result["instructions"]  # serve's steps counted by callgrind on both paths, where it is
    if instructions_unavailable() is None:
        for path in ("http_africastalking", "ussd_smpp"):
            assert instructions[path]["steps"] >= SMOKE_MEASURED
            assert instructions[path]["instructions_per_step"] > 100_000  # a step runs Python, not a no-op
    else:
        assert instructions["skipped"] == instructions_unavailable()
    ussd_smpp = result["ussd_smpp"]  # every step answered over SMPP, dialogues of both scripts kept
    assert ussd_smpp["answered"] == ussd_smpp["count"] > 0 and ussd_smpp["failed"] == 0
    assert ussd_smpp["session_rows"] > 0 and "ussd_smpp_steps_per_s" in result["budgets"]
    if "postgres" not in backends:
        assert "skipped" in result["pg"] and "skipped" in result["growth"]["postgres"]
        return
    # The same mix on both backends, with serve's and the bench cluster's CPU per step.
    for level in result["pg"]["levels"]:
        for backend in ("sqlite", "postgres"):
            run = level[backend]
            assert run["steps"] > 0 and run["errors"] == 0, run["error_samples"]
            assert set(run["dialogues"]) == {"balance", "menu", "topup"}
            assert run["median_server_cpu_us_per_step"] > 0
        assert level["postgres"]["median_db_cpu_us_per_step"] > 0
    assert result["pg"]["topups_in_db_postgres"] == result["pg"]["topups_sent_postgres"] > 0
    two = result["workers"]["postgres"]["processes_2"]  # two serve, a generator each
    assert len(two["per_generator_steps_per_s"]) == 2 and min(two["per_generator_steps_per_s"]) > 0
    assert {"pg_cpu_per_step_ratio_c8", "growth_latency_ratio_postgres",
            "sms_round_trips_per_s_postgres"} <= set(result["budgets"])
    assert "PostgreSQL against SQLite" in proc.stdout

