"""Who is asking: the two tokens, signed-in browsers and their CSRF tokens. No I/O.

A request proves itself with a bearer token (the API: ``Authorization:
Bearer …``) or with the session cookie a sign-in gave its browser (the
pages). ``[admin] token`` is the ``operator`` role (whole numbers, may act),
``viewer_token`` the ``viewer`` role (reads, numbers masked). Tokens are
compared in constant time and never kept: a request's ``actor`` names a
token by a short hash of it (``token_id``) and a session by a short hash of
its cookie, so logs and the audit trail say who acted without holding
anything that would let someone act as them.

A session cookie is 32 random bytes; the server keeps only its SHA-256 (a
stolen memory dump or log line gives no cookie back), the role, the token
id it was opened with, its CSRF token and its end. A form that changes
anything carries the session's CSRF token, checked on POST, besides the
cookie being ``SameSite=Strict`` (a bearer request needs none: a browser
never adds that header on its own). Sessions live in the process that
serves the console (one per gateway host, ``gateway.app``): a restart signs
everyone out.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gateway.clock import Clock

#: The cookie of a signed-in browser (``HttpOnly``, ``SameSite=Strict``, path ``/admin``).
COOKIE = "gw_console"
#: Sessions kept at most; beyond it the oldest is dropped (each sign-in makes one).
MAX_SESSIONS = 1000


class Role(enum.StrEnum):
    OPERATOR = "operator"
    VIEWER = "viewer"

    @property
    def may_act(self) -> bool:
        return self is Role.OPERATOR

    @property
    def sees_numbers(self) -> bool:
        return self is Role.OPERATOR


def _digest(purpose: str, secret: str) -> str:
    return hashlib.sha256(f"gateway-console\x1f{purpose}\x1f{secret}".encode()).hexdigest()


def token_id(token: str) -> str:
    """What logs and the audit trail call a token: ``tok-`` and 8 hex digits of its hash (too few to
    make a run of digits the log filter would take for a number)."""
    return "tok-" + _digest("token", token)[:8]


@dataclass
class Session:
    """A signed-in browser (kept under the hash of its cookie, never the cookie)."""

    #: ``ses-`` and 8 hex digits of the cookie's hash: its name in logs.
    session_id: str
    role: Role
    token_id: str
    csrf: str
    expires_at: datetime
    #: Messages for the next page this browser shows ("DP-… resolved"), then forgotten.
    flash: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Principal:
    """Who a request is: its role, its ``actor`` name, and its session when it came with the cookie."""

    role: Role
    actor: str
    session: Session | None = None

    def csrf_ok(self, submitted: str | None) -> bool:
        """A change asked for with the cookie carries the session's CSRF token; a bearer request needs none."""
        if self.session is None:
            return True
        return submitted is not None and hmac.compare_digest(submitted.encode(), self.session.csrf.encode())


class Credentials:
    """The configured tokens; ``role_of`` tells which one a presented token is."""

    def __init__(self, operator: str, viewer: str = "") -> None:
        if not operator:
            raise ValueError("the console needs an operator token")
        self._tokens = [(operator.encode(), Role.OPERATOR)] + ([(viewer.encode(), Role.VIEWER)] if viewer else [])

    def role_of(self, presented: str) -> Role | None:
        """The role of ``presented`` (None: neither token). Every token is compared, in constant time."""
        found = None
        raw = presented.encode()
        for token, role in self._tokens:
            if hmac.compare_digest(raw, token):
                found = role
        return found

    def principal(self, presented: str) -> Principal | None:
        role = self.role_of(presented)
        return None if role is None else Principal(role, f"{role.value}:{token_id(presented)}")


class Sessions:
    """Signed-in browsers of this process, by the SHA-256 of their cookie."""

    def __init__(self, clock: Clock, lifetime: timedelta, *, limit: int = MAX_SESSIONS) -> None:
        self._clock = clock
        self._lifetime = lifetime
        self._limit = limit
        self._by_hash: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._by_hash)

    def open(self, principal: Principal) -> tuple[str, Session]:
        """A new session for a token just presented; returns the cookie value (given once) and the session."""
        self._forget_expired()
        while len(self._by_hash) >= self._limit:
            del self._by_hash[next(iter(self._by_hash))]  # the oldest (dicts keep insertion order)
        cookie = secrets.token_urlsafe(32)
        key = _digest("session", cookie)
        token = principal.actor.partition(":")[2]
        session = Session(f"ses-{key[:8]}", principal.role, token, secrets.token_urlsafe(24),
                          self._clock.now() + self._lifetime)
        self._by_hash[key] = session
        return cookie, session

    def find(self, cookie: str | None) -> Principal | None:
        """The principal of a session cookie still valid (None: none, unknown or expired)."""
        if not cookie:
            return None
        key = _digest("session", cookie)
        session = self._by_hash.get(key)
        if session is None:
            return None
        if session.expires_at <= self._clock.now():
            del self._by_hash[key]
            return None
        return Principal(session.role, f"{session.role.value}:{session.token_id}/{session.session_id}", session)

    def close(self, cookie: str | None) -> Session | None:
        """Sign out: the session is forgotten (its cookie no longer opens anything)."""
        if not cookie:
            return None
        return self._by_hash.pop(_digest("session", cookie), None)

    def _forget_expired(self) -> None:
        now = self._clock.now()
        for key in [key for key, session in self._by_hash.items() if session.expires_at <= now]:
            del self._by_hash[key]
