"""Where a request came from; recorded with every change a subscriber makes."""

from __future__ import annotations

import enum


class Channel(enum.StrEnum):
    USSD = "ussd"
    SMS = "sms"
    CLI = "cli"
    IMPORT = "import"
    SYSTEM = "system"
