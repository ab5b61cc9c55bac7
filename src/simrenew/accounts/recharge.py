"""The recharge centre of a bound line: what it can buy, the price, paying online, receipts.

Subscribers renew only their bound lines, only online (card, KNET, wallets) and at their
channel's prices (web or app); everything past the binding check is the renewals and payments
rooms' own work.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from simrenew.accounts import repository, rules
from simrenew.accounts.binding import bound_line, ensure_bound
from simrenew.catalog.snapshot import current_catalog
from simrenew.clock import Clock
from simrenew.db.session import UnitOfWork
from simrenew.errors import NotAllowed, PaymentMethodNotAvailable, Unauthenticated
from simrenew.lines.rules import normalize_msisdn
from simrenew.lines.service import describe_line, plan_for
from simrenew.money import format_fils
from simrenew.payments.desk import PaymentDesk
from simrenew.payments.service import renew_with_payment
from simrenew.payments.views import with_payment
from simrenew.renewals import repository as renewals_repository
from simrenew.renewals.quotes import quote_renewal
from simrenew.renewals.receipts import get_receipt
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
                    "name": offer.display_name(language),
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
    _ensure_online(payment_method)
    number = ensure_bound(uow, caller, msisdn)
    if language is None:
        with uow:
            language = _account_language(uow.session, caller)
    # A subscriber sees the price of reactivating its own suspended line before paying; the
    # holder's ID is checked when it pays.
    return quote_renewal(
        uow,
        caller,
        msisdn=number,
        package_code=package_code,
        payment_method=payment_method,
        clock=clock,
        ttl_seconds=ttl_seconds,
        language=language,
        reactivation=True,
        line_checked=True,
    )


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
    ensure_receipt_bound(uow, caller, receipt_no)
    return get_receipt(uow, caller, receipt_no, language=language, line_checked=True)
