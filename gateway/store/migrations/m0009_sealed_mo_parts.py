"""Parts of a concatenated MO are kept sealed: ``sms_segments.nonce``.

A part's ``data`` is its bytes XOR a keystream of a key derived from the
operator's secret and this row's random nonce (``gateway.domain.secrets``),
so a PIN cut across parts is not in the table, the WAL or free pages.
Rows written before this version have no nonce and hold their bytes as
received; they are given up or completed within the assembly window.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 9


def apply(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE sms_segments ADD COLUMN nonce BLOB")
