"""Request and answer bodies of the subscriber app's API (/api/v1/me), with their examples."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from simrenew.accounts import service
from simrenew.web.api import RequestBody
from simrenew.web.api.lines import LineStatusOut
from simrenew.web.api.renewals_schemas import QuoteOut, ReactivationIn

MSISDN_FIELD = Field(min_length=1, max_length=40, description="Any usual spelling of the number.")
LANGUAGE_FIELD = Field(min_length=2, max_length=2, description="en, ar or zh.")
PASSWORD_FIELD = Field(min_length=1, max_length=1000, description="See GET /me/password-rules.")
EXAMPLE_LINE = {
    "msisdn": "+96550001234",
    "operator": "zahra",
    "operator_name": "Zahra Telecom",
    "operator_colour": "#0b5cad",
    "plan": "prepaid",
    "state": "grace",
    "balance_fils": 1500,
    "balance_display": "1.500 KWD",
    "paid_fils": 1500,
    "bonus_fils": 0,
    "bonus_expires_at": None,
    "valid_until": "2026-11-24T12:00:00+03:00",
    "days_left": 0,
    "reactivation_required": False,
    "bound_at": "2026-11-25T12:05:00+03:00",
}


def examples_config(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


def example(summary: str, value: dict[str, Any]) -> dict[str, Any]:
    """A request body's one OpenAPI example."""
    return {"example": {"summary": summary, "value": value}}


class AccountOut(BaseModel):
    """A subscriber's account."""

    model_config = examples_config(
        {"id": "01937a2e-8c4b-7d2a-9f1e-3b5c6d7e8f90", "name": "Fatima", "login": "+96550001234",
         "language": "ar"}
    )  # fmt: skip

    id: str
    name: str
    login: str = Field(description="The mobile number in E.164 or the e-mail, lower-cased.")
    language: str = Field(description="en, ar or zh: pages, messages and SMS.")


class SessionOut(BaseModel):
    """A new session: send `token` as a bearer token until `expires_at` (30 days)."""

    model_config = examples_config(
        {"token": "sub_Vx3...", "expires_at": "2026-12-25T12:00:00+03:00",
         "account": {"id": "01937a2e-8c4b-7d2a-9f1e-3b5c6d7e8f90", "name": "Fatima",
                     "login": "+96550001234", "language": "ar"}}
    )  # fmt: skip

    token: str
    expires_at: datetime
    account: AccountOut


class PasswordRulesOut(BaseModel):
    """The password rules in words, to show before the user types one."""

    model_config = examples_config({"language": "en", "rules": service.PASSWORD_RULES["en"]})

    language: str
    rules: str


class AcceptedOut(BaseModel):
    """Taken: what happens next, in the caller's language."""

    model_config = examples_config(
        {"message": "If this login has an account, a code is on its way by SMS to its mobile."}
    )

    message: str


class BoundLineOut(LineStatusOut):
    """A line bound to the account: its status now, its operator and when it was bound."""

    model_config = examples_config(EXAMPLE_LINE)

    operator_name: str = Field(description="In the account's language.")
    operator_colour: str = Field(description="The operator's brand colour, #rrggbb.")
    bound_at: datetime


class BindingChallengeOut(BaseModel):
    """A code was texted to the line: type it before `expires_at`; ask again from `resend_after`."""

    model_config = examples_config(
        {"msisdn": "+96550001234", "expires_at": "2026-11-25T12:05:00+03:00",
         "resend_after": "2026-11-25T12:01:00+03:00"}
    )  # fmt: skip

    msisdn: str
    expires_at: datetime
    resend_after: datetime


class OperatorOut(BaseModel):
    """The line's operator, named in the account's language."""

    code: str
    name: str
    colour: str


class PackageOut(BaseModel):
    """A package the line's plan sells on the caller's channel."""

    code: str
    name: str
    price_fils: int
    price_display: str
    validity_days: int


class MethodOut(BaseModel):
    """An online payment method of the caller's channel, with its fee rule."""

    method: str = Field(description="card, knet or wallet:<provider>.")
    gateway: str | None
    fee_fixed_fils: int
    fee_percent: str = Field(description="Percent of the amount charged, as a decimal string.")


class OffersOut(BaseModel):
    """What a bound line can buy on the caller's channel, and how it can pay."""

    model_config = examples_config(
        {"line": EXAMPLE_LINE | {"bound_at": None}, "operator": {"code": "zahra",
         "name": "Zahra Telecom", "colour": "#0b5cad"},
         "packages": [{"code": "kd10", "name": "10 KD", "price_fils": 10000,
                       "price_display": "10.000 KWD", "validity_days": 90}],
         "methods": [{"method": "card", "gateway": "tap", "fee_fixed_fils": 0,
                      "fee_percent": "0"}]}
    )  # fmt: skip

    line: LineStatusOut
    operator: OperatorOut
    packages: list[PackageOut]
    methods: list[MethodOut]


class MeQuoteOut(QuoteOut):
    """A quote for a bound line; a suspended line's quote is for its reactivation."""

    reactivation_required: bool = Field(
        description="True for a suspended line: renew it with `reactivation` (the holder's ID)."
    )


class RegisterIn(RequestBody):
    """A new account."""

    name: str = Field(min_length=1, max_length=200)
    login: str = Field(min_length=1, max_length=300, description="Mobile number or e-mail.")
    password: str = PASSWORD_FIELD
    language: str | None = Field(
        default=None, min_length=2, max_length=2, description="en, ar or zh (default: asked)."
    )


class SignInIn(RequestBody):
    """A login and its password."""

    login: str = Field(min_length=1, max_length=300)
    password: str = PASSWORD_FIELD


class AccountChangeIn(RequestBody):
    """What to change on the account."""

    language: str = LANGUAGE_FIELD


class PasswordResetIn(RequestBody):
    """The login whose password is forgotten."""

    login: str = Field(min_length=1, max_length=300)


class PasswordResetConfirmIn(RequestBody):
    """The code texted for a reset and the new password."""

    login: str = Field(min_length=1, max_length=300)
    code: str = Field(min_length=1, max_length=20, description="The 6 digits from the SMS.")
    new_password: str = PASSWORD_FIELD


class BindIn(RequestBody):
    """The line to bind."""

    msisdn: str = MSISDN_FIELD


class OtpIn(RequestBody):
    """The code texted to the line."""

    otp: str = Field(min_length=1, max_length=20, description="The 6 digits from the SMS.")


class MeQuoteIn(RequestBody):
    """What to price for a bound line."""

    msisdn: str = MSISDN_FIELD
    package_code: str = Field(min_length=1, max_length=32)
    payment_method: str = Field(
        min_length=1, max_length=40, description="card, knet or wallet:<provider>."
    )


class MePaymentIn(RequestBody):
    """How the subscriber pays: always on the gateway's page."""

    method: str = Field(min_length=1, max_length=40, description="card, knet or wallet:<provider>.")


class MeRenewalIn(RequestBody):
    """A renewal of a bound line, paid online; with `reactivation` for a suspended line."""

    msisdn: str = MSISDN_FIELD
    package_code: str = Field(min_length=1, max_length=32)
    quote_id: str | None = Field(default=None, min_length=1, max_length=36)
    payment: MePaymentIn
    reactivation: ReactivationIn | None = Field(
        default=None,
        description="The holder's civil ID or passport number, re-checked against the line's "
        "registration: required to renew (and so restore) a suspended line.",
    )
