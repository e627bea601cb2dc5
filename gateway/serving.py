"""``serve``: one gateway process from start to SIGTERM.

``gateway.app`` builds the objects; this module runs them: the HTTP listener,
the operator console, the SMS side (through the ``start_sms`` hook) and the
background jobs, then stops them in order. Nothing here builds a business
object of its own.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import Counter

from gateway.app import Gateway, SmsSide, StartSms, Worker, build_console, build_gateway, build_web_app
from gateway.clock import Clock
from gateway.config import ConfigError, Settings
from gateway.logs import bind_process, get_logger, write_at_once, write_per_iteration
from gateway.monitoring import StoreGauges, keep_figures
from gateway.ratelimit import LimitSharing
from gateway.services.figures import Figures, read_figures
from gateway.store import Store, open_store
from gateway.ussd.access import Access
from gateway.ussd.listener import LINGER_SECONDS, ConnectionGuard, GuardedSite, fit_cap, raise_file_limit

if TYPE_CHECKING:
    from gateway.store.postgres.uow import PgDatabase

log = get_logger("gateway.app")

#: How often the activity the channels noted is written (``gateway.services.activity``).
ACTIVITY_FLUSH_SECONDS = 10.0


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
    stop: asyncio.Event | None = None, worker: Worker = Worker(),  # noqa: B008 - frozen, as in app.py
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
