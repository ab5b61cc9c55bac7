"""The recharge centre: choose a package and a way to pay, see the price, pay on the gateway.

Reactivating a suspended line is the same journey with one more step in front: the civil ID or
passport number the line is registered to, checked when the renewal is made. "See the price"
stores a quote and shows every amount before any payment starts; the Pay form carries an
Idempotency-Key made for that quote, so a double click or a resent form starts one payment.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from simrenew.accounts import service as accounts
from simrenew.errors import QuoteExpired, SimrenewError
from simrenew.lines.rules import LineState, validate_identity
from simrenew.money import format_fils
from simrenew.renewals.service import RenewalRequest
from simrenew.web.deps import PlatformDep
from simrenew.web.pages.selfcare.brand import brand_of, line_path
from simrenew.web.pages.selfcare.forms import FormError, form_error
from simrenew.web.pages.selfcare.i18n import N_, local_digits, translate
from simrenew.web.pages.selfcare.lines import MsisdnPath
from simrenew.web.pages.selfcare.routing import PageRoute, redirect, render
from simrenew.web.pages.selfcare.session import CsrfChecked, SubscriberDep, subscriber_caller

router = APIRouter(route_class=PageRoute, include_in_schema=False)

_CODE = Form(max_length=60)
ID_TYPES = ("civil_id", "passport")
KEY_PREFIX = "web-"


# How each way to pay is named on the page; wallets are brand names, written as their makers do.
METHOD_NAMES = {"card": N_("Bank card"), "knet": N_("KNET debit card")}
WALLET_NAMES = {"applepay": "Apple Pay", "paypal": "PayPal", "googlepay": "Google Pay"}


def method_label(method: str, language: str) -> str:
    """A payment method's name on the page."""
    if method in METHOD_NAMES:
        return translate(language, METHOD_NAMES[method])
    provider = method.removeprefix("wallet:")
    return WALLET_NAMES.get(provider, provider.replace("_", " ").title())


def fee_text(method: dict[str, Any], language: str) -> str:
    """What a method adds to the price: "No fee", or the fixed part and the percentage."""
    parts = []
    if method["fee_fixed_fils"]:
        parts.append(format_fils(int(method["fee_fixed_fils"]), language))
    percent = Decimal(str(method["fee_percent"]))
    if percent:
        written = format(percent.normalize(), "f")
        if language == "ar":
            written = local_digits(written, language).replace(".", "٫") + "٪"
        else:
            written += "%"
        parts.append(written)
    if not parts:
        return translate(language, N_("No fee"))
    return translate(language, N_("Fee: %(fee)s"), fee=" + ".join(parts))


def _choice(
    package: str = "",
    method: str = "",
    id_type: str = "civil_id",
    id_number: str = "",
) -> dict[str, str]:
    return {
        "package": package,
        "method": method,
        "id_type": id_type if id_type in ID_TYPES else "civil_id",
        "id_number": id_number,
    }


def _form_page(
    request: Request,
    platform: PlatformDep,
    visitor: SubscriberDep,
    msisdn: str,
    *,
    reactivation: bool,
    choice: dict[str, str],
    error: FormError | None = None,
) -> Response:
    """The package and payment choice (and, to reactivate, the ID) with any error above it."""
    caller = subscriber_caller(visitor)
    offers = accounts.recharge_offers(platform.uow(), caller, msisdn, clock=platform.clock)
    line = offers["line"]
    path = line_path(line["msisdn"])
    if error is None and request.method == "GET":
        # Each state has one way forward: send the visitor to the right one.
        if line["state"] == LineState.SUSPENDED.value and not reactivation:
            return redirect(f"{path}/reactivate")
        if line["state"] in (LineState.ACTIVE.value, LineState.GRACE.value) and reactivation:
            return redirect(f"{path}/recharge")
    packages = offers["packages"]
    methods = [
        {
            **method,
            "label": method_label(method["method"], visitor.language),
            "fee_text": fee_text(method, visitor.language),
        }
        for method in offers["methods"]
    ]
    chosen = dict(choice)
    if not chosen["package"] and packages:
        chosen["package"] = packages[0]["code"]
    if not chosen["method"] and methods:
        chosen["method"] = methods[0]["method"]
    return render(
        request,
        "selfcare/recharge.html",
        status_code=error.status_code if error else 200,
        here=f"{path}/{'reactivate' if reactivation else 'recharge'}",
        line=line,
        path=path,
        operator=offers["operator"],
        brand=brand_of(platform, line["operator"], visitor.language),
        packages=packages,
        methods=methods,
        choice=chosen,
        reactivation=reactivation,
        error=error,
    )


