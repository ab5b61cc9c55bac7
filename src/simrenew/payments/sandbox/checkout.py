"""The hosted pages every sandbox protocol sends the payer's browser to (drawn by checkout_pages).

`GET /checkout/{id}` shows a card form, a KNET-style bank page or a wallet approval, by the
payment's method; `POST /checkout/{id}` decides the outcome, tells the merchant through the
payment's protocol (`context.finish`) and sends the browser back. Card data typed here is only
looked at to pick the outcome: it is never stored, logged, echoed back or sent anywhere.
"""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from simrenew.payments.sandbox.checkout_pages import (
    KNET_BANKS,
    KNET_TEST_NUMBERS,
    OTP_CODE,
    TEST_CARDS,
    card_page,
    finished_page,
    knet_page,
    not_found_page,
    otp_page,
    page_language,
    send_back,
    wallet_page,
)
from simrenew.payments.sandbox.protocol import Outcome, SandboxContext
from simrenew.payments.sandbox.store import SandboxPayment

# Module level: FastAPI resolves the (string) annotations of endpoints in the module's globals.
Text = Annotated[str, Form()]
_EXPIRY = re.compile(r"(0[1-9]|1[0-2])\s*/\s*([0-9]{2})")


def _expiry_ok(expiry: str) -> bool:
    match = _EXPIRY.fullmatch(expiry.strip())
    if match is None:
        return False
    today = datetime.now(UTC)
    return (2000 + int(match[2]), int(match[1])) >= (today.year, today.month)


def _digits(text: str) -> str:
    return re.sub(r"[\s-]", "", text)


def router(context: SandboxContext) -> APIRouter:
    """The hosted pages: `/checkout/{id}` and its 3-D Secure step `/checkout/{id}/3ds`."""
    pages = APIRouter()
    claimed: set[str] = set()  # payments whose outcome a page request is already deciding

    def claim(payment: SandboxPayment) -> bool:
        # A double click must not finish a payment twice (two callbacks, two outcomes), and
        # finish() cannot run under the store lock: the merchant may query us from its callback.
        with context.store.lock:
            if payment.finished or payment.gateway_payment_id in claimed:
                return False
            claimed.add(payment.gateway_payment_id)
            return True

    def finish(payment: SandboxPayment, outcome: Outcome) -> Response:
        if not claim(payment):
            return finished_page(payment, 409)
        return send_back(context.finish(payment, outcome), page_language(payment))

    @pages.get("/checkout/{payment_id}", response_model=None)
    def show(payment_id: str) -> Response:
        payment = context.store.by_id(payment_id)
        if payment is None:
            return not_found_page()
        if payment.finished:
            return finished_page(payment)
        if payment.state == "challenged":
            return RedirectResponse(f"/checkout/{quote(payment_id, safe='')}/3ds", 303)
        if payment.method == "knet":
            return knet_page(payment, [])
        if payment.method.startswith("wallet:"):
            return wallet_page(payment)
        return card_page(payment, [])  # "card", and any method the pages do not know

    @pages.post("/checkout/{payment_id}", response_model=None)
    def decide(
        payment_id: str,
        action: Text = "",
        card_number: Text = "",
        expiry: Text = "",
        cvv: Text = "",
        name: Text = "",
        bank: Text = "",
        prefix: Text = "",
        pin: Text = "",
    ) -> Response:
        payment = context.store.by_id(payment_id)
        if payment is None:
            return not_found_page()
        if payment.finished:
            return finished_page(payment, 409)
        if payment.state == "challenged":
            return RedirectResponse(f"/checkout/{quote(payment_id, safe='')}/3ds", 303)
        if action == "cancel":
            return finish(payment, "cancelled")
        if payment.method.startswith("wallet:"):
            if action not in ("approve", "decline"):
                return wallet_page(payment, 400)  # no choice made: ask again
            return finish(payment, "approved" if action == "approve" else "declined")
        errors = []
        if not _expiry_ok(expiry):
            errors.append("bad_expiry")
        if payment.method == "knet":
            number = _digits(card_number)
            if bank not in KNET_BANKS:
                errors.insert(0, "bad_bank")
            if not re.fullmatch(r"[0-9]{6}", prefix.strip()) or not re.fullmatch(r"\d{10}", number):
                errors.insert(0, "bad_knet")
            if not re.fullmatch(r"[0-9]{4}", pin):
                errors.append("bad_pin")
            if errors:
                return knet_page(payment, errors, 400)
            return finish(payment, KNET_TEST_NUMBERS.get(number, "approved"))
        number = _digits(card_number)
        if number not in TEST_CARDS:
            errors.insert(0, "bad_card")
        if not re.fullmatch(r"[0-9]{3,4}", cvv):
            errors.append("bad_cvv")
        if not name.strip():
            errors.append("bad_name")
        if errors:
            return card_page(payment, errors, 400)
        outcome = TEST_CARDS[number]
        if outcome is None:
            with context.store.lock:
                if payment.state == "initiated":
                    payment.state = "challenged"
            return RedirectResponse(f"/checkout/{quote(payment_id, safe='')}/3ds", 303)
        return finish(payment, outcome)

    @pages.get("/checkout/{payment_id}/3ds", response_model=None)
    def challenge(payment_id: str) -> Response:
        payment = context.store.by_id(payment_id)
        if payment is None:
            return not_found_page()
        if payment.finished:
            return finished_page(payment)
        if payment.state != "challenged":
            return RedirectResponse(f"/checkout/{quote(payment_id, safe='')}", 303)
        return otp_page(payment)

    @pages.post("/checkout/{payment_id}/3ds", response_model=None)
    def answer(payment_id: str, action: Text = "", otp: Text = "") -> Response:
        payment = context.store.by_id(payment_id)
        if payment is None:
            return not_found_page()
        if payment.finished:
            return finished_page(payment, 409)
        if payment.state != "challenged":
            return RedirectResponse(f"/checkout/{quote(payment_id, safe='')}", 303)
        if action == "cancel":
            return finish(payment, "cancelled")
        # One attempt, as the brief's issuers do: a wrong code fails the payment.
        right = hmac.compare_digest(otp.strip().encode(), OTP_CODE.encode())
        return finish(payment, "approved" if right else "3ds_failed")

    return pages
