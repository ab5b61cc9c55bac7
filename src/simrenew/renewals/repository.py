"""Every query of the renewals room, as plain functions taking a session."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Integer, bindparam, case, func, select
from sqlalchemy.orm import Session

from simrenew.lines.models import Line
from simrenew.lines.repository import (
    LINE_CONTEXT_WIDTH,
    LineContext,
    line_context_from,
    line_context_query,
)
from simrenew.renewals.models import LedgerEntry, PromotionUse, Quote, Receipt, Renewal


def get_renewal(session: Session, renewal_id: str) -> Renewal | None:
    """One renewal by id."""
    return session.get(Renewal, renewal_id)


# Built once with placeholders: building and hashing the statement again on every renewal cost
# more than executing it.
_DONE = select(Renewal.id, Renewal.request_hash).where(
    Renewal.idempotency_scope == bindparam("scope"), Renewal.idempotency_key == bindparam("key")
)
_LOCK_FOR_RENEWAL = line_context_query(bindparam("line_msisdn"), lock=True).add_columns(
    _DONE.with_only_columns(Renewal.id).scalar_subquery(),
    _DONE.with_only_columns(Renewal.request_hash).scalar_subquery(),
)


def lock_line_for_renewal(
    session: Session, msisdn: str, scope: str, key: str
) -> tuple[LineContext | None, tuple[str, str] | None]:
    """Lock a line and, in the same round trip, find the renewal already made under a key.

    Returns the line's context (None when unknown) and (renewal id, request hash) of an earlier
    renewal under (scope, key), if any.
    """
    params = {"line_msisdn": msisdn, "scope": scope, "key": key}
    row = session.connection().execute(_LOCK_FOR_RENEWAL, params).one_or_none()
    if row is None:
        # No such line; the key may still name a renewal of another line (a reused key).
        found = session.connection().execute(_DONE, params).one_or_none()
        return None, (found[0], found[1]) if found else None
    context = line_context_from(row)
    done_id, done_hash = row[LINE_CONTEXT_WIDTH], row[LINE_CONTEXT_WIDTH + 1]
    return context, (done_id, done_hash) if done_id is not None else None


def get_quote(session: Session, quote_id: str) -> Quote | None:
    """One quote by id."""
    return session.get(Quote, quote_id)


def get_receipt(session: Session, receipt_no: str) -> Receipt | None:
    """One receipt by number."""
    return session.get(Receipt, receipt_no)


def count_promotion_uses(session: Session, msisdn: str) -> dict[str, int]:
    """How many times each promotion was granted to a line."""
    rows = session.execute(
        select(PromotionUse.promotion_code, func.count())
        .where(PromotionUse.msisdn == msisdn)
        .group_by(PromotionUse.promotion_code)
    ).all()
    return {code: count for code, count in rows}


def list_charge_entries(session: Session, msisdn: str, charge_id: str) -> Sequence[LedgerEntry]:
    """The ledger rows a network charge already wrote on a line."""
    return session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.msisdn == msisdn, LedgerEntry.charge_id == charge_id)
        .order_by(LedgerEntry.id)
    ).all()


def list_ledger_mismatches(session: Session) -> list[tuple[str, int, int, int, int, int, int]]:
    """Lines whose cached balances differ from their ledger.

    Rows: (msisdn, balance, paid, bonus, ledger total, ledger paid, ledger bonus).
    """
    paid = func.coalesce(
        func.sum(case((LedgerEntry.bucket == "paid", LedgerEntry.amount_fils), else_=0)), 0
    )
    bonus = func.coalesce(
        func.sum(case((LedgerEntry.bucket == "bonus", LedgerEntry.amount_fils), else_=0)), 0
    )
    sums = (
        select(
            LedgerEntry.msisdn.label("msisdn"),
            paid.cast(Integer).label("paid"),
            bonus.cast(Integer).label("bonus"),
        )
        .group_by(LedgerEntry.msisdn)
        .subquery()
    )
    ledger_paid = func.coalesce(sums.c.paid, 0)
    ledger_bonus = func.coalesce(sums.c.bonus, 0)
    query = (
        select(
            Line.msisdn,
            Line.balance_fils,
            Line.paid_fils,
            Line.bonus_fils,
            ledger_paid + ledger_bonus,
            ledger_paid,
            ledger_bonus,
        )
        .outerjoin(sums, sums.c.msisdn == Line.msisdn)
        .where(
            (Line.paid_fils != ledger_paid)
            | (Line.bonus_fils != ledger_bonus)
            | (Line.balance_fils != ledger_paid + ledger_bonus)
        )
        .order_by(Line.msisdn)
    )
    return [tuple(row) for row in session.execute(query).all()]


def list_renewal_mismatches(session: Session) -> list[tuple[str, str, int, int, int]]:
    """Credited renewals whose ledger rows do not add up to exactly their credit plus bonus.

    Rows: (renewal id, msisdn, expected fils, ledger fils, ledger rows).
    """
    sums = (
        select(
            LedgerEntry.renewal_id.label("renewal_id"),
            func.sum(LedgerEntry.amount_fils).label("total"),
            func.count().label("rows"),
        )
        .where(LedgerEntry.renewal_id.is_not(None), LedgerEntry.amount_fils > 0)
        .group_by(LedgerEntry.renewal_id)
        .subquery()
    )
    expected = Renewal.credit_fils + Renewal.bonus_fils
    expected_rows = case((Renewal.bonus_fils > 0, 2), else_=1)
    total = func.coalesce(sums.c.total, 0)
    rows = func.coalesce(sums.c.rows, 0)
    query = (
        select(Renewal.id, Renewal.msisdn, expected, total, rows)
        .outerjoin(sums, sums.c.renewal_id == Renewal.id)
        .where(Renewal.state.in_(("credited", "refunded")))
        .where((total != expected) | (rows != expected_rows))
        .order_by(Renewal.id)
    )
    return [tuple(row) for row in session.execute(query).all()]


def list_orphan_credits(session: Session) -> list[tuple[str, str]]:
    """Ledger credits naming a renewal that is not credited (credited-but-not-paid)."""
    query = (
        select(LedgerEntry.msisdn, LedgerEntry.renewal_id)
        .outerjoin(Renewal, Renewal.id == LedgerEntry.renewal_id)
        .where(LedgerEntry.renewal_id.is_not(None), LedgerEntry.amount_fils > 0)
        .where((Renewal.id.is_(None)) | (Renewal.state.not_in(("credited", "refunded"))))
        .distinct()
    )
    return [(m, r or "") for m, r in session.execute(query).all()]
