"""Measure SMS throughput against an independent SMSC (smpp34) in another process.

    .venv/bin/python scripts/bench_sms.py [--mt 20000] [--mo 5000] [--synchronous full]

1. MT: ``--mt`` messages are queued in the outbox, then the gateway starts;
   the SMSC process times the first to the last submit_sm it accepts.
2. MO: the SMSC sends ``--mo`` distinct ``BAL`` deliver_sm (64 in flight) and
   times them until the last reply submit_sm arrives.
The store is a real SQLite file with the chosen ``synchronous`` pragma.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def smsc_process(port: int, mt: int, mo: int, results: mp.Queue) -> None:  # type: ignore[type-arg]
    import smpp34

    async def main() -> None:
        server = smpp34.Server("127.0.0.1", port)
        await server.start()
        results.put("ready")
        esme = None
        count = 0
        t_first = t_mt = t_mo0 = 0.0
        mo_task = None

        async def send_mo(e: smpp34.Esme) -> None:
            nonlocal t_mo0
            sem = asyncio.Semaphore(64)

            async def one(i: int) -> None:
                async with sem:
                    await e.deliver_sm("888", f"BAL {i}".encode(), source_addr="85512345678")

            t_mo0 = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(mo)))

        while True:
            ev = await server.next()
            if isinstance(ev, smpp34.Esme):
                esme = ev
            elif isinstance(ev, smpp34.SubmitSmEvent):
                count += 1
                ev.accept(f"id{count}")
                if count == 1:
                    t_first = time.perf_counter()
                if count == mt:
                    t_mt = time.perf_counter()
                    results.put(("mt", mt, t_mt - t_first))
                    assert esme is not None
                    mo_task = asyncio.create_task(send_mo(esme))
                if count == mt + mo:
                    results.put(("mo", mo, time.perf_counter() - t_mo0))
                    await server.stop()
                    del mo_task
                    return

    asyncio.run(main())


async def gateway(port: int, mt: int, synchronous: str, results: mp.Queue) -> None:  # type: ignore[type-arg]
    from gateway.clock import SystemClock
    from gateway.config import SmppSettings
    from gateway.domain.money import Money
    from gateway.logs import configure_logging
    from gateway.profile import load_profile
    from gateway.services.facade import Services
    from gateway.services.model import OutgoingSms
    from gateway.services.ports import Context
    from gateway.services.runner import DbRunner
    from gateway.smpp import start_sms
    from gateway.store import open_store
    from gateway.store.outbox import enqueue
    from tests.sms.fakes import FakeTexts

    configure_logging("warning", "json")
    store = open_store(Path(tempfile.mkdtemp()) / "bench.db", migrate=True, synchronous=synchronous)
    profile = load_profile("smart-kh")
    clock = SystemClock()
    services = Services(Context(store=store, clock=clock, profile=profile, pin_secret="x" * 20))
    services.add_subscriber("85512345678", balance=Money(600, profile.currency))
    with store.write() as conn:
        for i in range(mt):
            enqueue(conn, OutgoingSms("85512345678", f"Notice {i}", "888", "notification"), clock.now())
    runner = DbRunner()
    settings = SmppSettings(port=port, send_rate=1_000_000.0, window=64, claim_batch=512)
    runtime = await start_sms(settings=settings, profile=profile, services=services, store=store,
                              clock=clock, runner=runner, texts=FakeTexts())
    done = 0
    while done < 2:
        msg = await asyncio.get_running_loop().run_in_executor(None, results.get)
        kind, n, seconds = msg
        print(f"{kind.upper()}: {n} in {seconds:.2f} s = {n / seconds:,.0f} msg/s "
              f"(synchronous={synchronous})")
        done += 1
    await runtime.close()
    runner.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mt", type=int, default=20000)
    parser.add_argument("--mo", type=int, default=5000)
    parser.add_argument("--synchronous", choices=("full", "normal"), default="full")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    results: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    child = mp.Process(target=smsc_process, args=(port, args.mt, args.mo, results))
    child.start()
    assert results.get(timeout=10) == "ready"
    try:
        asyncio.run(gateway(port, args.mt, args.synchronous, results))
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.terminate()


if __name__ == "__main__":
    main()
