"""Marketing consent.

``seeds/000_bae17f1119540322.txt``, "Marketing and Promotional
Communications": Smart may send commercial messages; the subscriber may
unsubscribe by dialling 1204. Every change is recorded with its time and the
channel it came through; a recycled number's new subscriber starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.domain.channels import Channel


@dataclass(frozen=True)
class ConsentChange:
    opt_in: bool
    at: datetime
    channel: Channel
