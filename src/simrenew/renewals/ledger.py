"""The one way a line's balance changes: a ledger row and the cached buckets, together."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from simrenew.db.base import insert_now
from simrenew.ids import new_id
from simrenew.lines.models import Line
from simrenew.renewals.models import LedgerEntry

BUCKETS = ("paid", "bonus")


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
    if bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r}")
    if not isinstance(amount_fils, int) or isinstance(amount_fils, bool) or amount_fils == 0:
        raise ValueError("a ledger amount is a non-zero integer number of fils")
    if bucket == "paid":
        line.paid_fils += amount_fils
    else:
        line.bonus_fils += amount_fils
    if line.paid_fils < 0 or line.bonus_fils < 0:
        raise ValueError("a bucket may never go below zero")
    line.balance_fils = line.paid_fils + line.bonus_fils
    line.updated_at = now
    entry = LedgerEntry(
        id=new_id(),
        msisdn=line.msisdn,
        at=now,
        bucket=bucket,
        kind=kind,
        amount_fils=amount_fils,
        balance_after_fils=line.balance_fils,
        renewal_id=renewal_id,
        charge_id=charge_id,
        charge_kind=charge_kind,
    )
    insert_now(session, entry)
    return entry


def expire_bonus_if_due(session: Session, line: Line, now: datetime) -> None:
    """Write off a bonus whose expiry has passed, so it is never spent or revived."""
    if line.bonus_fils and line.bonus_expires_at is not None and now >= line.bonus_expires_at:
        post(
            session,
            line,
            bucket="bonus",
            kind="bonus_expiry",
            amount_fils=-line.bonus_fils,
            now=now,
        )
        line.bonus_expires_at = None
