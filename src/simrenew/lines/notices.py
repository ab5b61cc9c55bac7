"""What the lifecycle tells a subscriber: the SMS of each transition, reminders, recycle warnings.

Each message carries a dedupe key made of the line's MSISDN, its end date and what it is about,
so queueing it twice is impossible (the outbox's key is unique) and a renewal, which moves the
end date, starts a fresh series by itself. The sweep also spells the keys in SQL (`key_prefix_sql`)
to skip lines whose message is already queued: both spellings must stay identical.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, func, literal

from simrenew.catalog.snapshot import OperatorTerms
from simrenew.clock import utc
from simrenew.ids import new_id
from simrenew.lines.rules import LifecyclePeriods, LineState, days_left
from simrenew.notify.templates import kuwait_date, kuwait_minute, render, short_url

# A suspended line is warned this long before its number is recycled, when its suspension
# lasts longer than that (otherwise the suspension notice already names the date).
RECYCLE_WARNING_DAYS = 3
NOTICE_TEMPLATES = {
    LineState.GRACE: "grace_started",
    LineState.SUSPENDED: "suspended",
    LineState.RECYCLED: "recycled",
}


def end_key(valid_until: datetime) -> str:
    """A line's end date as dedupe keys spell it, e.g. "2026-12-03T11:05:00Z" (UTC)."""
    # isoformat() of the whole seconds, not strftime: the same text at a fraction of the cost
    # (the sweep keys every SMS it queues).
    return utc(valid_until).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def key_prefix_sql(msisdn: Any, valid_until: Any, dialect: str) -> ColumnElement[str]:
    """`{msisdn}:{end_key(valid_until)}` as SQL, to compare with stored dedupe keys."""
    if dialect == "postgresql":
        text = func.to_char(
            func.timezone("UTC", valid_until), 'YYYY-MM-DD"T"HH24:MI:SS"Z"', type_=String
        )
    else:
        # SQLite keeps UTC timestamps as "YYYY-MM-DD HH:MM:SS.ffffff" text.
        text = func.strftime("%Y-%m-%dT%H:%M:%SZ", valid_until, type_=String)
    prefix: ColumnElement[str] = literal("", String) + msisdn + ":" + text
    return prefix


def lifecycle_key(msisdn: str, valid_until: datetime, to_state: LineState) -> str:
    """The dedupe key of the notice of one transition of one validity period."""
    return f"lifecycle:{msisdn}:{end_key(valid_until)}:{to_state.value}"


def reminder_key(msisdn: str, valid_until: datetime, days: int) -> str:
    """The dedupe key of the `days`-day reminder of one validity period."""
    return f"reminder:{msisdn}:{end_key(valid_until)}:{days}"


def warning_key(msisdn: str, valid_until: datetime) -> str:
    """The dedupe key of the recycle warning of one validity period."""
    return f"recycle_warning:{msisdn}:{end_key(valid_until)}"


def recycle_at(valid_until: datetime, periods: LifecyclePeriods) -> datetime:
    """When a line's number is recycled if nothing is done."""
    return utc(valid_until) + timedelta(days=periods.grace_days + periods.suspension_days)


def warning_due(valid_until: datetime, periods: LifecyclePeriods, now: datetime) -> bool:
    """Whether a suspended line is within RECYCLE_WARNING_DAYS of its recycling."""
    if periods.suspension_days <= RECYCLE_WARNING_DAYS:
        return False
    return utc(now) >= recycle_at(valid_until, periods) - timedelta(days=RECYCLE_WARNING_DAYS)


def notice_params(
    template: str,
    msisdn: str,
    valid_until: datetime,
    periods: LifecyclePeriods,
    operator: OperatorTerms,
    *,
    language: str,
    now: datetime,
) -> dict[str, Any]:
    """The parameters of a lifecycle message, dates in Kuwait time."""
    params: dict[str, Any] = {"operator": operator.display_name(language), "msisdn": msisdn}
    if template == "reminder":
        params["days_left"] = days_left(valid_until, now)
        params["valid_until"] = kuwait_minute(valid_until)
    if template == "grace_started":
        grace_ends = utc(valid_until) + timedelta(days=periods.grace_days)
        params["grace_ends"] = kuwait_date(grace_ends)
    if template in ("suspended", "recycle_warning"):
        params["recycle_on"] = kuwait_date(recycle_at(valid_until, periods))
        params["care_number"] = operator.care_number
    if template in ("reminder", "grace_started"):
        params["ussd_code"] = operator.ussd_code
    if template in ("reminder", "grace_started", "suspended"):
        params["web_url"] = short_url(operator.web_url)
    return params


def bulk_message(
    msisdn: str,
    *,
    template: str,
    language: str,
    params: dict[str, Any],
    key: str,
    now: datetime,
    send_at: datetime,
) -> dict[str, Any]:
    """An outbox row for the bulk lane, held until `send_at` (the end of the quiet hours)."""
    return {
        "id": new_id(),
        "msisdn": msisdn,
        "recipient": msisdn,
        "lane": "bulk",
        "template": template,
        "language": language,
        "params": params,
        "body": render(template, language, params),
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": send_at,
        "created_at": now,
        "dedupe_key": key,
    }
