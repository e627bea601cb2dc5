"""Who may call: source networks and a bearer token, from ``[http]``.

Each configured check must pass (an empty list or an empty token is no
check); anything else is answered ``403``. The shipped default allows
loopback only. Behind a reverse proxy the source is the proxy.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Access:
    networks: tuple[Network, ...]
    token: str = ""

    @classmethod
    def from_settings(cls, networks: Iterable[str], token: str = "") -> Access:
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks), token)

    def allows(self, remote: str | None, authorization: str | None) -> bool:
        if self.networks:
            try:
                address = ipaddress.ip_address((remote or "").split("%")[0])
            except ValueError:
                return False
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                address = address.ipv4_mapped
            if not any(address in net for net in self.networks):
                return False
        if self.token:
            expected = f"Bearer {self.token}".encode()
            if not hmac.compare_digest((authorization or "").encode(), expected):
                return False
        return True
