"""The composition root: every concrete object of a running gateway is built here.

settings → clock → store (migrated) → texts and replies → services → Batcher
→ menus and engine → USSD dialogues → aiohttp app, and the SMS side (``start_sms``:
ESME, store hook, outbox broker, keyword router). ``gateway.serving.serve`` runs them with the
background jobs and the operator console (``[admin]``, its own port). Dependencies are
passed as keyword arguments; nothing is built at import time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, ProcessCollector

from gateway.clock import Clock, SystemClock
from gateway.config import Settings
from gateway.logs import get_logger
from gateway.profile import OperatorProfile, load_profile
from gateway.ratelimit import RateLimiter
from gateway.services import Context, Services
from gateway.services.batcher import Batcher
from gateway.store import Store, open_database, open_store
from gateway.store.db import readable
from gateway.store.port import claimant
from gateway.ussd.dialogue import Dialogues
from gateway.ussd.metrics import UssdMetrics
from gateway.ussd.sessions import SessionCache
from gateway.ussd.web import init_app
from menus.engine import Engine
from menus.lint import check as check_menus
from menus.paging import ScreenLimits
from menus.replies import Replies
from menus.texts import Catalog

if TYPE_CHECKING:
    from gateway.config import SmppSettings
    from gateway.services.sms_delivery import Database
    from gateway.smpp.ussd import UssdOverSmpp
    from gateway.sms.runtime import SmsRuntime
    from gateway.store.postgres.uow import PgDatabase
    from menus.replies import ReplyTexts

log = get_logger("gateway.app")

class SmsSide(Protocol):
    """What ``serve`` needs of a running SMS side (``gateway.smpp.SmsRuntime`` is one)."""

    @property
    def bound(self) -> bool:
        """Bound to the SMSC right now (SMS can flow)."""
        ...

    async def close(self) -> None:
        """Unbind and stop; queued messages stay queued."""
        ...


@dataclass(frozen=True)
class Worker:
    """This process's place among the ``serve --workers N`` processes (index 0 of 1: plain ``serve``)."""

    index: int = 0
    count: int = 1

    @property
    def shared(self) -> bool:
        """Other processes of this gateway serve the same port and database at the same time."""
        return self.count > 1

    def binds(self, binds: int) -> bool:
        """Whether this worker keeps an SMPP bind (``[smpp] binds``: 0 = every worker does)."""
        return binds == 0 or self.index < binds


def process_identity(settings: Settings, worker: Worker) -> str:
    """Who claims outbox and inbox rows: ``host:port/worker#random``.

    The part before ``#`` names the worker's place, which only one live
    process holds at a time (a second ``serve`` on the same host cannot
    listen on the same port); the random part is new at every start. At
    start a process takes back at once what an earlier holder of its place
    had claimed (it died), and leaves what other places hold to their leases.
    """
    return claimant(f"{socket.gethostname()}:{settings.http.port}/{worker.index}")


#: The SMPP hook: ``await start_sms(gateway)`` binds and starts the SMS side and
#: returns it (``await side.close()`` stops it).
StartSms = Callable[["Gateway"], Awaitable[SmsSide]]


@dataclass
class Readiness:
    """The checks of ``GET /readyz``: the database can be read and, when SMPP is on, the link is bound.

    ``sms`` is set by ``serve`` once the SMS side has started; until then an
    enabled SMPP link counts as not bound.
    """

    database_path: str
    smpp_enabled: bool
    sms: SmsSide | None = None
    #: Why the database cannot serve now (None: it can); default: the SQLite file at ``database_path`` is readable.
    database_problem: Callable[[], str | None] | None = None

    async def __call__(self) -> list[str]:
        reasons = []
        # A thread: opening the file or reaching the server can block, the loop must not.
        problem = await asyncio.to_thread(self.database_problem or (lambda: readable(self.database_path)))
        if problem is not None:
            reasons.append(f"database: cannot be read ({problem})")
        if self.smpp_enabled and not (self.sms is not None and self.sms.bound):
            reasons.append("smpp: not bound to the SMSC")
        return reasons


