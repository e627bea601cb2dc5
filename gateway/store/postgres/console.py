"""``Reports`` and ``Audit`` on PostgreSQL: ``gateway.store.console`` in the PostgreSQL flavour."""

from __future__ import annotations

from gateway.store.console import AuditSql, ReportsSql
from gateway.store.postgres.portable import PgFlavour


class PgReports(PgFlavour, ReportsSql):
    __slots__ = ()


class PgAudit(PgFlavour, AuditSql):
    __slots__ = ()
