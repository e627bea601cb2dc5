"""The use cases: the only door from the channels (USSD, SMS, CLI) to the rules.

Every function takes a ``Context`` and one request; every write is one
transaction; refusals are ``gateway.domain.errors`` exceptions. ``Services``
binds a context so that menus and SMS keywords can name a use case.
"""

from gateway.services.api import Services
from gateway.services.ports import Context

__all__ = ["Context", "Services"]
