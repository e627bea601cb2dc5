"""The printed table and the budget verdicts of a ``scripts/bench`` run."""

from __future__ import annotations

from typing import Any

#: Budgets of issue #14 (2-core machine, same run).
SERVE_OVER_MINIMAL = 0.6
P99_C64_MS = 25.0
PG_CPU_RATIO = 1.5
GROWTH_RATIO = 1.2
SMS_ROUND_TRIPS = {"sqlite": 5000.0, "postgres": 2000.0}
#: Budget of issue #18: USSD over SMPP through the simulator, on SQLite.
USSD_SMPP_STEPS = 2000.0
#: Budgets of issue #6 that still stand.
RATIO_C64 = 0.5
SMS_RATIO = 0.5
SMS_CAMPAIGN = 2000.0
RSS_MB = 150.0
#: Issue #18: a dialect's codec costs at most this share of a step next to Africa's Talking's.
DIALECT_SHARE = 0.10
#: The simulator's submit_sm ceiling, which the SMS figures are divided by: it must stay well above
#: their budget (twice the SQLite round trips), or the ratios measure the simulator, not the gateway.
SIMULATOR_SUBMIT = 2 * SMS_ROUND_TRIPS["sqlite"]


def _level(res: dict[str, Any], c: int) -> dict[str, Any] | None:
    return next((lv for lv in res.get("ussd", {}).get("levels", []) if lv["concurrency"] == c), None)


def _backends(res: dict[str, Any], part: str) -> list[tuple[str, dict[str, Any]]]:
    """The measured backends of a per-backend part (skipped ones left out)."""
    return [(b, r) for b, r in res.get(part, {}).items() if isinstance(r, dict) and "skipped" not in r]


def _check(value: Any, limit: str, met: bool) -> dict[str, Any]:
    return {"value": value, "limit": limit, "met": met}


def budgets(res: dict[str, Any]) -> dict[str, Any]:
    """Each budget: the measured value, the limit and met / not met."""
    out: dict[str, Any] = {}
    c64, c256 = _level(res, 64), _level(res, 256)
    sim = res.get("simulator")
    if sim:
        v = sim["submit_sm_per_s"]
        out["simulator_submit_per_s"] = _check(v, f">= {SIMULATOR_SUBMIT:.0f}", v >= SIMULATOR_SUBMIT)
    mn = res.get("minimal")
    if mn:
        v = mn["serve_over_minimal"]
        out["serve_over_minimal_c64"] = _check(v, f">= {SERVE_OVER_MINIMAL}", v >= SERVE_OVER_MINIMAL)
    if c64:
        p99 = c64["gateway"]["p99_ms"]
        out["ussd_p99_c64_ms"] = _check(p99, f"<= {P99_C64_MS}", p99 <= P99_C64_MS)
        out["ussd_ratio_c64 (#6)"] = _check(c64["ratio"], f">= {RATIO_C64}", c64["ratio"] >= RATIO_C64)
    if c256:
        errs = c256["gateway"]["errors"]
        out["ussd_errors_c256"] = _check(errs, "== 0", errs == 0)
        rss = res["ussd"]["serve_peak_rss_mb"]
        out["serve_peak_rss_mb"] = _check(rss, f"<= {RSS_MB}", rss <= RSS_MB)
    soak = res.get("soak")
    if soak:
        rss = soak["serve_peak_rss_mb"]
        out["serve_peak_rss_mb_soak"] = _check(rss, f"<= {RSS_MB}", rss <= RSS_MB)
        out["soak_errors_c256"] = _check(soak["errors"], "== 0", soak["errors"] == 0)
    pg = res.get("pg", {})
    if pg.get("levels"):
        top = max(pg["levels"], key=lambda lv: lv["concurrency"])
        out[f"pg_cpu_per_step_ratio_c{top['concurrency']}"] = _check(
            top["cpu_ratio"], f"<= {PG_CPU_RATIO}", top["cpu_ratio"] <= PG_CPU_RATIO)
    for backend, growth in _backends(res, "growth"):
        worst = max(max(g["p50_ratio"], g["p99_ratio"]) for g in growth["levels"])
        out[f"growth_latency_ratio_{backend}"] = _check(worst, f"<= {GROWTH_RATIO}", worst <= GROWTH_RATIO)
    dl = res.get("dialects")
    if dl:
        worst = max(d["cpu_per_step_over_at"] for name, d in dl["dialects"].items() if name != "africastalking")
        out["dialect_step_cpu_over_at"] = _check(worst, f"<= {1 + DIALECT_SHARE:.2f}", worst <= 1 + DIALECT_SHARE)
        shares = [d["share_of_at_step"] for d in dl["codec"]["dialects"].values() if "share_of_at_step" in d]
        if shares:
            out["dialect_codec_share"] = _check(max(shares), f"<= {DIALECT_SHARE}", max(shares) <= DIALECT_SHARE)
    for backend, sms in _backends(res, "sms"):
        rate, floor = sms["round_trips_per_s"], SMS_ROUND_TRIPS[backend]
        out[f"sms_round_trips_per_s_{backend}"] = _check(rate, f">= {floor:.0f}", rate >= floor)
        cp = sms["campaign"]["messages_per_s"]
        out[f"sms_campaign_per_s_{backend}"] = _check(cp, f">= {SMS_CAMPAIGN:.0f}", cp >= SMS_CAMPAIGN)
        if backend == "sqlite":
            ratio = sms.get("ratio_to_simulator", 0.0)
            out["sms_ratio (#6)"] = _check(ratio, f">= {SMS_RATIO}", ratio >= SMS_RATIO)
    us = res.get("ussd_smpp")
    if us:
        rate = us["steps_per_s"]
        out["ussd_smpp_steps_per_s"] = _check(rate, f">= {USSD_SMPP_STEPS:.0f}", rate >= USSD_SMPP_STEPS)
    return out


