"""What the operator console reads and records, on either database (``port.Reports``, ``port.Audit``).

One implementation for both adapters (``gateway.store.portable``): the
statements are written once with ``?`` placeholders; ``PgReports`` /
``PgAudit`` (``gateway.store.postgres.console``) run them on PostgreSQL. Every read is bounded (``LIMIT``) and
walks an index newest first: a number's messages by
``(destination, id)``, a campaign's by ``(campaign_id, status)`` (both
migration 18), a line's ledger by its subscriber. No statement here selects
a PIN hash, an ID hash or a sealed text.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from typing import Any

from gateway.store.port import console as port
from gateway.store.portable import SqliteFlavour

_MESSAGE = (
    "SELECT id, source, destination, text, kind, status, attempts, created_at, updated_at, submitted_at, smsc, "
    "smsc_message_id, error, campaign_id, receipt_stat, receipt_at FROM sms_outbox"
)


class ReportsSql(SqliteFlavour):
    """``port.Reports`` over something that runs ``?`` statements (the SQLite flavour)."""

    __slots__ = ()

    def ledger(self, subscriber_id: int, *, limit: int, before: int | None = None) -> list[port.LedgerRow]:
        rows = self._run(
            "SELECT id, bucket, delta_minor, kind, at, recorded_at, reference, channel FROM ledger "
            "WHERE subscriber_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
            (subscriber_id, _below(before), limit),
        )
        return [port.LedgerRow(r["id"], r["bucket"], r["delta_minor"], r["kind"], self._when(r["at"]),
                          self._when(r["recorded_at"]), r["reference"], r["channel"]) for r in rows]

    def lost_reports(self, subscriber_id: int) -> list[port.LostReportRow]:
        rows = self._run(
            "SELECT reference, reported_at, reporter_msisdn, channel, resolved_at FROM lost_reports "
            "WHERE subscriber_id = ? ORDER BY id DESC", (subscriber_id,),
        )
        return [port.LostReportRow(r["reference"], self._when(r["reported_at"]), r["reporter_msisdn"], r["channel"],
                              self._read_instant(r["resolved_at"])) for r in rows]

    def outbox(self, *, destination: str | None, status: str | None, kind: str | None, campaign_id: int | None,
               limit: int, before: int | None = None) -> list[port.OutboxMessage]:
        clauses = ["id < ?"]
        params: list[Any] = [_below(before)]
        for column, value in (("destination", destination), ("status", status), ("kind", kind),
                              ("campaign_id", campaign_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        rows = self._run(f"{_MESSAGE} WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?", (*params, limit))
        return [self._message(r) for r in rows]

    def outbox_message(self, outbox_id: int) -> port.OutboxMessage | None:
        row = self._run(f"{_MESSAGE} WHERE id = ?", (outbox_id,)).fetchone()
        if row is None:
            return None
        parts = tuple(
            port.OutboxPart(p["part"], p["smsc_message_id"], p["smsc"], p["status"], p["receipt_stat"],
                       self._read_instant(p["receipt_at"]))
            for p in self._run("SELECT part, smsc_message_id, smsc, status, receipt_stat, receipt_at "
                               "FROM sms_outbox_parts WHERE outbox_id = ? ORDER BY part, id", (outbox_id,))
        )
        return self._message(row, parts)

    def campaigns(self, *, limit: int, before: int | None = None) -> list[port.CampaignRow]:
        found = list(self._run("SELECT id, text, created_at, channel FROM campaigns WHERE id < ? "
                               "ORDER BY id DESC LIMIT ?", (_below(before), limit)))
        return self._counted(found)

    def campaign(self, campaign_id: int) -> port.CampaignRow | None:
        found = list(self._run("SELECT id, text, created_at, channel FROM campaigns WHERE id = ?", (campaign_id,)))
        counted = self._counted(found)
        return counted[0] if counted else None

    def voucher_stock(self, today: date) -> list[port.VoucherStock]:
        rows = self._run(
            "SELECT COALESCE(batch, '') AS batch, amount_minor, CASE WHEN status = 'active' AND expires_on IS NOT "
            "NULL AND expires_on < ? THEN 'expired' ELSE status END AS state, count(*) AS n, "
            "min(created_at) AS first_created_at, min(expires_on) AS expires_on FROM vouchers "
            "GROUP BY 1, 2, 3 ORDER BY min(id)", (self._day(today),),
        )
        return [port.VoucherStock(r["batch"], r["amount_minor"], r["state"], int(r["n"]),
                             self._when(r["first_created_at"]), self._read_day(r["expires_on"])) for r in rows]

    # --- rows -------------------------------------------------------------------------

    def _counted(self, campaigns: list[Any]) -> list[port.CampaignRow]:
        """The campaigns with their messages counted by state: one index-only count for all of them."""
        if not campaigns:
            return []
        ids = [c["id"] for c in campaigns]
        counts: dict[int, dict[str, int]] = {campaign_id: {} for campaign_id in ids}
        marks = ", ".join("?" * len(ids))
        for r in self._run(f"SELECT campaign_id, status, count(*) AS n FROM sms_outbox "
                           f"WHERE campaign_id IN ({marks}) GROUP BY campaign_id, status", ids):
            counts[r["campaign_id"]][r["status"]] = int(r["n"])
        return [port.CampaignRow(c["id"], c["text"], self._when(c["created_at"]), c["channel"], counts[c["id"]])
                for c in campaigns]

    def _message(self, r: Any, parts: tuple[port.OutboxPart, ...] = ()) -> port.OutboxMessage:
        return port.OutboxMessage(
            outbox_id=r["id"], source=r["source"], destination=r["destination"], text=r["text"], kind=r["kind"],
            status=r["status"], attempts=r["attempts"], created_at=self._when(r["created_at"]),
            updated_at=self._when(r["updated_at"]), submitted_at=self._read_instant(r["submitted_at"]),
            smsc=r["smsc"], smsc_message_id=r["smsc_message_id"], error=r["error"], campaign_id=r["campaign_id"],
            receipt_stat=r["receipt_stat"], receipt_at=self._read_instant(r["receipt_at"]), parts=parts,
        )


class AuditSql(SqliteFlavour):
    """``port.Audit`` over something that runs ``?`` statements (the SQLite flavour)."""

    __slots__ = ()

    def record(self, *, at: datetime, role: str, actor: str, action: str, target: str, outcome: str,
               detail: str | None) -> None:
        self._run("INSERT INTO console_actions (at, role, actor, action, target, outcome, detail) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)", (self._instant(at), role, actor, action, target, outcome, detail))

    def recent(self, *, limit: int, before: int | None = None) -> list[port.ConsoleAction]:
        rows = self._run("SELECT id, at, role, actor, action, target, outcome, detail FROM console_actions "
                         "WHERE id < ? ORDER BY id DESC LIMIT ?", (_below(before), limit))
        return [port.ConsoleAction(r["id"], self._when(r["at"]), r["role"], r["actor"], r["action"], r["target"],
                              r["outcome"], r["detail"]) for r in rows]


def _below(before: int | None) -> int:
    """The id a page starts under (``before`` None: the newest row)."""
    return 2**62 if before is None else before


class SqliteReports(ReportsSql):
    __slots__ = ()

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(conn)


class SqliteAudit(AuditSql):
    __slots__ = ()

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(conn)
