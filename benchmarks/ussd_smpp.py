"""USSD over SMPP through the simulator, driven by the simulator itself.

The driver only starts a load inside the SMSC simulator and reads its report
(``POST /load/ussd``, ``simulator.load.UssdSteps``): the simulator,
as the USSD centre, keeps ``window`` dialogues open from distinct numbers,
each playing the next script (``*124#``; ``*100#`` then ``1``), and times
each step from its deliver_sm written to the gateway's screen (submit_sm)
read, in its own process. Each step goes simulator → deliver_sm → gateway
(USSD adapter, dialogues with the path in the session store) → submit_sm →
simulator. The driver polls ``GET /load`` five times a second.

Run as ``python -m benchmarks.ussd_smpp CONTROL_URL COUNT WINDOW SUBSCRIBERS [OFFSET]``;
prints one JSON object. Bounded: 120 s at most.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from benchmarks.seed import msisdn
from benchmarks.sms import run_load

#: The dialogues played in turn: a one-step balance, and the menu then its balance.
SCRIPTS = [["*124#"], ["*100#", "1"]]


async def steps(url: str, count: int, window: int, subscribers: int, offset: int = 0) -> dict[str, Any]:
    spec = {"first": int(msisdn(offset)), "numbers": subscribers - offset, "scripts": SCRIPTS,
            "count": count, "window": window}
    report = await run_load(url, "/load/ussd", spec)
    report["steps_per_s"] = report["per_s"]
    return report


def main(argv: list[str]) -> int:
    url, count, window, subscribers = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    offset = int(argv[4]) if len(argv) > 4 else 0
    print(json.dumps(asyncio.run(steps(url, count, window, subscribers, offset))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
