"""Receipts: shown to staff channels as JSON, verified by anyone with the printed code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from builders import make_line
from simrenew.bootstrap import Platform

if TYPE_CHECKING:
    from starlette.testclient import TestClient


@pytest.fixture
def renewal(api: TestClient, platform: Platform, store: dict[str, str]) -> dict[str, Any]:
    """A cash renewal of 5 KD on a line holding 1 KD."""
    make_line(platform, "+96550001234", paid_fils=1000)
    response = api.post(
        "/api/v1/renewals",
        headers={**store, "Idempotency-Key": "receipt-test"},
        json={"msisdn": "50001234", "package_code": "kd5", "payment": {"method": "cash"}},
    )
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


def test_a_receipt_shows_what_was_paid_and_credited(
    api: TestClient, renewal: dict[str, Any], store: dict[str, str]
) -> None:
    response = api.get(f"/api/v1/receipts/{renewal['receipt_no']}", headers=store)

    assert response.status_code == 200
    receipt = response.json()
    assert receipt["receipt_no"] == renewal["receipt_no"]
    assert receipt["renewal_id"] == renewal["renewal_id"]
    assert receipt["msisdn"] == "+96550001234"
    assert (receipt["operator"], receipt["package_code"]) == ("zahra", "kd5")
    assert (receipt["total_fils"], receipt["credit_fils"]) == (5000, 5000)
    assert receipt["balance_after_fils"] == 6000
    assert receipt["valid_until"] == renewal["valid_until"]
    assert receipt["issued_at"].endswith("+03:00")
    assert receipt["total_display"] == "5.000 KWD"
    assert receipt["verification_code"]


def test_receipt_amounts_follow_the_callers_language(
    api: TestClient, renewal: dict[str, Any], store: dict[str, str]
) -> None:
    receipt = api.get(
        f"/api/v1/receipts/{renewal['receipt_no']}",
        headers={**store, "Accept-Language": "ar-KW,ar;q=0.9"},
    ).json()

    assert receipt["total_display"] == "٥٫٠٠٠ د.ك"


def test_a_receipt_is_verified_by_its_code_and_reveals_nothing_else(
    api: TestClient, renewal: dict[str, Any], store: dict[str, str]
) -> None:
    receipt_no = renewal["receipt_no"]
    code = api.get(f"/api/v1/receipts/{receipt_no}", headers=store).json()["verification_code"]

    valid = api.get(f"/api/v1/receipts/{receipt_no}/verify", params={"code": code})
    typed_lower = api.get(f"/api/v1/receipts/{receipt_no}/verify", params={"code": code.lower()})
    wrong = api.get(f"/api/v1/receipts/{receipt_no}/verify", params={"code": "WRONG00000"})
    unknown = api.get("/api/v1/receipts/R000000000000000/verify", params={"code": code})

    assert valid.status_code == 200
    assert valid.json() == {"receipt_no": receipt_no, "valid": True}
    assert typed_lower.json()["valid"] is True
    assert wrong.json() == {"receipt_no": receipt_no, "valid": False}
    assert unknown.json() == {"receipt_no": "R000000000000000", "valid": False}


def test_verification_needs_a_code(api: TestClient, renewal: dict[str, Any]) -> None:
    response = api.get(f"/api/v1/receipts/{renewal['receipt_no']}/verify")

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["field"] == "code"


def test_receipts_are_for_allowed_callers_only(
    api: TestClient, renewal: dict[str, Any], store: dict[str, str], network: dict[str, str]
) -> None:
    url = f"/api/v1/receipts/{renewal['receipt_no']}"

    anonymous = api.get(url)
    the_network = api.get(url, headers=network)
    unknown = api.get("/api/v1/receipts/R000000000000000", headers=store)

    assert anonymous.status_code == 401
    assert the_network.status_code == 403
    assert the_network.json()["code"] == "not_allowed"
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_receipt"


def test_the_short_public_address_verifies_too(
    api: TestClient, renewal: dict[str, Any], store: dict[str, str]
) -> None:
    receipt_no = renewal["receipt_no"]
    code = api.get(f"/api/v1/receipts/{receipt_no}", headers=store).json()["verification_code"]

    assert api.get(f"/receipts/{receipt_no}/verify", params={"code": code}).json()["valid"] is True
    assert api.get(f"/receipts/{receipt_no}/verify", params={"code": "X"}).json()["valid"] is False
