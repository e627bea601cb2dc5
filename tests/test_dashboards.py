"""``deploy/grafana/selfcare.json`` and ``deploy/prometheus/alerts.yml`` against a running gateway's ``/metrics``.

A gateway is started as operators run it (``serve --workers 2`` bound to
the simulator, USSD over SMPP and every HTTP dialect on, so every metric
family of a process exists: the SMPP ones, the shared rate limits'), and its ``/metrics`` page is the truth: every
metric a panel or a rule names must be one it exports (a counter as
``_total``, a histogram as ``_bucket``/``_sum``/``_count``), and every family
it exports must have a panel. A metric renamed, or added without a panel,
fails here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.servers import sms_env
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "selfcare.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"

#: PromQL words that look like metric names: operators and modifiers.
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
             "group_right", "inf", "nan"}
#: The sample names a family of each type answers to in a query.
_SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count", "_created"),
             "summary": ("", "_sum", "_count", "_created"), "info": ("_info",)}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not its functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*", text):
        if text[match.end():].lstrip().startswith("(") or match.group() in _KEYWORDS:
            continue  # a function or an aggregation
        names.add(match.group())
    return names


def test_metric_names_reads_promql() -> None:
    """The extraction itself: functions, label names, ranges and strings are not metrics."""
    assert metric_names('histogram_quantile(0.99, sum by (le, code) (rate(a_bucket{job=~"$job"}[5m])))') == {
        "a_bucket"}
    assert metric_names('sum(rate(b_total{o="x y"}[$__rate_interval])) / sum without (i) (c) > 0.5') == {
        "b_total", "c"}
    assert metric_names("time() - max(d_seconds) and on (k) e == bool 0") == {"d_seconds", "e"}


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def alert_rules() -> list[dict]:
    return [rule for group in yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
            for rule in group["rules"]]


def test_the_dashboard_is_well_formed() -> None:
    """Grafana can import it: unique panel ids, a place for each panel, queries on the chosen data source."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] and dashboard["title"]
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "job"} <= variables
    for panel in dashboard["panels"]:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]) and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}" and panel["title"] and panel["description"]
        for target in panel["targets"]:
            assert target["refId"] and target["expr"].count("(") == target["expr"].count(")"), target
            assert 'job=~"$job"' in target["expr"], target["expr"]  # the job picker applies to every query


def test_the_alert_rules_cover_what_the_issue_names() -> None:
    """SMPP unbound, outbox age, error ratio and p99 over budget, each with a severity and a summary."""
    rules = alert_rules()
    for rule in rules:
        assert rule["alert"] and rule["expr"] and rule["for"], rule
        assert rule["labels"]["severity"] in ("critical", "warning") and rule["annotations"]["summary"], rule
    by_metric = {name: rule["alert"] for rule in rules for name in metric_names(rule["expr"])}
    for metric in ("selfcare_smpp_bound", "selfcare_sms_outbox_oldest_due_seconds", "ussd_requests_total",
                   "ussd_step_seconds_bucket"):
        assert metric in by_metric, metric
    assert any("histogram_quantile(0.99" in rule["expr"] for rule in rules)


@pytest.mark.slow
def test_dashboard_and_alerts_name_exactly_what_a_running_gateway_exports(tmp_path: Path, server_factory,
                                                                          smsc_factory) -> None:
    """Every name the dashboard and the rules use is exported, and every exported family has a panel.

    Every path that brings metrics of its own is on: USSD over SMPP and all the HTTP dialects."""
    smsc = smsc_factory(tmp_path).start()
    server = server_factory(tmp_path, **sms_env(smsc, GATEWAY_SMPP_USSD="true",
                                                GATEWAY_HTTP_DIALECTS="hubtel,nalo,arkesel,madapi"))
    server.args = ["--workers", "2"]
    server.start()
    wait_for(lambda: len(smsc.request("GET", "/binds")) == 2, 15, "both workers bound")  # type: ignore[arg-type]
    wait_for(lambda: "selfcare_figures_timestamp_seconds " in server.get("/metrics")[1], 20, "the figures")
    page = server.get("/metrics")[1]
    families = {family.name: family.type for family in text_string_to_metric_families(page)}
    # prometheus_client shows a metric's creation time as a gauge family of its own: part of the metric.
    families = {name: kind for name, kind in families.items()
                if not (name.endswith("_created") and name.removesuffix("_created") in families)}
    samples = {family + suffix: family for family, kind in families.items() for suffix in _SUFFIXES[kind]}

    shown = {name for expr in dashboard_exprs() for name in metric_names(expr)}
    alerted = {name for rule in alert_rules() for name in metric_names(rule["expr"])}
    assert shown - samples.keys() == set(), "the dashboard names metrics /metrics does not export"
    assert alerted - samples.keys() == set(), "the alert rules name metrics /metrics does not export"
    assert set(families) - {samples[name] for name in shown} == set(), "exported metrics without a panel"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) not installed")
def test_promtool_accepts_the_rules_and_every_dashboard_query(tmp_path: Path) -> None:
    """Prometheus's own checker on the rules, and on each panel query as a recording rule."""
    check = subprocess.run(["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    queries = [expr.replace("$__rate_interval", "5m").replace("$job", ".*") for expr in dashboard_exprs()]
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:query{n}", "expr": q}
                                                          for n, q in enumerate(queries)]}]}
    path = tmp_path / "dashboard.yml"
    path.write_text(yaml.safe_dump(rules))
    check = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
