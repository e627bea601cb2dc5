"""The ``Postpaid`` repository on PostgreSQL: ``gateway.store.postpaid`` in the PostgreSQL flavour."""

from __future__ import annotations

from gateway.store.postgres.portable import PgFlavour
from gateway.store.postpaid import PostpaidSql


class PgPostpaid(PgFlavour, PostpaidSql):
    """Over the adapter's ``Sql`` (a transaction's connection, or the pool): TIMESTAMPTZ and DATE columns."""

    __slots__ = ()
