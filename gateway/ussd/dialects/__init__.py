"""The JSON dialects of aggregators, each a pure codec: its request in, our event out; our reply in, its reply out.

Each module has ``NAME``, ``PHONE`` (the field holding the subscriber's
number), ``parse(body) -> Parsed`` (raising ``BadRequest`` naming the field)
``render(reply, parsed) -> dict`` (the JSON reply) and ``read_reply``, its
inverse (the text and whether it ends), for whatever plays the aggregator
(the test harness, the load generator). ``gateway.ussd.web``
mounts each one listed in ``[http] dialects`` on ``POST /ussd/<name>``.
Session ids are namespaced by dialect (``hubtel:<SessionId>``), so two
aggregators' ids can never meet in the session store.

The Africa's Talking convention (form in, ``CON``/``END`` text out) is
``gateway.ussd.africastalking``: its hot path has its own form reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from gateway.ussd.dialects import arkesel, hubtel, madapi, nalo
from gateway.ussd.dialects.fields import Closed, Parsed
from menus.tree import Reply

__all__ = ["JSON_DIALECTS", "Closed", "Codec", "Parsed"]


class Codec(Protocol):
    NAME: str
    PHONE: str

    def parse(self, body: Mapping[str, object]) -> Parsed: ...

    def render(self, reply: Reply, parsed: Parsed) -> dict[str, object]: ...

    def read_reply(self, reply: Mapping[str, object]) -> tuple[str, bool]: ...


JSON_DIALECTS: Mapping[str, Codec] = {m.NAME: m for m in (hubtel, nalo, arkesel, madapi)}
