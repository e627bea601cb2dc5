"""The least a USSD step must do on this stack: a yardstick between bare aiohttp and ``serve``.

Same server settings as the baseline (aiohttp, no access log), same form
POST, same database file as ``serve``; per step it does only the work no
gateway can skip:

- parse the form from the raw body;
- ``*124#`` and the second step of ``*100#``: one indexed read of the caller's
  line (``subscribers`` by ``msisdn``) and a balance text;
- ``*100#``: a fixed menu screen;
- ``*123#`` with a PIN: the keyed hash of the PIN, the voucher by its hash,
  the voucher marked used, the balance credited, a ledger row; the jobs that
  arrive in one loop iteration share one ``BEGIN IMMEDIATE`` (a savepoint
  each) and one durable ``COMMIT`` (``synchronous = FULL``) on a thread, and
  each answer waits for that commit;
- one JSON log line per step (``json`` and a buffered write per iteration).

Everything else ``serve`` does is left out on purpose: sessions, menus from
the catalogue, languages, the rate limit, access control, metrics, PIN
lockout, request keys, top-up records and notifications, the operator's
expiry and bonus rules. Its steps/s over bare aiohttp's says how much of the
0.5× budget this machine and stack allow before any of that runs.

Run as ``python -m benchmarks.minimal PORT`` with ``GATEWAY_DATABASE_PATH``
and ``GATEWAY_SECURITY_PIN_SECRET`` set (``benchmarks.seed.gateway_env``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import IO

from aiohttp import web

from gateway.domain.secrets import keyed_hash
from gateway.services.topup import PIN_PURPOSE
from gateway.ussd.web import parse_form

#: Most top-ups in one commit (as the ``Batcher``'s groups).
MAX_GROUP = 64


class Minimal:
    def __init__(self, db: str, secret: str, log: IO[str]) -> None:
        self.read = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)
        self.write = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        self.write.execute("PRAGMA journal_mode = WAL")
        self.write.execute("PRAGMA synchronous = FULL")
        self.write.execute("PRAGMA busy_timeout = 5000")
        self.secret = secret
        self.log = log
        self.committer = ThreadPoolExecutor(1, thread_name_prefix="commit")
        self.waiting: list[tuple[str, str, asyncio.Future[str]]] = []
        self.committing = False
        self.drain_due = False
        self.flush_due = False

    async def ussd(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        form = parse_form((await request.read()).decode())
        code, text = form.get("serviceCode", ""), form.get("text", "")
        msisdn = form.get("phoneNumber", "").lstrip("+")
        if code == "*123#" and text:
            reply = await self.top_up(text, msisdn)
        elif code == "*100#" and not text:
            reply = "CON 1 Balance\n2 Top up\n3 Lost SIM"
        else:
            reply = "END " + self.balance(msisdn)
        self.line(form.get("sessionId", ""), msisdn, code, reply, started)
        return web.Response(text=reply, content_type="text/plain")

    def balance(self, msisdn: str) -> str:
        row = self.read.execute(
            "SELECT main_minor, main_expires_at FROM subscribers WHERE msisdn = ? AND status = 'live'", (msisdn,)
        ).fetchone()
        if row is None:
            return "This number is not a subscriber."
        until = f", valid until {row[1][:10]}" if row[1] else ""
        return f"Your balance is USD {row[0] // 100}.{row[0] % 100:02d}{until}."

    def line(self, session_id: str, msisdn: str, code: str, reply: str, started: float) -> None:
        self.log.write(json.dumps({
            "session_id": session_id, "msisdn": msisdn[:3] + "*****" + msisdn[-3:], "service_code": code,
            "outcome": "end" if reply.startswith("END") else "continue",
            "ms": round((time.perf_counter() - started) * 1000, 2), "event": "ussd_turn", "level": "info",
            "logger": "minimal", "timestamp": datetime.now(UTC).isoformat(),
        }) + "\n")
        if not self.flush_due:
            self.flush_due = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self.flush_due = False
        self.log.flush()

    async def top_up(self, pin: str, msisdn: str) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.waiting.append((pin, msisdn, future))
        self.schedule()
        return await future

    def schedule(self) -> None:
        if not self.drain_due:
            self.drain_due = True
            asyncio.get_running_loop().call_soon(self.drain)

    def drain(self) -> None:
        """The waiting top-ups in one transaction; its COMMIT on the committer thread."""
        self.drain_due = False
        if self.committing or not self.waiting:
            return
        group, self.waiting = self.waiting[:MAX_GROUP], self.waiting[MAX_GROUP:]
        now = datetime.now(UTC).isoformat()
        self.write.execute("BEGIN IMMEDIATE")
        answers = []
        for pin, msisdn, future in group:
            self.write.execute("SAVEPOINT op")
            answers.append((future, self.redeem(pin, msisdn, now)))
            self.write.execute("RELEASE op")
        self.committing = True
        commit = asyncio.get_running_loop().run_in_executor(self.committer, self.write.execute, "COMMIT")

        def committed(done: asyncio.Future[sqlite3.Cursor]) -> None:
            self.committing = False
            failed = done.exception()
            for future, answer in answers:
                if failed is not None:
                    future.set_exception(failed)
                else:
                    future.set_result(answer)
            if self.waiting:
                self.schedule()

        commit.add_done_callback(committed)

    def redeem(self, pin: str, msisdn: str, now: str) -> str:
        voucher = self.write.execute(
            "SELECT id, amount_minor, status FROM vouchers WHERE pin_hash = ?",
            (keyed_hash(self.secret, PIN_PURPOSE, pin),),
        ).fetchone()
        if voucher is None or voucher[2] != "active":
            return "END That voucher PIN is not valid."
        line = self.write.execute(
            "SELECT id, main_minor FROM subscribers WHERE msisdn = ? AND status = 'live'", (msisdn,)
        ).fetchone()
        if line is None:
            return "END This number is not a subscriber."
        amount, balance = voucher[1], line[1] + voucher[1]
        self.write.execute("UPDATE vouchers SET status = 'used', used_at = ?, used_by = ? WHERE id = ?",
                           (now, line[0], voucher[0]))
        self.write.execute("UPDATE subscribers SET main_minor = ? WHERE id = ?", (balance, line[0]))
        self.write.execute(
            "INSERT INTO ledger (subscriber_id, bucket, delta_minor, kind, at, recorded_at, reference, channel) "
            "VALUES (?, 'main', ?, 'topup', ?, ?, ?, 'ussd')", (line[0], amount, now, now, f"voucher:{voucher[0]}"),
        )
        return (f"END Top-up of USD {amount // 100}.{amount % 100:02d} done. "
                f"Your balance is USD {balance // 100}.{balance % 100:02d}.")


def main(argv: list[str]) -> int:
    minimal = Minimal(os.environ["GATEWAY_DATABASE_PATH"], os.environ["GATEWAY_SECURITY_PIN_SECRET"],
                      open(sys.stderr.fileno(), "w", buffering=1 << 16, closefd=False))
    app = web.Application()
    app.router.add_post("/ussd", minimal.ussd)
    web.run_app(app, host="127.0.0.1", port=int(argv[0]), access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
