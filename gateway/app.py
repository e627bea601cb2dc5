"""The composition root: every concrete object of a running gateway is built here.

settings → clock → store (migrated) → texts and replies → services → Batcher
→ menus and engine → USSD dialogues → aiohttp app; then ``serve`` adds the
background jobs, the operator console (``[admin]``, its own port) and
(through a hook) the SMPP runtime. Dependencies are
passed as keyword arguments; nothing is built at import time.
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector

from gateway.clock import Clock, SystemClock
from gateway.config import ConfigError, Settings
from gateway.logs import bind_process, get_logger, write_at_once, write_per_iteration
from gateway.monitoring import StoreGauges, keep_figures
from gateway.profile import OperatorProfile, load_profile
from gateway.ratelimit import LimitSharing, RateLimiter
from gateway.services import Context, Services
from gateway.services.batcher import Batcher
from gateway.services.figures import Figures, read_figures
from gateway.store import Store, open_database, open_store
from gateway.store.db import readable
from gateway.store.port import claimant
from gateway.ussd.access import Access
from gateway.ussd.dialogue import Dialogues
from gateway.ussd.listener import LINGER_SECONDS, ConnectionGuard, GuardedSite, fit_cap, raise_file_limit
from gateway.ussd.metrics import UssdMetrics
from gateway.ussd.sessions import SessionCache
from gateway.ussd.web import init_app
from menus.engine import Engine
from menus.lint import check as check_menus
from menus.paging import ScreenLimits
from menus.replies import Replies
from menus.texts import Catalog

if TYPE_CHECKING:
    from gateway.store.postgres.uow import PgDatabase

log = get_logger("gateway.app")

#: How often the activity the channels noted is written (``gateway.services.activity``).
ACTIVITY_FLUSH_SECONDS = 10.0


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
    from concurrent.futures import ThreadPoolExecutor
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


async def start_console(gateway: Gateway) -> Callable[[], Awaitable[None]]:
    """Listen for the console on ``[admin] host:port``; returns what stops it.

    Raises:
        ConfigError: the port cannot be listened on.
    """
    admin = gateway.settings.admin
    app, close = build_console(gateway)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, admin.host, admin.port).start()
    except OSError as exc:
        await runner.cleanup()
        close()
        raise ConfigError(f"admin.port: cannot listen on {admin.host}:{admin.port}: {exc.strerror or exc}") from None
    log.info("console_listening", addresses=[f"{a[0]}:{a[1]}" for a in runner.addresses],
             viewer=bool(gateway.settings.admin.viewer_token))

    async def stop() -> None:
        await runner.cleanup()
        close()

    return stop


async def start_sms_runtime(gateway: Gateway) -> SmsSide:
    """The SMS side of ``serve``: bind to the SMSC, answer keywords, send the outbox, and with
    ``[smpp] ussd`` answer the USSD centre's dialogues on the same bind (``gateway.smpp.ussd``).

    Returns the running side; ``close()`` unbinds and stops it (queued rows stay queued).
    """
    from gateway.smpp import start_sms
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


async def every(seconds: float, name: str, job: Callable[[], Awaitable[object]]) -> None:
    """Run ``job`` every ``seconds`` until cancelled; a failure is logged, not fatal."""
    while True:
        await asyncio.sleep(seconds)
        try:
            result = await job()
            log.debug(name, result=str(result))
        except Exception:
            log.exception(f"{name}_failed")


def _limit_sharing(gateway: Gateway) -> LimitSharing:
    """The job that keeps this process's rate limits in step with the other processes' (``ratelimit``)."""
    services, batcher = gateway.services, gateway.batcher
    syncs = Counter("gateway_rate_limit_syncs", "Exchanges of rate-limit spend with the other processes.",
                    registry=gateway.registry)

    async def share(costs: dict[str, float], watch: list[str], now: float) -> dict[str, float]:
        return await batcher.call(services.share_rate_limits, costs, watch, now)

    async def forget(now: float) -> int:
        return await batcher.call(services.forget_full_rate_limits, now)

    return LimitSharing(gateway.limiter, share=share, forget=forget, clock=gateway.clock, on_sync=syncs.inc)


def _figures_reader(gateway: Gateway) -> tuple[Callable[[], Figures], Callable[[], None]]:
    """What the figures job reads with (``gateway.monitoring``), and how to let its connection go.

    On SQLite a read-only connection of its own (a WAL reader waits for no
    writer, and the writer's lane and the loop's read connection stay free);
    on PostgreSQL the pool's connections serve any thread.
    """
    settings = gateway.settings
    wait = timedelta(minutes=settings.jobs.receipt_overdue_minutes)
    db: Store | PgDatabase = gateway.store
    release: Callable[[], None] = lambda: None  # noqa: E731
    if isinstance(db, Store):
        db = open_store(settings.database.path, busy_timeout_ms=settings.database.busy_timeout_ms,
                        synchronous=settings.database.synchronous, read_only=True)
        release = db.close
    reader = db
    return (lambda: read_figures(reader, gateway.clock.now(), wait)), release


def _connection_guard(settings: Settings, soft_limit: int) -> ConnectionGuard:
    """Who may connect at all: the union of the ``/ussd`` and ``/metrics`` networks (any, if either is)."""
    http = settings.http
    networks = (*http.allowed_networks, *http.metrics_networks) if (
        http.allowed_networks and http.metrics_networks) else ()
    return ConnectionGuard(access=Access.from_settings(networks),
                           max_connections=fit_cap(http.max_connections, soft_limit))


async def serve(
    settings: Settings, *, clock: Clock | None = None, start_sms: StartSms | None = None,
    stop: asyncio.Event | None = None, worker: Worker = Worker(),
) -> None:
    """HTTP USSD endpoint + background jobs (+ SMS) until SIGTERM/SIGINT or ``stop``.

    On the way out the listener closes first and requests in flight finish;
    then the jobs and the SMS side stop, then the database closes.
    ``worker``: one of ``serve --workers N`` (``gateway.workers``): the
    listener shares the port (``SO_REUSEPORT``), and the SMPP bind is kept
    only when ``[smpp] binds`` gives this worker one.
    """
    was, soft, hard = raise_file_limit()
    if worker.shared:
        bind_process(worker=worker.index, pid=os.getpid())
        if settings.smpp.enabled and not worker.binds(settings.smpp.binds):
            log.info("smpp_not_bound_here", binds=settings.smpp.binds)
            settings = replace(settings, smpp=replace(settings.smpp, enabled=False))
    gateway = build_gateway(settings, clock=clock, worker=worker)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    write_per_iteration(loop)
    http = web.AppRunner(build_web_app(gateway), access_log=None, shutdown_timeout=10.0,
                         keepalive_timeout=settings.http.keepalive_timeout, lingering_time=LINGER_SECONDS)
    guard = _connection_guard(settings, soft)
    log.info("fd_limit", soft_before=was, soft=soft, hard=hard, max_connections=guard.max_connections)
    jobs: list[asyncio.Task[None]] = []
    sms: SmsSide | None = None
    # The figures job's one thread: its reading runs there, and its connection is closed there after it.
    figures_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="figures")
    release_figures: Callable[[], None] = lambda: None  # noqa: E731
    stop_console: Callable[[], Awaitable[None]] | None = None
    try:
        await http.setup()
        site = GuardedSite(http, settings.http.host, settings.http.port, guard=guard,
                           reuse_port=worker.shared)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(f"http.port: cannot listen on {settings.http.host}:{settings.http.port}: "
                              f"{exc.strerror or exc}") from None
        log.info("http_listening", addresses=[f"{a[0]}:{a[1]}" for a in http.addresses])
        # The operator console: one process per host serves it (worker 0 of ``--workers N``), so its
        # port is not shared and a signed-in browser always reaches the process that knows its session.
        if settings.admin.enabled and worker.index == 0:
            stop_console = await start_console(gateway)

        # --- SMPP hook ------------------------------------------------------------
        # The SMS side (ESME, outbox sender, MO keyword routing) starts here and
        # stops after the HTTP listener (see the finally block below).
        if start_sms is not None and settings.smpp.enabled:
            sms = gateway.readiness.sms = await start_sms(gateway)
        # ---------------------------------------------------------------------------

        # Everything built so far (code, menus, settings, connections) lives as long
        # as the process: out of the collector's way for good. Requests make
        # hundreds of short-lived objects, almost none in cycles: a young
        # generation of 20,000 instead of 700 collects ~30× less often, for a
        # few hundred kB more at most.
        if gateway.limiter.shared:
            jobs.append(asyncio.create_task(_limit_sharing(gateway).run()))

        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)

        services, batcher = gateway.services, gateway.batcher
        jobs += [
            asyncio.create_task(every(settings.jobs.lifecycle_interval_seconds, "lifecycle_run",
                                      lambda: batcher.call(services.run_lifecycle))),
            asyncio.create_task(every(settings.jobs.session_sweep_seconds, "ussd_sessions_swept",
                                      gateway.dialogues.sweep)),
            asyncio.create_task(every(ACTIVITY_FLUSH_SECONDS, "activity_flushed",
                                      lambda: batcher.call(services.flush_activity))),
        ]
        read, release_figures = _figures_reader(gateway)
        jobs.append(asyncio.create_task(keep_figures(StoreGauges(gateway.registry), read,
                                                     settings.jobs.figures_interval_seconds, figures_thread)))
        await stop.wait()
        log.info("shutting_down")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await http.cleanup()  # stop accepting; in-flight requests finish
        if stop_console is not None:
            await stop_console()
        for task in jobs:
            task.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        figures_thread.submit(release_figures)  # after the reading under way, if any
        figures_thread.shutdown(wait=True)
        if sms is not None:
            await sms.close()
        gateway.close()
        write_at_once()
        log.info("stopped")
