"""In-memory records of what the simulator saw: MT submitted by ESMEs, MO injected.

MT ids are a counter, so ``GET /mt?since=ID`` is a binary search on an
append-only list rather than a scan. Parts of a concatenated message wait in
``_partial`` until the last one arrives and are then stored as one record;
the oldest records are dropped beyond ``limit`` so a load test cannot grow
the process without bound.
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulator.codec import ConcatInfo


@dataclass(frozen=True)
class MtRecord:
    """One mobile-terminated message as the handset would show it."""

    id: int
    message_ids: tuple[str, ...]
    source: str
    destination: str
    text: str
    data_coding: int
    esm_class: int
    registered_delivery: int
    submitted_at: float
    system_id: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.source,
            "to": self.destination,
            "text": self.text,
            "data_coding": self.data_coding,
            "esm_class": self.esm_class,
            "registered_delivery": self.registered_delivery,
            "submitted_at": datetime.fromtimestamp(self.submitted_at, UTC).isoformat(),
            "message_id": self.message_ids[-1],
            "parts": len(self.message_ids),
            "system_id": self.system_id,
        }


@dataclass(frozen=True)
class MtPart:
    """One submit_sm as accepted, before reassembly."""

    message_id: str
    source: str
    destination: str
    text: str
    data_coding: int
    esm_class: int
    registered_delivery: int
    system_id: str
    concat: ConcatInfo | None


@dataclass(frozen=True)
class MoMessage:
    """A mobile-originated message waiting for, or handed to, an ESME."""

    id: int
    source: str
    destination: str
    text: str
    data_coding: int


@dataclass
class _Partial:
    parts: dict[int, MtPart] = field(default_factory=dict)
    first_at: float = 0.0


class MtStore:
    """Submitted messages, reassembled, for ``GET /mt``."""

    def __init__(self, limit: int = 100_000) -> None:
        self._records: list[MtRecord] = []
        self._partial: dict[tuple[str, str, int, int], _Partial] = {}
        self._ids = itertools.count(1)
        self._limit = limit

    def add(self, part: MtPart) -> MtRecord | None:
        """Store a part; returns the record once the message is complete."""
        now = time.time()
        concat = part.concat
        if concat is None:
            return self._append((part,), now)
        key = (part.source, part.destination, concat.reference, concat.total)
        partial = self._partial.setdefault(key, _Partial(first_at=now))
        partial.parts[concat.index] = part
        if len(partial.parts) < concat.total:
            return None
        del self._partial[key]
        ordered = tuple(partial.parts[i] for i in sorted(partial.parts))
        return self._append(ordered, partial.first_at)

    def _append(self, parts: tuple[MtPart, ...], at: float) -> MtRecord:
        first = parts[0]
        record = MtRecord(
            id=next(self._ids),
            message_ids=tuple(p.message_id for p in parts),
            source=first.source,
            destination=first.destination,
            text="".join(p.text for p in parts),
            data_coding=first.data_coding,
            esm_class=first.esm_class,
            registered_delivery=first.registered_delivery,
            submitted_at=at,
            system_id=first.system_id,
        )
        self._records.append(record)
        if len(self._records) > self._limit:
            del self._records[: len(self._records) - self._limit // 2]
        return record

    def query(self, to: str | None = None, since: int = 0) -> list[MtRecord]:
        start = bisect.bisect_right(self._records, since, key=lambda r: r.id)
        found = self._records[start:]
        if to is not None:
            found = [r for r in found if r.destination == to]
        return found

    def clear(self) -> None:
        self._records.clear()
        self._partial.clear()

    def __len__(self) -> int:
        return len(self._records)


class MoQueue:
    """MO messages not yet handed to a bound receiver, oldest first."""

    def __init__(self) -> None:
        self.waiting: deque[MoMessage] = deque()
        self._ids = itertools.count(1)

    def new(self, source: str, destination: str, text: str, data_coding: int) -> MoMessage:
        return MoMessage(next(self._ids), source, destination, text, data_coding)
