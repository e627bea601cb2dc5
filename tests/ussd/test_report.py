"""``ussd report``, run as a real subprocess on a mix of dialogues recorded over HTTP, on both backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from gateway.ussd.request import Close
from tests.support.handset import Handset
from tests.support.ussd import SECRET, World, report

ROOT = Path(__file__).resolve().parents[2]


def ussd_report(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m gateway ussd report ARGS`` on the world's database."""
    database = world.gateway.settings.database
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_SECURITY_PIN_SECRET=SECRET, GATEWAY_DATABASE_PATH=database.path,
               GATEWAY_DATABASE_URL=database.url, GATEWAY_DATABASE_SYNCHRONOUS="normal",
               GATEWAY_LOGGING_FORMAT="json")
    return subprocess.run([sys.executable, "-m", "gateway", "ussd", "report", *args], cwd=world.tmp, env=env,
                          capture_output=True, text=True, timeout=120)


async def record_a_mix(world: World) -> None:
    """Every outcome, each way it can be reached, with and without the aggregator's report.

    One number per dialogue: a number dialling a code again just after leaving a dialogue
    unfinished would be offered it back (resume), which is not what this mix is about.
    """
    number = {sid: world.add(f"8551200000{n}") for n, sid in enumerate(
        ("r-bal", "r-late", "r-lost", "r-left", "r-idle", "r-released", "r-ghost"))}
    phone = world.phone
    await phone.dial("*124#", session_id="r-bal", msisdn=number["r-bal"])  # completed; reported Success
    await phone.dial("*100#", "1", session_id="r-late", msisdn=number["r-late"])  # completed; reported Incomplete
    await phone.dial("*100#", "1", session_id="r-lost", msisdn=number["r-lost"])  # completed; reported Failed
    await phone.dial("*100#", "2", session_id="r-left", msisdn=number["r-left"])  # left on a menu; Incomplete
    await phone.dial("*100#", session_id="r-idle", msisdn=number["r-idle"])  # left on the main menu; our timer
    released = Handset(world.gateway.dialogues, msisdn=number["r-released"])  # a dialect's release on the PIN screen
    await released.dial("*100#")
    await released.answers("2", "1")
    await released.close(Close.ABANDONED)
    await world.gateway.dialogues.settle()
    for sid, code, status in (("r-bal", "*124#", "Success"), ("r-late", "*100#", "Incomplete"),
                              ("r-lost", "*100#", "Failed"), ("r-left", "*100#", "Incomplete"),
                              ("r-ghost", "*123#", "Success")):  # a session this gateway never saw
        assert (await report(world, sessionId=sid, serviceCode=code, status=status, phoneNumber=number[sid],
                             input=None))[0] == 200
    world.clock.advance(timedelta(minutes=10))
    await world.gateway.dialogues.sweep()
    await world.gateway.dialogues.settle()


EXPECTED = {
    "since": None,
    "dialogues": 6,
    "service_codes": [
        {"service_code": "*100#", "dialogues": 5, "completed": 1, "abandoned": 2, "timed_out": 1, "failed": 1},
        {"service_code": "*124#", "dialogues": 1, "completed": 1, "abandoned": 0, "timed_out": 0, "failed": 0},
    ],
    "stopped": [
        {"service_code": "*100#", "screen": "selfcare:main", "abandoned": 0, "timed_out": 1},
        {"service_code": "*100#", "screen": "selfcare:topup", "abandoned": 1, "timed_out": 0},
        {"service_code": "*100#", "screen": "selfcare:topup_pin_mine", "abandoned": 1, "timed_out": 0},
    ],
    "reports": {
        "matched": [
            {"ours": "completed", "aggregator": "Failed", "dialogues": 1, "counted_as": "failed", "agrees": False},
            {"ours": "completed", "aggregator": "Incomplete", "dialogues": 1, "counted_as": "completed",
             "agrees": False},
            {"ours": "completed", "aggregator": "Success", "dialogues": 1, "counted_as": "completed",
             "agrees": True},
            {"ours": "abandoned", "aggregator": "Incomplete", "dialogues": 1, "counted_as": "abandoned",
             "agrees": True},
        ],
        "without_report": 2,
        "unmatched": [{"service_code": "*123#", "status": "Success", "reports": 1}],
    },
}

TABLE = """\
USSD dialogues: 6 (aggregator reports for 4; 1 more for sessions the gateway never saw)

service code  dialogues  completed  abandoned  timed out  failed
*100#                 5          1          2          1       1
*124#                 1          1          0          0       0
all                   6          2          2          1       1

where abandoned and timed-out dialogues stopped
service code  screen                   abandoned  timed out
*100#         selfcare:main                    0          1
*100#         selfcare:topup                   1          0
*100#         selfcare:topup_pin_mine          1          0

the aggregators' reports beside the gateway's records
ours       aggregator  dialogues  counted as
completed  Failed              1  failed (the aggregator saw it fail)
completed  Incomplete          1  completed (we had answered with END)
completed  Success             1  completed (agree)
abandoned  Incomplete          1  abandoned (agree)
dialogues without an aggregator report: 2

reports for sessions the gateway never saw (counted apart)
service code  status   reports
*123#         Success        1
"""


async def test_the_report_combines_the_journal_with_the_aggregators_reports(world):
    """The same mix as JSON (the shape ``--help`` documents) and as a table; ``--since`` narrows both."""
    await record_a_mix(world)

    as_json = ussd_report(world, "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == EXPECTED

    table = ussd_report(world)
    assert table.returncode == 0, table.stderr
    assert table.stdout == TABLE

    later = ussd_report(world, "--json", "--since", "2026-11-02")  # local midnight, after the mix
    assert json.loads(later.stdout) | {"since": None} == {
        "since": None, "dialogues": 0, "service_codes": [], "stopped": [],
        "reports": {"matched": [], "without_report": 0, "unmatched": []}}
    assert json.loads(later.stdout)["since"] == "2026-11-02T00:00:00+07:00"
    assert json.loads(ussd_report(world, "--json", "--since", "2026-11-01T09:00+07:00").stdout) == \
        EXPECTED | {"since": "2026-11-01T09:00:00+07:00"}


async def test_a_bad_since_is_one_line_and_exit_2(world):
    proc = ussd_report(world, "--since", "last tuesday")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "error: --since: not an ISO-8601 time: 'last tuesday' (e.g. 2026-11-01 or 2026-11-01T08:00:00+07:00)"]
    assert proc.stdout == ""


def test_the_help_documents_the_json_shape():
    """``ussd report --help`` names every key of ``--json``'s object."""
    proc = subprocess.run([sys.executable, "-m", "gateway", "ussd", "report", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for key in ("service_codes", "stopped", "matched", "without_report", "unmatched", "counted_as", "agrees",
                "timed_out"):
        assert f'"{key}"' in proc.stdout, key
