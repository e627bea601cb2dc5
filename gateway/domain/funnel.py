"""How USSD dialogues ended, and how the gateway's record and an aggregator's report combine.

The gateway's journal gives every dialogue it served one ``Outcome``:

- ``completed``: our END answered it as the rules say, a refusal included
  (wrong PIN, locked, rate-limited, unknown code): the subscriber got an
  answer;
- ``failed``: we could not serve it (database busy or unusable, an action
  that broke), or the aggregator says our answer did not reach the handset;
- ``abandoned``: the subscriber left it on a screen awaiting an answer
  (a dialect's release or cancel, a user abort over SMPP, an aggregator's
  report of a session ended while input was awaited);
- ``timed_out``: it stopped without our END and without a word from
  anyone: the network's timer (a dialect's timeout) or our own idle expiry.

An aggregator's end-of-session report (``Reported``) is combined with the
journal by ``combined``; the gateway's record decides, except where the
aggregator knows better. ``agrees`` says whether the two tell one story.
"""

from __future__ import annotations

import enum


class Outcome(enum.Enum):
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    TIMED_OUT = "timed_out"
    FAILED = "failed"


class Reported(enum.Enum):
    """An aggregator's end-of-session status (Africa's Talking's three)."""

    SUCCESS = "Success"  # the session reached its end (our END)
    INCOMPLETE = "Incomplete"  # it ended while a screen awaited input
    FAILED = "Failed"  # it ended on an error: our answer late, malformed or refused

    @classmethod
    def parse(cls, text: str) -> Reported | None:
        """The status named by ``text`` (any case), or None."""
        return _BY_NAME.get(text.strip().lower())


_BY_NAME = {status.value.lower(): status for status in Reported}

#: The outcomes that stopped on a screen awaiting an answer: what the funnel shows screen by screen.
STOPPED = frozenset({Outcome.ABANDONED, Outcome.TIMED_OUT})


def combined(ours: Outcome, reported: Reported | None) -> Outcome:
    """The outcome ``ussd report`` counts for a dialogue.

    - the aggregator says ``Failed``: failed, whatever we saw (the subscriber
      did not get our screen);
    - we timed it out on our own and the aggregator says ``Incomplete``:
      abandoned (it saw the session end on a screen awaiting input, which is
      all our timer knew less precisely);
    - otherwise our own record: an ``Incomplete`` after our END is still
      completed (the answer was given; the handset or network ended late).
    """
    if reported is Reported.FAILED:
        return Outcome.FAILED
    if ours is Outcome.TIMED_OUT and reported is Reported.INCOMPLETE:
        return Outcome.ABANDONED
    return ours


def agrees(ours: Outcome, reported: Reported) -> bool:
    """Whether our record and the report tell the same story (the report's table shows the others)."""
    if reported is Reported.SUCCESS:
        return ours is Outcome.COMPLETED
    if reported is Reported.INCOMPLETE:
        return ours in STOPPED
    return ours is Outcome.FAILED
