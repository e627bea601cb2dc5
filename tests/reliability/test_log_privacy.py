"""No PIN, ID number, secret or whole phone number in the logs of a real run, nor in /metrics."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.seed import seed
from tests.support.servers import SECRET, profile_with


def test_full_run_of_every_service_leaks_nothing(tmp_path: Path, server_factory) -> None:
    """Every USSD service, right and wrong, at debug level: the JSON log lines and /metrics hold no secret."""
    data = seed(tmp_path / "gateway.db", subscribers=3, vouchers=3)
    me, friend, victim = data.numbers
    nat = {n: "0" + n[3:] for n in data.numbers}
    server = server_factory(tmp_path, GATEWAY_LOGGING_LEVEL="debug",
                            GATEWAY_OPERATOR_PROFILE=profile_with(tmp_path, 0)).start()
    wrong_pin, wrong_id = "98765432109876", "ZZ998877"
    screens = [
        *server.dial("a1", "*124#", me),
        *server.dial("a2", "*100#", me, "1"),
        *server.dial("a3", f"*123*{data.pins[0]}#", me),
        *server.dial("a4", f"*123*{data.pins[1]}*{nat[friend]}#", me),
        *server.dial("a5", "*100#", me, "2", "2", nat[friend], data.pins[2]),
        *server.dial("a6", f"*123*{wrong_pin}#", me),
        *server.dial("a7", f"*123*{data.pins[0]}#", friend),  # already used
        *server.dial("a8", "*100#", friend, "3", nat[victim], wrong_id, "1"),
        *server.dial("a9", "*100#", friend, "3", nat[victim], data.id_numbers[victim], "1"),
        *server.dial("b1", "*1204#", me),
        *server.dial("b2", "*100#", me, "4", "2"),
        *server.dial("b3", "*100#", me, "5", "2"),
        *server.dial("b4", "*124#", victim),  # lost line
    ]
    assert sum("successful" in s or "sent to" in s for s in screens) == 3, screens
    assert any("blocked at" in s for s in screens), screens
    status, metrics = server.get("/metrics")
    assert status == 200
    assert server.terminate() == 0

    lines = server.log.read_text(encoding="utf-8").splitlines()
    events = {json.loads(line)["event"] for line in lines}  # every line is JSON
    assert {"ussd_turn", "voucher_redeemed", "topup_refused", "lost_sim_reported", "lost_report_refused",
            "http_listening", "stopped"} <= events
    secrets = [*data.pins, wrong_pin, *data.id_numbers.values(), wrong_id, SECRET, *data.numbers, *nat.values()]
    for text, where in ((server.log.read_text(encoding="utf-8"), "log"), (metrics, "/metrics")):
        leaked = [s for s in secrets if s in text]
        assert leaked == [], f"{where} holds {leaked}"
    assert "855*****000" in server.log.read_text() or "855******000" in server.log.read_text()
