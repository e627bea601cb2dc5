"""A latest-answer request on a session we know: a resend of the last one, or a new dialogue under its id.

A dialect that sends only the latest answer resends it when our reply got
lost; the reply kept in the row (``Session.last``) answers it, and nothing is
done or appended twice. A first request on a session that stopped (or on a
path whose ids name a subscriber, not a dialogue: ``LatestRequest.restart``)
starts a new dialogue instead.
"""

from __future__ import annotations

from datetime import datetime

from gateway.ussd.request import LatestRequest
from gateway.ussd.sessions import Session
from menus.tree import Reply


def resent(session: Session, request: LatestRequest, now: datetime) -> Reply | None:
    """The reply to send again when ``request`` resends the step answered last (the same sequence, the
    first request again while the dialogue goes on, or an answer after our END), else None."""
    last = session.last
    if last is None or session.left:
        return None
    if ((request.sequence is not None and request.sequence == last[0])
            or (request.first and not session.stopped(now) and not request.restart)
            or (session.closed == "end" and request.sequence is None and not request.first)):
        return Reply(last[1], end=last[2], keep=session.keep, screen=session.screen,
                     secret=session.secret, kept=session.path)
    return None


def starts_anew(session: Session, request: LatestRequest) -> bool:
    """``request`` (not a resend) dials a new dialogue under a key used before (USSD over SMPP keyed by
    number and code, or a session number given again)."""
    return request.first and (session.closed is not None or request.restart)


def kept_dialogue(session: Session, request: LatestRequest, now: datetime) -> str:
    """The dialogue id a new dialogue under ``session``'s id goes on with ("": a new one).

    Within the idle time after our END, nothing tells a dial again on a path
    without ``restart`` from the aggregator resending the request we ended:
    the old id, so that an identical top-up is answered from its record.
    """
    if not request.restart and session.closed == "end" and not session.expired(now):
        return session.dialogue
    return ""
