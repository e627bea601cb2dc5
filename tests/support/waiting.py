"""Bounded polling: wait for a condition another task or process makes true, and fail with what was seen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


async def eventually(check: Callable[[], Any], timeout: float = 8.0) -> Any:
    """Poll ``check`` on the event loop (every 20 ms, at most ``timeout`` s) until it returns something
    truthy; that value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting; last value {result!r}")
        await asyncio.sleep(0.02)


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    """Poll ``check`` from a plain thread (every 50 ms, at most ``timeout`` s) until it returns something
    truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value {result!r}")
        time.sleep(0.05)
