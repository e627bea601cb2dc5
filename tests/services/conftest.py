"""The services on the shared ``backend`` (each backend in turn), as a ``World`` (``tests.support.world``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.backends import Backend
from tests.support.world import World, make_world


@pytest.fixture
def world(backend: Backend, tmp_path: Path) -> World:
    """The services of smart-kh on a fresh database, once on each backend."""
    return make_world(tmp_path, store=backend.store, backend=backend.name, where=backend.where)


@pytest.fixture
def np_world(backend: Backend, tmp_path: Path) -> World:
    """The services of profile smart-np (004_1cabed6f540fdada.txt) on a fresh database, on each backend."""
    return make_world(tmp_path, store=backend.store, backend=backend.name, where=backend.where,
                      profile_name="smart-np")
