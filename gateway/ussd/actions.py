"""The actions a menu walk asks for: a read-only one inline on the read connection, a written one in
one job with its session row (one transaction, one commit)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from gateway.domain.errors import GatewayError, WrongPin
from gateway.logs import get_logger
from gateway.services import Services
from gateway.services.batcher import Batcher
from gateway.services.errors import StoreBusy
from gateway.services.model import BalanceView
from gateway.ussd import sessions
from gateway.ussd.metrics import UssdMetrics
from menus.actions import ACTION_TABLE
from menus.engine import Engine
from menus.tree import ActionCall, Pending, Reply

log = get_logger("gateway.ussd")

#: Moves a session to the reply just rendered (``Dialogues._apply`` for the request at hand).
Apply = Callable[[sessions.Session, Reply], None]


class Actions:
    def __init__(self, *, engine: Engine, services: Services, read_services: Services, batcher: Batcher,
                 metrics: UssdMetrics) -> None:
        self.engine = engine
        self.services = services
        self.read_services = read_services
        self.batcher = batcher
        self.metrics = metrics

    async def read(self, call: ActionCall, fresh_view: BalanceView | None, budget: float) -> object:
        """A read-only action's result (or refusal, or failure), inline on the read connection."""
        if call.name == "check_balance" and fresh_view is not None:
            return fresh_view  # read a moment ago, in this same request
        spec = ACTION_TABLE[call.name]
        try:
            return await self.batcher.read(spec.invoke, self.read_services, call.msisdn, call.args,
                                          call.request_key)
        except GatewayError as exc:
            return exc
        except StoreBusy:
            raise  # nothing was done: the busy screen, not "unavailable"
        except Exception as exc:
            log.exception("ussd_action_failed", action=call.name)
            return exc

    async def write(
        self, pending: Pending, draft: sessions.Session, apply: Apply, now: datetime, budget: float,
    ) -> tuple[object, Reply, bool]:
        """A written action, its screen, and ``draft`` moved there and saved: (result, reply, row written).

        The result is rendered inside the job so that the row holding it
        (what a resent request is answered from) commits with the action
        itself, instead of in a second transaction after it.
        """
        try:
            result, reply, saved = await self.batcher.write(self._job, pending, draft, apply, now, budget=budget)
        except StoreBusy:
            raise  # nothing was done: the busy screen, not "unavailable"
        except Exception as exc:  # the action failed, or its group's commit did
            log.exception("ussd_action_failed", action=pending.call.name)
            result, reply, saved = exc, self.engine.complete(pending, exc), False
        if pending.call.name == "top_up":
            self._count_topup(result)
        return result, reply, saved

    def _job(
        self, pending: Pending, draft: sessions.Session, apply: Apply, now: datetime,
    ) -> tuple[object, Reply, bool]:
        """Inside a group (on the loop or a lane, as the batcher runs it): the action, its screen and the row."""
        call = pending.call
        try:
            result: object = ACTION_TABLE[call.name].invoke(self.services, call.msisdn, call.args,
                                                            call.request_key)
        except GatewayError as exc:  # a refusal (recorded, if it counts, in its own savepoint)
            result = exc
        reply = self.engine.complete(pending, result)
        if reply.save is None:
            return result, reply, False
        draft.wrong_pins += isinstance(result, WrongPin)
        apply(draft, reply)
        try:
            self.services.save_sessions([sessions.state_row(draft, now)])
        except Exception as exc:  # noqa: BLE001 - the action went through: its result counts more
            log.warning("ussd_session_not_saved", session_id=draft.session_id, reason=str(exc))
            return result, reply, False
        return result, reply, True

    def _count_topup(self, result: object) -> None:
        if isinstance(result, BaseException):
            label = type(result).__name__ if isinstance(result, GatewayError) else "failed"
        else:
            label = "replayed" if getattr(result, "replayed", False) else "credited"
        self.metrics.topups.labels(label).inc()
