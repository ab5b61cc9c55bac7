"""How a page answers: templates in the visitor's language, and errors as pages, not JSON.

`PageRoute` wraps every self-care route: a visitor who must sign in is redirected, a form with a
bad CSRF token gets a 403 page, a service error nobody caught becomes a page with its message in
the visitor's language, and the cookies the visitor's session decided on are written.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from simrenew.errors import LANGUAGES, SimrenewError, ValidationFailed
from simrenew.web.pages.selfcare.forms import notice_text
from simrenew.web.pages.selfcare.i18n import LANGUAGE_NAMES, N_, render_template, translate
from simrenew.web.pages.selfcare.session import (
    PRESESSION_COOKIE,
    CsrfRejected,
    SignInRequired,
    Visitor,
    apply_cookies,
    csrf_token_for,
    language_without_account,
    sign_in_url,
)

SITE_NAME = "simrenew"
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",  # balances and receipts are personal: never cached
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def visitor_of(request: Request) -> Visitor:
    """The request's visitor, or an anonymous one when the page failed before reading it."""
    found = getattr(request.state, "visitor", None)
    if isinstance(found, Visitor):
        return found
    presession = request.cookies.get(PRESESSION_COOKIE, "")
    return Visitor(
        language=language_without_account(request),
        csrf_token=csrf_token_for(request, presession) if presession else "",
    )


def switcher_links(request: Request, here: str | None) -> list[dict[str, Any]]:
    """The language switcher: this page (or `here` after a form) in each language."""
    path = here or request.url.path
    if here is None and request.method == "GET":
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    else:
        kept = []
    return [
        {
            "code": code,
            "name": LANGUAGE_NAMES[code],
            "href": f"{path}?{urlencode([*kept, ('lang', code)])}",
        }
        for code in LANGUAGES
    ]


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    here: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page from a template in the visitor's language; `here` is the page the switcher
    reloads when this one answered a form."""
    visitor = visitor_of(request)
    html = render_template(
        visitor.language,
        template,
        {
            "visitor": visitor,
            "account": visitor.account,
            "csrf_token": visitor.csrf_token,
            "switcher": switcher_links(request, here),
            "site_name": SITE_NAME,
            "request_path": request.url.path,
            "notice": notice_text(request.query_params.get("notice"), visitor.language),
            **context,
        },
    )
    return HTMLResponse(html, status_code=status_code)


def redirect(target: str) -> RedirectResponse:
    """See other: where the browser goes after a form (a GET, so reloading repeats nothing)."""
    return RedirectResponse(target, status_code=303)


def _after_form(request: Request) -> str | None:
    # The switcher of an error answering a form cannot reload the form's address (POST only).
    return None if request.method == "GET" else "/home"


def error_page(request: Request, error: SimrenewError) -> HTMLResponse:
    """A service error nobody turned into a form message: a page saying it in the language."""
    language = visitor_of(request).language
    return render(
        request,
        "selfcare/error.html",
        status_code=error.http_status,
        here=_after_form(request),
        title=error.title(language),
        message=error.message(language),
    )


def csrf_page(request: Request) -> HTMLResponse:
    """The 403 page of a form without a valid token."""
    language = visitor_of(request).language
    return render(
        request,
        "selfcare/error.html",
        status_code=403,
        here=_after_form(request),
        title=translate(language, N_("This form has expired")),
        message=translate(
            language,
            N_("For your safety nothing was done. Reload the page and send the form again."),
        ),
    )


class PageRoute(APIRoute):
    """A route answering as a page: redirects to sign in, error pages, session cookies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler wrapped so errors become pages in the visitor's language."""
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            response: Response
            try:
                response = await handler(request)
            except SignInRequired as needed:
                response = redirect(sign_in_url(needed.next_path))
            except CsrfRejected:
                response = csrf_page(request)
            except SimrenewError as error:
                response = error_page(request, error)
            except RequestValidationError:
                # Only a hand-made request gets here (a field far longer than any form sends).
                response = error_page(request, ValidationFailed())
            found = getattr(request.state, "visitor", None)
            if isinstance(found, Visitor):
                apply_cookies(request, response, found.cookies)
            for name, value in _SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return page_handler
