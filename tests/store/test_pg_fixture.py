"""The PostgreSQL fixture skips saying what to install, and fails instead where CI requires PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import pg


def test_without_a_server_the_tests_skip_saying_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_TEST_REQUIRE_POSTGRES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        pg._unavailable(pg.INSTALL_HINT)


def test_where_postgresql_is_required_its_absence_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_TEST_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception, match="GATEWAY_TEST_REQUIRE_POSTGRES=1 but PostgreSQL"):
        pg._unavailable(pg.INSTALL_HINT)


def test_the_ci_entry_point_requires_postgresql() -> None:
    """.ci/run installs the server if missing and makes a skipped PostgreSQL test a failure."""
    script = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert "scripts/ci-postgres-deps" in script
    assert "export GATEWAY_TEST_REQUIRE_POSTGRES=1" in script
