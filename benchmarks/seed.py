"""Seeded databases for the benchmark, built once and copied per run.

Subscribers go in through ``subscribers import`` (the operator's fast path:
one transaction, batched inserts), vouchers through ``vouchers import`` —
both the real CLI in a subprocess, so the benchmark also times them. Number
``i`` is ``855`` + ``10000000 + i`` (an 8-digit national number); voucher
PINs are 14 digits, unique by construction, written one per line to
``pins.txt`` next to the database for the load generator.

A built template is kept under ``bench-results/db/`` (keyed by the sizes and
``SEED_VERSION``) and copied for each run, since runs spend vouchers.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SEED_VERSION = 1
PIN_SECRET = "bench-secret-0123456789"


def msisdn(i: int) -> str:
    return f"855{10000000 + i}"


@dataclass(frozen=True)
class Seeded:
    db: Path
    pins: Path
    subscribers: int
    vouchers: int
    #: Seconds each import took when the template was built (None: cached).
    import_subscribers_s: float | None
    import_vouchers_s: float | None


def gateway_env(db: Path | str, **extra: str) -> dict[str, str]:
    """The environment of a gateway process on ``db``: a SQLite file, or a ``postgresql://`` URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    where = {"GATEWAY_DATABASE_URL": db} if str(db).startswith("postgresql://") else {"GATEWAY_DATABASE_PATH": str(db)}
    env.update(
        **where,
        GATEWAY_SECURITY_PIN_SECRET=PIN_SECRET,
        GATEWAY_LOGGING_FORMAT="json",
        **extra,
    )
    return env


def _cli(root: Path, db: Path, *args: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gateway", *args], cwd=root, env=gateway_env(db),
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"ussd-gateway {' '.join(args[:2])} failed: {proc.stderr.strip()[-500:]}")
    return time.perf_counter() - started


def build(root: Path, cache: Path, subscribers: int, vouchers: int) -> Seeded:
    """The template for these sizes (built now if missing)."""
    folder = cache / f"s{subscribers}-v{vouchers}-{SEED_VERSION}"
    db, pins = folder / "gateway.db", folder / "pins.txt"
    if (folder / "done").exists():
        return Seeded(db, pins, subscribers, vouchers, None, None)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    subs_csv, vouchers_csv = folder / "subscribers.csv", folder / "vouchers.csv"
    with subs_csv.open("w", encoding="ascii") as out:
        out.write("msisdn,balance,expires_at,id_number,language,type\n")
        out.writelines(f"{msisdn(i)},5.00,,ID{i},,\n" for i in range(subscribers))
    rng = random.Random(subscribers * 7 + vouchers)
    with vouchers_csv.open("w", encoding="ascii") as out, pins.open("w", encoding="ascii") as pin_out:
        out.write("serial,pin,amount,active_days\n")
        for i in range(vouchers):
            pin = f"{i:07d}{rng.randrange(10**7):07d}"
            out.write(f"B{i:09d},{pin},1.00,30\n")
            pin_out.write(pin + "\n")
    _cli(root, db, "db", "migrate")  # only db migrate, serve and demo create a database
    t_subs = _cli(root, db, "subscribers", "import", str(subs_csv))
    t_vouchers = _cli(root, db, "vouchers", "import", str(vouchers_csv))
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    subs_csv.unlink()
    vouchers_csv.unlink()
    (folder / "done").write_text(f"{t_subs:.1f} {t_vouchers:.1f}\n")
    return Seeded(db, pins, subscribers, vouchers, t_subs, t_vouchers)


def working_copy(seeded: Seeded, dest: Path) -> Path:
    """A fresh copy of the template's database to spend vouchers on, on the disk before it is used.

    Without the fsync, the kernel writes the copy back while the run measures
    (430 MB for 1,000,000 subscribers), and on ext4 the server's first WAL
    fsyncs wait behind it: the big database's p99 in the growth part jumped
    to 51 ms against 42 ms for the small one in one round, and not in others.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dest}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(seeded.db, dest)
    with dest.open("rb") as handle:
        os.fsync(handle.fileno())
    return dest
