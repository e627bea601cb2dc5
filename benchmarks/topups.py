"""Top-ups per second at the service layer: ``Services.top_up`` in a loop.

DB is a SQLite file as shipped (``[database] synchronous`` from the embedded
configuration: ``full``, an fsync per commit) or a ``postgresql://`` URL (a
durable commit each). Each redemption is one write transaction with its
confirmation SMS queued. Several workers may run at once on one database
(``scripts/bench`` runs one, then two processes): SQLite has one writer, so
two processes share its write lock; PostgreSQL locks rows. Their sum is the
figure to compare.

Run as ``python -m benchmarks.topups DB PINS OFFSET COUNT SECONDS GO_FILE SUBSCRIBERS``;
prints one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from benchmarks.seed import PIN_SECRET, gateway_env, msisdn


def main(argv: list[str]) -> int:
    db, pins_file, offset, count, seconds, go, subscribers = (
        argv[0], argv[1], int(argv[2]), int(argv[3]), float(argv[4]), Path(argv[5]), int(argv[6]))
    os.environ.update(gateway_env(db))
    from gateway.clock import SystemClock
    from gateway.config import load_settings
    from gateway.domain.channels import Channel
    from gateway.logs import configure_logging
    from gateway.profile import load_profile
    from gateway.services import Context, Services
    from gateway.services.model import TopUp
    from gateway.store import open_database
    from menus.replies import Replies
    from menus.texts import Catalog

    settings = load_settings()
    configure_logging("warning", "json")
    profile = load_profile(settings.operator.profile)
    store = open_database(settings.database)
    services = Services(Context(store=store, clock=SystemClock(), profile=profile,
                                pin_secret=PIN_SECRET,
                                notices=Replies(Catalog.load(profile.languages), profile)))
    with open(pins_file, encoding="ascii") as handle:
        pins = [line.strip() for i, line in enumerate(handle) if offset <= i < offset + count]
    Path(f"{go}.ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 30
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.001)
    done = errors = 0
    started = time.perf_counter()
    stop = started + seconds
    for i, pin in enumerate(pins):
        try:
            services.top_up(TopUp(msisdn((offset + i) % subscribers), pin, Channel.USSD))
            done += 1
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors += 1
            if errors == 1:
                print(f"first error: {exc!r}", file=sys.stderr)
        if time.perf_counter() >= stop:
            break
    elapsed = time.perf_counter() - started
    cpu = os.times()
    print(json.dumps({"redeemed": done, "errors": errors, "seconds": round(elapsed, 3),
                      "per_s": round(done / elapsed, 1),
                      "synchronous": "server" if settings.database.url else settings.database.synchronous,
                      "cpu_s": round(cpu.user + cpu.system, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
