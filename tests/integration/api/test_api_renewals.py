"""Quote then renew at a store: amounts honoured, exactly one credit per key, clear refusals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from builders import DEMO_CATALOG, make_caller, make_line
from simrenew.bootstrap import Platform
from simrenew.catalog.rules import read_catalog_file
from simrenew.catalog.service import load_catalog
from simrenew.catalog.specs import CatalogSpec
from simrenew.clock import FixedClock
from simrenew.settings import Settings

if TYPE_CHECKING:
    from starlette.testclient import TestClient

Rows = Callable[[], dict[str, int]]

CASH_KD5 = {"msisdn": "50001234", "package_code": "kd5", "payment": {"method": "cash"}}


def _renew(
    api: TestClient, headers: dict[str, str], body: dict[str, Any], key: str = "till-1-0001"
) -> Any:
    return api.post("/api/v1/renewals", headers={**headers, "Idempotency-Key": key}, json=body)


def _quote(api: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return api.post("/api/v1/quotes", headers=headers, json={"msisdn": "50001234", **body})


def test_quote_then_cash_renewal_credits_the_line_at_once(
    api: TestClient, platform: Platform, store: dict[str, str]
) -> None:
    make_line(platform, "+96550001234", paid_fils=1000, valid_for=timedelta(days=10))

    quote = _quote(api, store, package_code="kd5", payment_method="cash")
    assert quote.status_code == 200
    offer = quote.json()
    renewal = _renew(api, store, {**CASH_KD5, "quote_id": offer["quote_id"]})
    line = api.get("/api/v1/lines/50001234", headers=store).json()

    assert (offer["price_fils"], offer["total_fils"], offer["credit_fils"]) == (5000, 5000, 5000)
    assert offer["fee_fils"] == 0
    assert offer["new_valid_until"] == "2027-01-04T12:00:00+03:00"
    assert offer["expires_at"] == "2026-11-25T12:15:00+03:00"
    assert renewal.status_code == 201
    done = renewal.json()
    assert done["state"] == "credited"
    assert done["receipt_no"]
    assert done["msisdn"] == "+96550001234"
    assert (done["credit_fils"], done["total_fils"], done["balance_fils"]) == (5000, 5000, 6000)
    assert done["valid_until"] == offer["new_valid_until"]
    assert done["payment"]["method"] == "cash"
    assert "idempotent-replayed" not in renewal.headers
    assert (line["balance_fils"], line["valid_until"]) == (6000, done["valid_until"])


def test_a_renewal_in_grace_makes_the_line_active_again(
    api: TestClient, platform: Platform, store: dict[str, str]
) -> None:
    make_line(platform, "+96550001234", valid_for=-timedelta(hours=1))

    renewal = _renew(api, store, CASH_KD5)
    line = api.get("/api/v1/lines/50001234", headers=store).json()

    assert renewal.status_code == 201
    assert line["state"] == "active"
    # From grace, the new validity starts now: 30 days from 12:00 Kuwait time.
    assert line["valid_until"] == "2026-12-25T12:00:00+03:00"


def _repriced(spec: CatalogSpec, operator: str, package: str, price_fils: int) -> CatalogSpec:
    operators = []
    for op in spec.operators:
        if op.code == operator:
            plans = tuple(
                replace(
                    plan,
                    packages=tuple(
                        replace(pk, price_fils=price_fils) if pk.code == package else pk
                        for pk in plan.packages
                    ),
                )
                for plan in op.plans
            )
            op = replace(op, plans=plans)
        operators.append(op)
    return replace(spec, operators=tuple(operators))


def test_a_quote_is_honoured_after_the_price_changes(
    api: TestClient, platform: Platform, store: dict[str, str]
) -> None:
    make_line(platform, "+96550001234")
    offer = _quote(api, store, package_code="kd5", payment_method="cash").json()
    load_catalog(
        platform.uow(),
        _repriced(read_catalog_file(DEMO_CATALOG), "zahra", "kd5", 6000),
        clock=platform.clock,
    )

    fresh = _quote(api, store, package_code="kd5").json()
    honoured = _renew(api, store, {**CASH_KD5, "quote_id": offer["quote_id"]}, key="a")
    unquoted = _renew(api, store, CASH_KD5, key="b")

    assert fresh["total_fils"] == 6000
    assert honoured.json()["total_fils"] == 5000
    assert unquoted.json()["total_fils"] == 6000


def test_an_expired_quote_is_refused_and_nothing_is_written(
    api: TestClient,
    platform: Platform,
    clock: FixedClock,
    settings: Settings,
    store: dict[str, str],
    rows: Rows,
) -> None:
    make_line(platform, "+96550001234")
    offer = _quote(api, store, package_code="kd5").json()
    clock.advance(seconds=settings.quote_ttl_seconds + 1)
    before = rows()

    response = _renew(api, store, {**CASH_KD5, "quote_id": offer["quote_id"]})

    assert response.status_code == 409
    assert response.json()["code"] == "quote_expired"
    assert rows() == before


def test_a_quote_for_another_package_is_refused(
    api: TestClient, platform: Platform, store: dict[str, str]
) -> None:
    make_line(platform, "+96550001234")
    offer = _quote(api, store, package_code="week").json()

    response = _renew(api, store, {**CASH_KD5, "quote_id": offer["quote_id"]})

    assert response.status_code == 409
    assert response.json()["code"] == "quote_expired"


def test_a_retry_with_the_same_key_answers_the_same_and_credits_once(
    api: TestClient, platform: Platform, store: dict[str, str], rows: Rows
) -> None:
    make_line(platform, "+96550001234", paid_fils=1000)

    first = _renew(api, store, CASH_KD5)
    after_first = rows()
    # The same request, the number spelt another way: still the same request.
    retry = _renew(api, store, {**CASH_KD5, "msisdn": "+965 5000 1234"})
    line = api.get("/api/v1/lines/50001234", headers=store).json()

    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry.headers["idempotent-replayed"] == "true"
    assert rows() == after_first
    assert after_first["renewals"] == 1
    assert line["balance_fils"] == 6000


def test_the_same_key_with_another_body_is_refused(
    api: TestClient, platform: Platform, store: dict[str, str], rows: Rows
) -> None:
    make_line(platform, "+96550001234")
    _renew(api, store, CASH_KD5)
    before = rows()

    response = _renew(api, store, {**CASH_KD5, "package_code": "kd10"})

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert rows() == before


def test_keys_belong_to_their_credential(
    api: TestClient, platform: Platform, store: dict[str, str], rows: Rows
) -> None:
    make_line(platform, "+96550001234")
    _, token = make_caller(platform, "store")
    other_store = {"Authorization": f"Bearer {token}"}

    first = _renew(api, store, CASH_KD5, key="shared")
    second = _renew(api, other_store, CASH_KD5, key="shared")

    assert first.status_code == second.status_code == 201
    assert first.json()["renewal_id"] != second.json()["renewal_id"]
    assert rows()["renewals"] == 2


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({}, "a missing key"),
        ({"Idempotency-Key": ""}, "an empty key"),
        ({"Idempotency-Key": "k" * 201}, "a key of 201 characters"),
        ({"Idempotency-Key": "tab\there"}, "a control character"),
    ],
)
def test_renewals_need_a_sensible_idempotency_key(
    api: TestClient,
    platform: Platform,
    store: dict[str, str],
    rows: Rows,
    headers: dict[str, str],
    problem: str,
) -> None:
    make_line(platform, "+96550001234")
    before = rows()

    response = api.post("/api/v1/renewals", headers={**store, **headers}, json=CASH_KD5)

    assert response.status_code == 422, problem
    assert response.json()["code"] == "validation_error"
    assert "Idempotency-Key" in response.json()["detail"]
    assert rows() == before


@pytest.mark.parametrize(
    ("line", "code", "status"),
    [
        ({"state": "recycled", "valid_for": -timedelta(days=60)}, "line_recycled", 409),
        ({"valid_for": -timedelta(days=8)}, "line_suspended", 409),
    ],
)
def test_recycled_and_suspended_lines_cannot_be_quoted_or_renewed(
    api: TestClient,
    platform: Platform,
    store: dict[str, str],
    rows: Rows,
    line: dict[str, Any],
    code: str,
    status: int,
) -> None:
    make_line(platform, "+96550001234", **line)
    before = rows()

    quote = _quote(api, store, package_code="kd5")
    renewal = _renew(api, store, CASH_KD5)

    for response in (quote, renewal):
        assert response.status_code == status
        assert response.json()["code"] == code
    assert rows() == before


@pytest.mark.parametrize("package", ["no-such-package", "app15", "visitor-week"])
def test_packages_not_sold_to_this_line_on_this_channel_are_refused(
    api: TestClient, platform: Platform, store: dict[str, str], rows: Rows, package: str
) -> None:
    # app15 is sold only in the app and on the web; visitor-week belongs to another plan.
    make_line(platform, "+96550001234", plan="prepaid")
    before = rows()

    quote = _quote(api, store, package_code=package)
    renewal = _renew(api, store, {**CASH_KD5, "package_code": package})

    for response in (quote, renewal):
        assert response.status_code == 422
        assert response.json()["code"] == "package_not_available"
    assert rows() == before


def test_the_network_may_not_quote_or_renew(
    api: TestClient, platform: Platform, network: dict[str, str], rows: Rows
) -> None:
    make_line(platform, "+96550001234")
    before = rows()

    quote = _quote(api, network, package_code="kd5")
    renewal = _renew(api, network, CASH_KD5)

    for response in (quote, renewal):
        assert response.status_code == 403
        assert response.json()["code"] == "not_allowed"
    assert rows() == before


def test_an_unknown_line_is_not_renewed(api: TestClient, store: dict[str, str], rows: Rows) -> None:
    before = rows()

    quote = _quote(api, store, package_code="kd5")
    renewal = _renew(api, store, CASH_KD5)

    for response in (quote, renewal):
        assert response.status_code == 404
        assert response.json()["code"] == "unknown_line"
    assert rows() == before


def test_renewals_need_a_token(api: TestClient, platform: Platform, rows: Rows) -> None:
    make_line(platform, "+96550001234")
    before = rows()

    response = _renew(api, {"Authorization": "Bearer srn_forged"}, CASH_KD5)

    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"
    assert rows() == before


def test_a_renewal_can_be_looked_up_by_id(
    api: TestClient, platform: Platform, store: dict[str, str], network: dict[str, str]
) -> None:
    make_line(platform, "+96550001234")
    done = _renew(api, store, CASH_KD5).json()

    found = api.get(f"/api/v1/renewals/{done['renewal_id']}", headers=store)
    missing = api.get("/api/v1/renewals/01937a2e-8c4b-7d2a-9f1e-3b5c6d7e8f90", headers=store)
    refused = api.get(f"/api/v1/renewals/{done['renewal_id']}", headers=network)

    assert found.status_code == 200
    assert found.json() == done
    assert missing.status_code == 404
    assert missing.json()["code"] == "unknown_renewal"
    assert refused.status_code == 403
