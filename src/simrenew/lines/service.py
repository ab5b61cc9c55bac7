"""Line registry use cases: a line's status and history, registering a line."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from simrenew.catalog.snapshot import CatalogSnapshot, PlanTerms, catalog_for
from simrenew.clock import Clock, to_kuwait
from simrenew.db.session import UnitOfWork
from simrenew.errors import IdentityMismatch, UnknownLine, ValidationFailed
from simrenew.ids import new_id
from simrenew.lines import repository
from simrenew.lines.models import Customer, Line, LineHistory
from simrenew.lines.repository import LineContext
from simrenew.lines.rules import (
    LineState,
    days_left,
    state_at,
    transitions_between,
    validate_identity,
)
from simrenew.money import format_fils
from simrenew.renewals.rules import Buckets, usable_bonus


def buckets_of(line: Line) -> Buckets:
    """A line's balance buckets."""
    return Buckets(line.paid_fils, line.bonus_fils, line.bonus_expires_at)


def current_state(line: Line, plan: PlanTerms, now: datetime) -> LineState:
    """The state the dates and the plan give at `now` (recycled stays recycled)."""
    return state_at(line.valid_until, plan.periods, now, recorded=LineState(line.state))


def plan_for(catalog: CatalogSnapshot, line: Line) -> PlanTerms:
    """The plan a line is on (the foreign key guarantees it exists)."""
    plan = catalog.plans.get((line.operator_code, line.plan_code))
    if plan is None:  # pragma: no cover - prevented by the foreign key
        raise UnknownLine(f"Line {line.msisdn} refers to a missing plan.")
    return plan


def read_line(session: Session, msisdn: str, *, lock: bool) -> tuple[LineContext, CatalogSnapshot]:
    """A line with its context and the current catalog; UnknownLine when there is none."""
    context = repository.get_line_context(session, msisdn, lock=lock)
    if context is None:
        raise UnknownLine()
    return context, catalog_for(session, context.catalog_version)


def describe_line(
    line: Line, plan: PlanTerms, now: datetime, *, language: str = "en"
) -> dict[str, Any]:
    """A line's status as every channel shows it."""
    state = current_state(line, plan, now)
    bonus = usable_bonus(buckets_of(line), now)
    paid = line.paid_fils
    if state is LineState.RECYCLED:
        # A recycled line's balance is forfeited the moment its dates say so, whether or not
        # a sweep has written the forfeit to the ledger yet.
        paid = bonus = 0
    balance = paid + bonus
    return {
        "msisdn": line.msisdn,
        "operator": line.operator_code,
        "plan": line.plan_code,
        "state": state.value,
        "balance_fils": balance,
        "balance_display": format_fils(balance, language),
        "paid_fils": paid,
        "bonus_fils": bonus,
        "bonus_expires_at": (
            to_kuwait(line.bonus_expires_at) if bonus and line.bonus_expires_at else None
        ),
        "valid_until": to_kuwait(line.valid_until),
        "days_left": days_left(line.valid_until, now),
        "reactivation_required": state is LineState.SUSPENDED,
    }


def line_status(
    uow: UnitOfWork, msisdn: str, *, clock: Clock, language: str = "en"
) -> dict[str, Any]:
    """A line's status now: balance, validity end, state."""
    with uow:
        context, catalog = read_line(uow.session, msisdn, lock=False)
        line = context.line
        return describe_line(line, plan_for(catalog, line), clock.now(), language=language)


def _encode_cursor(entry: LineHistory) -> str:
    raw = json.dumps([entry.at.isoformat(), entry.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, entry_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(at), str(entry_id)
    except (ValueError, TypeError) as error:
        raise ValidationFailed("The cursor is not valid.") from error


def line_history(
    uow: UnitOfWork, msisdn: str, *, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """A page of a line's state changes and renewals, newest first, with the next cursor."""
    if not 1 <= limit <= 200:
        raise ValidationFailed("limit must be between 1 and 200.")
    before = _decode_cursor(cursor) if cursor else None
    with uow:
        if repository.get_line(uow.session, msisdn) is None:
            raise UnknownLine()
        rows = repository.list_history(uow.session, msisdn, before=before, limit=limit + 1)
        page = rows[:limit]
        return {
            "msisdn": msisdn,
            "items": [
                {
                    "id": row.id,
                    "at": to_kuwait(row.at),
                    "event": row.event,
                    "from_state": row.from_state,
                    "to_state": row.to_state,
                    "renewal_id": row.renewal_id,
                    "details": row.details,
                }
                for row in page
            ],
            "next_cursor": _encode_cursor(page[-1]) if len(rows) > limit else None,
        }


@dataclass(frozen=True)
class Registration:
    """Who a line is registered to."""

    id_type: str
    id_number: str
    name: str
    nationality: str | None = None
    language: str = "en"


def find_or_register_customer(
    session: Session, registration: Registration, now: datetime
) -> Customer:
    """The customer holding this identity document, registered now if new."""
    customer = repository.find_customer(session, registration.id_type, registration.id_number)
    if customer is None:
        customer = new_customer(registration, now)
        session.add(customer)
        session.flush()
    return customer


def new_customer(registration: Registration, now: datetime) -> Customer:
    """A new registration record (not yet added to any session)."""
    return Customer(
        id=new_id(),
        id_type=registration.id_type,
        id_number=registration.id_number,
        name=registration.name,
        nationality=registration.nationality,
        language=registration.language,
        created_at=now,
    )


def ensure_holder(session: Session, line: Line, identity: tuple[str, str]) -> None:
    """Refuse an identity that is not the line's registered holder's (IdentityMismatch)."""
    id_type, id_number = validate_identity(*identity)
    holder = repository.get_customer(session, line.customer_id) if line.customer_id else None
    if holder is None or (holder.id_type, holder.id_number) != (id_type, id_number):
        raise IdentityMismatch()


def record_late_transitions(
    session: Session, line: Line, plan: PlanTerms, now: datetime
) -> LineState:
    """Write the time-driven transitions no sweep has recorded yet; return the state now."""
    recorded = LineState(line.state)
    for from_state, to_state, at in transitions_between(
        line.valid_until, plan.periods, recorded, now
    ):
        repository.add_history(
            session,
            LineHistory(
                id=new_id(),
                msisdn=line.msisdn,
                at=at,
                event="expiry",
                from_state=from_state.value,
                to_state=to_state.value,
                renewal_id=None,
                details={},
            ),
        )
        line.state = to_state.value
        line.state_since = at
    return LineState(line.state)
