"""Lost or stolen SIM cards.

``seeds/000_bae17f1119540322.txt``: the subscriber must notify Smart without
delay when a SIM is lost or stolen, and is responsible for its use *until the
moment they notify* — so the line is blocked, incoming and outgoing, at the
instant of the report, and the report records that instant. ``004_…`` clause
"If Smart SIM card gets lost ... the subscriber must automatically notify".

A report names the number and the subscriber's ID number and may come from
any phone. A wrong pair blocks nothing and answers exactly like an unknown
number, so the answer never tells whether a number exists.

Once reported, whoever holds the SIM is no longer the subscriber: the line
originates nothing (``check_may_originate``: no balance, top-up, gift,
consent or language change, no lost report), on every channel. It still
receives: a top-up sent to it from another phone is credited and waits.
"""

from __future__ import annotations

from gateway.domain.errors import LineLost

#: Letters and digits that cannot be confused when read over the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 8


def format_reference(random_indices: list[int]) -> str:
    """``LS-XXXX-XXXX`` from random indices into the alphabet (the caller draws them)."""
    chars = "".join(REFERENCE_ALPHABET[i % len(REFERENCE_ALPHABET)] for i in random_indices)
    return f"LS-{chars[:4]}-{chars[4:REFERENCE_LENGTH]}"


def check_may_originate(lost: bool, msisdn: str) -> None:
    """Refuse any service requested by a line with an open lost-SIM report.

    Raises:
        LineLost
    """
    if lost:
        raise LineLost("this SIM is reported lost", msisdn)
