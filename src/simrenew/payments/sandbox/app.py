"""The sandbox gateway's web app: every protocol's endpoints, the hosted pages and a test helper.

The test helper is what real gateways' sandboxes offer: `POST /api/payments/{ref}/complete`
acts as if the payer chose an outcome on the hosted page, callback included, and says where the
browser would go; `POST /api/payments/{ref}/callback` sends the callback again (a gateway retrying).
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from simrenew.payments.sandbox import checkout
from simrenew.payments.sandbox.checkout_pages import (
    KNET_TEST_NUMBERS,
    KNET_TEST_PREFIX,
    OTP_CODE,
    TEST_CARDS,
)
from simrenew.payments.sandbox.knet import KnetSandbox
from simrenew.payments.sandbox.native import NativeSandbox
from simrenew.payments.sandbox.protocol import (
    CallbackMode,
    Outcome,
    SandboxContext,
    SandboxProtocol,
)
from simrenew.payments.sandbox.store import SandboxPayment, SandboxStore
from simrenew.payments.sandbox.tap import TapSandbox
from simrenew.settings import Settings

_INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>simrenew sandbox payment gateway</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto">
<h1>Sandbox payment gateway</h1>
<p>No real money. It speaks KNET's hosted-page protocol (<code>/knet</code>), Tap's charges API
(<code>/tap</code>) and a wallet provider's signed callbacks (<code>/sandbox</code>), and shows the
pages a payer sees. simrenew's <code>payment.redirect_url</code> leads here.</p>
<h2>Test cards</h2><ul>{cards}</ul>
<h2>KNET test cards</h2><ul>{knet}</ul>
<h2>Test helper</h2>
<p><code>POST /api/payments/{{payment_ref}}/complete</code> with
<code>{{"outcome": "approved" | "declined" | "insufficient_funds" | "cancelled" | "3ds_failed",
"callback": "once" | "twice" | "never" | "delayed"}}</code> acts as the payer on the page;
<code>POST /api/payments/{{payment_ref}}/callback</code> sends the callback again;
<code>GET /api/payments/{{payment_ref}}</code> shows the payment as the gateway holds it.</p>
</body></html>
"""


class Completion(BaseModel):
    """What the test helper is asked to do."""

    outcome: Outcome
    callback: CallbackMode = "once"  # once | twice | never | delayed (after the browser)
    delay_seconds: float = 2.0


def _payment_view(payment: SandboxPayment) -> dict[str, Any]:
    return {
        "ref": payment.ref,
        "gateway": payment.gateway,
        "gateway_payment_id": payment.gateway_payment_id,
        "method": payment.method,
        "amount_fils": payment.amount_fils,
        "currency": payment.currency,
        "state": payment.state,
        "reason": payment.reason,
        "refunded_fils": payment.refunded_fils,
        "callbacks_sent": payment.callbacks_sent,
    }


def build_sandbox_app(settings: Settings, *, base_url: str | None = None) -> FastAPI:
    """The sandbox gateway app, serving at `base_url` (default: 127.0.0.1 on the sandbox port)."""
    context = SandboxContext(
        store=SandboxStore(),
        settings=settings,
        base_url=(base_url or f"http://127.0.0.1:{settings.sandbox_port}").rstrip("/"),
    )
    protocols: tuple[SandboxProtocol, ...] = (
        KnetSandbox(context),
        TapSandbox(context),
        NativeSandbox(context),
    )
    for protocol in protocols:
        context.protocols[protocol.gateway] = protocol
    app = FastAPI(title="simrenew sandbox payment gateway", docs_url=None, redoc_url=None)
    for gateway, protocol in context.protocols.items():
        app.include_router(protocol.router(), prefix=f"/{gateway}")
    app.include_router(checkout.router(context))

    def found(ref: str) -> SandboxPayment:
        payment = context.store.by_ref(ref)
        if payment is None:
            raise HTTPException(404, f"no payment with reference {ref!r}")
        return payment

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        challenge = f"3-D Secure challenge, code {OTP_CODE}"
        cards = "".join(
            f"<li><code>{number}</code>: {escape(outcome or challenge)}</li>"
            for number, outcome in TEST_CARDS.items()
        )
        knet = "".join(
            f"<li><code>{KNET_TEST_PREFIX}{tail}</code>: {escape(outcome)}</li>"
            for tail, outcome in {"0000000001": "approved", **KNET_TEST_NUMBERS}.items()
        )
        return _INDEX.format(cards=cards, knet=knet)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/payments/{ref}")
    def show(ref: str) -> dict[str, Any]:
        return _payment_view(found(ref))

    @app.post("/api/payments/{ref}/complete")
    def complete(ref: str, completion: Completion) -> dict[str, Any]:
        payment = found(ref)
        if payment.finished:
            raise HTTPException(409, f"payment {ref!r} is already {payment.state}")
        browser = context.finish(
            payment,
            completion.outcome,
            callback=completion.callback,
            delay_seconds=completion.delay_seconds,
        )
        return {
            **_payment_view(payment),
            "browser": {"method": browser.method, "url": browser.url, "fields": browser.fields},
        }

    @app.post("/api/payments/{ref}/callback")
    def resend(ref: str) -> dict[str, Any]:
        payment = found(ref)
        if not payment.finished:
            raise HTTPException(409, f"payment {ref!r} has no outcome yet")
        reply = context.notify(payment)
        return {**_payment_view(payment), "reply": reply}

    return app
