"""The recharge centre of a bound line: what it can buy, the price, paying online, receipts.

Subscribers renew only their bound lines, only online (card, KNET, wallets) and at their
channel's prices (web or app); everything past the binding check is the renewals and payments
rooms' own work.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from simrenew.accounts import repository, rules
from simrenew.accounts.binding import bound_line, ensure_bound
from simrenew.catalog.snapshot import current_catalog
from simrenew.clock import Clock, to_kuwait
from simrenew.db.session import UnitOfWork
from simrenew.errors import NotAllowed, PaymentMethodNotAvailable, Unauthenticated
from simrenew.ids import new_id
from simrenew.lines.rules import LineState, normalize_msisdn
from simrenew.lines.service import current_state, describe_line, plan_for, read_line
from simrenew.money import format_fils
from simrenew.payments.desk import PaymentDesk
from simrenew.payments.service import renew_with_payment
from simrenew.payments.views import with_payment
from simrenew.renewals import repository as renewals_repository
from simrenew.renewals.models import Quote
from simrenew.renewals.pricing import ensure_renewable, package_for, price_for
from simrenew.renewals.service import RenewalOutcome, RenewalRequest
from simrenew.renewals.views import renewal_view
from simrenew.staff.rules import Caller

# Subscribers pay on a gateway's page; cash, till and card terminals are for counters.
_ONLINE_METHODS = frozenset({"card", "knet"})
_WALLET_PREFIX = "wallet:"


def is_online_method(method: str) -> bool:
    """Whether a subscriber may pay with a method: card, knet or a wallet."""
    return method in _ONLINE_METHODS or method.startswith(_WALLET_PREFIX)


def _ensure_online(method: str) -> None:
    if not is_online_method(method):
        raise PaymentMethodNotAvailable(
            translated={
                "en": "Pay online by card, KNET or a wallet.",
                "ar": "ادفع عبر الإنترنت بالبطاقة أو كي نت أو المحفظة الإلكترونية.",
                "zh": "请通过银行卡、KNET或电子钱包在线支付。",
            }
        )


def _account_language(session: Session, caller: Caller) -> str:
    account = repository.get_account(session, rules.account_id_of(caller))
    if account is None:
        raise Unauthenticated()
    return account.language


def recharge_offers(
    uow: UnitOfWork, caller: Caller, msisdn: str, *, clock: Clock
) -> dict[str, Any]:
    """A bound line with the packages and online payment methods of the caller's channel."""
    number = normalize_msisdn(msisdn)
    now = clock.now()
    with uow:
        session = uow.session
        line = bound_line(session, caller, number)
        language = _account_language(session, caller)
        catalog = current_catalog(session)
        operator = catalog.operators[line.operator_code]
        packages = sorted(
            (
                offer
                for (operator_code, plan_code, _), offer in catalog.packages.items()
                if (operator_code, plan_code) == (line.operator_code, line.plan_code)
                and caller.channel in offer.terms.channels
            ),
            key=lambda offer: (offer.terms.price_fils, offer.terms.code),
        )
        return {
            "line": describe_line(line, plan_for(catalog, line), now, language=language),
            "operator": {
                "code": operator.code,
                "name": operator.display_name(language),
                "colour": operator.colour,
            },
            "packages": [
                {
                    "code": offer.terms.code,
                    "name": offer.name,
                    "price_fils": offer.terms.price_fils,
                    "price_display": format_fils(offer.terms.price_fils, language),
                    "validity_days": offer.terms.validity_days,
                }
                for offer in packages
            ],
            "methods": [
                {
                    "method": method,
                    "gateway": terms.gateway,
                    "fee_fixed_fils": terms.fee.fee_fixed_fils,
                    "fee_percent": format(terms.fee.fee_percent.normalize(), "f"),
                }
                for method, terms in sorted(catalog.payment_methods.items())
                if is_online_method(method)
                and terms.gateway is not None
                and caller.channel in terms.channels
            ],
        }


