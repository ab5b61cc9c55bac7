"""Every query of the accounts room, as plain functions taking a session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from simrenew.accounts.models import Account, Binding, OtpChallenge, SubscriberSession
from simrenew.lines.models import Line
from simrenew.payments.models import Payment
from simrenew.renewals.models import Renewal


def get_account(session: Session, account_id: str, *, lock: bool = False) -> Account | None:
    """One account by id, optionally locked for update."""
    return session.get(Account, account_id, with_for_update=lock or None)


def find_account(session: Session, login: str, *, lock: bool = False) -> Account | None:
    """The account signed in to with a (normalised) login."""
    query = select(Account).where(Account.login == login)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def find_session(session: Session, token_hash: str) -> tuple[SubscriberSession, Account] | None:
    """A session by its token's hash, with its account."""
    row = session.execute(
        select(SubscriberSession, Account)
        .join(Account, Account.id == SubscriberSession.account_id)
        .where(SubscriberSession.token_hash == token_hash)
    ).one_or_none()
    return (row[0], row[1]) if row else None


def revoke_sessions(session: Session, account_id: str, *, now: datetime) -> int:
    """End every open session of an account; how many were open."""
    result = session.execute(
        update(SubscriberSession)
        .where(SubscriberSession.account_id == account_id, SubscriberSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def get_binding(session: Session, msisdn: str) -> Binding | None:
    """The binding of a line, whichever account holds it."""
    return session.scalars(select(Binding).where(Binding.msisdn == msisdn)).one_or_none()


def get_bound_line(session: Session, account_id: str, msisdn: str) -> tuple[Binding, Line] | None:
    """A line bound to an account, with the line (stale or not: the caller decides)."""
    row = session.execute(
        select(Binding, Line)
        .join(Line, Line.msisdn == Binding.msisdn)
        .where(Binding.account_id == account_id, Binding.msisdn == msisdn)
    ).one_or_none()
    return (row[0], row[1]) if row else None


def list_bound_lines(session: Session, account_id: str) -> Sequence[tuple[Binding, Line]]:
    """An account's bindings with their lines, in the order they were bound."""
    rows = session.execute(
        select(Binding, Line)
        .join(Line, Line.msisdn == Binding.msisdn)
        .where(Binding.account_id == account_id)
        .order_by(Binding.bound_at, Binding.msisdn)
    ).all()
    return [(binding, line) for binding, line in rows]


def latest_challenge(
    session: Session, account_id: str, purpose: str, msisdn: str | None, *, lock: bool = False
) -> OtpChallenge | None:
    """The newest code of an account for a purpose (sent to a given number, when given)."""
    query = (
        select(OtpChallenge)
        .where(OtpChallenge.account_id == account_id, OtpChallenge.purpose == purpose)
        .order_by(OtpChallenge.created_at.desc(), OtpChallenge.id.desc())
        .limit(1)
    )
    if msisdn is not None:
        query = query.where(OtpChallenge.msisdn == msisdn)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def list_send_times(
    session: Session, *, since: datetime, account_id: str | None = None, msisdn: str | None = None
) -> list[datetime]:
    """When codes were sent since an instant, to a number or by an account."""
    query = select(OtpChallenge.created_at).where(OtpChallenge.created_at > since)
    if account_id is not None:
        query = query.where(OtpChallenge.account_id == account_id)
    if msisdn is not None:
        query = query.where(OtpChallenge.msisdn == msisdn)
    return list(session.scalars(query))


def spend_open_challenges(
    session: Session, account_id: str, purpose: str, msisdn: str, *, now: datetime
) -> None:
    """Mark every unused code of an account, purpose and number used (a newer one replaces them)."""
    session.execute(
        update(OtpChallenge)
        .where(
            OtpChallenge.account_id == account_id,
            OtpChallenge.purpose == purpose,
            OtpChallenge.msisdn == msisdn,
            OtpChallenge.used_at.is_(None),
        )
        .values(used_at=now)
    )


def list_renewals_of_account(
    session: Session, account_id: str, *, limit: int
) -> Sequence[tuple[Renewal, Payment | None]]:
    """Renewals of an account's bound lines, newest first, with their hosted payments."""
    rows = session.execute(
        select(Renewal, Payment)
        .join(Binding, Binding.msisdn == Renewal.msisdn)
        .join(Line, Line.msisdn == Renewal.msisdn)
        .outerjoin(Payment, Payment.renewal_id == Renewal.id)
        .where(Binding.account_id == account_id)
        # Only while the binding holds (the line's holder unchanged since it was bound).
        .where(
            (Binding.customer_id == Line.customer_id)
            | (Binding.customer_id.is_(None) & Line.customer_id.is_(None))
        )
        .order_by(Renewal.created_at.desc(), Renewal.id.desc())
        .limit(limit)
    ).all()
    return [(renewal, payment) for renewal, payment in rows]


def delete_stale_sessions_and_codes(session: Session, before: datetime) -> int:
    """Remove sessions and one-time codes that ended before `before`; how many were removed."""
    sessions = session.execute(
        delete(SubscriberSession).where(
            (SubscriberSession.expires_at < before)
            | (SubscriberSession.revoked_at.is_not(None) & (SubscriberSession.revoked_at < before))
        )
    )
    codes = session.execute(delete(OtpChallenge).where(OtpChallenge.expires_at < before))
    return int(getattr(sessions, "rowcount", 0) or 0) + int(getattr(codes, "rowcount", 0) or 0)
