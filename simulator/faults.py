"""What can go wrong, on purpose: injected submit errors and receipt outcomes.

These are policies, not protocol: they take the time and a random source as
inputs so tests can pin them, and the session state machine never sees them.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import UTC, datetime

from aiosmpplib import DeliverSm, OptionalParam, PhoneNumber, SmppCommandStatus
from aiosmpplib.state import MESSAGE_STATE, RECEIPTED_MESSAGE_ID

from gateway.domain.pacing import TokenBucket
from simulator.settings import SimulatorSettings


class Outcome(enum.Enum):
    """Final state of an MT, as ``stat`` text and ``message_state`` TLV value."""

    DELIVRD = 2
    EXPIRED = 3
    UNDELIV = 5

    @property
    def error(self) -> int:
        return {"DELIVRD": 0, "EXPIRED": 996, "UNDELIV": 1}[self.name]


@dataclass
class SubmitFaults:
    """Decides whether a submit_sm is refused, from ``[simulator]`` settings."""

    settings: SimulatorSettings
    rng: random.Random

    def new_bucket(self, now: float) -> TokenBucket | None:
        rate = self.settings.throttle_rate
        return TokenBucket(rate, max(1.0, rate), now) if rate > 0 else None  # (a second's worth of burst)

    def refuse(
        self, bucket: TokenBucket | None, in_flight: int, now: float
    ) -> SmppCommandStatus | None:
        """The error status to answer with, or None to accept."""
        s = self.settings
        if s.window_limit and in_flight >= s.window_limit:
            return SmppCommandStatus.ESME_RMSGQFUL
        if bucket is not None and bucket.take(now) > 0:
            return SmppCommandStatus.ESME_RTHROTTLED
        if s.syserr_ratio and self.rng.random() < s.syserr_ratio:
            return SmppCommandStatus.ESME_RSYSERR
        return None

    def outcome(self) -> Outcome:
        s = self.settings
        draw = self.rng.random()
        if draw < s.undeliverable_ratio:
            return Outcome.UNDELIV
        if draw < s.undeliverable_ratio + s.expired_ratio:
            return Outcome.EXPIRED
        return Outcome.DELIVRD


def wants_receipt(registered_delivery: int, outcome: Outcome) -> bool:
    """Bits 0-1: 1 = always, 2 = on failure only (SMPP 3.4 5.2.17)."""
    mode = registered_delivery & 0x03
    return mode == 1 or (mode == 2 and outcome is not Outcome.DELIVRD)


def receipt_text(
    message_id: str, outcome: Outcome, submitted: float, done: float, text: str
) -> str:
    """The de-facto receipt format (SMPP 3.4 Appendix B)."""
    fmt = "%y%m%d%H%M"
    sub = datetime.fromtimestamp(submitted, UTC).strftime(fmt)
    fin = datetime.fromtimestamp(done, UTC).strftime(fmt)
    return (
        f"id:{message_id} sub:001 dlvrd:{1 if outcome is Outcome.DELIVRD else 0:03d} "
        f"submit date:{sub} done date:{fin} stat:{outcome.name} "
        f"err:{outcome.error:03d} text:{text[:20]}"
    )


def receipt_pdu(
    message_id: str, outcome: Outcome, source: str, destination: str,
    submitted: float, done: float, text: str,
) -> DeliverSm:
    """The receipt goes from the handset (the MT's destination) back to its sender."""
    return DeliverSm(
        short_message=receipt_text(message_id, outcome, submitted, done, text),
        source=PhoneNumber(destination),
        destination=PhoneNumber(source),
        esm_class=0x04,
        registered_delivery=0,
        error_handling="replace",
        optional_params=[
            OptionalParam(RECEIPTED_MESSAGE_ID, message_id),
            OptionalParam(MESSAGE_STATE, outcome.value),
        ],
    )
