"""Line pages: the home page of bound lines, binding a number by SMS code, unbinding."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

from simrenew.accounts import service as accounts
from simrenew.accounts.service import BindingChallenge
from simrenew.errors import SimrenewError
from simrenew.lines.rules import normalize_msisdn
from simrenew.web.deps import PlatformDep
from simrenew.web.pages.selfcare.brand import line_path, operator_brands
from simrenew.web.pages.selfcare.forms import FormError, form_error
from simrenew.web.pages.selfcare.routing import PageRoute, redirect, render
from simrenew.web.pages.selfcare.session import (
    CsrfChecked,
    SubscriberDep,
    Visitor,
    subscriber_caller,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MsisdnPath = Annotated[str, Path(min_length=1, max_length=40)]
_NUMBER = Form(max_length=40)
# Far-off or malformed instants in a verify link are ignored, not shown.
_EARLIEST, _LATEST = 1_700_000_000, 4_000_000_000


@router.get("/")
def root() -> Response:
    """The site's front door: the home page (which asks to sign in first)."""
    return redirect("/home")


@router.get("/home")
def home(request: Request, platform: PlatformDep, visitor: SubscriberDep) -> Response:
    """Every bound line: balance, validity end, days left, state and what to do next."""
    lines = accounts.list_bound_lines(
        platform.uow(), subscriber_caller(visitor), clock=platform.clock
    )
    brands = operator_brands(platform, visitor.language)
    cards = [{**line, "path": line_path(line["msisdn"])} for line in lines]
    return render(request, "selfcare/home.html", lines=cards, brands=brands)


@router.get("/lines/add")
def add_line_page(request: Request, visitor: SubscriberDep) -> Response:
    """Type the number to bind."""
    return render(request, "selfcare/line_add.html", msisdn="", error=None)


def _verify_url(challenge: BindingChallenge) -> str:
    times = {
        "until": int(challenge.expires_at.timestamp()),
        "resend": int(challenge.resend_after.timestamp()),
    }
    return f"{line_path(challenge.msisdn)}/verify?{urlencode(times)}"


@router.post("/lines/add", dependencies=[CsrfChecked])
def add_line(
    request: Request,
    platform: PlatformDep,
    visitor: SubscriberDep,
    msisdn: Annotated[str, _NUMBER] = "",
) -> Response:
    """Text a code to the number; the next page asks for it."""
    try:
        challenge = accounts.start_binding(
            platform.uow(),
            subscriber_caller(visitor),
            msisdn,
            clock=platform.clock,
            secret_key=platform.settings.resolved_secret_key(),
        )
    except SimrenewError as failure:
        error = form_error(failure, visitor.language)
        return render(
            request,
            "selfcare/line_add.html",
            status_code=error.status_code,
            msisdn=msisdn,
            error=FormError(error.message, field="msisdn", status_code=error.status_code),
        )
    return redirect(_verify_url(challenge))


def _instant(value: int | None) -> datetime | None:
    if value is None or not _EARLIEST <= value <= _LATEST:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def _verify_page(
    request: Request,
    number: str,
    *,
    error: FormError | None = None,
    until: datetime | None = None,
    resend: datetime | None = None,
) -> Response:
    return render(
        request,
        "selfcare/line_verify.html",
        status_code=error.status_code if error else 200,
        here=f"{line_path(number)}/verify",
        msisdn=number,
        path=line_path(number),
        error=error,
        until=until,
        resend=resend,
    )


@router.get("/lines/{msisdn}/verify")
def verify_page(
    request: Request,
    visitor: SubscriberDep,
    msisdn: MsisdnPath,
    until: Annotated[int | None, Query()] = None,
    resend: Annotated[int | None, Query()] = None,
) -> Response:
    """Type the code the SMS brought (or ask for a new one)."""
    return _verify_page(
        request, normalize_msisdn(msisdn), until=_instant(until), resend=_instant(resend)
    )


@router.post("/lines/{msisdn}/verify", dependencies=[CsrfChecked])
def verify(
    request: Request,
    platform: PlatformDep,
    visitor: SubscriberDep,
    msisdn: MsisdnPath,
    otp: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Bind the line when the code is right; say how many attempts are left when it is not."""
    number = normalize_msisdn(msisdn)
    try:
        accounts.verify_binding(
            platform.uow(),
            subscriber_caller(visitor),
            number,
            otp,
            clock=platform.clock,
            secret_key=platform.settings.resolved_secret_key(),
        )
    except SimrenewError as failure:
        error = form_error(failure, visitor.language)
        return _verify_page(
            request, number, error=FormError(error.message, "otp", error.status_code)
        )
    return redirect("/home?notice=bound")


@router.post("/lines/{msisdn}/resend", dependencies=[CsrfChecked])
def resend_code(
    request: Request, platform: PlatformDep, visitor: SubscriberDep, msisdn: MsisdnPath
) -> Response:
    """A new code, once the cool-down since the last one has passed."""
    number = normalize_msisdn(msisdn)
    try:
        challenge = accounts.start_binding(
            platform.uow(),
            subscriber_caller(visitor),
            number,
            clock=platform.clock,
            secret_key=platform.settings.resolved_secret_key(),
        )
    except SimrenewError as failure:
        return _verify_page(request, number, error=form_error(failure, visitor.language))
    return redirect(_verify_url(challenge))


def _bound_number(platform: PlatformDep, visitor: Visitor, msisdn: str) -> str:
    """The number when it is bound to the visitor's account (NotAllowed: an error page)."""
    return accounts.ensure_bound(platform.uow(), subscriber_caller(visitor), msisdn)


@router.get("/lines/{msisdn}/unbind")
def unbind_page(
    request: Request, platform: PlatformDep, visitor: SubscriberDep, msisdn: MsisdnPath
) -> Response:
    """Ask before removing a number from the account."""
    number = _bound_number(platform, visitor, msisdn)
    return render(request, "selfcare/line_unbind.html", msisdn=number, path=line_path(number))


@router.post("/lines/{msisdn}/unbind", dependencies=[CsrfChecked])
def unbind(
    request: Request, platform: PlatformDep, visitor: SubscriberDep, msisdn: MsisdnPath
) -> Response:
    """Remove the number from the account (the line itself is untouched)."""
    accounts.unbind(platform.uow(), subscriber_caller(visitor), msisdn, clock=platform.clock)
    return redirect("/home?notice=unbound")
