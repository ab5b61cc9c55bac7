"""The payer's pages around a gateway: the way to its hosted page and the result page.

`/pay/{ref}` is the address given to channels (its last segment is the payment reference): it
forwards to the gateway's page while the payment is open. The gateway sends the browser back to
`/payments/{ref}/return`, which shows the result and, while it is still unknown, asks
`/payments/{ref}/status` every second (that request makes simrenew ask the gateway when no
callback has come), so the payer never has to refresh.

The result page is one of the subscriber site's pages (its template, catalogs and switcher). Its
language: `?lang=`, the site's language cookie, the signed-in account's, Accept-Language, then
the language the payment was started in.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from simrenew.errors import NotFound
from simrenew.lines.rules import national_number
from simrenew.payments.browser import checkout_url, payment_status
from simrenew.web.deps import PlatformDep, parse_accept_language
from simrenew.web.pages.selfcare.i18n import supported
from simrenew.web.pages.selfcare.routing import render
from simrenew.web.pages.selfcare.session import (
    LANGUAGE_COOKIE,
    PRESESSION_COOKIE,
    Visitor,
    apply_cookies,
    current_visitor,
)

router = APIRouter(include_in_schema=False)

_REF = Path(min_length=1, max_length=40)
# References simrenew makes; anything else cannot be a payment and is not echoed into the page.
_REF_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,40}")


def _result_visitor(request: Request, platform: PlatformDep, preferred: str | None) -> Visitor:
    """The visitor, speaking the result page's language."""
    visitor = current_visitor(request, platform)
    visitor.language = (
        supported(request.query_params.get("lang"))
        or supported(request.cookies.get(LANGUAGE_COOKIE))
        or (supported(visitor.account.language) if visitor.account else None)
        or parse_accept_language(request.headers.get("accept-language", ""))
        or supported(preferred)
        or visitor.language
    )
    if request.method != "GET":
        # A gateway's auto-posted form comes from its own site, without this site's cookies:
        # creating a pre-session now would replace the browser's and spoil its open forms.
        visitor.cookies = [c for c in visitor.cookies if c.name != PRESESSION_COOKIE]
    return visitor


def page_state(status: dict[str, Any]) -> str:
    """waiting | credited | failed | refunded: what the payer is told."""
    renewal_state = status["renewal"]["state"]
    if renewal_state == "credited":
        return "credited"
    if status["state"] == "refunded" or renewal_state == "refunded":
        return "refunded"
    if renewal_state == "failed":
        return "failed"
    return "waiting"


def _render(
    request: Request,
    platform: PlatformDep,
    status: dict[str, Any] | None,
    ref: str,
    message_key: str = "",
) -> Response:
    visitor = _result_visitor(request, platform, status["language"] if status else None)
    state = page_state(status) if status else "failed"
    renewal = status["renewal"] if status else None
    msisdn = renewal["msisdn"] if renewal else None
    response = render(
        request,
        "selfcare/payment_result.html",
        status_code=200 if status or message_key == "rejected" else 404,
        state=state,
        message_key=message_key or state,
        payment=status,
        renewal=renewal,
        line_path=f"/lines/{national_number(msisdn)}" if msisdn else None,
        status_url=f"/payments/{ref}/status",
        finished=state != "waiting",
    )
    apply_cookies(request, response, visitor.cookies)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/pay/{payment_ref}")
def pay(platform: PlatformDep, payment_ref: Annotated[str, _REF]) -> Response:
    """Send the payer to the gateway's page, or to the result once the payment is done."""
    target = checkout_url(platform.uow(), payment_ref, clock=platform.clock)
    return RedirectResponse(target or f"/payments/{payment_ref}/return", status_code=303)


@router.api_route("/payments/{payment_ref}/return", methods=["GET", "POST"])
def payment_return(
    platform: PlatformDep, request: Request, payment_ref: Annotated[str, _REF]
) -> Response:
    """The result page the gateway sends the browser back to (GET or an auto-posted form)."""
    if not _REF_SHAPE.fullmatch(payment_ref):
        return _render(request, platform, None, "", message_key="unknown")
    try:
        status = payment_status(
            platform.uow(),
            platform.payments,
            payment_ref,
            browser_returned=True,
            clock=platform.clock,
        )
    except NotFound:
        return _render(request, platform, None, "", message_key="unknown")
    return _render(request, platform, status, payment_ref)


@router.get("/payments/{payment_ref}/status")
def payment_status_json(platform: PlatformDep, payment_ref: Annotated[str, _REF]) -> dict[str, Any]:
    """The result page's poll: the payment, its renewal, and what the payer is told."""
    status = payment_status(
        platform.uow(), platform.payments, payment_ref, browser_returned=True, clock=platform.clock
    )
    return {**status, "page_state": page_state(status)}


@router.get("/payments/failed")
def payment_failed(request: Request, platform: PlatformDep) -> Response:
    """Where KNET sends a browser whose payment notice did not verify."""
    return _render(request, platform, None, "", message_key="rejected")
