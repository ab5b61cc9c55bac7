"""Receipts of the account's lines: the list of renewals, one receipt, its PDF download."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from simrenew.accounts import service as accounts
from simrenew.renewals.receipt_pdf import receipt_pdf_for, verify_url_for
from simrenew.web.deps import PlatformDep
from simrenew.web.pages.selfcare.brand import brand_of, operator_brands
from simrenew.web.pages.selfcare.recharge import method_label
from simrenew.web.pages.selfcare.routing import PageRoute, render
from simrenew.web.pages.selfcare.session import SubscriberDep, subscriber_caller

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ReceiptPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("/receipts")
def receipts_page(request: Request, platform: PlatformDep, visitor: SubscriberDep) -> Response:
    """Every renewal of the account's lines, newest first, with its state and receipt."""
    renewals = accounts.list_account_renewals(
        platform.uow(), subscriber_caller(visitor), desk=platform.payments
    )
    rows = [
        {**renewal, "method_name": method_label(renewal["payment"]["method"], visitor.language)}
        for renewal in renewals
    ]
    brands = operator_brands(platform, visitor.language)
    return render(request, "selfcare/receipts.html", renewals=rows, brands=brands)


# Declared before /receipts/{receipt_no}, which would otherwise take "R1.pdf" as a number.
@router.get("/receipts/{receipt_no}.pdf")
def receipt_pdf(platform: PlatformDep, visitor: SubscriberDep, receipt_no: ReceiptPath) -> Response:
    """The receipt as a PDF in the visitor's language, with its verification code and QR."""
    accounts.ensure_receipt_bound(platform.uow(), subscriber_caller(visitor), receipt_no)
    pdf = receipt_pdf_for(
        platform.uow(),
        receipt_no,
        language=visitor.language,
        public_url=platform.settings.public_url,
    )
    filename = f"receipt-{receipt_no}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{quote(filename)}"'},
    )


@router.get("/receipts/{receipt_no}")
def receipt_page(
    request: Request, platform: PlatformDep, visitor: SubscriberDep, receipt_no: ReceiptPath
) -> Response:
    """One receipt, readable on a phone, with the download link."""
    receipt = accounts.receipt_of_bound_line(
        platform.uow(), subscriber_caller(visitor), receipt_no, language=visitor.language
    )
    return render(
        request,
        "selfcare/receipt.html",
        receipt=receipt,
        brand=brand_of(platform, receipt["operator"], visitor.language),
        method_name=method_label(receipt["payment_method"], visitor.language),
        verify_url=verify_url_for(
            platform.settings.public_url, receipt["receipt_no"], receipt["verification_code"]
        ),
    )
