"""serve's event loop: uvloop's where it is installed, asyncio's where it is not."""

from __future__ import annotations

import asyncio
import sys

import pytest

from gateway.cli.serve import event_loop_factory


def test_serve_runs_on_uvloop_when_it_is_installed() -> None:
    uvloop = pytest.importorskip("uvloop")
    factory = event_loop_factory()
    assert factory is uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        assert runner.run(asyncio.sleep(0, "ran")) == "ran"
        assert isinstance(runner.get_loop(), uvloop.Loop)


def test_without_uvloop_serve_falls_back_to_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if not installed: the import fails
    assert event_loop_factory() is None
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        assert runner.run(asyncio.sleep(0, "ran")) == "ran"
