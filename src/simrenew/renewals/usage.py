"""Usage reported by the network's charging system: debits that spend bonus first, exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simrenew.clock import Clock
from simrenew.db.session import UnitOfWork, retrying
from simrenew.errors import (
    IdempotencyKeyReused,
    LineNotActive,
    LineRecycled,
    LineSuspended,
    NotAllowed,
    ValidationFailed,
)
from simrenew.lines import repository as lines_repository
from simrenew.lines.rules import LineState
from simrenew.lines.service import buckets_of, current_state, plan_for, read_line
from simrenew.renewals import repository
from simrenew.renewals.ledger import expire_bonus_if_due, post
from simrenew.renewals.models import LedgerEntry
from simrenew.renewals.rules import split_debit
from simrenew.staff.rules import Caller

MAX_CHARGE_FILS = 1_000_000  # 1,000 KWD: no single usage charge is larger


@dataclass(frozen=True)
class Charge:
    """One usage charge as the network reports it."""

    msisdn: str
    charge_id: str
    amount_fils: int
    kind: str


def _view(charge: Charge, entries: list[LedgerEntry], state: str) -> dict[str, Any]:
    from_bonus = -sum(e.amount_fils for e in entries if e.bucket == "bonus")
    from_paid = -sum(e.amount_fils for e in entries if e.bucket == "paid")
    return {
        "msisdn": charge.msisdn,
        "charge_id": charge.charge_id,
        "kind": charge.kind,
        "amount_fils": charge.amount_fils,
        "from_bonus_fils": from_bonus,
        "from_paid_fils": from_paid,
        "balance_fils": entries[-1].balance_after_fils,
        "state": state,
    }


def debit_line(uow: UnitOfWork, caller: Caller, charge: Charge, *, clock: Clock) -> dict[str, Any]:
    """Debit a usage charge once per charge id; a repeat answers the first result."""
    if caller.kind != "channel" or caller.channel != "network":
        raise NotAllowed("Only the network's charging system reports usage.")
    if not 0 < charge.amount_fils <= MAX_CHARGE_FILS:
        raise ValidationFailed(f"amount_fils must be between 1 and {MAX_CHARGE_FILS}.")
    return retrying(lambda: _debit_once(uow, charge, clock))


def _debit_once(uow: UnitOfWork, charge: Charge, clock: Clock) -> dict[str, Any]:
    with uow:
        session = uow.session
        context, catalog = read_line(session, charge.msisdn, lock=True)
        line = context.line
        done = list(repository.list_charge_entries(session, charge.msisdn, charge.charge_id))
        now = clock.now()
        plan = plan_for(catalog, line)
        state = current_state(line, plan, now)
        if done:
            if -sum(e.amount_fils for e in done) != charge.amount_fils or any(
                e.charge_kind != charge.kind for e in done
            ):
                raise IdempotencyKeyReused(
                    f"charge_id {charge.charge_id!r} was already reported with another amount."
                )
            return _view(charge, done, state.value)
        if state is LineState.RECYCLED:
            raise LineRecycled()
        if state is LineState.SUSPENDED:
            raise LineSuspended()
        if state is not LineState.ACTIVE:
            raise LineNotActive("Outgoing usage is barred while the line is in grace.")
        expire_bonus_if_due(session, line, now)
        from_bonus, from_paid = split_debit(buckets_of(line), charge.amount_fils, now)
        entries = []
        for bucket, amount in (("bonus", from_bonus), ("paid", from_paid)):
            if amount:
                entries.append(
                    post(
                        session,
                        line,
                        bucket=bucket,
                        kind="usage_debit",
                        amount_fils=-amount,
                        now=now,
                        charge_id=charge.charge_id,
                        charge_kind=charge.kind,
                    )
                )
        line.version += 1
        lines_repository.save_line(session, line)
        result = _view(charge, entries, state.value)
        uow.commit()
        return result
