"""Renewals as every channel shows them, and who may look at them."""

from __future__ import annotations

from typing import Any

from simrenew.clock import to_kuwait
from simrenew.errors import NotAllowed
from simrenew.renewals.models import Renewal
from simrenew.staff.rules import Caller, may_read_any_line


def renewal_view(renewal: Renewal) -> dict[str, Any]:
    """A renewal as the API shows it (the same body for the first answer and every replay)."""
    return {
        "renewal_id": renewal.id,
        "receipt_no": renewal.receipt_no,
        "state": renewal.state,
        "msisdn": renewal.msisdn,
        "operator": renewal.operator_code,
        "package_code": renewal.package_code,
        "channel": renewal.channel,
        "price_fils": renewal.price_fils,
        "discount_fils": renewal.discount_fils,
        "bonus_fils": renewal.bonus_fils,
        "fee_fils": renewal.fee_fils,
        "total_fils": renewal.total_fils,
        "credit_fils": renewal.credit_fils,
        "balance_fils": renewal.balance_after_fils,
        "valid_until": to_kuwait(renewal.valid_until_after).isoformat(),
        "promotions": list(renewal.promotions),
        "payment": {
            "method": renewal.payment_method,
            "state": renewal.payment_state,
            "gateway": None,
        },
        "created_at": to_kuwait(renewal.created_at).isoformat(),
    }


def ensure_may_read(caller: Caller) -> None:
    """Refuse a caller that may not read any line (NotAllowed)."""
    if not may_read_any_line(caller):
        raise NotAllowed()
