"""The printed table and the budget verdicts of a ``scripts/bench`` run."""

from __future__ import annotations

from typing import Any

#: Budgets of issue #6 (2-core machine, same run).
RATIO_C64 = 0.5
P99_C64_MS = 50.0
GROWTH_RATIO = 1.2
SMS_ROUND_TRIPS = 500.0
SMS_RATIO = 0.5
SMS_CAMPAIGN = 2000.0
RSS_MB = 150.0


def _level(res: dict[str, Any], c: int) -> dict[str, Any] | None:
    return next((lv for lv in res.get("ussd", {}).get("levels", []) if lv["concurrency"] == c), None)


def budgets(res: dict[str, Any]) -> dict[str, Any]:
    """Each budget: the measured value, the limit and met / not met (None: not measured)."""
    out: dict[str, Any] = {}
    c64, c256 = _level(res, 64), _level(res, 256)
    if c64:
        out["ussd_ratio_c64"] = {"value": c64["ratio"], "limit": f">= {RATIO_C64}", "met": c64["ratio"] >= RATIO_C64}
        p99 = c64["gateway"]["p99_ms"]
        out["ussd_p99_c64_ms"] = {"value": p99, "limit": f"<= {P99_C64_MS}", "met": p99 <= P99_C64_MS}
    if c256:
        errs = c256["gateway"]["errors"]
        out["ussd_errors_c256"] = {"value": errs, "limit": "== 0", "met": errs == 0}
    if "serve_peak_rss_mb" in res.get("ussd", {}) and c256:
        rss = res["ussd"]["serve_peak_rss_mb"]
        out["serve_peak_rss_mb"] = {"value": rss, "limit": f"<= {RSS_MB}", "met": rss <= RSS_MB}
    soak = res.get("soak")
    if soak:
        rss = soak["serve_peak_rss_mb"]
        out["serve_peak_rss_mb_soak"] = {"value": rss, "limit": f"<= {RSS_MB}", "met": rss <= RSS_MB}
        out["soak_errors_c256"] = {"value": soak["errors"], "limit": "== 0", "met": soak["errors"] == 0}
    growth = res.get("growth", {}).get("levels", [])
    if growth:
        worst = max(max(g["p50_ratio"], g["p99_ratio"]) for g in growth)
        out["growth_latency_ratio"] = {"value": worst, "limit": f"<= {GROWTH_RATIO}", "met": worst <= GROWTH_RATIO}
    sms = res.get("sms", {})
    if "round_trips_per_s" in sms:
        rate, ratio = sms["round_trips_per_s"], sms.get("ratio_to_simulator", 0.0)
        out["sms_round_trips_per_s"] = {"value": rate, "limit": f">= {SMS_ROUND_TRIPS}", "met": rate >= SMS_ROUND_TRIPS}
        out["sms_ratio"] = {"value": ratio, "limit": f">= {SMS_RATIO}", "met": ratio >= SMS_RATIO}
        cp = sms["campaign"]["messages_per_s"]
        out["sms_campaign_per_s"] = {"value": cp, "limit": f">= {SMS_CAMPAIGN}", "met": cp >= SMS_CAMPAIGN}
    elif sms:
        out["sms"] = {"value": None, "limit": "pending", "met": None}
    return out


