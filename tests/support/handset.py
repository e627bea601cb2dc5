"""A handset behind a dialect that sends only the latest answer, driving ``Dialogues`` directly.

The dialects (Hubtel, Nalo, Arkesel, MADAPI, USSD over SMPP) each test their
codec over HTTP or SMPP; this driver checks what they all build on: the path
kept on the gateway's side, resends by sequence, ``close``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from gateway.ussd.africastalking import render
from gateway.ussd.dialogue import Dialogues
from gateway.ussd.request import Close, LatestRequest, split_dial
from tests.support.ussd import ME

_ids = itertools.count(1)


@dataclass
class Handset:
    """One dialogue: ``dial`` starts it, ``answer`` sends each answer with the next sequence number."""

    dialogues: Dialogues
    msisdn: str = ME
    session_id: str = field(default_factory=lambda: f"hubtel:l{next(_ids)}")
    sequence: int = 0
    code: str = ""

    async def dial(self, dial: str, *, sequence: bool = True) -> str:
        self.code, segments = split_dial(dial)
        self.sequence = 1
        return await self._send(True, segments, self.sequence if sequence else None)

    async def answer(self, text: str, *, sequence: int | None | bool = True) -> str:
        """The next answer (``sequence=False``: a dialect that sends none; an int: that one, a resend)."""
        if sequence is True:
            self.sequence += 1
            number: int | None = self.sequence
        else:
            number = None if sequence is False else int(sequence)
        return await self._send(False, (text,), number)

    async def answers(self, *texts: str) -> list[str]:
        return [await self.answer(text) for text in texts]

    async def close(self, reason: Close = Close.TIMEOUT) -> None:
        await self.dialogues.close(self.session_id, self.msisdn, reason)

    async def _send(self, first: bool, answers: tuple[str, ...], sequence: int | None) -> str:
        request = LatestRequest(self.session_id, self.code, self.msisdn, first, answers, sequence)
        return render(await self.dialogues.handle_latest(request, self.msisdn))
