"""``subscribers import`` and ``vouchers generate|import``: bulk files, all or nothing."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.services import accounts_import
from tests.support.cli import HEADER, PIN_SECRET, Gateway


def rows(count: int, start: int = 0) -> str:
    return "".join(f"0{10_000_000 + start + i},{i % 7}.25,,,,\n" for i in range(count))


def counts(db: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(db)
    try:
        subscribers = conn.execute("SELECT COUNT(*) FROM subscribers").fetchone()[0]
        ledger, total = conn.execute("SELECT COUNT(*), COALESCE(SUM(delta_minor), 0) FROM ledger").fetchone()
        return subscribers, ledger, total
    finally:
        conn.close()


class TestSubscribersImport:
    def test_imports_every_row_with_defaults(self, gateway: Gateway) -> None:
        """Empty cells take add's defaults; dates are in the operator zone; balances reach the ledger."""
        path = gateway.csv("base.csv", HEADER + "\n"
                           "012000001,6.00,2099-12-22,,,\n"
                           "+85512000002,,,AB-123,KM,\n"
                           "012000003,5,,,,postpaid\n")

        assert gateway("subscribers", "import", str(path)).stdout.strip() == "imported 3 subscribers"

        first, second = gateway.show("012000001"), gateway.show("012000002")
        assert first["balances"]["main"] == {"minor": 600, "display": "$6.00",
                                             "expires_at": "2099-12-22T00:00:00+07:00"}
        assert second["language"] == "km" and second["balances"]["main"]["minor"] == 0
        assert gateway.show("012000003")["balances"]["main"]["expires_at"] is None
        assert counts(gateway.db) == (3, 2, 1100)

    def test_a_bad_row_at_line_700_imports_nothing(self, gateway: Gateway) -> None:
        """1,000 good rows and one bad amount at line 700: refused by line number, database untouched."""
        gateway("subscribers", "add", "012999999", "--balance", "1")
        unchanged = gateway.snapshot()
        lines = rows(1000).splitlines(keepends=True)
        lines[698] = "012777777,2.505,,,,\n"  # line 700 counting the header
        path = gateway.csv("big.csv", HEADER + "\n" + "".join(lines))

        message = gateway.refused("subscribers", "import", str(path))

        assert "line 700" in message and "2.505" in message
        unchanged()
        assert counts(gateway.db) == (1, 1, 100)

    def test_refused_files(self, gateway: Gateway) -> None:
        """Unreadable files, bad headers, ragged or undecodable lines and repeats are refused by line."""
        gateway("subscribers", "add", "012000001")
        unchanged = gateway.snapshot()
        bad_byte = gateway.tmp / "latin1.csv"
        bad_byte.write_bytes((HEADER + "\n" + rows(5) + "012000099,1,,Jos\xe9,,\n").encode("latin-1"))
        cases = {
            str(gateway.tmp / "missing.csv"): "cannot read",
            str(gateway.tmp): "cannot read",
            str(gateway.csv("header.csv", "msisdn,balance\n012000002,1\n")): "line 1: header must be",
            str(gateway.csv("empty.csv", "")): "empty file",
            str(gateway.csv("ragged.csv", HEADER + "\n" + rows(3) + "012000009,1,,\n")): "line 5: expected 6",
            str(bad_byte): "line 7: not UTF-8",
            str(gateway.csv("date.csv", HEADER + "\n012000002,1,2027-13-01,,,\n")): "line 2: expires_at",
            str(gateway.csv("lang.csv", HEADER + "\n012000002,1,,,fr,\n")): "line 2: language",
            str(gateway.csv("again.csv", HEADER + "\n" + rows(3) + "012000001,1,,,,\n")):
                "line 5: subscriber 85512000001 already exists",
            str(gateway.csv("twice.csv", HEADER + "\n" + rows(3) + rows(1, start=1))):
                "line 5: 85510000001 repeats line 3",
        }

        for path, expected in cases.items():
            assert expected in gateway.refused("subscribers", "import", path), path
        unchanged()

    def test_repeat_across_chunks_names_both_lines(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A number repeated in a later insert chunk is reported with the line it repeats, nothing kept."""
        monkeypatch.setattr(accounts_import, "CHUNK", 4)
        monkeypatch.setenv("GATEWAY_SECURITY_PIN_SECRET", PIN_SECRET)
        monkeypatch.setenv("GATEWAY_DATABASE_PATH", str(tmp_path / "g.db"))
        path = tmp_path / "s.csv"
        path.write_text(HEADER + "\n" + rows(10) + rows(1, start=2), encoding="utf-8")
        assert main(["db", "migrate"]) == 0

        assert main(["subscribers", "import", str(path)]) == 2

        assert "line 12: 85510000002 repeats line 4" in capsys.readouterr().err
        assert counts(tmp_path / "g.db") == (0, 0, 0)


class TestVouchers:
    def test_generate_writes_pins_to_the_file_only(self, gateway: Gateway) -> None:
        """Generated PINs are in the operator's file and nowhere else: not on screen, not in the database."""
        out_file = gateway.tmp / "pins.csv"
        proc = gateway("vouchers", "generate", "--count", "20", "--amount", "5", "--active-days", "30",
                       "--batch", "B1", "--out", str(out_file))

        with out_file.open(newline="") as handle:
            vouchers = list(csv.DictReader(handle))
        assert len(vouchers) == 20 and {v["amount"] for v in vouchers} == {"5.00"}
        pins = [v["pin"] for v in vouchers]
        assert len(set(pins)) == 20 and all(len(p) == 14 and p.isdigit() for p in pins)
        raw = b"".join(p.read_bytes() for p in gateway.tmp.glob("gateway.db*"))
        for pin in pins:
            assert pin not in proc.stdout + proc.stderr
            assert pin.encode() not in raw
        assert "generated 20 vouchers" in proc.stdout
        assert out_file.stat().st_mode & 0o777 == 0o600  # only the operator can read the PINs

        # The file is never overwritten, and re-importing it finds the serials taken.
        unchanged = gateway.snapshot()
        assert "already exists" in gateway.refused("vouchers", "generate", "--count", "1", "--amount", "1",
                                                   "--active-days", "1", "--out", str(out_file))
        assert "line 2: serial" in gateway.refused("vouchers", "import", str(out_file))
        unchanged()

    def test_import_then_generate_around_taken_serials(self, gateway: Gateway) -> None:
        """An imported file loads all its vouchers; generation afterwards skips serials it already holds."""
        serials = [f"{n:014d}" for n in range(1, 6)]
        path = gateway.csv("printer.csv", "serial,pin,amount,active_days,expires_on\n" + "".join(
            f"{s},{12345678900 + i},{i + 1}.50,30,{'2099-12-31' if i else ''}\n" for i, s in enumerate(serials)))
        assert gateway("vouchers", "import", str(path)).stdout.strip() == "imported 5 vouchers"
        # Make the next generated serial (yymm + next id) one the printer's file already used.
        conn = sqlite3.connect(gateway.db)
        prefix = conn.execute("SELECT strftime('%y%m', 'now')").fetchone()[0]
        with conn:
            conn.execute("UPDATE vouchers SET serial = ? WHERE id = 5", (f"{prefix}{6:010d}",))
        conn.close()

        gateway("vouchers", "generate", "--count", "2", "--amount", "1", "--active-days", "7",
                "--out", str(gateway.tmp / "new.csv"))

        conn = sqlite3.connect(gateway.db)
        assert conn.execute("SELECT COUNT(*), SUM(amount_minor) FROM vouchers").fetchone() == (7, 1950)
        conn.close()

    def test_refused_voucher_files(self, gateway: Gateway) -> None:
        """Repeated serials or PINs, in the file or against the database, and bad lines import nothing."""
        head = "serial,pin,amount,active_days\n"
        gateway("vouchers", "import", str(gateway.csv("first.csv", head + "S1,12345678901,1.00,30\n")))
        unchanged = gateway.snapshot()
        cases = {
            "S2,12345678902,1,30\nS2,12345678903,1,30\n": "line 3: serial S2 repeats line 2",
            "S2,12345678902,1,30\nS3,1234-5678-902,1,30\n": "line 3: PIN repeats line 2",
            "S2,12345678902,1,30\nS1,12345678903,1,30\n": "line 3: serial S1 already exists",
            "S2,12345678902,1,30\nS3,12345678901,1,30\n": "line 3: this PIN already exists",
            "S2,12345678902,1,30\nS3,123,1,30\n": "line 3: a voucher PIN is",
            "S2,12345678902,1,30\nS3,12345678903,0,30\n": "line 3: the amount must be more than zero",
            "S2,12345678902,1,30\nS3,12345678903,1,0\n": "line 3: active_days",
            "S2,12345678902,1,30\nS3,12345678903,1,١\n": "line 3: active_days",
        }
        for n, (body, expected) in enumerate(cases.items()):
            path = gateway.csv(f"bad{n}.csv", head + body)
            assert expected in gateway.refused("vouchers", "import", str(path)), body
        assert "header must be" in gateway.refused("vouchers", "import",
                                                   str(gateway.csv("h.csv", "serial,pin\nS9,12345678909\n")))
        assert "--count" in gateway.refused("vouchers", "generate", "--count", "0", "--amount", "1",
                                            "--active-days", "1", "--out", "x.csv")
        unchanged()
        assert not (gateway.tmp / "x.csv").exists()


class TestMaximums:
    """Profile ``limits.max_voucher_amount`` ($100.00) and ``limits.max_balance`` ($1,000.00)."""

    def test_vouchers_above_the_maximum_amount_are_refused(self, gateway: Gateway) -> None:
        """generate and import refuse a voucher above the profile's largest amount, naming the line."""
        gateway("db", "migrate")
        unchanged = gateway.snapshot()
        head = "serial,pin,amount,active_days\n"

        message = gateway.refused("vouchers", "generate", "--count", "1", "--amount", "100.01",
                                  "--active-days", "30", "--out", "pins.csv")
        path = gateway.csv("big.csv", head + "S1,12345678901,100.00,30\nS2,12345678902,100.01,30\n")
        imported = gateway.refused("vouchers", "import", str(path))

        assert "at most $100.00" in message
        assert "line 3: " in imported and "at most $100.00" in imported
        assert not (gateway.tmp / "pins.csv").exists()
        unchanged()

    def test_balances_above_the_maximum_are_refused(self, gateway: Gateway) -> None:
        """add, import and promo grant refuse a balance above the profile maximum in one line."""
        gateway("subscribers", "add", "012345678", "--balance", "999.50")
        unchanged = gateway.snapshot()

        added = gateway.refused("subscribers", "add", "012345679", "--balance", "1000.01")
        granted = gateway.refused("promo", "grant", "012345678", "0.51")
        imported = gateway.refused("subscribers", "import",
                                   str(gateway.csv("s.csv", HEADER + "\n012000001,5,,,,\n012000002,1000.01,,,,\n")))

        for message in (added, granted, imported):
            assert "maximum" in message and "$1,000.00" in message
        assert "line 3: " in imported
        unchanged()
        gateway("promo", "grant", "012345678", "0.50")

    def test_a_batch_with_pins_of_different_lengths_is_refused(self, gateway: Gateway) -> None:
        """A 14-digit batch whose spreadsheet stripped leading zeros from some PINs imports nothing, naming the line."""
        gateway("db", "migrate")
        unchanged = gateway.snapshot()
        body = ("serial,pin,amount,active_days\n"
                "S1,12345678901234,5,30\nS2,22345678901234,5,30\nS3,345678901234,5,30\n")

        message = gateway.refused("vouchers", "import", str(gateway.csv("stripped.csv", body)))

        assert "line 4: " in message and "12 digits" in message and "14" in message and "line 2" in message
        unchanged()
