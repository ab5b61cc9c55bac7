"""The sandbox gateway's web app: every protocol's endpoints, the hosted pages and a test helper.

The test helper is what real gateways' sandboxes offer: `POST /api/payments/{ref}/complete`
acts as if the payer chose an outcome on the hosted page, callback included, and says where the
browser would go; `POST /api/payments/{ref}/callback` sends the callback again (a gateway retrying).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from simrenew.payments.sandbox import checkout
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