def _quote_page(
    request: Request,
    platform: PlatformDep,
    visitor: SubscriberDep,
    msisdn: str,
    *,
    reactivation: bool,
    choice: dict[str, str],
) -> Response:
    """Price the choice and show every amount, with the Pay button; errors go back to the form."""
    caller = subscriber_caller(visitor)
    try:
        if reactivation:
            # Checked for form here, so a typo is told before the price; the holder check
            # itself is made with the renewal.
            choice["id_type"], choice["id_number"] = validate_identity(
                choice["id_type"], choice["id_number"]
            )
        quote = accounts.quote_bound_line(
            platform.uow(),
            caller,
            msisdn,
            package_code=choice["package"],
            payment_method=choice["method"],
            clock=platform.clock,
            ttl_seconds=platform.settings.quote_ttl_seconds,
            language=visitor.language,
        )
    except SimrenewError as failure:
        return _form_page(
            request,
            platform,
            visitor,
            msisdn,
            reactivation=reactivation,
            choice=choice,
            error=_located(failure, visitor.language),
        )
    offers = accounts.recharge_offers(platform.uow(), caller, msisdn, clock=platform.clock)
    path = line_path(quote["msisdn"])
    package = next((p for p in offers["packages"] if p["code"] == quote["package_code"]), None)
    return render(
        request,
        "selfcare/quote.html",
        here=f"{path}/{'reactivate' if reactivation else 'recharge'}",
        line=offers["line"],
        path=path,
        operator=offers["operator"],
        brand=brand_of(platform, offers["line"]["operator"], visitor.language),
        quote=quote,
        package=package,
        method_name=method_label(choice["method"], visitor.language),
        choice=choice,
        reactivation=reactivation,
        # One key per price shown: every click on this page's Pay button is one request.
        idempotency_key=KEY_PREFIX + secrets.token_urlsafe(18),
    )


def _located(failure: SimrenewError, language: str) -> FormError:
    """A form error pointing at the field it is about (ID errors at the ID number)."""
    error = form_error(failure, language)
    if failure.code in {"invalid_identity", "identity_mismatch"}:
        return FormError(error.message, "id_number", error.status_code)
    if failure.code == "package_not_available":
        return FormError(error.message, "package", error.status_code)
    if failure.code == "payment_method_not_available":
        return FormError(error.message, "method", error.status_code)
    return error


def _pay(
    request: Request,
    platform: PlatformDep,
    visitor: SubscriberDep,
    msisdn: str,
    *,
    reactivation: bool,
    choice: dict[str, str],
    quote_id: str,
    idempotency_key: str,
) -> Response:
    """Start the renewal and its payment, and send the browser to the gateway's page."""
    caller = subscriber_caller(visitor)
    try:
        number = accounts.ensure_bound(platform.uow(), caller, msisdn)
        body: dict[str, Any] = {
            "msisdn": number,
            "package_code": choice["package"],
            "quote_id": quote_id,
            "payment": {"method": choice["method"]},
        }
        identity = None
        if reactivation:
            identity = validate_identity(choice["id_type"], choice["id_number"])
            body["reactivation"] = {"id_type": identity[0], "id_number": identity[1]}
        if not idempotency_key.startswith(KEY_PREFIX):
            # Only the quote page makes Pay forms, always with a key: see the price again.
            raise QuoteExpired()
        outcome = accounts.renew_bound_line(
            platform.uow(),
            platform.payments,
            caller,
            RenewalRequest(
                msisdn=number,
                package_code=choice["package"],
                payment_method=choice["method"],
                idempotency_key=idempotency_key,
                body=body,
                quote_id=quote_id or None,
                reactivation=identity,
            ),
            clock=platform.clock,
        )
    except SimrenewError as failure:
        return _form_page(
            request,
            platform,
            visitor,
            msisdn,
            reactivation=reactivation,
            choice=choice,
            error=_located(failure, visitor.language),
        )
    payment = outcome.body.get("payment") or {}
    target = payment.get("redirect_url")
    if not target:
        # A replay of a payment already finished: its result page says how it ended.
        ref = payment.get("payment_ref")
        target = f"/payments/{ref}/return" if ref else "/receipts"
    return redirect(str(target))


