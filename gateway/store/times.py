"""How the SQLite adapter stores a moment: ISO-8601 text in UTC with microseconds and ``+00:00``,
a fixed width that sorts as it reads (and a date as ``YYYY-MM-DD``)."""

from __future__ import annotations

from datetime import UTC, date, datetime

#: The last two moments written and their text: one operation stamps ``now`` and an expiry
#: several times each (datetimes are immutable, so the same object has the same text).
_recent: list[tuple[datetime | None, str]] = [(None, ""), (None, "")]


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    recent = _recent
    first, second = recent[0], recent[1]
    if first[0] is moment:
        return first[1]
    if second[0] is moment:
        return second[1]
    if moment.tzinfo is not UTC:
        if moment.tzinfo is None:
            raise ValueError("naive datetime reached the store")
        text = moment.astimezone(UTC).isoformat(timespec="microseconds")
    else:
        text = moment.isoformat(timespec="microseconds")
    # (Each slot is replaced whole: a thread reading it sees one moment with its own text.)
    recent[1] = first
    recent[0] = (moment, text)
    return text


def from_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def date_from_iso(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
