"""USSD sessions on PostgreSQL: ``gateway.store.sessions`` in the PostgreSQL flavour."""

from __future__ import annotations

from gateway.store.postgres.portable import PgFlavour
from gateway.store.sessions import SessionsSql


class PgSessions(PgFlavour, SessionsSql):
    __slots__ = ()
