"""Keyed hashes for voucher PINs and ID numbers.

Both are stored only as HMAC-SHA256 under the operator's secret, and so is
everything that holds one (a received SMS, a top-up request key, a USSD answer
path), so a copy of the database alone reveals neither, and a lookup by PIN is
an index lookup on the hash.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass


def keyed_hash(secret: str, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value``; ``purpose`` separates PINs from ID numbers."""
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def same_hash(a: str | None, b: str) -> bool:
    """Constant-time comparison; a missing stored hash never matches."""
    return a is not None and hmac.compare_digest(a, b)


def normalise_id_number(text: str) -> str:
    """ID numbers compare without spaces, dashes or case."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


@dataclass(frozen=True)
class Sealed:
    """A secret as it may be kept: its keyed hash and the shape the rules check.

    A message waiting to be answered (an SMS in the inbox) keeps this instead
    of the PIN or ID number, so that the services can answer it later (wrong
    format, wrong PIN, redeemed) exactly as if it had been typed just now.
    """

    digest: str  # keyed_hash of the cleaned value ("" for an empty value)
    length: int  # characters of the cleaned value
    digits: bool  # ASCII digits only


def seal(secret: str, purpose: str, cleaned: str) -> Sealed:
    """``cleaned`` (a PIN without spaces and dashes, a normalised ID number) sealed."""
    digest = keyed_hash(secret, purpose, cleaned) if cleaned else ""
    return Sealed(digest, len(cleaned), cleaned.isascii() and cleaned.isdigit())


def derive_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key for ``purpose`` alone, from the operator's secret (never a ``keyed_hash`` value)."""
    return hmac.new(secret.encode(), f"\x01key\x00{purpose}".encode(), hashlib.sha256).digest()


def keystream_xor(key: bytes, nonce: bytes, data: bytes) -> bytes:
    """``data`` XOR an HMAC-SHA256 counter-mode keystream of (``key``, ``nonce``): seals and unseals.

    For bytes that must wait in the database and be read back (parts of a
    concatenated SMS); a nonce is used once per key.
    """
    stream = b"".join(hmac.new(key, nonce + n.to_bytes(4, "big"), hashlib.sha256).digest()
                      for n in range((len(data) + 31) // 32))
    size = len(data)
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream[:size], "big")).to_bytes(size, "big")
