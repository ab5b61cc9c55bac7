"""Account pages: sign in, register, sign out, forgotten password (SMS code) and reset."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from simrenew.accounts import service as accounts
from simrenew.accounts.rules import PASSWORD_RULES
from simrenew.errors import SimrenewError, Unauthenticated
from simrenew.web.deps import PlatformDep
from simrenew.web.pages.selfcare.forms import FormError, form_error
from simrenew.web.pages.selfcare.i18n import N_, translate
from simrenew.web.pages.selfcare.routing import PageRoute, redirect, render
from simrenew.web.pages.selfcare.session import (
    SESSION_COOKIE,
    CookieChange,
    CsrfChecked,
    VisitorDep,
    local_path,
    session_cookie,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# Bounds on what a form may carry: longer input is refused by the services with a clear
# message anyway; these only keep junk from being parsed.
_TEXT = Form(max_length=300)
_SECRET = Form(max_length=1024)


def _wrong_login(language: str) -> FormError:
    # The service's Unauthenticated title speaks of tokens: a person typed a password.
    return FormError(
        translate(language, N_("The mobile number, e-mail or password is not right.")),
        field="password",
        status_code=400,
    )


@router.get("/signin")
def signin_page(
    request: Request,
    visitor: VisitorDep,
    next_path: Annotated[str, Query(alias="next", max_length=2000)] = "",
) -> Response:
    """The sign-in form (a signed-in visitor goes straight on)."""
    if visitor.signed_in:
        return redirect(local_path(next_path))
    return render(
        request, "selfcare/signin.html", next_path=local_path(next_path, ""), login="", error=None
    )


@router.post("/signin", dependencies=[CsrfChecked])
def signin(
    request: Request,
    platform: PlatformDep,
    visitor: VisitorDep,
    login: Annotated[str, _TEXT] = "",
    password: Annotated[str, _SECRET] = "",
    next_path: Annotated[str, Form(alias="next", max_length=2000)] = "",
) -> Response:
    """Sign in with a mobile number or e-mail and a password; a session cookie is set."""
    try:
        grant = accounts.sign_in(
            platform.uow(), login=login, password=password, channel="web", clock=platform.clock
        )
    except Unauthenticated:
        error = _wrong_login(visitor.language)
    except SimrenewError as failure:  # rate limited (says when to try again), bad input
        error = form_error(failure, visitor.language)
    else:
        visitor.cookies.append(session_cookie(grant, platform.clock.now()))
        return redirect(local_path(next_path))
    return render(
        request,
        "selfcare/signin.html",
        status_code=error.status_code,
        next_path=local_path(next_path, ""),
        login=login,
        error=error,
    )


@router.post("/signout", dependencies=[CsrfChecked])
def signout(request: Request, platform: PlatformDep, visitor: VisitorDep) -> Response:
    """End the session on the server and forget the cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if token and visitor.signed_in:
        accounts.sign_out(platform.uow(), token, clock=platform.clock)
    visitor.cookies.append(CookieChange(SESSION_COOKIE, None))
    return redirect("/signin?notice=signed_out")


@router.get("/register")
def register_page(request: Request, visitor: VisitorDep) -> Response:
    """The sign-up form, with the password rules shown before anything is typed."""
    if visitor.signed_in:
        return redirect("/home")
    return render(
        request,
        "selfcare/register.html",
        name="",
        login="",
        error=None,
        password_rules=PASSWORD_RULES[visitor.language],
    )


@router.post("/register", dependencies=[CsrfChecked])
def register(
    request: Request,
    platform: PlatformDep,
    visitor: VisitorDep,
    name: Annotated[str, _TEXT] = "",
    login: Annotated[str, _TEXT] = "",
    password: Annotated[str, _SECRET] = "",
) -> Response:
    """Create the account in the page's language and sign it in."""
    try:
        accounts.register(
            platform.uow(),
            name=name,
            login=login,
            password=password,
            language=visitor.language,
            clock=platform.clock,
        )
        grant = accounts.sign_in(
            platform.uow(), login=login, password=password, channel="web", clock=platform.clock
        )
    except SimrenewError as failure:
        error = form_error(failure, visitor.language)
        return render(
            request,
            "selfcare/register.html",
            status_code=error.status_code,
            name=name,
            login=login,
            error=error,
            password_rules=PASSWORD_RULES[visitor.language],
        )
    visitor.cookies.append(session_cookie(grant, platform.clock.now()))
    return redirect("/home?notice=welcome")


@router.get("/forgot")
def forgot_page(request: Request, visitor: VisitorDep) -> Response:
    """Ask for a password reset code by SMS."""
    return render(request, "selfcare/forgot.html", login="", error=None)


@router.post("/forgot", dependencies=[CsrfChecked])
def forgot(
    request: Request,
    platform: PlatformDep,
    visitor: VisitorDep,
    login: Annotated[str, _TEXT] = "",
) -> Response:
    """Send a reset code to the account's mobile number (the page never says if one exists)."""
    try:
        accounts.start_password_reset(
            platform.uow(),
            login=login,
            clock=platform.clock,
            secret_key=platform.settings.resolved_secret_key(),
        )
    except SimrenewError as failure:
        error = form_error(failure, visitor.language)
        return render(
            request,
            "selfcare/forgot.html",
            status_code=error.status_code,
            login=login,
            error=error,
        )
    return render(
        request,
        "selfcare/reset.html",
        here="/reset",
        login=login,
        error=None,
        sent=True,
        password_rules=PASSWORD_RULES[visitor.language],
    )


@router.get("/reset")
def reset_page(
    request: Request,
    visitor: VisitorDep,
    login: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """Type the SMS code and a new password."""
    return render(
        request,
        "selfcare/reset.html",
        login=login,
        error=None,
        sent=False,
        password_rules=PASSWORD_RULES[visitor.language],
    )


@router.post("/reset", dependencies=[CsrfChecked])
def reset(
    request: Request,
    platform: PlatformDep,
    visitor: VisitorDep,
    login: Annotated[str, _TEXT] = "",
    otp: Annotated[str, Form(max_length=40)] = "",
    password: Annotated[str, _SECRET] = "",
) -> Response:
    """Set the new password when the code is right; every session of the account ends."""
    try:
        accounts.reset_password(
            platform.uow(),
            login=login,
            code=otp,
            new_password=password,
            clock=platform.clock,
            secret_key=platform.settings.resolved_secret_key(),
        )
    except SimrenewError as failure:
        error = form_error(failure, visitor.language)
        return render(
            request,
            "selfcare/reset.html",
            status_code=error.status_code,
            login=login,
            error=error,
            sent=False,
            password_rules=PASSWORD_RULES[visitor.language],
        )
    return redirect("/signin?notice=password_changed")
