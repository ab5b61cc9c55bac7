"""The catalog as clients see it: operators with plans and packages, payment methods per channel."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from builders import DEMO_CATALOG
from simrenew.bootstrap import Platform
from simrenew.catalog.rules import IN_PERSON_METHODS, read_catalog_file

if TYPE_CHECKING:
    from starlette.testclient import TestClient


def test_operators_list_plans_and_packages_with_the_contract_fields(api: TestClient) -> None:
    response = api.get("/api/v1/operators")

    assert response.status_code == 200
    operators = {op["code"]: op for op in response.json()}
    assert {"zahra", "najm", "bahar"} <= set(operators)
    zahra = operators["zahra"]
    assert zahra["name"] == "Zahra Telecom"
    assert zahra["number_prefixes"]
    assert all(isinstance(prefix, str) for prefix in zahra["number_prefixes"])
    for plan in zahra["plans"]:
        assert set(plan) >= {
            "code",
            "name",
            "grace_days",
            "suspension_days",
            "recycle_days",
            "max_validity_days",
            "reminder_days",
            "packages",
        }
        assert plan["reminder_days"] == sorted(plan["reminder_days"], reverse=True)
        for package in plan["packages"]:
            assert set(package) >= {"code", "name", "price_fils", "validity_days", "channels"}
            assert isinstance(package["price_fils"], int)
    prepaid = next(plan for plan in zahra["plans"] if plan["code"] == "prepaid")
    kd5 = next(package for package in prepaid["packages"] if package["code"] == "kd5")
    assert kd5["price_fils"] == 5000
    assert kd5["price_display"] == "5.000 KWD"
    assert "store" in kd5["channels"]


def test_operator_names_and_prices_follow_the_callers_language(api: TestClient) -> None:
    arabic = {op["code"]: op for op in api.get("/api/v1/operators?lang=ar").json()}
    chinese = {
        op["code"]: op
        for op in api.get("/api/v1/operators", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).json()
    }

    assert arabic["zahra"]["name"] == "زهرة للاتصالات"
    prepaid = next(plan for plan in arabic["zahra"]["plans"] if plan["code"] == "prepaid")
    kd5 = next(package for package in prepaid["packages"] if package["code"] == "kd5")
    assert kd5["price_display"] == "٥٫٠٠٠ د.ك"
    assert chinese["zahra"]["name"] == "扎赫拉电信"


def _expected_methods(channel: str) -> set[str]:
    spec = read_catalog_file(DEMO_CATALOG)
    return {pm.method for pm in spec.payment_methods if channel in pm.channels}


@pytest.mark.parametrize("channel", ["store", "partner"])
def test_payment_methods_are_an_array_of_the_callers_channel_methods(
    api: TestClient, platform: Platform, channel: str, request: pytest.FixtureRequest
) -> None:
    headers: dict[str, str] = request.getfixturevalue(channel)

    response = api.get("/api/v1/payment-methods", headers=headers)

    assert response.status_code == 200
    methods = response.json()
    assert isinstance(methods, list)
    assert {m["method"] for m in methods} == _expected_methods(channel)
    for method in methods:
        assert set(method) >= {"method", "gateway", "fee_fixed_fils", "fee_percent"}
        assert isinstance(method["fee_fixed_fils"], int)
        assert isinstance(method["fee_percent"], str)
        assert channel in method["channels"]


def test_in_person_methods_have_no_gateway_and_online_ones_have_one(
    api: TestClient, store: dict[str, str], partner: dict[str, str]
) -> None:
    at_store = api.get("/api/v1/payment-methods", headers=store).json()
    online = api.get("/api/v1/payment-methods", headers=partner).json()

    assert {"cash", "till"} <= {m["method"] for m in at_store}
    assert "card" in {m["method"] for m in online}
    for method in at_store + online:
        assert (method["gateway"] is None) == (method["method"] in IN_PERSON_METHODS)


def test_payment_methods_need_a_valid_token(api: TestClient) -> None:
    missing = api.get("/api/v1/payment-methods")
    wrong = api.get("/api/v1/payment-methods", headers={"Authorization": "Bearer srn_nope"})
    basic = api.get("/api/v1/payment-methods", headers={"Authorization": "Basic dXNlcjpwdw=="})

    for response in (missing, wrong, basic):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["code"] == "unauthenticated"
