"""SMS gateway callbacks: Kannel's delivery reports for the messages the outbox sent.

Kannel's smsbox calls `GET /sms/dlr/kannel?id=<outbox id>&token=...&status=%d&ts=%T` (the
dlr-url the kannel transport puts on every message). There is no bearer token: Kannel cannot
send one. The call is meant for loopback or the operator's internal network, and it must carry
`token`, derived from SIMRENEW_SECRET_KEY (see notify/sms/kannel.py): without it, 401.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from simrenew import errors
from simrenew.notify.service import record_delivery_report
from simrenew.notify.sms.kannel import KANNEL_DLR_STATES, dlr_token, kannel_delivery_state
from simrenew.web.api import problem_responses
from simrenew.web.deps import PlatformDep, SettingsDep

router = APIRouter(prefix="/sms", tags=["sms gateway callbacks"])

_CODES = ", ".join(f"{code} {state}" for code, state in KANNEL_DLR_STATES.items())


class DeliveryReportOut(BaseModel):
    """The report was taken; `changed` is false when it told nothing new (a repeat)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": "0193...", "delivery_state": "delivered"}]}
    )

    id: str
    delivery_state: str
    changed: bool


@router.get(
    "/dlr/kannel",
    summary="Kannel delivery report (called by Kannel's smsbox)",
    response_model=DeliveryReportOut,
    responses=problem_responses(errors.BadSignature, errors.ValidationFailed, errors.NotFound),
)
def kannel_delivery_report(
    platform: PlatformDep,
    settings: SettingsDep,
    id: Annotated[str, Query(min_length=1, max_length=100, description="The outbox id.")],
    status: Annotated[int, Query(description=f"Kannel's DLR type (%d): {_CODES}.")],
    token: Annotated[str, Query(max_length=100, description="The shared dlr-url token.")] = "",
    ts: Annotated[
        int | None, Query(ge=0, description="When, in Unix seconds (Kannel's %T).")
    ] = None,
) -> DeliveryReportOut:
    """Record one delivery report on its outbox row (idempotent; unknown id: 404)."""
    expected = dlr_token(settings.resolved_secret_key())
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise errors.BadSignature("The dlr-url token is missing or wrong.")
    state = kannel_delivery_state(status)
    if state is None:
        raise errors.ValidationFailed(f"status: {status} is not a Kannel DLR type ({_CODES}).")
    at = datetime.fromtimestamp(ts, UTC) if ts is not None else platform.clock.now()
    changed = record_delivery_report(platform.uow(), id, state, at)
    return DeliveryReportOut(id=id, delivery_state=state, changed=changed)
