"""What crediting a renewal writes, in the caller's transaction, under the line's lock.

Shared by a renewal credited at once and one credited when its payment is captured: the ledger
rows and buckets, promotion uses, the history row and the line's new validity; then the
receipt, the confirmation SMS (priority lane), the withdrawal of unsent notices, and the line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from simrenew.catalog.snapshot import CatalogSnapshot, PackageOffer
from simrenew.db.base import insert_row
from simrenew.ids import new_id
from simrenew.lines import repository as lines_repository
from simrenew.lines.models import Line, LineHistory
from simrenew.lines.repository import LineContext
from simrenew.lines.rules import LineState
from simrenew.money import format_fils
from simrenew.notify.service import cancel_expiry_notices, queue_sms
from simrenew.notify.templates import kuwait_minute
from simrenew.renewals.ledger import expire_bonus_if_due, post
from simrenew.renewals.models import PromotionUse, Renewal
from simrenew.renewals.receipts import issue_receipt
from simrenew.renewals.rules import Price, merge_bonus_expiry


def apply_credit(
    session: Session, line: Line, renewal: Renewal, price: Price, before: LineState, now: datetime
) -> None:
    """Credit the money to the locked line: ledger rows, promotion uses, validity, history.

    `before` is the line's state before this credit (a renewal from grace restarts its
    state_since); renewal.balance_after_fils is set from the line afterwards.
    """
    expire_bonus_if_due(session, line, now)
    post(
        session,
        line,
        bucket="paid",
        kind="renewal_credit",
        amount_fils=price.credit_fils,
        now=now,
        renewal_id=renewal.id,
    )
    if price.bonus_fils:
        line.bonus_expires_at = merge_bonus_expiry(
            line.bonus_expires_at, line.bonus_fils, price.bonus_expires_at
        )
        post(
            session,
            line,
            bucket="bonus",
            kind="promotion_bonus",
            amount_fils=price.bonus_fils,
            now=now,
            renewal_id=renewal.id,
        )
    for code in price.promotions:
        insert_row(
            session,
            PromotionUse(
                id=new_id(),
                msisdn=line.msisdn,
                operator_code=line.operator_code,
                promotion_code=code,
                renewal_id=renewal.id,
                at=now,
            ),
        )
    line.valid_until = price.new_valid_until
    line.state = LineState.ACTIVE.value
    line.state_since = now if before is not LineState.ACTIVE else line.state_since
    line.version += 1
    renewal.balance_after_fils = line.balance_fils
    lines_repository.add_history(
        session,
        LineHistory(
            id=new_id(),
            msisdn=line.msisdn,
            at=now,
            event=renewal.kind,  # renewal, or reactivation of a suspended line
            from_state=before.value,
            to_state=LineState.ACTIVE.value,
            renewal_id=renewal.id,
            details={
                "package": renewal.package_code,
                "credit_fils": renewal.credit_fils,
                "bonus_fils": renewal.bonus_fils,
                "receipt_no": renewal.receipt_no,
                "channel": renewal.channel,
            },
        ),
    )


def confirm_credit(
    session: Session,
    context: LineContext,
    catalog: CatalogSnapshot,
    renewal: Renewal,
    package: PackageOffer,
    now: datetime,
) -> None:
    """Receipt, confirmation SMS (priority lane), reminders cancelled, line written back."""
    line = context.line
    operator = catalog.operators[line.operator_code]
    issue_receipt(
        session,
        line,
        renewal,
        package_name=package.name,
        package_names=package.names,
        operator=operator,
        now=now,
    )
    language = context.language
    # What every confirmation says; a reactivated line is told that too, in its own message.
    about_line = {
        "operator": operator.display_name(language),
        "msisdn": line.msisdn,
        "valid_until": kuwait_minute(line.valid_until),
    }
    credit_fils = renewal.credit_fils + renewal.bonus_fils
    credited = {
        **about_line,
        "credit": format_fils(credit_fils, language, latin_digits=True),
        "balance": format_fils(line.balance_fils, language, latin_digits=True),
        "receipt_no": renewal.receipt_no,
    }
    messages: list[tuple[str, dict[str, Any]]] = [("renewal_confirmation", credited)]
    if renewal.kind == "reactivation":
        messages.append(("reactivation", about_line))
    for template, params in messages:
        queue_sms(
            session,
            msisdn=line.msisdn,
            template=template,
            language=language,
            params=params,
            now=now,
            lane="priority",
        )
    cancel_expiry_notices(session, line.msisdn)
    lines_repository.save_line(session, line)