def quote_bound_line(
    uow: UnitOfWork,
    caller: Caller,
    msisdn: str,
    *,
    package_code: str,
    payment_method: str,
    clock: Clock,
    ttl_seconds: int = 900,
    language: str | None = None,
) -> dict[str, Any]:
    """Price a package for a bound line, as POST /api/v1/quotes does (suspended: reactivation)."""
    # The body and the Quote row are renewals.quotes.quote_renewal's; that function serves
    # only channels that may renew any line, and refuses suspended lines outright, while a
    # subscriber sees the price of reactivating its own suspended line before paying.
    number = normalize_msisdn(msisdn)
    _ensure_online(payment_method)
    now = clock.now()
    with uow:
        session = uow.session
        bound_line(session, caller, number)
        language = language or _account_language(session, caller)
        context, catalog = read_line(session, number, lock=False)
        line = context.line
        plan = plan_for(catalog, line)
        state = current_state(line, plan, now)
        if state is not LineState.SUSPENDED:
            ensure_renewable(state)
        package = package_for(catalog, line, package_code)
        price = price_for(
            session,
            catalog,
            line,
            plan,
            package,
            channel=caller.channel,
            method=payment_method,
            now=now,
        )
        quote = Quote(
            id=new_id(),
            msisdn=number,
            package_code=package.terms.code,
            channel=caller.channel,
            payment_method=payment_method,
            **price.amounts(),
            new_valid_until=price.new_valid_until,
            bonus_expires_at=price.bonus_expires_at,
            promotions=list(price.promotions),
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
        session.add(quote)
        uow.commit()
        return {
            "quote_id": quote.id,
            "msisdn": number,
            "package_code": package.terms.code,
            "channel": caller.channel,
            "payment_method": payment_method,
            **price.amounts(),
            "total_display": format_fils(price.total_fils, language),
            "new_valid_until": to_kuwait(price.new_valid_until),
            "bonus_expires_at": _kuwait_or_none(price.bonus_expires_at),
            "promotions": list(price.promotions),
            "expires_at": to_kuwait(quote.expires_at),
            "reactivation_required": state is LineState.SUSPENDED,
        }


def _kuwait_or_none(instant: datetime | None) -> datetime | None:
    return to_kuwait(instant) if instant else None


def renew_bound_line(
    uow: UnitOfWork, desk: PaymentDesk, caller: Caller, request: RenewalRequest, *, clock: Clock
) -> RenewalOutcome:
    """Renew (or, with the holder's ID, reactivate) a bound line, paid on a gateway's page."""
    number = ensure_bound(uow, caller, request.msisdn)
    _ensure_online(request.payment_method)
    return renew_with_payment(
        uow, desk, caller, replace(request, msisdn=number), clock=clock, line_checked=True
    )


def list_account_renewals(
    uow: UnitOfWork, caller: Caller, *, desk: PaymentDesk, limit: int = 100
) -> list[dict[str, Any]]:
    """Renewals of the caller's bound lines, newest first, with payment state and receipt."""
    account_id = rules.account_id_of(caller)
    with uow:
        rows = repository.list_renewals_of_account(uow.session, account_id, limit=limit)
        return [with_payment(renewal_view(r), payment, desk.links) for r, payment in rows]


def ensure_receipt_bound(uow: UnitOfWork, caller: Caller, receipt_no: str) -> str:
    """The line of a receipt when it is bound to the caller; NotAllowed for any other receipt."""
    with uow:
        receipt = renewals_repository.get_receipt(uow.session, receipt_no)
        # An unknown receipt is refused the same way: the answer reveals nothing.
        if receipt is None:
            raise NotAllowed()
        bound_line(uow.session, caller, receipt.msisdn)
        return receipt.msisdn


def receipt_of_bound_line(
    uow: UnitOfWork, caller: Caller, receipt_no: str, *, language: str
) -> dict[str, Any]:
    """A receipt of one of the caller's bound lines, as GET /api/v1/receipts/{no} shows it."""
    # The same body as renewals.receipts.get_receipt, which serves staff channels only.
    with uow:
        receipt = renewals_repository.get_receipt(uow.session, receipt_no)
        if receipt is None:
            raise NotAllowed()
        bound_line(uow.session, caller, receipt.msisdn)
        data = dict(receipt.data)
        return {
            "receipt_no": receipt.receipt_no,
            "renewal_id": receipt.renewal_id,
            "msisdn": receipt.msisdn,
            "issued_at": to_kuwait(receipt.issued_at).isoformat(),
            "verification_code": receipt.verification_code,
            **data,
            "valid_until": to_kuwait(datetime.fromisoformat(data["valid_until"])).isoformat(),
            "total_display": format_fils(data["total_fils"], language),
            "credit_display": format_fils(data["credit_fils"], language),
        }
