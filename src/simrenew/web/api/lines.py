"""Lines over HTTP: status and history for staff channels, usage debits from the network."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from simrenew import errors
from simrenew.lines.service import line_history, line_status
from simrenew.renewals.usage import MAX_CHARGE_FILS, Charge, debit_line
from simrenew.web.api import (
    API_PREFIX,
    AUTH_PROBLEMS,
    BODY_PROBLEMS,
    RequestBody,
    problem_responses,
)
from simrenew.web.deps import CallerDep, LanguageDep, LineReaderDep, MsisdnDep, PlatformDep

router = APIRouter(prefix=f"{API_PREFIX}/lines", tags=["lines"])

_LINE_READ_PROBLEMS = (*AUTH_PROBLEMS, errors.NotAllowed, errors.InvalidMsisdn, errors.UnknownLine)


class LineStatusOut(BaseModel):
    """A line's status now: the state its dates give, balance and validity."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "msisdn": "+96550001234",
                    "operator": "zahra",
                    "plan": "prepaid",
                    "state": "active",
                    "balance_fils": 12500,
                    "balance_display": "12.500 KWD",
                    "paid_fils": 10000,
                    "bonus_fils": 2500,
                    "bonus_expires_at": "2027-01-24T12:00:00+03:00",
                    "valid_until": "2026-12-05T12:00:00+03:00",
                    "days_left": 10,
                    "reactivation_required": False,
                }
            ]
        }
    )

    msisdn: str = Field(description="E.164, e.g. +96550001234.")
    operator: str
    plan: str
    state: str = Field(description="active, grace, suspended or recycled, as of now.")
    balance_fils: int = Field(description="Paid plus unexpired bonus credit.")
    balance_display: str
    paid_fils: int
    bonus_fils: int
    bonus_expires_at: datetime | None
    valid_until: datetime = Field(description="When validity ends, in Kuwait time (+03:00).")
    days_left: int = Field(description="Whole days of validity left, a started day counting.")
    reactivation_required: bool = Field(description="True when suspended: reactivate first.")


class HistoryItemOut(BaseModel):
    """One state change or renewal of a line."""

    id: str
    at: datetime
    event: str = Field(description="import, expiry, renewal, ...")
    from_state: str | None
    to_state: str | None
    renewal_id: str | None
    details: dict[str, Any]


class HistoryPageOut(BaseModel):
    """A page of a line's history, newest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "msisdn": "+96550001234",
                    "items": [
                        {
                            "id": "01937a2e-8c4b-7d2a-9f1e-3b5c6d7e8f90",
                            "at": "2026-11-25T12:00:00+03:00",
                            "event": "renewal",
                            "from_state": "active",
                            "to_state": "active",
                            "renewal_id": "01937a2e-8c4b-7d2a-9f1e-3b5c6d7e8f91",
                            "details": {"package": "kd5", "receipt_no": "R01JDX4K3V2Q7T9M8N"},
                        }
                    ],
                    "next_cursor": "WyIyMDI2LTExLTI1VDA5OjAwOjAwKzAwOjAwIiwgIjAxOTM3In0",
                }
            ]
        }
    )

    msisdn: str
    items: list[HistoryItemOut]
    next_cursor: str | None = Field(description="`?cursor=` of the next page; null at the end.")


class DebitIn(RequestBody):
    """A usage charge as the network's charging system reports it."""

    charge_id: str = Field(
        min_length=1, max_length=100, description="The network's id: a repeat is not debited again."
    )
    amount_fils: StrictInt = Field(gt=0, le=MAX_CHARGE_FILS, description="Whole fils, > 0.")
    kind: str = Field(min_length=1, max_length=30, description="voice, sms, data, ...")


class DebitOut(BaseModel):
    """How a charge was taken (bonus first) and the balance after it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "msisdn": "+96550001234",
                    "charge_id": "ocs-20261125-000123",
                    "kind": "voice",
                    "amount_fils": 750,
                    "from_bonus_fils": 500,
                    "from_paid_fils": 250,
                    "balance_fils": 9750,
                    "state": "active",
                }
            ]
        }
    )

    msisdn: str
    charge_id: str
    kind: str
    amount_fils: int
    from_bonus_fils: int
    from_paid_fils: int
    balance_fils: int
    state: str


@router.get(
    "/{msisdn}",
    summary="A line's status: state, balance, validity",
    response_model=LineStatusOut,
    responses=problem_responses(*_LINE_READ_PROBLEMS),
)
def get_line(
    platform: PlatformDep, caller: LineReaderDep, msisdn: MsisdnDep, language: LanguageDep
) -> dict[str, Any]:
    """The line's status now (no sweep needed: the dates decide the state)."""
    return line_status(platform.uow(), msisdn, clock=platform.clock, language=language)


@router.get(
    "/{msisdn}/history",
    summary="A line's state changes and renewals, newest first",
    response_model=HistoryPageOut,
    responses=problem_responses(*_LINE_READ_PROBLEMS, errors.ValidationFailed),
)
def get_line_history(
    platform: PlatformDep,
    caller: LineReaderDep,
    msisdn: MsisdnDep,
    cursor: Annotated[
        str | None, Query(max_length=500, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Items per page.")] = 50,
) -> dict[str, Any]:
    """One page of the line's history and the cursor of the next."""
    return line_history(platform.uow(), msisdn, cursor=cursor, limit=limit)


@router.post(
    "/{msisdn}/debits",
    summary="Debit usage reported by the network (bonus first, once per charge_id)",
    response_model=DebitOut,
    responses=problem_responses(
        *AUTH_PROBLEMS,
        *BODY_PROBLEMS,
        errors.NotAllowed,
        errors.InvalidMsisdn,
        errors.UnknownLine,
        errors.LineRecycled,
        errors.LineSuspended,
        errors.LineNotActive,
        errors.InsufficientBalance,
        errors.IdempotencyKeyReused,
    ),
)
def post_debit(
    platform: PlatformDep,
    caller: CallerDep,
    msisdn: MsisdnDep,
    debit: Annotated[
        DebitIn,
        Body(
            openapi_examples={
                "voice": {
                    "summary": "A voice call of 750 fils",
                    "value": {
                        "charge_id": "ocs-20261125-000123",
                        "amount_fils": 750,
                        "kind": "voice",
                    },
                }
            }
        ),
    ],
) -> dict[str, Any]:
    """Take a usage charge from the line; a repeated charge_id answers the first result."""
    charge = Charge(
        msisdn=msisdn, charge_id=debit.charge_id, amount_fils=debit.amount_fils, kind=debit.kind
    )
    return debit_line(platform.uow(), caller, charge, clock=platform.clock)
