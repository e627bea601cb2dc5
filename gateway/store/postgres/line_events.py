"""Lost-SIM reports and consent on PostgreSQL: ``gateway.store.line_events`` in the PostgreSQL flavour."""

from __future__ import annotations

from gateway.store.line_events import ConsentSql, LostReportsSql
from gateway.store.postgres.portable import PgFlavour


class PgLostReports(PgFlavour, LostReportsSql):
    __slots__ = ()


class PgConsent(PgFlavour, ConsentSql):
    __slots__ = ()
