"""SMPP errors, split by whose fault it is (as h11 splits its protocol errors).

    SmppError
    └── SmppRemoteError      the SMSC sent something malformed or refused us
        └── BindRefused      bind_transceiver_resp carried an error status
"""

from __future__ import annotations

from aiosmpplib import SmppCommandStatus


def status_name(status: int) -> str:
    """``ESME_RINVPASWD`` for a known command_status, the hex value otherwise."""
    try:
        return str(SmppCommandStatus(status).name)
    except ValueError:
        return f"0x{status:08X}"


class SmppError(Exception):
    """Base of every SMPP failure."""


class SmppRemoteError(SmppError):
    """The SMSC broke the protocol or refused a request."""


class BindRefused(SmppRemoteError):
    def __init__(self, status: int) -> None:
        super().__init__(f"bind refused: {status_name(status)}")
        self.status = status
        self.status_name = status_name(status)