def _f(value: Any, fmt: str = "{:,.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def table(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [f"machine: {m['cores']} cores, {m['cpu']}, {m['memory_gb']} GB, Python {m['python']}, "
             f"server/generator pinned to separate cores: {'yes' if m['pinned'] else 'no'}"]
    u = res.get("ussd")
    if u:
        gc = u["generator_check"]
        lines.append(f"\nUSSD: {u['subscribers']:,} subscribers, {u['vouchers']:,} vouchers; "
                     f"dialogues *124# | *100#,1 | *123*PIN#")
        lines.append(f"generator check at c={gc['concurrency']} on the bare server: ours {_f(gc['ours_steps_per_s'])}/s "
                     f"({gc['ours_cpu_us_per_step']} µs CPU/step, {gc['ours_cpu_share']:.0%} of a core), "
                     f"wrk {_f(gc.get('wrk_steps_per_s'))}/s")
        lines.append(f"{'c':>4} {'bare/s':>8} {'gw steps/s':>10} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
                     f"{'max ms':>7} {'errors':>6} {'gen CPU':>7} {'serve RSS MB':>12}")
        for lv in u["levels"]:
            g = lv["gateway"]
            lines.append(f"{lv['concurrency']:>4} {lv['baseline']['steps_per_s']:>8,.0f} {g['steps_per_s']:>10,.0f} "
                         f"{lv['ratio']:>6.2f} {g['p50_ms']:>7.2f} {g['p99_ms']:>7.2f} {g['max_ms']:>7.1f} "
                         f"{g['errors']:>6} {g['generator_cpu_share']:>7.0%} {g['server_peak_rss_mb']:>12.1f}")
        lines.append(f"bare p50/p99 at c=64: " + ", ".join(
            f"{lv['baseline']['p50_ms']:.2f}/{lv['baseline']['p99_ms']:.2f} ms" for lv in u["levels"]
            if lv["concurrency"] == 64))
    mn = res.get("minimal")
    if mn:
        lines.append(f"\nThe least work a step needs (USSD mix at c={mn['concurrency']}, same stack and database; "
                     f"median of {len(mn['baseline']['rounds_steps_per_s'])} rounds):")
        lines.append(f"{'server':>24} {'steps/s':>8} {'ratio':>6} {'p99 ms':>7} {'errors':>6} {'top-ups sent/in db':>18}")
        for name, label in (("baseline", "bare aiohttp"), ("minimal", "benchmarks.minimal"), ("serve", "serve")):
            run = mn[name]
            topups = f"{run['topups_sent']}/{run['topups_in_db']}" if "topups_in_db" in run else "-"
            lines.append(f"{label:>24} {run['steps_per_s']:>8,.0f} {_f(run.get('ratio', 1.0), '{:.2f}'):>6} "
                         f"{run['p99_ms']:>7.2f} {run['errors']:>6} {topups:>18}")
        lines.append(f"serve / minimal: {mn['serve_over_minimal']:.2f}")
    k = res.get("soak")
    if k:
        lines.append(f"\nSoak: the mix at c={k['concurrency']} on one serve, {len(k['rounds'])} rounds of "
                     f"{k['round_seconds']:g} s: steps/s "
                     f"{', '.join(format(x['steps_per_s'], ',.0f') for x in k['rounds'])}; peak RSS after each "
                     f"{', '.join(format(x['serve_peak_rss_mb'], '.1f') for x in k['rounds'])} MB; errors {k['errors']}; "
                     f"top-ups sent/in the database {k['topups_sent']}/{k['topups_in_db']}")
    g = res.get("growth")
    if g:
        a, b = g["sizes"]
        lines.append(f"\nGrowth: {a:,} vs {b:,} subscribers (import of {b:,}: {_f(g.get('import_subscribers_s'), '{:.1f}')} s); "
                     f"latencies: median of {g.get('rounds', '-')} rounds")
        lines.append(f"{'c':>4} {'p50 small':>9} {'p50 big':>8} {'ratio':>6} {'p99 small':>9} {'p99 big':>8} {'ratio':>6} "
                     f"{'steps/s small':>13} {'big':>7}")
        for lv in g["levels"]:
            s, bg = lv["small"], lv["big"]
            lines.append(f"{lv['concurrency']:>4} {s['median_p50_ms']:>9.2f} {bg['median_p50_ms']:>8.2f} "
                         f"{lv['p50_ratio']:>6.2f} {s['median_p99_ms']:>9.2f} {bg['median_p99_ms']:>8.2f} {lv['p99_ratio']:>6.2f} "
                         f"{s['steps_per_s']:>13,.0f} {bg['steps_per_s']:>7,.0f}")
    w = res.get("workers")
    if w:
        one, two = w["processes_1"], w["processes_2"]
        lines.append(f"\nA second serve process (USSD mix at c={w['concurrency']}, one database; median of "
                     f"{len(w['rounds']) // 2} rounds): 1 process {one['steps_per_s']:,.0f} steps/s (p99 "
                     f"{one['p99_ms']:.1f} ms); 2 processes {two['steps_per_s']:,.0f}/s together "
                     f"({' + '.join(format(x, ',.0f') for x in two['per_process_steps_per_s'])}; p99 "
                     f"{two['p99_ms']:.1f} ms), x{w['gain']:.2f}; errors {one['errors'] + two['errors']}; "
                     f"top-ups sent/in the database {one['topups_sent']}/{one['topups_in_db']} and "
                     f"{two['topups_sent']}/{two['topups_in_db']}")
    t = res.get("topups")
    if t:
        p1, p2 = t["processes_1"], t["processes_2"]
        lines.append(f"\nTop-ups at the service layer (synchronous={p1['workers'][0]['synchronous']}): "
                     f"1 process {p1['per_s']:,.0f}/s; 2 processes {p2['per_s']:,.0f}/s together "
                     f"({' + '.join(format(w['per_s'], ',.0f') for w in p2['workers'])}); errors {p1['errors'] + p2['errors']}")
    s = res.get("simulator")
    if s:
        lines.append(f"\nSMSC simulator ceiling: {s['submit_sm_per_s']:,.0f} submit_sm/s ({s['count']:,} messages, window {s['window']})")
    sms = res.get("sms")
    if sms:
        if "pending" in sms:
            lines.append(f"SMS: pending: {sms['pending']}")
        else:
            rt, cp, ceiling = sms["round_trips"], sms["campaign"], sms["ceiling"]
            lines.append(f"SMS (send_rate {sms['send_rate']:,.0f}/s; shipped {sms['shipped_send_rate']:,.0f}/s), "
                         f"simulator ceiling in this run {ceiling['submit_sm_per_s']:,.0f} submit_sm/s:")
            lines.append(f"  MO BAL -> MT {rt['round_trips_per_s']:,.0f} round trips/s "
                         f"(rounds {', '.join(format(r, ',.0f') for r in rt['rounds_per_s'])}; "
                         f"{rt['answered']:,}/{rt['count']:,}, window {rt['window']}, "
                         f"p50 {_f(rt['p50_ms'], '{:.1f}')} ms, p99 {_f(rt['p99_ms'], '{:.1f}')} ms), "
                         f"ratio {_f(sms.get('ratio_to_simulator'), '{:.2f}')}; CPU: serve "
                         f"{rt.get('serve_cpu_share', 0):.0%}, simulator {rt.get('simulator_cpu_share', 0):.0%}, "
                         f"driver {rt.get('driver_cpu_share', 0):.1%}")
            if "simulator_full_core_per_s" in rt and "serve_full_core_per_s" in rt:
                lines.append(f"  at 100% of its core: the simulator {rt['simulator_full_core_per_s']:,.0f} round trips/s "
                             f"({rt['simulator_cpu_us_per_round_trip']:.0f} µs each, ratio "
                             f"{rt['simulator_full_core_ratio']:.2f}), serve {rt['serve_full_core_per_s']:,.0f}/s "
                             f"({rt['serve_cpu_us_per_round_trip']:.0f} µs each, ratio {rt['serve_full_core_ratio']:.2f})")
            lines.append(f"  campaign {cp['submitted']:,}/{cp['count']:,}: {cp['messages_per_s']:,.0f}/s first to "
                         f"last submit_sm ({cp['seconds']:.2f} s), ratio "
                         f"{_f(sms.get('campaign_ratio_to_simulator'), '{:.2f}')}; {cp['end_to_end_per_s']:,.0f}/s "
                         f"with the CLI queueing ({cp['queue_s']:.2f} s); CPU: serve "
                         f"{cp.get('serve_cpu_share', 0):.0%}, simulator {cp.get('simulator_cpu_share', 0):.0%}")
    lines.append("\nBudgets:")
    for name, b in res.get("budgets", {}).items():
        verdict = "pending" if b["met"] is None else ("met" if b["met"] else "NOT MET")
        lines.append(f"  {name:<24} {_f(b['value'], '{}'):>10}  (limit {b['limit']})  {verdict}")
    lines.append(f"\ntook {res['took_s']:.0f} s")
    return "\n".join(lines)
