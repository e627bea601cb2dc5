"""The store port: what the services need from a database, as Protocols.

A unit of work (``UnitOfWork``) exposes one repository per kind of data;
``Database`` opens it for writing (one transaction, all or nothing: commit
on success, rollback on an exception, a savepoint inside a group of jobs) or
for reading. Repository methods are named for what the services do, take
and return domain and value types, and never expose SQL or driver rows.

The SQLite adapter is ``gateway.store.sqlite_uow``, the PostgreSQL one
``gateway.store.postgres.uow``. The Protocols and their value types live in one
module per concern (``accounts``, ``sms``, ``sessions``, ``care``, ``console``,
``database``), each naming its public ones in ``__all__``; import them from here.
"""

from gateway.store.port import accounts, care, console, database, sessions, sms
from gateway.store.port.accounts import *  # noqa: F403
from gateway.store.port.care import *  # noqa: F403
from gateway.store.port.console import *  # noqa: F403
from gateway.store.port.database import *  # noqa: F403
from gateway.store.port.sessions import *  # noqa: F403
from gateway.store.port.sms import *  # noqa: F403

__all__ = [*accounts.__all__, *care.__all__, *console.__all__, *database.__all__, *sessions.__all__, *sms.__all__]
