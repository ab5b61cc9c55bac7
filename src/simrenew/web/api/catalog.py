"""Catalog over HTTP: operators with their plans and packages, and the caller's payment methods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from simrenew.catalog.service import describe_operators, describe_payment_methods
from simrenew.errors import ValidationFailed
from simrenew.web.api import API_PREFIX, AUTH_PROBLEMS, problem_responses
from simrenew.web.deps import CallerDep, LanguageDep, PlatformDep

router = APIRouter(prefix=API_PREFIX, tags=["catalog"])


class PackageOut(BaseModel):
    """A package a line on the plan can be renewed with."""

    code: str
    name: str
    price_fils: int
    price_display: str = Field(description="The price for a person to read, e.g. 5.000 KWD.")
    credit_fils: int = Field(description="What the line is credited (may exceed the price).")
    validity_days: int
    channels: list[str] = Field(description="The channels the package is sold on.")


class PlanOut(BaseModel):
    """A plan: its lifecycle periods and its packages."""

    code: str
    name: str
    grace_days: int
    suspension_days: int
    recycle_days: int
    max_validity_days: int
    reminder_days: list[int]
    packages: list[PackageOut]


class PromotionOut(BaseModel):
    """A promotion of the operator (applied by quotes when it fits)."""

    code: str
    name: str
    kind: str
    channels: list[str] | None = Field(description="Channels it applies on; null for all.")
    starts_at: datetime | None
    ends_at: datetime | None


class OperatorOut(BaseModel):
    """An operator with its plans, packages and promotions."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "zahra",
                    "name": "Zahra Telecom",
                    "names": {"en": "Zahra Telecom", "ar": "زهرة للاتصالات", "zh": "扎赫拉电信"},
                    "ussd_code": "*135#",
                    "web_url": "https://zahra.example",
                    "care_number": "107",
                    "number_prefixes": ["50", "51", "55"],
                    "channel_discounts": {"app": "5"},
                    "plans": [
                        {
                            "code": "prepaid",
                            "name": "Zahra Prepaid",
                            "grace_days": 7,
                            "suspension_days": 30,
                            "recycle_days": 90,
                            "max_validity_days": 365,
                            "reminder_days": [7, 3, 1],
                            "packages": [
                                {
                                    "code": "kd5",
                                    "name": "Monthly 5 KD",
                                    "price_fils": 5000,
                                    "price_display": "5.000 KWD",
                                    "credit_fils": 5000,
                                    "validity_days": 30,
                                    "channels": ["store", "kiosk", "web", "app"],
                                }
                            ],
                        }
                    ],
                    "promotions": [
                        {
                            "code": "app-bonus-20",
                            "name": "20% bonus on 10 and 20 KD in the app",
                            "kind": "bonus_percent",
                            "channels": ["app"],
                            "starts_at": "2026-01-01T00:00:00+03:00",
                            "ends_at": "2028-01-01T00:00:00+03:00",
                        }
                    ],
                }
            ]
        }
    )

    code: str
    name: str = Field(description="The name in the caller's language.")
    names: dict[str, str] = Field(description="The name in every language.")
    ussd_code: str
    web_url: str
    care_number: str
    number_prefixes: list[str] = Field(
        description="Ranges of the 8-digit national number allocated to it (informative: "
        "numbers are portable)."
    )
    channel_discounts: dict[str, str] = Field(description="Channel -> percent off, as text.")
    plans: list[PlanOut]
    promotions: list[PromotionOut]


class PaymentMethodOut(BaseModel):
    """A payment method the caller's channel may use, with its fee rule."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "method": "wallet:applepay",
                    "gateway": "tap",
                    "fee_fixed_fils": 100,
                    "fee_percent": "1.5",
                    "channels": ["app", "partner"],
                }
            ]
        }
    )

    method: str = Field(description="cash, till, card_terminal, card, knet or wallet:<provider>.")
    gateway: str | None = Field(description="The gateway code; null when paid in person.")
    fee_fixed_fils: int
    fee_percent: str = Field(description="Percent of the amount charged, as a decimal string.")
    channels: list[str]


@router.get(
    "/operators",
    summary="Operators with their plans, packages and promotions",
    response_model=list[OperatorOut],
    responses=problem_responses(ValidationFailed),
)
def list_operators(platform: PlatformDep, language: LanguageDep) -> list[dict[str, Any]]:
    """Every operator of the catalog; public, as the prices are."""
    return describe_operators(platform.uow(), language=language)


@router.get(
    "/payment-methods",
    summary="The payment methods the caller's channel may use",
    response_model=list[PaymentMethodOut],
    responses=problem_responses(*AUTH_PROBLEMS),
)
def list_payment_methods(platform: PlatformDep, caller: CallerDep) -> list[dict[str, Any]]:
    """The methods of the caller's channel with their fee rules."""
    return describe_payment_methods(platform.uow(), channel=caller.channel)
