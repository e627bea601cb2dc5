"""Who may call: source networks and a bearer token, from ``[http]``.

Each configured check must pass (an empty list or an empty token is no
check); anything else is answered ``403``. The shipped default allows
loopback only. Behind a reverse proxy the source is the proxy. The listener
(``gateway.ussd.listener``) applies the network check once more, at accept time.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Access:
    networks: tuple[Network, ...]
    token: str = ""
    _verdicts: dict[str | None, bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_settings(cls, networks: Iterable[str], token: str = "") -> Access:
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks), token)

    def allows(self, remote: str | None, authorization: str | None) -> bool:
        if self.networks and not self.allows_network(remote):
            return False
        if self.token:
            expected = f"Bearer {self.token}".encode()
            # aiohttp hands header bytes that are not UTF-8 over as surrogate
            # escapes: encode them back to the bytes sent, which cannot match.
            try:
                sent = (authorization or "").encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:
                return False
            if not hmac.compare_digest(sent, expected):
                return False
        return True

    def allows_network(self, remote: str | None) -> bool:
        """Whether ``remote`` (an IP address as text) is in one of the networks (any, when none)."""
        # An aggregator calls from a handful of addresses: remember each verdict
        # (parsing it and testing each network costs µs on every request).
        verdict = self._verdicts.get(remote)
        if verdict is None:
            verdict = self._check_network(remote)
            if len(self._verdicts) < 1024:
                self._verdicts[remote] = verdict
        return verdict

    def _check_network(self, remote: str | None) -> bool:
        if self.networks:
            try:
                address = ipaddress.ip_address((remote or "").split("%")[0])
            except ValueError:
                return False
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                address = address.ipv4_mapped
            if not any(address in net for net in self.networks):
                return False
        return True