@router.get("/lines/{msisdn}/recharge")
def recharge_page(
    request: Request, platform: PlatformDep, visitor: SubscriberDep, msisdn: MsisdnPath
) -> Response:
    """Packages of the line's operator sold on the web, and the ways to pay online."""
    return _form_page(request, platform, visitor, msisdn, reactivation=False, choice=_choice())


@router.post("/lines/{msisdn}/recharge", dependencies=[CsrfChecked])
def recharge_quote(
    request: Request,
    platform: PlatformDep,
    visitor: SubscriberDep,
    msisdn: MsisdnPath,
    package: Annotated[str, _CODE] = "",
    method: Annotated[str, _CODE] = "",
) -> Response:
    """The "See the price" step: every amount and the new expiry date, before paying."""
    choice = _choice(package, method)
    return _quote_page(request, platform, visitor, msisdn, reactivation=False, choice=choice)


@router.post("/lines/{msisdn}/recharge/pay", dependencies=[CsrfChecked])
def recharge_pay(
    request: Request,
    platform: PlatformDep,
    visitor: SubscriberDep,
    msisdn: MsisdnPath,
    package: Annotated[str, _CODE] = "",
    method: Annotated[str, _CODE] = "",
    quote_id: Annotated[str, _CODE] = "",
    idempotency_key: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Pay the quote shown: 303 to the gateway's page."""
    return _pay(
        request,
        platform,
        visitor,
        msisdn,
        reactivation=False,
        choice=_choice(package, method),
        quote_id=quote_id,
        idempotency_key=idempotency_key,
    )


@router.get("/lines/{msisdn}/reactivate")
def reactivate_page(
    request: Request, platform: PlatformDep, visitor: SubscriberDep, msisdn: MsisdnPath
) -> Response:
    """A suspended line: the holder's ID, then a package and a way to pay."""
    return _form_page(request, platform, visitor, msisdn, reactivation=True, choice=_choice())


@router.post("/lines/{msisdn}/reactivate", dependencies=[CsrfChecked])
def reactivate_quote(
    request: Request,
    platform: PlatformDep,
    visitor: SubscriberDep,
    msisdn: MsisdnPath,
    package: Annotated[str, _CODE] = "",
    method: Annotated[str, _CODE] = "",
    id_type: Annotated[str, Form(max_length=20)] = "",
    id_number: Annotated[str, _CODE] = "",
) -> Response:
    """The price of reactivating, before paying."""
    choice = _choice(package, method, id_type, id_number)
    return _quote_page(request, platform, visitor, msisdn, reactivation=True, choice=choice)


@router.post("/lines/{msisdn}/reactivate/pay", dependencies=[CsrfChecked])
def reactivate_pay(
    request: Request,
    platform: PlatformDep,
    visitor: SubscriberDep,
    msisdn: MsisdnPath,
    package: Annotated[str, _CODE] = "",
    method: Annotated[str, _CODE] = "",
    quote_id: Annotated[str, _CODE] = "",
    idempotency_key: Annotated[str, Form(max_length=200)] = "",
    id_type: Annotated[str, Form(max_length=20)] = "",
    id_number: Annotated[str, _CODE] = "",
) -> Response:
    """Pay for the reactivation: the ID is checked against the line's holder first."""
    return _pay(
        request,
        platform,
        visitor,
        msisdn,
        reactivation=True,
        choice=_choice(package, method, id_type, id_number),
        quote_id=quote_id,
        idempotency_key=idempotency_key,
    )
