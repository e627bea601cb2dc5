"""The operator commands on PostgreSQL (``[database] url``), as real subprocesses against the test cluster."""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from gateway.store.postgres.migrations import LATEST, VERSIONS
from tests.support.cli import Gateway


def with_password(url: str, password: str) -> str:
    """The same URL with a password (the test cluster trusts local logins, so any password works)."""
    parts = urllib.parse.urlsplit(url)
    return parts._replace(netloc=f"{parts.username}:{password}@{parts.hostname}:{parts.port}").geturl()


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def versions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")]


def sqlite_tables(gateway: Gateway) -> set[str]:
    gateway("db", "migrate", env={"GATEWAY_DATABASE_URL": None})
    conn = sqlite3.connect(gateway.db)
    try:
        return {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    finally:
        conn.close()


def test_migrate_creates_every_table_and_is_idempotent(gateway: Gateway, postgres_url: str) -> None:
    url = with_password(postgres_url, "hunter2-pw")
    first = gateway("db", "migrate", env={"GATEWAY_DATABASE_URL": url})

    assert first.stdout.strip().startswith(f"schema at version {LATEST} (postgresql://gateway:***@")
    assert "hunter2-pw" not in first.stdout + first.stderr
    assert not gateway.db.exists()  # [database] path is not used when url is set
    assert tables(postgres_url) == sqlite_tables(gateway) | {"schema_version"}
    assert versions(postgres_url) == sorted(VERSIONS)

    again = gateway("db", "migrate", env={"GATEWAY_DATABASE_URL": url})
    assert again.stdout == first.stdout
    assert versions(postgres_url) == sorted(VERSIONS)


def test_a_newer_schema_is_refused_and_left_alone(gateway: Gateway, postgres_url: str) -> None:
    gateway("db", "migrate", env={"GATEWAY_DATABASE_URL": postgres_url})
    with psycopg.connect(postgres_url) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (LATEST + 1,))
        conn.execute("CREATE TABLE from_the_future (id BIGINT)")

    message = gateway.refused("db", "migrate", env={"GATEWAY_DATABASE_URL": postgres_url})

    assert f"schema version {LATEST + 1} is newer than this gateway ({LATEST})" in message
    assert versions(postgres_url) == [*sorted(VERSIONS), LATEST + 1]
    assert "from_the_future" in tables(postgres_url)


def test_an_unreachable_server_is_one_line_without_the_password(gateway: Gateway, postgres_url: str) -> None:
    parts = urllib.parse.urlsplit(postgres_url)
    url = parts._replace(netloc=f"gw:hunter2-pw@127.0.0.1:{parts.port}", path="/no_such_db").geturl()
    message = gateway.refused("db", "migrate", env={"GATEWAY_DATABASE_URL": url})
    assert "cannot connect" in message and "no_such_db" in message
    assert "hunter2-pw" not in message


@pytest.mark.parametrize("command", [("serve",), ("db", "migrate"), ("subscribers", "show", "012345678")])
def test_a_malformed_url_is_refused_at_start_naming_the_key(gateway: Gateway, command: tuple[str, ...]) -> None:
    message = gateway.refused(*command, env={"GATEWAY_DATABASE_URL": "mysql://gw:hunter2-pw@db/gw"})
    assert message.startswith("error: database.url: must start with postgresql://")
    assert "hunter2-pw" not in message


def test_operator_commands_run_on_postgresql_and_never_touch_the_sqlite_path(
        gateway: Gateway, postgres_url: str) -> None:
    """With a url the commands keep their data in PostgreSQL: what one adds the next shows, a
    campaign is queued there, and the SQLite path is never created."""
    sqlite_file = gateway.tmp / "never.db"
    env: dict[str, str | None] = {"GATEWAY_DATABASE_URL": postgres_url, "GATEWAY_DATABASE_PATH": str(sqlite_file)}
    gateway("db", "migrate", env=env)
    gateway("subscribers", "add", "012345678", "--balance", "6.00", "--valid-days", "30", env=env)
    shown = json.loads(gateway("subscribers", "show", "012345678", env=env).stdout)
    assert (shown["msisdn"], shown["balances"]["main"]["minor"]) == ("85512345678", 600), shown
    sent = gateway("campaign", "send", "--text", "hi", "--to", "012345678", "099999999", env=env)
    assert sent.stdout.startswith("queued 1, skipped 1")
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT destination, status FROM sms_outbox ORDER BY id").fetchall() == [
            ("85512345678", "queued"), ("85599999999", "skipped")]
    assert not sqlite_file.exists()


def test_a_command_on_an_unreachable_server_is_refused_in_one_line(gateway: Gateway) -> None:
    """A url nobody answers on: exit 2, one line, and no SQLite file made in its place."""
    sqlite_file = gateway.tmp / "never.db"
    message = gateway.refused("subscribers", "show", "012345678",
                              env={"GATEWAY_DATABASE_URL": "postgresql://gw:pw-secret@127.0.0.1:1/gw",
                                   "GATEWAY_DATABASE_PATH": str(sqlite_file)})
    assert "cannot connect" in message and "pw-secret" not in message
    assert not sqlite_file.exists()


