"""``dialects``: the USSD mix through each aggregator dialect next to the Africa's Talking path.

One ``serve`` with every dialect mounted (``GATEWAY_HTTP_DIALECTS``); the
load generator plays the same dialogues (``*124#``, ``*100#`` then ``1``,
``*123*PIN#``) on ``POST /ussd`` and on each ``POST /ussd/<dialect>``, one
run after the other, round by round (the order turned each round). On a
loaded machine throughput drifts between runs, so the figure compared is
``serve``'s CPU per step answered, next to Africa's Talking's in the same
round. It covers the whole path a dialect takes: its codec, the JSON, and
the path the latest-answer dialects keep in the session row.

The codec alone (``codec_cost``): a bounded ``timeit`` (best of many short samples) of JSON decoding,
``parse``, ``render`` and JSON encoding of one request of each dialect, in
this process, against the form reader, ``parse`` and ``render`` of
Africa's Talking.
"""

from __future__ import annotations

import json
import statistics
import timeit
from pathlib import Path
from typing import Any

from benchmarks import seed
from benchmarks.common import PinBudget, Plan, count, gateway_server, median_run, spec
from benchmarks.procs import loadgen

JSON_NAMES = ("hubtel", "nalo", "arkesel", "madapi")
PATHS = {"africastalking": "/ussd", **{name: f"/ussd/{name}" for name in JSON_NAMES}}
#: Rounds (each dialect once a round) and their length: many short rounds, so that the load of
#: a shared machine, which shifts over seconds, falls on every dialect alike; the verdict is the
#: median of the per-round ratios.
ROUNDS, SECONDS = 6, 3.0


def part_dialects(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
    level = 8 if plan.smoke else 64
    seeded = plan.seeded()
    db = seed.working_copy(seeded, work / "dialects.db")
    rounds = 1 if plan.smoke else ROUNDS
    pins = PinBudget(seeded, len(PATHS) * rounds)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in PATHS}
    names = list(PATHS)
    with gateway_server(db, logdir, "serve-dialects", GATEWAY_HTTP_DIALECTS=",".join(JSON_NAMES)) as gw:
        for r in range(rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                run = spec(plan, level, plan.subscribers, seed=700 + r, path=PATHS[name], dialect=name,
                           session_prefix=f"d{name[:2]}{r}-", **pins.take())
                if not plan.smoke:
                    run["duration"] = SECONDS
                runs[name].append(loadgen(run, gw))
        peak = round(gw.peak_rss() / 2**20, 1)
    out: dict[str, Any] = {"concurrency": level, "serve_peak_rss_mb": peak, "dialects": {}}
    at = median_run(runs["africastalking"])
    for name, name_runs in runs.items():
        run = median_run(name_runs)
        # The same round's Africa's Talking run is the reference of each run: drift cancels.
        ratios = [d["server_cpu_us_per_step"] / a["server_cpu_us_per_step"]
                  for d, a in zip(name_runs, runs["africastalking"], strict=True)]
        out["dialects"][name] = {
            "steps_per_s": run["steps_per_s"], "p50_ms": run["p50_ms"], "p99_ms": run["p99_ms"],
            "errors": run["errors"], "error_samples": run["error_samples"], "dialogues": run["dialogues"],
            "rounds_steps_per_s": run["rounds_steps_per_s"],
            "server_cpu_us_per_step": run["median_server_cpu_us_per_step"],
            "cpu_per_step_over_at": round(statistics.median(ratios), 3),
            "rounds_cpu_per_step_over_at": [round(x, 3) for x in ratios],
            "topups_sent": sum(x["topups_sent"] for x in name_runs),
        }
    out["topups_sent"] = sum(d["topups_sent"] for d in out["dialects"].values())
    out["topups_in_db"] = count(db, "SELECT COUNT(*) FROM topups")
    out["codec"] = codec_cost(plan, at["median_server_cpu_us_per_step"])
    return out


def _bodies() -> dict[str, bytes]:
    """One mid-dialogue request of each dialect (an answer to the menu), as the load generator sends it."""
    from benchmarks.loadgen import _form, _json

    bodies = {name: _json(name, "bench-1", "*100#", "85510000001", "1", 2) for name in JSON_NAMES}
    bodies["africastalking"] = _form("bench-1", "*100#", "85510000001", "1")
    return bodies


def codec_cost(plan: Plan, at_step_us: float | None) -> dict[str, Any]:
    """µs of each codec's parse + render (and with the JSON), best of a few bounded ``timeit`` repeats."""
    from gateway.ussd import africastalking
    from gateway.ussd.dialects import JSON_DIALECTS
    from gateway.ussd.web import _dumps, parse_form
    from menus.tree import Reply

    # Many short samples, the best kept: a sample another process interrupted is discarded.
    number, repeat = (1_000, 3) if plan.smoke else (2_000, 25)
    reply = Reply("Smart self-care\n1 Balance\n2 Top-up\n3 Lost SIM\n4 Offers by SMS\n5 Language", end=False)
    bodies = _bodies()

    def at() -> None:
        africastalking.render(reply)
        africastalking.parse(parse_form(bodies["africastalking"].decode()))

    def best(fn: Any) -> float:
        return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6

    out: dict[str, Any] = {"loops": number, "repeats": repeat, "africastalking_us": round(best(at), 2), "dialects": {}}
    for name in JSON_NAMES:
        codec, raw = JSON_DIALECTS[name], bodies[name]
        body = json.loads(raw)

        def pure(codec: Any = codec, body: Any = body) -> None:
            codec.render(reply, codec.parse(body))

        def with_json(codec: Any = codec, raw: bytes = raw) -> None:
            _dumps(codec.render(reply, codec.parse(json.loads(raw))))

        entry = {"codec_us": round(best(pure), 2), "with_json_us": round(best(with_json), 2)}
        if at_step_us:
            entry["share_of_at_step"] = round(entry["with_json_us"] / at_step_us, 4)
        out["dialects"][name] = entry
    out["at_step_us"] = at_step_us
    return out