def _f(value: Any, fmt: str = "{:,.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def _skipped(lines: list[str], title: str, backend: str, part: Any) -> bool:
    """Note a backend the part skipped (or the part's own ``took_s``); True when there is nothing to print."""
    if not isinstance(part, dict):
        return True
    if "skipped" in part:
        lines.append(f"\n{title} on {backend}: skipped ({part['skipped']})")
        return True
    return False


def table(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [f"machine: {m['cores']} cores, {m['cpu']}, {m['memory_gb']} GB, Python {m['python']}, "
             f"server/generator pinned to separate cores: {'yes' if m['pinned'] else 'no'}"]
    u = res.get("ussd")
    if u:
        gc = u["generator_check"]
        lines.append(f"\nUSSD: {u['subscribers']:,} subscribers, {u['vouchers']:,} vouchers; "
                     f"dialogues *124# | *100#,1 | *123*PIN#")
        lines.append(f"generator check at c={gc['concurrency']} on the bare server: "
                     f"ours {_f(gc['ours_steps_per_s'])}/s "
                     f"({gc['ours_cpu_us_per_step']} µs CPU/step, {gc['ours_cpu_share']:.0%} of a core), "
                     f"wrk {_f(gc.get('wrk_steps_per_s'))}/s")
        lines.append(f"{'c':>4} {'bare/s':>8} {'gw steps/s':>10} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
                     f"{'max ms':>7} {'errors':>6} {'gen CPU':>7} {'serve RSS MB':>12}")
        for lv in u["levels"]:
            g = lv["gateway"]
            lines.append(f"{lv['concurrency']:>4} {lv['baseline']['steps_per_s']:>8,.0f} {g['steps_per_s']:>10,.0f} "
                         f"{lv['ratio']:>6.2f} {g['p50_ms']:>7.2f} {g['p99_ms']:>7.2f} {g['max_ms']:>7.1f} "
                         f"{g['errors']:>6} {g['generator_cpu_share']:>7.0%} {g['server_peak_rss_mb']:>12.1f}")
        lines.append("bare p50/p99 at c=64: " + ", ".join(
            f"{lv['baseline']['p50_ms']:.2f}/{lv['baseline']['p99_ms']:.2f} ms" for lv in u["levels"]
            if lv["concurrency"] == 64))
    mn = res.get("minimal")
    if mn:
        lines.append(f"\nThe least work a step needs (USSD mix at c={mn['concurrency']}, same stack and database; "
                     f"median of {len(mn['baseline']['rounds_steps_per_s'])} rounds):")
        lines.append(f"{'server':>24} {'steps/s':>8} {'ratio':>6} {'p99 ms':>7} {'errors':>6} "
                     f"{'top-ups sent/in db':>18}")
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
                     f"{', '.join(format(x['serve_peak_rss_mb'], '.1f') for x in k['rounds'])} MB; "
                     f"errors {k['errors']}; "
                     f"top-ups sent/in the database {k['topups_sent']}/{k['topups_in_db']}")
    pg = res.get("pg")
    if pg:
        if "skipped" in pg:
            lines.append(f"\nPostgreSQL against SQLite: skipped ({pg['skipped']})")
        else:
            lines.append(f"\nPostgreSQL against SQLite, one serve each, the USSD mix, "
                         f"{pg['subscribers']:,} subscribers "
                         f"(median of {len(pg['levels'][0]['sqlite']['rounds_steps_per_s'])} rounds; CPU per step "
                         f"answered, warm-up included):")
            lines.append(f"{'c':>4} {'backend':>9} {'steps/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
                         f"{'serve µs/step':>13} {'PG server µs/step':>17}")
            for lv in pg["levels"]:
                for b in ("sqlite", "postgres"):
                    r = lv[b]
                    lines.append(f"{lv['concurrency']:>4} {b:>9} {r['steps_per_s']:>8,.0f} {r['p50_ms']:>7.2f} "
                                 f"{r['p99_ms']:>7.2f} {r['errors']:>6} {r['median_server_cpu_us_per_step']:>13.0f} "
                                 f"{_f(r.get('median_db_cpu_us_per_step'), '{:.0f}'):>17}")
                lines.append(f"{'':>4} {'ratio':>9} {lv['rate_ratio']:>8.2f} {'':>7} {'':>7} {'':>6} "
                             f"{lv['cpu_ratio']:>13.2f}")
            lines.append(f"top-ups sent/in the database: "
                         f"SQLite {pg['topups_sent_sqlite']}/{pg['topups_in_db_sqlite']}, "
                         f"PostgreSQL {pg['topups_sent_postgres']}/{pg['topups_in_db_postgres']}")
    for backend, g in res.get("growth", {}).items():
        if _skipped(lines, "Growth", backend, g):
            continue
        a, b = g["sizes"]
        seeded = (f"import of {b:,}: {_f(g.get('import_subscribers_s'), '{:.1f}')} s"
                  + (f", COPY into PostgreSQL {_f(g.get('copy_into_postgres_s'), '{:.1f}')} s"
                     if backend == "postgres" else ""))
        lines.append(f"\nGrowth on {backend}: {a:,} vs {b:,} subscribers ({seeded}; '-': cached); "
                     f"latencies: median of {g.get('rounds', '-')} rounds")
        lines.append(f"{'c':>4} {'p50 small':>9} {'p50 big':>8} {'ratio':>6} "
                     f"{'p99 small':>9} {'p99 big':>8} {'ratio':>6} "
                     f"{'steps/s small':>13} {'big':>7}")
        for lv in g["levels"]:
            s, bg = lv["small"], lv["big"]
            lines.append(f"{lv['concurrency']:>4} {s['median_p50_ms']:>9.2f} {bg['median_p50_ms']:>8.2f} "
                         f"{lv['p50_ratio']:>6.2f} {s['median_p99_ms']:>9.2f} {bg['median_p99_ms']:>8.2f} "
                         f"{lv['p99_ratio']:>6.2f} "
                         f"{s['steps_per_s']:>13,.0f} {bg['steps_per_s']:>7,.0f}")
    for backend, w in res.get("workers", {}).items():
        if _skipped(lines, "Two processes", backend, w):
            continue
        how = "serve --workers 2 on one file" if backend == "sqlite" else "two serve on one database"
        lines.append(f"\nOne process against two on {backend} ({how}), the USSD mix at c={w['concurrency']}, "
                     f"median of {len(w['rounds']) // 2} rounds; measured:")
        lines.append(f"{'procs':>5} {'steps/s':>8} {'top-ups/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
                     f"{'serve µs/step':>13} {'serve cores':>11} {'DB µs/step':>10} {'top-ups sent/in db':>18}")
        for procs in (1, 2):
            r = w[f"processes_{procs}"]
            lines.append(f"{procs:>5} {r['steps_per_s']:>8,.0f} {r['topups_per_s']:>9,.0f} {r['p50_ms']:>7.2f} "
                         f"{r['p99_ms']:>7.1f} {r['errors']:>6} {r['serve_cpu_us_per_step']:>13.0f} "
                         f"{r['serve_cores']:>11.2f} {_f(r.get('db_cpu_us_per_step'), '{:.0f}'):>10} "
                         f"{r['topups_sent']:>8}/{r['topups_in_db']:<9}")
        d = w["derived"]
        text = (f"x{w['gain']:.2f} steps/s, x{_f(w['topups_gain'], '{:.2f}')} top-ups/s. Derived: one core of serve "
                f"carries ~{d['steps_per_s_per_serve_core']:,} steps/s at the CPU per step measured with two processes")
        if "db_cores_per_serve_core" in d:
            text += (f"; PostgreSQL needs {d['db_cores_per_serve_core']:.2f} core per serve core (N gateway cores: "
                     f"~N x {d['steps_per_s_per_serve_core']:,}/s with the database elsewhere, "
                     f"~N x {d['steps_per_s_per_core_with_db_on_host']:,}/s with it on the same host)")
        else:
            text += "; on SQLite the top-ups share one write lock, so N processes do not scale them (see topups)"
        lines.append(text)
    for backend, t in res.get("topups", {}).items():
        if _skipped(lines, "Top-ups at the service layer", backend, t):
            continue
        p1, p2 = t["processes_1"], t["processes_2"]
        db = (f", PostgreSQL server {p1['db_cpu_us_per_topup']:.0f} µs CPU per top-up"
              if "db_cpu_us_per_topup" in p1 else "")
        lines.append(f"\nTop-ups at the service layer on {backend} (synchronous={p1['workers'][0]['synchronous']}): "
                     f"1 process {p1['per_s']:,.0f}/s; 2 processes {p2['per_s']:,.0f}/s together "
                     f"({' + '.join(format(x['per_s'], ',.0f') for x in p2['workers'])}); "
                     f"errors {p1['errors'] + p2['errors']}{db}")
    s = res.get("simulator")
    if s:
        lines.append(f"\nSMSC simulator ceiling: {s['submit_sm_per_s']:,.0f} submit_sm/s "
                     f"({s['count']:,} messages, window {s['window']})")
    for backend, sms in res.get("sms", {}).items():
        if _skipped(lines, "SMS", backend, sms):
            continue
        rt, cp, ceiling = sms["round_trips"], sms["campaign"], sms["ceiling"]
        lines.append(f"\nSMS on {backend} (send_rate {sms['send_rate']:,.0f}/s; "
                     f"shipped {sms['shipped_send_rate']:,.0f}/s), "
                     f"simulator ceiling in this run {ceiling['submit_sm_per_s']:,.0f} submit_sm/s:")
        db = f", PostgreSQL {rt['db_cpu_share']:.0%}" if "db_cpu_share" in rt else ""
        lines.append(f"  MO BAL -> MT {rt['round_trips_per_s']:,.0f} round trips/s "
                     f"(rounds {', '.join(format(r, ',.0f') for r in rt['rounds_per_s'])}; "
                     f"{rt['answered']:,}/{rt['count']:,}, window {rt['window']}, "
                     f"p50 {_f(rt['p50_ms'], '{:.1f}')} ms, p99 {_f(rt['p99_ms'], '{:.1f}')} ms), "
                     f"ratio {_f(sms.get('ratio_to_simulator'), '{:.2f}')}; CPU: serve "
                     f"{rt.get('serve_cpu_share', 0):.0%}, simulator {rt.get('simulator_cpu_share', 0):.0%}{db}, "
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
    dl = res.get("dialects")
    if dl:
        codec = dl["codec"]
        lines.append(f"\nDialects: the mix at c={dl['concurrency']} on one serve, each dialect after Africa's Talking "
                     f"(median of {len(dl['dialects']['africastalking']['rounds_steps_per_s'])} rounds; "
                     f"CPU per step against the same round's Africa's Talking run):")
        lines.append(f"{'dialect':>15} {'steps/s':>8} {'p99 ms':>7} {'errors':>6} {'serve µs/step':>13} "
                     f"{'vs AT':>6} {'codec µs':>8} {'+JSON µs':>8} {'of a step':>9}")
        for name, d in dl["dialects"].items():
            c = codec["dialects"].get(name, {})
            pure = codec["africastalking_us"] if name == "africastalking" else c.get("codec_us")
            share = c.get("share_of_at_step")
            lines.append(f"{name:>15} {d['steps_per_s']:>8,.0f} {d['p99_ms']:>7.2f} {d['errors']:>6} "
                         f"{_f(d['server_cpu_us_per_step'], '{:.0f}'):>13} {d['cpu_per_step_over_at']:>6.2f} "
                         f"{_f(pure, '{:.1f}'):>8} {_f(c.get('with_json_us'), '{:.1f}'):>8} "
                         f"{_f(share, '{:.1%}'):>9}")
        lines.append(f"top-ups sent/in the database {dl['topups_sent']}/{dl['topups_in_db']}; codec µs: best of "
                     f"{codec.get('repeats', 5)} x {codec['loops']:,} loops in the bench process "
                     f"(AT: form reader + parse + render)")
    us = res.get("ussd_smpp")
    if us:
        lines.append(f"\nUSSD over SMPP on {us['backend']} (the simulator as the {us['vendor']} USSD centre, "
                     f"dialogues {us['scripts']}, window {us['window']}): {us['steps_per_s']:,.0f} steps/s "
                     f"(rounds {', '.join(format(r, ',.0f') for r in us['rounds_per_s'])}; "
                     f"{us['answered']:,}/{us['count']:,} in {us['dialogues']:,} dialogues, "
                     f"p50 {_f(us['p50_ms'], '{:.1f}')} ms, p99 {_f(us['p99_ms'], '{:.1f}')} ms); CPU: serve "
                     f"{us.get('serve_cpu_share', 0):.0%} ({_f(us.get('serve_cpu_us_per_step'), '{:.0f}')} µs/step), "
                     f"simulator {us.get('simulator_cpu_share', 0):.0%}, driver {us.get('driver_cpu_share', 0):.1%}; "
                     f"serve RSS {us['serve_peak_rss_mb']:.1f} MB")
    ins = res.get("instructions")
    if ins and not _skipped(lines, "Instructions per step (callgrind)", "serve", ins):
        lines.append(f"\nInstructions per step of serve (callgrind, Python {ins['python']}): "
                     f"Africa's Talking over HTTP "
                     f"{ins['http_africastalking']['instructions_per_step']:,} ({ins['http_africastalking']['steps']} "
                     f"steps), USSD over SMPP {ins['ussd_smpp']['instructions_per_step']:,} "
                     f"({ins['ussd_smpp']['steps']} steps)")
    lines.append("\nBudgets:")
    for name, b in res.get("budgets", {}).items():
        verdict = "pending" if b["met"] is None else ("met" if b["met"] else "NOT MET")
        lines.append(f"  {name:<24} {_f(b['value'], '{}'):>10}  (limit {b['limit']})  {verdict}")
    lines.append(f"\ncommit {res.get('commit') or '-'}; took {res['took_s']:.0f} s")
    return "\n".join(lines)
