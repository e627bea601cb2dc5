"""The ``Care`` repository on PostgreSQL: ``gateway.store.care`` in the PostgreSQL flavour."""

from __future__ import annotations

from gateway.store.care import CareSql
from gateway.store.postgres.portable import PgFlavour


class PgCare(PgFlavour, CareSql):
    """Over the adapter's ``Sql`` (a transaction's connection, or the pool): TIMESTAMPTZ and DATE columns."""

    __slots__ = ()