def test_gateways_migrating_at_once_apply_each_version_once(gateway: Gateway, postgres_url: str) -> None:
    """Several processes starting together on one database: all succeed, the schema is built once."""
    with ThreadPoolExecutor(3) as pool:
        runs = list(pool.map(lambda _: gateway("db", "migrate", env={"GATEWAY_DATABASE_URL": postgres_url},
                                               check=False), range(3)))
    assert [run.returncode for run in runs] == [0, 0, 0], [run.stderr for run in runs]
    assert versions(postgres_url) == sorted(VERSIONS)


def collide(gateway: Gateway, postgres_url: str, command: list[str], *, hold: str,
            waiting_on: str) -> list[tuple[int, str, str]]:
    """Run ``command`` twice at once so that both meet in the database: a transaction runs ``hold``
    and keeps it until both processes wait on a lock in a statement LIKE ``waiting_on``, then rolls
    back. Their (exit code, stdout, stderr), sorted."""
    import subprocess
    import sys
    import time

    environ = {**gateway.env, "GATEWAY_DATABASE_URL": postgres_url}
    with psycopg.connect(postgres_url) as blocker:
        blocker.execute(hold)
        procs = [subprocess.Popen([sys.executable, "-m", "gateway", *command], cwd=gateway.tmp, env=environ,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        try:
            deadline = time.monotonic() + 60
            with psycopg.connect(postgres_url, autocommit=True) as watch:
                while watch.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                    "AND query LIKE %s", (waiting_on,)).fetchone() != (2,):
                    assert time.monotonic() < deadline, f"both {command[0]} waiting in the database"
                    assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
                    time.sleep(0.05)
            blocker.rollback()
            return sorted((p.wait(timeout=60), *p.communicate()) for p in procs)
        finally:
            for p in procs:
                p.kill() if p.poll() is None else None


def test_the_same_number_added_twice_at_once_is_refused_once_with_one_line(gateway: Gateway,
                                                                          postgres_url: str) -> None:
    """Two ``subscribers add`` for one number made to collide (both wait on an uncommitted row of the
    same number, which is then rolled back): one adds it, the other gets the refusal SQLite gives —
    exit 2, one line, "already exists" — and one live row is left."""
    env = {"GATEWAY_DATABASE_URL": postgres_url}
    gateway("db", "migrate", env=env)
    outcomes = collide(
        gateway, postgres_url, ["subscribers", "add", "012345678", "--balance", "1"],
        hold="INSERT INTO subscribers (msisdn, type, language, status, created_at) "
             "VALUES ('85512345678', 'prepaid', 'en', 'live', now())",  # not committed
        waiting_on="INSERT INTO subscribers%")
    (ok, _, _), (refused, _, stderr) = outcomes
    assert (ok, refused) == (0, 2), outcomes
    assert stderr.splitlines() == ["error: subscriber 85512345678 already exists"], stderr
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM subscribers WHERE msisdn = '85512345678' "
                            "AND status = 'live'").fetchone() == (1,)


def test_the_same_new_payment_reference_imported_twice_at_once_is_refused_once_with_one_line(
        gateway: Gateway, postgres_url: str) -> None:
    """Two ``payments import`` of one new reference made to collide: both have looked the reference up
    (not there) and wait for the line, held by another transaction; when it lets go, one imports the
    payment and the other meets the unique index. It gets the refusal a reference seen before gets
    (exit 2, one line naming the line), not a traceback; one payment is stored, the dues equal their
    ledger."""
    env = {"GATEWAY_DATABASE_URL": postgres_url}
    gateway("db", "migrate", env=env)
    gateway("subscribers", "add", "012345678", "--type", "postpaid", "--deposit", "50", env=env)
    csv = gateway.tmp / "payments.csv"
    csv.write_text("msisdn,amount,paid_at,reference\n012345678,10.00,2026-11-02,BANK-0001\n", encoding="utf-8")
    outcomes = collide(
        gateway, postgres_url, ["payments", "import", str(csv)],
        hold="SELECT id FROM subscribers WHERE msisdn = '85512345678' FOR UPDATE",
        waiting_on="%FROM subscribers%FOR UPDATE%")
    (ok, _, _), (refused, _, stderr) = outcomes
    assert (ok, refused) == (0, 2), outcomes
    assert stderr.splitlines() == [f"error: {csv}: line 2: reference 'BANK-0001' was imported before"], stderr
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*), sum(amount_minor) FROM payments").fetchone() == (1, 1000)
        dues, ledger = conn.execute(
            "SELECT s.dues_minor, (SELECT sum(delta_minor) FROM ledger l WHERE l.subscriber_id = s.id "
            "AND l.bucket = 'dues') FROM subscribers s WHERE s.msisdn = '85512345678'").fetchone()
        assert dues == ledger == -1000
