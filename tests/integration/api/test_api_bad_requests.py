"""Bad requests: always a 4xx problem in the caller's language, never a 500, never a half-write."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from builders import make_line
from simrenew.bootstrap import Platform
from simrenew.settings import Settings

if TYPE_CHECKING:
    from starlette.testclient import TestClient

Rows = Callable[[], dict[str, int]]
PROBLEM = "application/problem+json"
CASH_KD5 = {"msisdn": "50001234", "package_code": "kd5", "payment": {"method": "cash"}}


@pytest.fixture
def line(platform: Platform) -> str:
    """A registered line with some balance."""
    return make_line(platform, "+96550001234", paid_fils=5000)


def _renew(api: TestClient, store: dict[str, str], **request: Any) -> Any:
    headers = {**store, "Idempotency-Key": "k-1", **request.pop("headers", {})}
    return api.post("/api/v1/renewals", headers=headers, **request)


def _debit(api: TestClient, network: dict[str, str], body: Any) -> Any:
    return api.post("/api/v1/lines/50001234/debits", headers=network, json=body)


def _assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"https://simrenew.dev/problems/{code}"
    return body


RENEWAL_JSON = b'{"msisdn": "50001234", "package_code": "kd5", "payment": {"method": "cash"}}'


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"msisdn": "50001234", "package_code": ', "application/json"),
        (b"", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"just a string"', "application/json"),
        (b'{"msisdn": "\xff\xfe"}', "application/json"),
        (b'{"msisdn": ' + b"1" * 5000 + b"}", "application/json"),
        (b"[" * 20000 + b"]" * 20000, "application/json"),
        (RENEWAL_JSON, "text/plain"),
    ],
    ids=["truncated", "empty", "array", "string", "bad-utf8", "huge-number", "deep", "text"],
)
def test_a_body_that_is_not_a_json_object_is_a_validation_error(
    api: TestClient,
    line: str,
    store: dict[str, str],
    rows: Rows,
    content: bytes,
    content_type: str,
) -> None:
    before = rows()

    response = _renew(api, store, content=content, headers={"Content-Type": content_type})

    body = _assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "body"
    assert rows() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"package_code": None}, "package_code"),
        ({"msisdn": 50001234}, "msisdn"),
        ({"package_code": ""}, "package_code"),
        ({"package_code": "x" * 33}, "package_code"),
        ({"payment": {}}, "payment.method"),
        ({"payment": "cash"}, "payment"),
        ({"payment": {"method": "cash", "tip_fils": 5}}, "payment.tip_fils"),
        ({"discount_fils": 1000}, "discount_fils"),
    ],
)
def test_wrong_missing_and_unknown_renewal_fields_are_named(
    api: TestClient,
    line: str,
    store: dict[str, str],
    rows: Rows,
    changes: dict[str, Any],
    field: str,
) -> None:
    before = rows()
    body = {**CASH_KD5, **changes}

    response = _renew(api, store, json=body)

    problem = _assert_problem(response, 422, "validation_error")
    assert field in {error["field"] for error in problem["errors"]}
    assert field in problem["detail"]
    assert rows() == before


def test_missing_fields_are_all_reported_at_once(
    api: TestClient, line: str, store: dict[str, str]
) -> None:
    response = _renew(api, store, json={})

    problem = _assert_problem(response, 422, "validation_error")
    assert {e["field"] for e in problem["errors"]} == {"msisdn", "package_code", "payment"}


@pytest.mark.parametrize(
    "amount", [7.5, 700.0, "700", "٧٠٠", True, None, -5, 0, 10**30, [700], {"fils": 700}]
)
def test_fils_must_be_a_positive_json_integer(
    api: TestClient, line: str, network: dict[str, str], rows: Rows, amount: Any
) -> None:
    before = rows()

    response = _debit(api, network, {"charge_id": "c-1", "amount_fils": amount, "kind": "data"})

    problem = _assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["field"] == "amount_fils"
    assert rows() == before


def test_unknown_debit_fields_are_refused(
    api: TestClient, line: str, network: dict[str, str], rows: Rows
) -> None:
    before = rows()

    response = _debit(
        api, network, {"charge_id": "c-1", "amount_fils": 7, "kind": "data", "refund": True}
    )

    problem = _assert_problem(response, 422, "validation_error")
    assert problem["errors"] == [{"field": "refund", "message": "Extra inputs are not permitted"}]
    assert rows() == before


@pytest.mark.parametrize(
    "msisdn", ["5000123", "+14155550123", "22001234", "5000ABCD", "5" * 41, "", "   "]
)
def test_invalid_numbers_in_bodies_are_invalid_msisdn(
    api: TestClient, line: str, store: dict[str, str], rows: Rows, msisdn: str
) -> None:
    before = rows()

    quote = api.post(
        "/api/v1/quotes", headers=store, json={"msisdn": msisdn, "package_code": "kd5"}
    )
    renewal = _renew(api, store, json={**CASH_KD5, "msisdn": msisdn})

    for response in (quote, renewal):
        problem = response.json()
        assert response.status_code == 422
        assert problem["code"] in {"invalid_msisdn", "validation_error"}
    assert rows() == before


def test_arabic_indic_digits_are_read_as_a_number(
    api: TestClient, line: str, store: dict[str, str]
) -> None:
    response = _renew(api, store, json={**CASH_KD5, "msisdn": "٥٠٠٠ ١٢٣٤"})

    assert response.status_code == 201
    assert response.json()["msisdn"] == "+96550001234"


def test_an_unknown_number_writes_nothing(
    api: TestClient, store: dict[str, str], rows: Rows
) -> None:
    before = rows()

    response = _renew(api, store, json={**CASH_KD5, "msisdn": "+96550009999"})

    _assert_problem(response, 404, "unknown_line")
    assert rows() == before


def test_a_body_larger_than_the_limit_is_refused_by_its_length(
    api: TestClient, line: str, store: dict[str, str], settings: Settings, rows: Rows
) -> None:
    before = rows()
    padding = "x" * (settings.max_body_bytes + 1)

    response = _renew(api, store, json={**CASH_KD5, "package_code": padding})

    problem = _assert_problem(response, 413, "payload_too_large")
    assert str(settings.max_body_bytes) in problem["detail"]
    assert rows() == before


def test_a_streamed_body_larger_than_the_limit_is_refused_while_reading(
    api: TestClient, line: str, store: dict[str, str], settings: Settings, rows: Rows
) -> None:
    before = rows()

    def chunks() -> Iterator[bytes]:
        yield b'{"msisdn": "50001234", "package_code": "'
        for _ in range(settings.max_body_bytes // 1024 + 2):
            yield b"x" * 1024
        yield b'", "payment": {"method": "cash"}}'

    response = _renew(api, store, content=chunks(), headers={"Content-Type": "application/json"})

    assert "content-length" not in {k.lower() for k in response.request.headers}
    _assert_problem(response, 413, "payload_too_large")
    assert rows() == before


UNKNOWN_EN = "No line with this number is registered."
UNKNOWN_AR = "لا يوجد خط مسجّل بهذا الرقم."
UNKNOWN_ZH = "没有以此号码登记的线路。"


@pytest.mark.parametrize(
    ("accept_language", "query", "title"),
    [
        ("ar-KW,ar;q=0.9", "", UNKNOWN_AR),
        ("zh-CN,zh;q=0.9,en;q=0.5", "", UNKNOWN_ZH),
        ("en;q=0.2, ar;q=0.8", "", UNKNOWN_AR),
        ("ar", "?lang=zh", UNKNOWN_ZH),
        ("fr-FR, de;q=0.5", "", UNKNOWN_EN),
        ("ar;q=0, en;q=0.1", "", UNKNOWN_EN),
        ("", "?lang=ar", UNKNOWN_AR),
    ],
)
def test_problem_titles_and_details_follow_the_callers_language(
    api: TestClient, store: dict[str, str], accept_language: str, query: str, title: str
) -> None:
    headers = {**store, "Accept-Language": accept_language}

    response = api.get(f"/api/v1/lines/50009999{query}", headers=headers)

    problem = _assert_problem(response, 404, "unknown_line")
    assert problem["title"] == title
    assert problem["detail"].startswith(title)


def test_validation_details_are_in_arabic_and_chinese_too(
    api: TestClient, line: str, network: dict[str, str]
) -> None:
    body = {"charge_id": "c-1", "amount_fils": 1.5, "kind": "data"}
    arabic = api.post(
        "/api/v1/lines/50001234/debits", headers={**network, "Accept-Language": "ar"}, json=body
    )
    chinese = api.post("/api/v1/lines/50001234/debits?lang=zh", headers=network, json=body)

    assert arabic.json()["detail"].startswith("بعض المعلومات المدخلة غير صحيحة.")
    assert "amount_fils" in arabic.json()["detail"]
    assert chinese.json()["title"] == "提供的部分信息无效。"
    assert chinese.headers["content-language"] == "zh"


def test_the_servers_default_language_applies_without_a_preference(
    platform: Platform,
    settings: Settings,
    store: dict[str, str],
    client_for: Callable[[Settings], TestClient],
) -> None:
    client = client_for(settings.model_copy(update={"language": "ar"}))

    response = client.get("/api/v1/lines/50009999", headers=store)

    assert response.json()["title"] == UNKNOWN_AR
