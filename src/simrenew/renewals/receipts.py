"""Receipts: issued with every credited renewal, shown later, verifiable by a public code."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from simrenew.catalog.snapshot import OperatorTerms
from simrenew.clock import to_kuwait
from simrenew.db.base import insert_row
from simrenew.db.session import UnitOfWork
from simrenew.errors import NotAllowed, UnknownReceipt
from simrenew.ids import new_code
from simrenew.lines.models import Line
from simrenew.money import format_fils
from simrenew.renewals import repository
from simrenew.renewals.models import Receipt, Renewal
from simrenew.staff.rules import Caller, may_read_any_line


def issue_receipt(
    session: Session,
    line: Line,
    renewal: Renewal,
    *,
    package_name: str,
    package_names: Mapping[str, str] | None = None,
    operator: OperatorTerms,
    now: datetime,
) -> None:
    """Write the receipt of a renewal being credited, in the same transaction."""
    assert renewal.receipt_no is not None  # noqa: S101 - set by the caller
    insert_row(
        session,
        Receipt(
            receipt_no=renewal.receipt_no,
            renewal_id=renewal.id,
            msisdn=line.msisdn,
            issued_at=now,
            verification_code=new_code(10),
            data={
                "operator": line.operator_code,
                "operator_name": operator.name,
                "package_code": renewal.package_code,
                "package_name": package_name,
                # The name in each language, so the receipt reads right in the reader's.
                "package_names": dict(package_names or {}),
                "channel": renewal.channel,
                "payment_method": renewal.payment_method,
                "price_fils": renewal.price_fils,
                "discount_fils": renewal.discount_fils,
                "fee_fils": renewal.fee_fils,
                "total_fils": renewal.total_fils,
                "credit_fils": renewal.credit_fils,
                "bonus_fils": renewal.bonus_fils,
                "promotions": list(renewal.promotions),
                "balance_after_fils": line.balance_fils,
                "valid_until": line.valid_until.isoformat(),
            },
        ),
    )


def get_receipt(
    uow: UnitOfWork,
    caller: Caller,
    receipt_no: str,
    *,
    language: str = "en",
    line_checked: bool = False,
) -> dict[str, Any]:
    """A receipt with its amounts shown in the caller's language.

    `line_checked`: the caller's room allowed this caller the receipt's line (a bound line).
    """
    if not (line_checked or may_read_any_line(caller)):
        raise NotAllowed()
    with uow:
        receipt = repository.get_receipt(uow.session, receipt_no)
        if receipt is None:
            raise UnknownReceipt()
        data = dict(receipt.data)
        return {
            "receipt_no": receipt.receipt_no,
            "renewal_id": receipt.renewal_id,
            "msisdn": receipt.msisdn,
            "issued_at": to_kuwait(receipt.issued_at).isoformat(),
            "verification_code": receipt.verification_code,
            **data,
            "valid_until": to_kuwait(datetime.fromisoformat(data["valid_until"])).isoformat(),
            "total_display": format_fils(data["total_fils"], language),
            "credit_display": format_fils(data["credit_fils"], language),
        }


def verify_receipt(uow: UnitOfWork, receipt_no: str, code: str) -> bool:
    """Whether a receipt number and its verification code belong together (public check)."""
    with uow:
        receipt = repository.get_receipt(uow.session, receipt_no)
        return receipt is not None and code.strip().upper() == receipt.verification_code
