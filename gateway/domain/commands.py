"""The commands a channel sends to the use cases: plain frozen values.

They live beside the rules so that every channel (the menus, the SMS keywords)
can build one without importing the services; ``gateway.services.model``
re-exports them with the results.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain.channels import Channel
from gateway.domain.secrets import Sealed


@dataclass(frozen=True)
class TopUp:
    """Redeem a voucher PIN dialled or texted by ``requester``.

    ``target`` is another number to credit (a gift), or None for the
    requester's own line. ``request_key`` makes a resent request idempotent:
    the same key returns the first result and credits nothing twice.
    ``pin`` is as typed, or ``Sealed`` when it comes from a stored message.
    """

    requester: str
    pin: str | Sealed
    channel: Channel
    target: str | None = None
    request_key: str | None = None


@dataclass(frozen=True)
class ReportLost:
    """Report ``msisdn``'s SIM lost or stolen, proven by the subscriber's ID number.

    ``id_number`` is as typed, or ``Sealed`` when it comes from a stored message.
    """

    reporter: str
    msisdn: str
    id_number: str | Sealed
    channel: Channel
