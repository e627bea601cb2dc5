"""USSD session rows: what a replayed dialogue keeps between requests (see ``gateway.ussd.sessions``).

The USSD channel decides when a row is written; these functions are its
only way to the table, each one unit of work (grouped by ``Batcher`` with
the other jobs of its loop iteration).
"""

from __future__ import annotations

from datetime import datetime

from gateway.services.ports import Context
from gateway.store.port import SessionRow, SessionState

__all__ = ["SessionRow", "SessionState", "latest", "load", "load_and_latest", "save", "sweep", "touch"]


def load(ctx: Context, session_id: str) -> SessionRow | None:
    return ctx.store.read_uow().sessions.load(session_id)


def latest(ctx: Context, msisdn: str, service_code: str) -> SessionRow | None:
    """The number's newest dialogue of ``service_code`` (what resume may offer back)."""
    return ctx.store.read_uow().sessions.latest(msisdn, service_code)


def load_and_latest(
    ctx: Context, session_id: str, msisdn: str, service_code: str,
) -> tuple[SessionRow | None, SessionRow | None]:
    """``load`` and ``latest`` in one statement: a first request's read (one round trip on a server)."""
    return ctx.store.read_uow().sessions.load_and_latest(session_id, msisdn, service_code)


def save(ctx: Context, rows: list[SessionState]) -> None:
    """Insert or update several sessions in one operation (one row: one statement)."""
    with ctx.store.write_uow(single_statement=len(rows) == 1) as uow:
        uow.sessions.save(rows)


def touch(ctx: Context, session_id: str, expires_at: datetime, now: datetime) -> None:
    with ctx.store.write_uow(single_statement=True) as uow:
        uow.sessions.touch(session_id, expires_at, now)


def sweep(ctx: Context, before: datetime) -> int:
    """Delete rows that expired before ``before``; returns how many."""
    with ctx.store.write_uow() as uow:
        return uow.sessions.sweep(before)
