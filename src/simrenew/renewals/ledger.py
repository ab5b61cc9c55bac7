"""The one way a line's balance changes: a ledger row and the cached buckets, together."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from simrenew.db.base import insert_row
from simrenew.ids import new_id
from simrenew.lines.models import Line
from simrenew.renewals.models import LedgerEntry

BUCKETS = ("paid", "bonus")


class Buckets(Protocol):
    """A locked line's balance as the ledger changes it: the ORM line or the sweep's plain row."""

    msisdn: str
    paid_fils: int
    bonus_fils: int
    balance_fils: int
    bonus_expires_at: datetime | None


def entry(
    line: Buckets,
    *,
    bucket: str,
    kind: str,
    amount_fils: int,
    now: datetime,
    renewal_id: str | None = None,
    charge_id: str | None = None,
    charge_kind: str | None = None,
) -> dict[str, Any]:
    """Change one bucket of a locked line by a signed amount; return the ledger row to append.

    Pure: the caller writes the row in the same transaction as the line (post() does both).
    """
    if bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r}")
    if not isinstance(amount_fils, int) or isinstance(amount_fils, bool) or amount_fils == 0:
        raise ValueError("a ledger amount is a non-zero integer number of fils")
    paid = line.paid_fils + (amount_fils if bucket == "paid" else 0)
    bonus = line.bonus_fils + (amount_fils if bucket == "bonus" else 0)
    if paid < 0 or bonus < 0:
        raise ValueError("a bucket may never go below zero")
    line.paid_fils, line.bonus_fils, line.balance_fils = paid, bonus, paid + bonus
    return {
        "id": new_id(),
        "msisdn": line.msisdn,
        "at": now,
        "bucket": bucket,
        "kind": kind,
        "amount_fils": amount_fils,
        "balance_after_fils": paid + bonus,
        "renewal_id": renewal_id,
        "charge_id": charge_id,
        "charge_kind": charge_kind,
    }


def post(
    session: Session,
    line: Line,
    *,
    bucket: str,
    kind: str,
    amount_fils: int,
    now: datetime,
    renewal_id: str | None = None,
    charge_id: str | None = None,
    charge_kind: str | None = None,
) -> LedgerEntry:
    """Change one bucket of a locked line by a signed amount and append its ledger row."""
    row = LedgerEntry(
        **entry(
            line,
            bucket=bucket,
            kind=kind,
            amount_fils=amount_fils,
            now=now,
            renewal_id=renewal_id,
            charge_id=charge_id,
            charge_kind=charge_kind,
        )
    )
    line.updated_at = now
    insert_row(session, row)
    return row


def bonus_write_off(line: Buckets, now: datetime) -> dict[str, Any] | None:
    """Write off a bonus whose expiry has passed, so it is never spent or revived (pure).

    Returns the ledger row to append, or None when no bonus has expired.
    """
    if not (line.bonus_fils and line.bonus_expires_at is not None):
        return None
    if now < line.bonus_expires_at:
        return None
    row = entry(line, bucket="bonus", kind="bonus_expiry", amount_fils=-line.bonus_fils, now=now)
    line.bonus_expires_at = None
    return row


def expire_bonus_if_due(session: Session, line: Line, now: datetime) -> None:
    """Write off a bonus whose expiry has passed, so it is never spent or revived."""
    row = bonus_write_off(line, now)
    if row is not None:
        line.updated_at = now
        insert_row(session, LedgerEntry(**row))


def forfeit_all(line: Buckets, now: datetime) -> list[dict[str, Any]]:
    """Take a recycled line's whole balance (pure): the ledger rows to append, in order.

    An expired bonus is written off as such first; what is left of each bucket is forfeited.
    """
    rows = [row] if (row := bonus_write_off(line, now)) is not None else []
    for bucket, amount in (("paid", line.paid_fils), ("bonus", line.bonus_fils)):
        if amount:
            rows.append(
                entry(line, bucket=bucket, kind="recycle_forfeit", amount_fils=-amount, now=now)
            )
    line.bonus_expires_at = None
    return rows
