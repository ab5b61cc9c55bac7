"""The bodies of renewals over HTTP: what a quote and a renewal ask for and what they answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from simrenew.web.api import RequestBody

_MSISDN_FIELD = Field(
    min_length=1,
    max_length=40,
    description="Any usual spelling of a Kuwaiti mobile number; answers give E.164.",
)
_PACKAGE_FIELD = Field(min_length=1, max_length=32, description="A package of the line's plan.")
_CHANNEL_FIELD = Field(
    default=None,
    min_length=1,
    max_length=20,
    description="Must be the credential's own channel when given.",
)


class QuoteIn(RequestBody):
    """What to price: a package for a line, optionally for a payment method (its fee)."""

    msisdn: str = _MSISDN_FIELD
    package_code: str = _PACKAGE_FIELD
    channel: str | None = _CHANNEL_FIELD
    payment_method: str | None = Field(
        default=None, min_length=1, max_length=40, description="Adds the method's fee when given."
    )
    reactivation: bool = Field(
        default=False,
        description="Price the renewal that restores a suspended line (new validity from now); "
        "the holder's ID is checked when it is paid for.",
    )


class QuoteOut(BaseModel):
    """A price honoured until `expires_at` by a renewal that names `quote_id`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "quote_id": "01937a2e-8c4b-7d2a-9f1e-3b5c6d7e8f90",
                    "msisdn": "+96590001234",
                    "package_code": "kd10",
                    "channel": "store",
                    "payment_method": "cash",
                    "price_fils": 10000,
                    "discount_fils": 0,
                    "bonus_fils": 10000,
                    "fee_fils": 0,
                    "total_fils": 10000,
                    "total_display": "10.000 KWD",
                    "credit_fils": 10000,
                    "new_valid_until": "2027-03-05T12:00:00+03:00",
                    "bonus_expires_at": "2026-12-25T12:00:00+03:00",
                    "promotions": ["welcome-double"],
                    "expires_at": "2026-11-25T12:15:00+03:00",
                }
            ]
        }
    )

    quote_id: str
    msisdn: str
    package_code: str
    channel: str
    payment_method: str | None
    price_fils: int
    discount_fils: int = Field(description="Channel discount plus promotion discount.")
    bonus_fils: int = Field(description="Promotion bonus, credited to the bonus bucket.")
    fee_fils: int = Field(description="The payment method's fee, never credited.")
    total_fils: int = Field(description="What the payer pays: price - discount + fee.")
    total_display: str
    credit_fils: int = Field(description="What the line's paid balance is credited.")
    new_valid_until: datetime
    bonus_expires_at: datetime | None
    promotions: list[str]
    expires_at: datetime
    reactivation_required: bool = Field(
        default=False,
        description="The line is suspended: this price restores it, and paying needs the "
        "holder's ID (reactivation).",
    )


class PaymentIn(RequestBody):
    """How the renewal is paid."""

    method: str = Field(
        min_length=1,
        max_length=40,
        description="cash, till or card_terminal are credited at once on store channels; "
        "card, knet and wallet:<provider> answer awaiting_payment with payment.redirect_url, "
        "the gateway's hosted page, and are credited when the gateway captures.",
    )
    terminal_ref: str | None = Field(
        default=None, min_length=1, max_length=100, description="The card terminal's reference."
    )


class ReactivationIn(RequestBody):
    """The holder's identity document, checked against the suspended line's registration."""

    id_type: str = Field(min_length=1, max_length=10, description="civil_id or passport.")
    id_number: str = Field(min_length=1, max_length=20, description="As on the document.")


class RenewalIn(RequestBody):
    """A renewal: the line, the package, the quote to honour and the payment."""

    msisdn: str = _MSISDN_FIELD
    package_code: str = _PACKAGE_FIELD
    quote_id: str | None = Field(
        default=None, min_length=1, max_length=36, description="Honour this quote's amounts."
    )
    channel: str | None = _CHANNEL_FIELD
    payment: PaymentIn
    reactivation: ReactivationIn | None = Field(
        default=None,
        description="Renew a suspended line (which restores it, with fresh validity): the "
        "holder's ID as checked by the agent. Without it a suspended line is refused with "
        "line_suspended; a document that is not the registered one with identity_mismatch.",
    )


class _PaymentBody(Protocol):
    @property
    def method(self) -> str: ...


class RenewalBody(Protocol):
    """What every channel's renewal body carries (RenewalIn, the app's MeRenewalIn)."""

    @property
    def msisdn(self) -> str: ...
    @property
    def package_code(self) -> str: ...
    @property
    def quote_id(self) -> str | None: ...
    @property
    def payment(self) -> _PaymentBody: ...
    @property
    def reactivation(self) -> ReactivationIn | None: ...
    def model_dump(self, *, mode: str, exclude_none: bool) -> dict[str, Any]: ...


class PaymentOut(BaseModel):
    """The payment of a renewal."""

    method: str
    state: str = Field(
        description="captured at once for cash/till; for hosted payments created, pending, "
        "captured, declined, cancelled, expired or refunded."
    )
    gateway: str | None
    redirect_url: str | None = Field(
        default=None,
        description="Where to send the payer while the payment is open; its last path segment "
        "is the payment_ref.",
    )
    payment_ref: str | None = Field(default=None, description="The hosted payment's reference.")
    reason: str | None = Field(default=None, description="Why it was declined, if it was.")
    amount_fils: int | None = Field(default=None, description="What the payer is asked for.")
    expires_at: datetime | None = Field(
        default=None, description="Past this, an unpaid payment expires."
    )


class RenewalOut(BaseModel):
    """A renewal and, once credited, its receipt number and the line's new balance."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "renewal_id": "01937a2e-8c4b-7d2a-9f1e-3b5c6d7e8f91",
                    "receipt_no": "R01JDX4K3V2Q7T9M8N",
                    "state": "credited",
                    "msisdn": "+96550001234",
                    "operator": "zahra",
                    "package_code": "kd5",
                    "channel": "store",
                    "price_fils": 5000,
                    "discount_fils": 0,
                    "bonus_fils": 0,
                    "fee_fils": 0,
                    "total_fils": 5000,
                    "credit_fils": 5000,
                    "balance_fils": 17500,
                    "valid_until": "2027-01-04T12:00:00+03:00",
                    "promotions": [],
                    "payment": {"method": "cash", "state": "captured", "gateway": None},
                    "created_at": "2026-11-25T12:00:00+03:00",
                }
            ]
        }
    )

    renewal_id: str
    receipt_no: str | None
    state: str = Field(description="awaiting_payment, credited, failed or refunded.")
    msisdn: str
    operator: str
    package_code: str
    channel: str
    price_fils: int
    discount_fils: int
    bonus_fils: int
    fee_fils: int
    total_fils: int
    credit_fils: int
    balance_fils: int | None = Field(description="The line's balance right after the credit.")
    valid_until: datetime
    promotions: list[str]
    payment: PaymentOut
    created_at: datetime