@dataclass
class Gateway:
    """The built objects, for ``serve``, the SMS side and tests."""

    settings: Settings
    profile: OperatorProfile
    clock: Clock
    #: SQLite's ``Store``, or ``PgDatabase`` with ``[database] url``.
    store: Store | PgDatabase
    catalog: Catalog
    replies: Replies
    services: Services
    batcher: Batcher
    engine: Engine
    dialogues: Dialogues
    registry: CollectorRegistry
    #: Requests per number, shared by USSD and SMS (``limits.requests_per_minute``).
    limiter: RateLimiter

    #: The read-only connection reads run on (on the event loop, see ``Batcher``).
    read_store: Store | None = None
    #: This process's name on the outbox and inbox rows it claims (``process_identity``).
    identity: str = ""
    readiness: Readiness = field(init=False)

    def __post_init__(self) -> None:
        problem = None
        if not isinstance(self.store, Store):
            from gateway.store.postgres.connection import readiness

            pool = self.store.pool
            problem = lambda: readiness(pool)  # noqa: E731
        self.readiness = Readiness(self.settings.database.path, self.settings.smpp.enabled, database_problem=problem)

    def close(self) -> None:
        self.batcher.close()
        try:
            self.dialogues.save_pending()  # rows of new dialogues not flushed yet
            self.dialogues.journal.save_pending()  # and how the dialogues that ended did
        except Exception:  # noqa: BLE001 - conveniences: a restart replays the dialogue without them
            pass
        try:
            self.services.flush_activity()  # activity noted since the last flush (the DB thread has stopped)
        except Exception:  # noqa: BLE001 - a day's activity at most, for a rule that counts months
            log.exception("activity_not_saved")
        self.store.close()
        if self.read_store is not None:
            self.read_store.close()


def build_gateway(settings: Settings, *, clock: Clock | None = None, worker: Worker = Worker()) -> Gateway:
    """Build everything but the network listeners; migrates the database.

    ``worker``: with several workers a USSD session may move between
    processes, so each request reads its session row (``Dialogues(shared=)``).

    Raises:
        ConfigError, StoreError, MenuError: the gateway cannot start (a menu or text
            problem: the first ``menus.lint`` finds, and how many more).
    """
    clock = clock or SystemClock()
    profile = load_profile(settings.operator.profile)
    limits = ScreenLimits(settings.http.screen_chars_gsm, settings.http.screen_chars_ucs2)
    # Every problem ``menus check`` reports refuses the start, before the database is touched.
    linted = check_menus(profile, limits)
    catalog = linted.catalog
    store = open_database(settings.database, migrate=True)
    try:
        replies = Replies(catalog, profile)
        services = Services(Context(store=store, clock=clock, profile=profile,
                                    pin_secret=settings.security.pin_secret, notices=replies))
        engine = Engine(menus=linted.menus, texts=catalog, replies=replies, limits=limits,
                        seal=services.answer_key, seal_answer=services.seal_answer)
    except BaseException:
        store.close()
        raise
    read_store: Store | None = None
    read_services = services
    if isinstance(store, Store):
        # Reads run on the event loop on a connection of their own (see Batcher);
        # a WAL reader waits for no lock in normal operation, so a short timeout.
        read_store = open_store(settings.database.path,
                                busy_timeout_ms=min(settings.database.busy_timeout_ms, 1000),
                                synchronous=settings.database.synchronous, read_only=True)
        read_services = Services(Context(store=read_store, clock=clock, profile=profile,
                                         pin_secret=settings.security.pin_secret, notices=replies))
    # On PostgreSQL every job, reads too, runs on the batcher's lanes: the loop never waits on the network.
    batcher = Batcher(store)
    registry = CollectorRegistry()
    # ``/metrics`` is per process: the process's own figures, and which worker it is.
    ProcessCollector(registry=registry)
    Gauge("gateway_worker_info", "This process among the serve workers (always 1).", ["worker", "pid"],
          registry=registry).labels(str(worker.index), str(os.getpid())).set(1)
    cache = SessionCache()
    # With other processes on the same database, they limit the same numbers: keep the buckets in step.
    shared = worker.shared or read_store is None
    limiter = RateLimiter(profile.requests_per_minute, shared=shared)
    dialogues = Dialogues(
        engine=engine, services=services, batcher=batcher, clock=clock, profile=profile,
        metrics=UssdMetrics.create(registry, lambda: float(len(cache))), cache=cache,
        limiter=limiter, budget_seconds=settings.database.busy_timeout_ms / 1000,
        # On PostgreSQL any number of gateways may serve the same sessions.
        read_services=read_services, shared=shared,
    )
    return Gateway(settings, profile, clock, store, catalog, replies, services, batcher, engine,
                   dialogues, registry, limiter, read_store, process_identity(settings, worker))


def build_web_app(gateway: Gateway) -> web.Application:
    return init_app(settings=gateway.settings.http, dialogues=gateway.dialogues,
                    number_plan=gateway.profile.number_plan, readiness=gateway.readiness)


