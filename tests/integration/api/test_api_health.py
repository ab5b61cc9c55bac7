"""The app as operators and client developers meet it: health, metrics, errors, the OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from builders import make_line
from simrenew.bootstrap import Platform
from simrenew.settings import Settings
from simrenew.web.app import build_app

if TYPE_CHECKING:
    from starlette.testclient import TestClient

PROBLEM = "application/problem+json"


def test_healthz_answers_ok_when_the_database_answers(api: TestClient) -> None:
    response = api.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_is_a_503_problem_when_the_database_does_not_answer(
    tmp_path: Path, client_class: type[TestClient]
) -> None:
    missing = tmp_path / "no-such-dir" / "simrenew.db"
    settings = Settings(env="test", database_url=f"sqlite:///{missing}", data_dir=tmp_path)
    client = client_class(build_app(settings))

    response = client.get("/healthz")
    client.app.state.platform.close()

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "service_unavailable"


def test_unknown_path_and_wrong_method_are_problems(api: TestClient) -> None:
    missing = api.get("/api/v1/nothing-here")
    wrong = api.delete("/healthz")

    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert missing.json()["code"] == "not_found"
    assert missing.json()["type"] == "https://simrenew.dev/problems/not_found"
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"
    assert "GET" in wrong.headers["allow"]


def test_an_unexpected_error_is_a_500_problem_that_reveals_nothing(
    api: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("connection string postgresql://admin:hunter2@db")

    monkeypatch.setattr("simrenew.web.api.catalog.describe_operators", broken)

    response = api.get("/api/v1/operators", headers={"Accept-Language": "zh"})

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == "internal_error"
    assert body["title"] == "我们这边出了问题；未做任何更改。请重试。"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert any("hunter2" in (r.exc_text or "") for r in caplog.records)


def test_metrics_count_requests_by_route_template_not_by_number(
    api: TestClient, store: dict[str, str], platform: Platform
) -> None:
    make_line(platform, "+96550001234")
    api.get("/api/v1/lines/50001234", headers=store)
    api.get("/api/v1/lines/50001234", headers=store)
    api.get("/api/v1/lines/123", headers=store)

    text = api.get("/metrics").text

    assert (
        'simrenew_http_requests_total{method="GET",route="/api/v1/lines/{msisdn}",status="200"} 2.0'
        in text
    )
    assert 'route="/api/v1/lines/{msisdn}",status="422"} 1.0' in text
    assert "simrenew_http_request_duration_seconds_bucket" in text
    assert "50001234" not in text


def test_many_apps_in_one_process_each_keep_their_own_metrics(
    api: TestClient, settings: Settings, client_for: Callable[[Settings], TestClient]
) -> None:
    other = client_for(settings)
    api.get("/healthz")

    assert 'route="/healthz",status="200"} 1.0' in api.get("/metrics").text
    assert 'route="/healthz",status="200"}' not in other.get("/metrics").text


def test_docs_page_is_served(api: TestClient) -> None:
    response = api.get("/docs")

    assert response.status_code == 200
    assert "/openapi.json" in response.text


# ---------------------------------------------------------------------------------------------
# The OpenAPI: complete enough that a client can be generated and every error handled.

ROUTES = {
    ("/healthz", "get"),
    ("/api/v1/operators", "get"),
    ("/api/v1/payment-methods", "get"),
    ("/api/v1/lines/{msisdn}", "get"),
    ("/api/v1/lines/{msisdn}/history", "get"),
    ("/api/v1/lines/{msisdn}/debits", "post"),
    ("/api/v1/quotes", "post"),
    ("/api/v1/renewals", "post"),
    ("/api/v1/renewals/{renewal_id}", "get"),
    ("/api/v1/payments/{payment_ref}", "get"),
    ("/api/v1/receipts/{receipt_no}", "get"),
    ("/api/v1/receipts/{receipt_no}/verify", "get"),
    ("/api/v1/me", "get"),
    ("/api/v1/me", "patch"),
    ("/api/v1/me/register", "post"),
    ("/api/v1/me/sessions", "post"),
    ("/api/v1/me/password-rules", "get"),
    ("/api/v1/me/password-resets", "post"),
    ("/api/v1/me/lines", "get"),
    ("/api/v1/me/lines", "post"),
    ("/api/v1/me/lines/{msisdn}/verify", "post"),
    ("/api/v1/me/lines/{msisdn}/offers", "get"),
    ("/api/v1/me/quotes", "post"),
    ("/api/v1/me/renewals", "post"),
    ("/api/v1/me/renewals", "get"),
}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "items" in schema:
        return _resolve(spec, schema["items"])
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        resolved: dict[str, Any] = spec["components"]["schemas"][name]
        return resolved
    return schema


def test_openapi_lists_every_route_with_examples_and_problem_responses(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()

    assert spec["info"]["title"] == "simrenew"
    assert "payload_too_large" in spec["info"]["description"]
    found = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert found >= ROUTES
    assert "/dev/sms" not in spec["paths"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, method in ROUTES:
        operation = spec["paths"][path][method]
        for status, response in operation["responses"].items():
            content = response.get("content", {})
            if status.startswith(("4", "5")):
                assert list(content) == [PROBLEM], (path, method, status)
                examples = content[PROBLEM]["examples"]
                assert examples, (path, method, status)
                for example in examples.values():
                    assert example["value"]["status"] == int(status)
            elif path != "/metrics":
                schema = _resolve(spec, content["application/json"]["schema"])
                assert schema.get("examples"), (path, method, status)
        if "requestBody" in operation:
            body = operation["requestBody"]["content"]["application/json"]
            assert body.get("examples"), (path, method)
            assert "413" in operation["responses"], (path, method)
            assert "422" in operation["responses"], (path, method)


def test_openapi_documents_the_renewal_contract(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    renewal = spec["paths"]["/api/v1/renewals"]["post"]

    assert "201" in renewal["responses"]
    assert "Idempotent-Replayed" in renewal["responses"]["201"]["headers"]
    conflicts = renewal["responses"]["409"]["content"][PROBLEM]["examples"]
    assert {"quote_expired", "idempotency_key_reused", "line_suspended", "line_recycled"} <= set(
        conflicts
    )
    header = next(p for p in renewal["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header"
    assert header["required"] is True
    assert renewal["security"] == [{"HTTPBearer": []}]
    line_read = spec["paths"]["/api/v1/lines/{msisdn}"]["get"]["responses"]
    assert {"401", "403", "404", "422", "500"} <= set(line_read)
    verify = spec["paths"]["/api/v1/receipts/{receipt_no}/verify"]["get"]
    assert "security" not in verify


# Error codes of API.md this issue can produce. payment_declined (hosted payments), rate_limited
# and bad_signature (kiosk, gateway callbacks) arrive with the issues that add those routes.
CONTRACT_CODES = {
    "invalid_msisdn",
    "unknown_line",
    "line_recycled",
    "line_suspended",
    "package_not_available",
    "not_allowed",
    "quote_expired",
    "insufficient_balance",
    "idempotency_key_reused",
    "validation_error",
    "unauthenticated",
}


def test_openapi_documents_every_contract_error_code_of_this_api(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()

    documented = {
        code
        for item in spec["paths"].values()
        for operation in item.values()
        for response in operation["responses"].values()
        for code in response.get("content", {}).get(PROBLEM, {}).get("examples", {})
    }

    assert documented >= CONTRACT_CODES | {"payload_too_large", "internal_error"}
