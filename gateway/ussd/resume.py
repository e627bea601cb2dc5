"""Resume after a timeout: a dialogue cut off a moment ago is offered back (``1 Continue`` / ``2 Start again``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.ussd.request import Close
from gateway.ussd.sessions import Session
from menus.engine import RESUME_CONTINUE, RESUME_RESTART, RESUME_SCREEN, Engine
from menus.tree import Answer, Caller, ScreenKind

#: Screens a dialogue may stop on and be offered back from (``Reply.keep``).
KEPT = frozenset({ScreenKind.MENU, ScreenKind.INPUT, ScreenKind.CONFIRM})


class Resume:
    def __init__(self, engine: Engine, window: timedelta) -> None:
        self.engine = engine
        #: How soon after a dialogue stopped without our END dialling again offers it back (0: never).
        self.window = window
        #: Codes whose tree has somewhere to resume (a menu, input or confirmation past its start that
        #: is not secret): a first request of another (``*124#``) looks nothing up.
        menus = engine.menus
        self._codes = frozenset(
            code for code, name in menus.by_code.items()
            if any(screen.kind in KEPT and not screen.secret and screen.id != menus.trees[name].start
                   for screen in menus.trees[name].screens.values()))

    def probe(self, code: str, answers: tuple[Answer, ...]) -> str | None:
        """The code whose latest earlier dialogue a request looks up (a first one, nothing dialled
        after the code, resume on), else None."""
        return code if not answers and self.window and code in self._codes else None

    def recent(self, updated_at: datetime | None, created_at: datetime, now: datetime) -> bool:
        """A dialogue that stopped at ``updated_at`` (its last step or close) may still be offered."""
        return now - (updated_at or created_at) <= self.window

    def offerable(
        self, old: Session, caller: Caller, tree: str, now: datetime,
    ) -> tuple[Session, tuple[Answer, ...]] | None:
        """The caller's earlier dialogue and the path to offer back, if it may be.

        Offered when it stopped without our END and without the subscriber
        leaving (a network timeout, ``close(TIMEOUT)``, or no answer until it
        went idle; a released or cancelled dialogue was the subscriber's
        choice), within the window (``recent``), on a menu, input or
        confirmation that is not secret and whose path holds no secret, and
        not on the start screen (nothing to resume).
        """
        if caller.refusal is not None:
            return None  # a lost, unknown or recycled line: the menus say so from the start
        if old.closed in ("end", Close.ABANDONED.value) or old.secret or not old.keep:
            return None
        if not self.recent(old.updated_at, old.created_at, now):
            return None
        path = old.resume if old.screen == RESUME_SCREEN and old.resume is not None else old.path
        if not path or old.screen == f"{tree}:{self.engine.menus.trees[tree].start}":
            return None
        return old, path


def resumed(resume: tuple[Answer, ...], answers: tuple[Answer, ...]) -> tuple[tuple[Answer, ...], bool]:
    """The path of a resumed dialogue: the offered one then the answers after ``1``, or the answers
    after ``2`` alone (answers before the choice were wrong ones on the offer); False: no choice yet.

    On Africa's Talking ``text`` keeps the choice for the whole dialogue, so every request is
    translated; a latest-answer dialect translates once and keeps the path that results.
    """
    for j, answer in enumerate(answers):
        choice = answer.strip() if isinstance(answer, str) else ""
        if choice == RESUME_CONTINUE:
            return (*resume, *answers[j + 1:]), True
        if choice == RESUME_RESTART:
            return tuple(answers[j + 1:]), True
    return (), False