def build_console(gateway: Gateway) -> tuple[web.Application, Callable[[], None]]:
    """The operator console's application (``[admin]``), and what closes what it opened.

    Its reads get a connection of their own on SQLite (read-only, used by one
    thread), so a long page never holds the loop or the writer; on PostgreSQL
    the pool serves them. Its actions go through the gateway's ``Batcher``.
    """
    from datetime import timedelta

    from gateway.console.auth import Credentials, Sessions
    from gateway.console.web import Console, init_console

    settings = gateway.settings
    admin = settings.admin
    own: Store | None = None
    store: Store | PgDatabase = gateway.store
    if isinstance(gateway.store, Store):
        store = own = open_store(settings.database.path, busy_timeout_ms=settings.database.busy_timeout_ms,
                                 synchronous=settings.database.synchronous, read_only=True)
    reads = Services(Context(store=store, clock=gateway.clock, profile=gateway.profile,
                             pin_secret=settings.security.pin_secret, notices=gateway.replies))
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="console")
    lifetime = timedelta(minutes=admin.session_minutes)
    console = Console(
        services=gateway.services, batcher=gateway.batcher, reads=reads, reader=reader,
        credentials=Credentials(admin.token, admin.viewer_token),
        sessions=Sessions(gateway.clock, lifetime),
        secure_cookie=not _loopback(admin.host), session_seconds=int(lifetime.total_seconds()),
    )

    def close() -> None:
        reader.shutdown(wait=True)
        if own is not None:
            own.close()

    return init_console(console), close


def _loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (a cookie need not be ``Secure`` there)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def start_sms_runtime(gateway: Gateway) -> SmsSide:
    """The SMS side of ``serve``: bind to the SMSC, answer keywords, send the outbox, and with
    ``[smpp] ussd`` answer the USSD centre's dialogues on the same bind (``gateway.smpp.ussd``).

    Returns the running side; ``close()`` unbinds and stops it (queued rows stay queued).
    """
    from gateway.smpp.ussd import UssdOverSmpp

    settings = gateway.settings
    ussd = UssdOverSmpp(
        dialogues=gateway.dialogues, screens=gateway.engine, number_plan=gateway.profile.number_plan,
        vendor=settings.smpp.ussd_vendor, secret=settings.security.pin_secret,
        language=gateway.profile.default_language, registry=gateway.registry,
    ) if settings.smpp.ussd else None
    runtime = await start_sms(
        settings=settings, profile=gateway.profile, services=gateway.services,
        store=gateway.store, clock=gateway.clock, batcher=gateway.batcher,
        registry=gateway.registry, texts=gateway.replies, limiter=gateway.limiter,
        identity=gateway.identity, ussd=ussd,
    )
    return runtime


def default_texts(profile: OperatorProfile) -> ReplyTexts:
    """The shared USSD/SMS texts (``menus.replies.Replies``)."""
    from menus.replies import Replies
    from menus.texts import Catalog

    return Replies(Catalog.for_profile(profile), profile)


async def start_sms(*, settings: Settings | SmppSettings, profile: OperatorProfile,
                    services: Services, store: Database, clock: Clock, batcher: Batcher,
                    registry: CollectorRegistry | None = None,
                    texts: ReplyTexts | None = None,
                    limiter: RateLimiter | None = None, identity: str | None = None,
                    ussd: UssdOverSmpp | None = None) -> SmsRuntime:
    """Start answering SMS keywords and sending the outbox; returns the running runtime.

    With ``[smpp] enabled = false`` nothing binds (``bound`` stays False) but
    MO left in the inbox are still answered and queued. ``limiter`` is the
    per-number limit shared with USSD (None: no limit on SMS). ``identity``
    names this process on the outbox rows it claims (``store.sms.claimant``;
    None: a process alone on its database, which takes every claim left
    ``sending`` for its own). ``ussd``: USSD over SMPP on the same bind
    (``[smpp] ussd``; None: every deliver_sm is an SMS).
    """
    # Imported here: a gateway without SMS never loads the SMPP client.
    from gateway.smpp.broker import OutboxBroker
    from gateway.smpp.client import Esme
    from gateway.smpp.hook import StoreHook
    from gateway.smpp.metrics import SmsMetrics
    from gateway.sms.router import KeywordRouter
    from gateway.sms.runtime import SmsRuntime, inbox_seal

    metrics = SmsMetrics.create(registry)
    smpp = settings.smpp if isinstance(settings, Settings) else settings
    router = KeywordRouter(services=services, texts=texts or default_texts(profile))
    broker = OutboxBroker(store=store, batcher=batcher, clock=clock, batch=smpp.claim_batch,
                          poll_interval=smpp.outbox_poll_interval, identity=identity,
                          lease=timedelta(seconds=smpp.outbox_lease))
    runtime: SmsRuntime
    hook = StoreHook(store=store, batcher=batcher, clock=clock, dedupe_window=smpp.mo_dedupe_window,
                     secret=services.ctx.pin_secret, on_inbox=lambda ids: runtime.inbox_saved(ids), metrics=metrics,
                     seal=inbox_seal(services), identity=identity)
    esme = Esme(settings=smpp, hook=hook, broker=broker, clock=clock,
                registry=registry, metrics=metrics, ussd=ussd) if smpp.enabled else None
    runtime = SmsRuntime(esme=esme, hook=hook, broker=broker, router=router, batcher=batcher,
                         store=store, clock=clock, limiter=limiter, metrics=metrics,
                         text_retention=timedelta(days=smpp.inbox_text_retention_days))
    await runtime.start()
    return runtime
