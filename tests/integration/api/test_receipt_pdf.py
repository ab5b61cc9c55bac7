"""Receipt PDFs over HTTP: `Accept: application/pdf` on a receipt's address, JSON's rights."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pypdf
import pytest

from builders import make_caller, make_line
from simrenew.bootstrap import Platform
from simrenew.errors import UnknownReceipt
from simrenew.renewals.receipt_pdf import receipt_pdf_for
from simrenew.renewals.service import RenewalRequest, credit_renewal

if TYPE_CHECKING:
    from starlette.testclient import TestClient

PDF = {"Accept": "application/pdf"}
ARTIFACTS = Path(__file__).parents[3] / "test-artifacts" / "receipts"


@pytest.fixture
def receipt(api: TestClient, platform: Platform, store: dict[str, str]) -> dict[str, Any]:
    """The JSON receipt of a cash renewal of 5 KD, credited by the store on a line with 1 KD."""
    make_line(platform, "+96550001234", paid_fils=1000)
    caller, _ = make_caller(platform, "store")
    outcome = credit_renewal(
        platform.uow(),
        caller,
        RenewalRequest(
            msisdn="+96550001234",
            package_code="kd5",
            payment_method="cash",
            idempotency_key="pdf-receipt",
            body={"msisdn": "+96550001234", "package_code": "kd5", "method": "cash"},
        ),
        clock=platform.clock,
    )
    response = api.get(f"/api/v1/receipts/{outcome.body['receipt_no']}", headers=store)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_receipt_downloads_as_a_pdf_with_its_figures(
    api: TestClient,
    platform: Platform,
    receipt: dict[str, Any],
    store: dict[str, str],
) -> None:
    number = receipt["receipt_no"]

    response = api.get(f"/api/v1/receipts/{number}", headers={**store, **PDF})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'attachment; filename="receipt-{number}.pdf"'
    assert response.headers["content-language"] == "en"
    assert "no-store" in response.headers["cache-control"]
    text = pdf_text(response.content)
    compact = re.sub(r"\s+", "", text)
    assert number in text
    assert "+96550001234" in text
    assert "Monthly 5 KD" in text
    assert "Totalpaid5.000KWD" in compact
    assert "Newbalance6.000KWD" in compact
    assert receipt["verification_code"] in text


def test_the_printed_address_verifies_the_receipt(
    api: TestClient,
    platform: Platform,
    receipt: dict[str, Any],
    store: dict[str, str],
) -> None:
    content = api.get(f"/api/v1/receipts/{receipt['receipt_no']}", headers={**store, **PDF}).content

    compact = re.sub(r"\s+", "", pdf_text(content))  # a long address may wrap
    code = re.escape(receipt["verification_code"])
    printed = re.search(rf"https?://\S+?/receipts/\S+?/verify\?code={code}", compact)
    assert printed is not None
    address = printed.group()
    assert address.startswith(platform.settings.public_url.rstrip("/") + "/receipts/")
    path = address.removeprefix(platform.settings.public_url.rstrip("/"))
    assert api.get(path).json() == {"receipt_no": receipt["receipt_no"], "valid": True}


def test_the_pdf_follows_the_callers_language(
    api: TestClient, receipt: dict[str, Any], store: dict[str, str]
) -> None:
    url = f"/api/v1/receipts/{receipt['receipt_no']}"

    arabic = api.get(url, headers={**store, **PDF, "Accept-Language": "ar-KW,ar;q=0.9"})
    chinese = api.get(url, params={"lang": "zh"}, headers={**store, **PDF})

    assert arabic.headers["content-language"] == "ar"
    arabic_text = pdf_text(arabic.content)
    assert "زهرة للاتصالات" in arabic_text
    assert "رقم الإيصال" in arabic_text
    assert "د.ك" in arabic_text
    assert chinese.headers["content-language"] == "zh"
    chinese_text = pdf_text(chinese.content)
    assert "收据编号" in chinese_text
    assert "5.000 科威特第纳尔" in chinese_text
    _keep_for_reviewers(arabic.content)


def _keep_for_reviewers(content: bytes) -> None:
    """Write the Arabic receipt as a PNG page under test-artifacts/receipts/ for people to see."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "receipt-ar.pdf").write_bytes(content)
    pdf_path, png_stem = str(ARTIFACTS / "receipt-ar.pdf"), str(ARTIFACTS / "receipt-ar")
    subprocess.run(  # noqa: S603 - a fixed local tool on the file just written
        ["/usr/bin/pdftoppm", "-png", "-r", "100", "-singlefile", pdf_path, png_stem],
        check=True,
    )
    assert (ARTIFACTS / "receipt-ar.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "application/json"),
        ("application/pdf;q=0.5, application/json", "application/json"),
        ("application/pdf;q=0", "application/json"),
        ("application/json;q=0.5, application/pdf", "application/pdf"),
        ("application/pdf, */*;q=0.1", "application/pdf"),
    ],
)
def test_json_stays_the_answer_unless_the_pdf_is_preferred(
    api: TestClient,
    receipt: dict[str, Any],
    store: dict[str, str],
    accept: str | None,
    media_type: str,
) -> None:
    headers = {**store, **({"Accept": accept} if accept else {})}

    response = api.get(f"/api/v1/receipts/{receipt['receipt_no']}", headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    if media_type == "application/json":
        assert response.json() == receipt


def test_a_pdf_is_refused_exactly_as_the_json_receipt_is(
    api: TestClient,
    receipt: dict[str, Any],
    store: dict[str, str],
    network: dict[str, str],
) -> None:
    url = f"/api/v1/receipts/{receipt['receipt_no']}"
    cases = {
        "anonymous": (url, {}),
        "network channel": (url, network),
        "unknown receipt": ("/api/v1/receipts/R000000000000000", store),
    }

    for name, (address, headers) in cases.items():
        as_json = api.get(address, headers={**headers, "Accept": "application/json"})
        as_pdf = api.get(address, headers={**headers, **PDF})
        assert as_pdf.status_code == as_json.status_code, name
        assert as_pdf.headers["content-type"] == "application/problem+json", name
        assert as_pdf.json() == as_json.json(), name
    assert api.get(url, headers={**network, **PDF}).json()["code"] == "not_allowed"


def test_the_openapi_documents_the_pdf_beside_the_json(api: TestClient) -> None:
    operation = api.get("/openapi.json").json()["paths"]["/api/v1/receipts/{receipt_no}"]["get"]

    content = operation["responses"]["200"]["content"]
    assert content["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/ReceiptOut"}


def test_pages_get_a_receipts_pdf_in_the_language_they_ask(
    platform: Platform, receipt: dict[str, Any]
) -> None:
    content = receipt_pdf_for(
        platform.uow(),
        receipt["receipt_no"],
        language="ar",
        public_url="https://selfcare.example/",
    )

    text = pdf_text(content)
    compact = re.sub(r"\s+", "", text)
    assert "رقم الإيصال" in text
    assert receipt["receipt_no"] in text
    expected = (
        f"https://selfcare.example/receipts/{receipt['receipt_no']}/verify"
        f"?code={receipt['verification_code']}"
    )
    assert expected in compact
    with pytest.raises(UnknownReceipt):
        receipt_pdf_for(
            platform.uow(), "R000000000000000", language="en", public_url="https://x.example"
        )
