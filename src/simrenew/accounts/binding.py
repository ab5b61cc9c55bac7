"""Binding lines to accounts: a code texted to the line proves its holder asked; unbinding.

A binding holds while the line is registered to whom it was when bound: a recycled number
issued to someone else is no longer the old account's (rules.binding_is_current).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from simrenew.accounts import repository, rules
from simrenew.accounts.models import Binding
from simrenew.accounts.otp import judge_code, send_code, typed_code
from simrenew.catalog.snapshot import CatalogSnapshot, current_catalog
from simrenew.clock import Clock, to_kuwait
from simrenew.db.session import UnitOfWork, retrying
from simrenew.errors import (
    LineAlreadyBound,
    LineBoundElsewhere,
    LineRecycled,
    NotAllowed,
    Unauthenticated,
    UnknownLine,
)
from simrenew.ids import new_id
from simrenew.lines.models import Line
from simrenew.lines.rules import LineState, normalize_msisdn
from simrenew.lines.service import current_state, describe_line, plan_for
from simrenew.staff.rules import Caller
from simrenew.staff.service import record_audit

BIND = "bind"

_NOT_OURS = {
    "en": "It is not a line of an operator we serve: check the number, or renew it with its "
    "own operator.",
    "ar": "هذا الرقم ليس خطاً لدى أحد المشغلين الذين نخدمهم: تحقق من الرقم أو جدّده لدى مشغله.",
    "zh": "此号码不属于我们服务的运营商：请核对号码，或通过其所属运营商续费。",
}


@dataclass(frozen=True)
class BindingChallenge:
    """A code texted to a line: valid until `expires_at`, another one from `resend_after`."""

    msisdn: str
    expires_at: datetime
    resend_after: datetime


def current_bindings(session: Session, account_id: str) -> list[tuple[Binding, Line]]:
    """An account's bindings that still hold, with their lines, oldest first."""
    return [
        (binding, line)
        for binding, line in repository.list_bound_lines(session, account_id)
        if rules.binding_is_current(binding.customer_id, line.customer_id)
    ]


def bound_line(session: Session, caller: Caller, msisdn: str) -> Line:
    """The caller's bound line; NotAllowed for any other number, existing or not."""
    found = repository.get_bound_line(session, rules.account_id_of(caller), msisdn)
    if found is None or not rules.binding_is_current(found[0].customer_id, found[1].customer_id):
        raise NotAllowed()
    return found[1]


def bound_line_view(
    binding: Binding, line: Line, catalog: CatalogSnapshot, now: datetime, *, language: str
) -> dict[str, Any]:
    """A bound line as the home page and the app show it: its status, operator and bind date."""
    operator = catalog.operators[line.operator_code]
    return {
        **describe_line(line, plan_for(catalog, line), now, language=language),
        "operator_name": operator.display_name(language),
        "operator_colour": operator.colour,
        "bound_at": to_kuwait(binding.bound_at),
    }


def _language_of(session: Session, account_id: str) -> str:
    account = repository.get_account(session, account_id)
    if account is None:
        raise Unauthenticated()
    return account.language


def _bindable_line(session: Session, account_id: str, msisdn: str, now: datetime) -> Line:
    """The line a number names, if it may be bound to the account; the reason why not else."""
    line = session.get(Line, msisdn)
    if line is None:
        raise UnknownLine(translated=_NOT_OURS)
    catalog = current_catalog(session)
    if current_state(line, plan_for(catalog, line), now) is LineState.RECYCLED:
        raise LineRecycled()
    existing = repository.get_binding(session, msisdn)
    if existing is not None and rules.binding_is_current(existing.customer_id, line.customer_id):
        if existing.account_id == account_id:
            raise LineAlreadyBound()
        raise LineBoundElsewhere()
    return line


def list_bound_lines(uow: UnitOfWork, caller: Caller, *, clock: Clock) -> list[dict[str, Any]]:
    """Every line bound to the caller's account, with balance, validity, state and bind date."""
    account_id = rules.account_id_of(caller)
    now = clock.now()
    with uow:
        session = uow.session
        language = _language_of(session, account_id)
        catalog = current_catalog(session)
        return [
            bound_line_view(binding, line, catalog, now, language=language)
            for binding, line in current_bindings(session, account_id)
        ]


def start_binding(
    uow: UnitOfWork, caller: Caller, msisdn: str, *, clock: Clock, secret_key: str
) -> BindingChallenge:
    """Text a code to a line so that its holder can bind it to the caller's account."""
    account_id = rules.account_id_of(caller)
    number = normalize_msisdn(msisdn)
    now = clock.now()
    with uow:
        session = uow.session
        account = repository.get_account(session, account_id)
        if account is None:
            raise Unauthenticated()
        _bindable_line(session, account_id, number, now)
        challenge = send_code(
            session, account=account, purpose=BIND, msisdn=number, secret_key=secret_key, now=now
        )
        uow.commit()
        return BindingChallenge(
            msisdn=number,
            expires_at=to_kuwait(challenge.expires_at),
            resend_after=to_kuwait(challenge.resend_after),
        )


def verify_binding(
    uow: UnitOfWork, caller: Caller, msisdn: str, code: str, *, clock: Clock, secret_key: str
) -> dict[str, Any]:
    """Bind the line when the code texted to it is typed right; the bound line's status."""
    account_id = rules.account_id_of(caller)
    number = normalize_msisdn(msisdn)
    typed = typed_code(code)
    now = clock.now()

    def attempt() -> dict[str, Any]:
        with uow:
            session = uow.session
            language = _language_of(session, account_id)
            challenge = repository.latest_challenge(session, account_id, BIND, number, lock=True)
            error = judge_code(challenge, typed, secret_key=secret_key, now=now)
            if error is not None:
                uow.commit()  # the wrong attempt stays counted
                raise error
            # Checked again: the line may have been recycled or bound elsewhere since the SMS.
            line = _bindable_line(session, account_id, number, now)
            stale = repository.get_binding(session, number)
            if stale is not None:  # a previous holder's binding (the line was re-registered)
                session.delete(stale)
                session.flush()
            binding = Binding(
                id=new_id(),
                msisdn=number,
                account_id=account_id,
                customer_id=line.customer_id,
                bound_at=now,
            )
            session.add(binding)
            session.flush()
            record_audit(
                session,
                actor=account_id,
                action="account.line_bound",
                subject=number,
                details={"account_id": account_id, "replaced_stale": stale is not None},
                now=now,
            )
            view = bound_line_view(binding, line, current_catalog(session), now, language=language)
            uow.commit()
            return view

    # Two accounts binding one line at once: the unique number lets one win; the other's
    # retry finds the line bound elsewhere.
    return retrying(attempt)


def unbind(uow: UnitOfWork, caller: Caller, msisdn: str, *, clock: Clock) -> None:
    """Remove a line from the caller's account (NotAllowed when it is not bound to it)."""
    account_id = rules.account_id_of(caller)
    number = normalize_msisdn(msisdn)
    now = clock.now()
    with uow:
        session = uow.session
        found = repository.get_bound_line(session, account_id, number)
        if found is None:
            raise NotAllowed()
        session.delete(found[0])
        record_audit(
            session,
            actor=account_id,
            action="account.line_unbound",
            subject=number,
            details={"account_id": account_id},
            now=now,
        )
        uow.commit()


def ensure_bound(uow: UnitOfWork, caller: Caller, msisdn: str) -> str:
    """The number in E.164 when it is bound to the caller's account; NotAllowed otherwise."""
    number = normalize_msisdn(msisdn)
    with uow:
        bound_line(uow.session, caller, number)
    return number
