"""Requests in flight, indexed by sequence number (aiosmpplib's correlator role).

aiosmpplib's ``SimpleCorrelator`` scans every stored entry on each ``put``
while it keeps delivery entries for three days, so each submit costs more
than the last. Here the map is a dict by sequence number holding only what
awaits a response (at most ``window`` entries); the SMSC message id is not
kept in memory at all but persisted with the outbox row, where the delivery
receipt finds it through an index.

A message of several parts is one ``Flight``: it is finished when every part
has been answered, submitted when all were accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.services.sms_delivery import OutboxRow


@dataclass
class Flight:
    row: OutboxRow
    parts: int
    message_ids: list[str] = field(default_factory=list)
    answered: int = 0
    #: The first refusal: (command_status, reason).
    refusal: tuple[int, str] | None = None

    @property
    def done(self) -> bool:
        return self.answered >= self.parts


@dataclass(frozen=True)
class Part:
    flight: Flight
    index: int
    sent_at: float


class Correlator:
    def __init__(self) -> None:
        self._by_seq: dict[int, Part] = {}
        self._flights: dict[int, Flight] = {}

    def __len__(self) -> int:
        return len(self._by_seq)

    def start(self, row: OutboxRow, parts: int) -> Flight:
        flight = Flight(row, parts, [""] * parts)
        self._flights[row.id] = flight
        return flight

    def sent(self, seq: int, flight: Flight, index: int, now: float) -> None:
        self._by_seq[seq] = Part(flight, index, now)

    def answer(self, seq: int, status: int, message_id: str, reason: str) -> Flight | None:
        """Record a response; returns the flight when this was its last part (else None).

        Raises:
            KeyError: nothing awaits a response with this sequence number.
        """
        part = self._by_seq.pop(seq)
        flight = part.flight
        flight.answered += 1
        if status == 0:
            flight.message_ids[part.index] = message_id
        elif flight.refusal is None:
            flight.refusal = (status, reason)
        if flight.done:
            self._flights.pop(flight.row.id, None)
            return flight
        return None

    def overdue(self, now: float, timeout: float) -> list[int]:
        return [seq for seq, part in self._by_seq.items() if now - part.sent_at > timeout]

    def drain(self) -> list[Flight]:
        """Forget everything in flight (the link is gone); returns the unfinished messages."""
        flights = list(self._flights.values())
        self._by_seq.clear()
        self._flights.clear()
        return flights
