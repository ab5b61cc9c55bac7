"""Receipts over HTTP: a receipt for staff channels (JSON or PDF), and the public check."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from simrenew import errors
from simrenew.accounts.service import ensure_receipt_bound, receipt_of_bound_line
from simrenew.renewals.receipt_pdf import receipt_pdf_for, receipt_pdf_for_caller
from simrenew.renewals.receipts import get_receipt, verify_receipt
from simrenew.web.api import API_PREFIX, AUTH_PROBLEMS, problem_responses
from simrenew.web.deps import CallerDep, LanguageDep, PlatformDep

router = APIRouter(prefix=f"{API_PREFIX}/receipts", tags=["receipts"])

PDF_MEDIA_TYPE = "application/pdf"
_JSON_TYPES = ("application/json", "application/*", "*/*")
_MAX_ACCEPT = 1000
_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9_-]")

_MAX_RECEIPT_NO = 32
ReceiptNo = Annotated[
    str,
    Path(
        min_length=1,
        max_length=_MAX_RECEIPT_NO,
        description="The receipt number, e.g. R01JDX4K3V2Q7T9M8N.",
        examples=["R01JDX4K3V2Q7T9M8N"],
    ),
]


class ReceiptOut(BaseModel):
    """A receipt: what was bought, paid and credited, and the code that verifies it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "receipt_no": "R01JDX4K3V2Q7T9M8N",
                    "renewal_id": "01937a2e-8c4b-7d2a-9f1e-3b5c6d7e8f91",
                    "msisdn": "+96550001234",
                    "issued_at": "2026-11-25T12:00:00+03:00",
                    "verification_code": "K3V2Q7T9M8",
                    "operator": "zahra",
                    "operator_name": "Zahra Telecom",
                    "package_code": "kd5",
                    "package_name": "Monthly 5 KD",
                    "channel": "store",
                    "payment_method": "cash",
                    "price_fils": 5000,
                    "discount_fils": 0,
                    "fee_fils": 0,
                    "total_fils": 5000,
                    "credit_fils": 5000,
                    "bonus_fils": 0,
                    "promotions": [],
                    "balance_after_fils": 17500,
                    "valid_until": "2027-01-04T12:00:00+03:00",
                    "total_display": "5.000 KWD",
                    "credit_display": "5.000 KWD",
                }
            ]
        }
    )

    receipt_no: str
    renewal_id: str
    msisdn: str
    issued_at: datetime
    verification_code: str = Field(description="Printed on the receipt; checks it at /verify.")
    operator: str
    operator_name: str
    package_code: str
    package_name: str
    channel: str
    payment_method: str
    price_fils: int
    discount_fils: int
    fee_fils: int
    total_fils: int
    credit_fils: int
    bonus_fils: int
    promotions: list[str]
    balance_after_fils: int
    valid_until: datetime
    total_display: str
    credit_display: str


class ReceiptCheckOut(BaseModel):
    """Whether a receipt number and verification code belong together; nothing more."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"receipt_no": "R01JDX4K3V2Q7T9M8N", "valid": True}]}
    )

    receipt_no: str
    valid: bool


def wants_pdf(accept: str) -> bool:
    """Whether an Accept header asks for the PDF: `application/pdf` named, and liked at least
    as much as JSON (a browser's `*/*` alone, or no header, keeps JSON)."""
    best = {"pdf": 0.0, "json": 0.0}
    for item in accept[:_MAX_ACCEPT].split(","):
        media_type, *params = (part.strip().lower() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0  # an unreadable weight counts as "not acceptable"
        if not 0 <= quality <= 1:
            continue
        if media_type == PDF_MEDIA_TYPE:
            best["pdf"] = max(best["pdf"], quality)
        elif media_type in _JSON_TYPES:
            best["json"] = max(best["json"], quality)
    return best["pdf"] > 0 and best["pdf"] >= best["json"]


_PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "The receipt: JSON by default; with `Accept: application/pdf`, a one-page A5 PDF in "
            "the caller's language (Arabic right to left) with a QR code of its public "
            "verification address, sent as an attachment `receipt-<receipt_no>.pdf`."
        ),
        "content": {PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get(
    "/{receipt_no}",
    summary="A receipt (JSON, or PDF with Accept: application/pdf)",
    response_model=ReceiptOut,
    responses={
        **_PDF_RESPONSE,
        **problem_responses(
            *AUTH_PROBLEMS, errors.ValidationFailed, errors.NotAllowed, errors.UnknownReceipt
        ),
    },
)
def get_one_receipt(
    request: Request,
    platform: PlatformDep,
    caller: CallerDep,
    language: LanguageDep,
    receipt_no: ReceiptNo,
) -> dict[str, Any] | Response:
    """The receipt with its amounts shown in the caller's language, as JSON or PDF."""
    # API.md: a subscriber reads only receipts of lines bound to its account; any other
    # receipt, known or not, is the same 403 not_allowed.
    subscriber = caller.kind == "subscriber"
    if not wants_pdf(request.headers.get("accept", "")):
        if subscriber:
            return receipt_of_bound_line(platform.uow(), caller, receipt_no, language=language)
        return get_receipt(platform.uow(), caller, receipt_no, language=language)
    if subscriber:
        ensure_receipt_bound(platform.uow(), caller, receipt_no)
        pdf = receipt_pdf_for(
            platform.uow(), receipt_no, language=language, public_url=platform.settings.public_url
        )
    else:
        pdf = receipt_pdf_for_caller(
            platform.uow(),
            caller,
            receipt_no,
            language=language,
            public_url=platform.settings.public_url,
        )
    # The number was found, so it is one of ours; the filter only guards the header's syntax.
    filename = f"receipt-{_SAFE_FILENAME.sub('', receipt_no)}.pdf"
    return Response(
        pdf,
        media_type=PDF_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Language": language,
            # A receipt names a subscriber's line: never kept by shared caches.
            "Cache-Control": "private, no-store",
            "Vary": "Accept, Accept-Language",
        },
    )


@router.get(
    "/{receipt_no}/verify",
    summary="Check a receipt's verification code (public)",
    response_model=ReceiptCheckOut,
    responses=problem_responses(errors.ValidationFailed),
)
def verify_one_receipt(
    platform: PlatformDep,
    receipt_no: ReceiptNo,
    code: Annotated[
        str,
        Query(
            min_length=1,
            max_length=32,
            description="The verification code printed on the receipt.",
            examples=["K3V2Q7T9M8"],
        ),
    ],
) -> ReceiptCheckOut:
    """Valid or not, and nothing else: an unknown number is simply not valid."""
    return ReceiptCheckOut(
        receipt_no=receipt_no, valid=verify_receipt(platform.uow(), receipt_no, code)
    )


# The same public check at a short address outside /api/v1 (API.md writes it
# `/receipts/{receipt_no}/verify`): what a receipt's printed QR code points at.
public_router = APIRouter(prefix="/receipts", tags=["receipts"])
public_router.add_api_route(
    "/{receipt_no}/verify",
    verify_one_receipt,
    methods=["GET"],
    summary="Check a receipt's verification code (public, short address)",
    response_model=ReceiptCheckOut,
    responses=problem_responses(errors.ValidationFailed),
)
