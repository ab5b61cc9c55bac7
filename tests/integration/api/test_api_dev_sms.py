"""The development SMS viewer: what the log transport would send, newest first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from builders import load_demo_catalog, make_caller, make_line
from simrenew.bootstrap import Platform
from simrenew.clock import FixedClock
from simrenew.settings import Settings

if TYPE_CHECKING:
    from starlette.testclient import TestClient


@pytest.fixture
def dev(
    platform: Platform, settings: Settings, client_for: Callable[[Settings], TestClient]
) -> TestClient:
    """A client of the app in development mode, with the demo catalog loaded."""
    load_demo_catalog(platform)
    return client_for(settings.model_copy(update={"env": "development"}))


def _renew(client: TestClient, platform: Platform, msisdn: str, key: str) -> dict[str, Any]:
    _, token = make_caller(platform, "store")
    response = client.post(
        "/api/v1/renewals",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        json={"msisdn": msisdn, "package_code": "kd5", "payment": {"method": "cash"}},
    )
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


def test_the_confirmation_sms_states_receipt_credit_balance_and_end_date(
    dev: TestClient, platform: Platform
) -> None:
    make_line(platform, "+96550001234", paid_fils=1000, valid_for=timedelta(days=10))
    renewal = _renew(dev, platform, "50001234", "sms-1")

    response = dev.get(
        "/dev/sms", params={"to": "5000 1234"}, headers={"Accept": "application/json"}
    )

    assert response.status_code == 200
    messages = response.json()
    assert len(messages) == 1
    sms = messages[0]
    assert set(sms) >= {"to", "text", "language", "created_at", "state"}
    assert sms["to"] == "+96550001234"
    assert sms["language"] == "en"
    assert sms["created_at"].endswith("+03:00")
    assert renewal["receipt_no"] in sms["text"]
    assert "5.000 KWD credited" in sms["text"]
    assert "Balance 6.000 KWD" in sms["text"]
    assert "2027-01-04 12:00" in sms["text"]


def test_the_sms_is_in_the_subscribers_language(dev: TestClient, platform: Platform) -> None:
    make_line(platform, "+96550001234", paid_fils=1000, language="ar")
    renewal = _renew(dev, platform, "50001234", "sms-ar")

    sms = dev.get(
        "/dev/sms", params={"to": "+96550001234"}, headers={"Accept": "application/json"}
    ).json()[0]

    assert sms["language"] == "ar"
    assert "6.000 د.ك" in sms["text"]
    assert renewal["receipt_no"] in sms["text"]


def test_messages_are_listed_newest_first_and_filtered_by_number(
    dev: TestClient, platform: Platform, clock: FixedClock
) -> None:
    make_line(platform, "+96550001234", civil_id="288020122596")
    make_line(platform, "+96590001234", operator="bahar", civil_id="288020122596")
    _renew(dev, platform, "50001234", "a")
    clock.advance(minutes=1)
    _renew(dev, platform, "90001234", "b")
    clock.advance(minutes=1)
    _renew(dev, platform, "50001234", "c")

    everyone = dev.get("/dev/sms", headers={"Accept": "application/json"}).json()
    one = dev.get(
        "/dev/sms", params={"to": "0096550001234"}, headers={"Accept": "application/json"}
    ).json()

    assert [m["to"] for m in everyone] == ["+96550001234", "+96590001234", "+96550001234"]
    assert [m["to"] for m in one] == ["+96550001234", "+96550001234"]
    assert one[0]["created_at"] > one[1]["created_at"]


def test_the_html_page_lists_every_message_escaped(dev: TestClient, platform: Platform) -> None:
    make_line(platform, "+96550001234", paid_fils=1000)
    renewal = _renew(dev, platform, "50001234", "html")

    page = dev.get("/dev/sms")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert renewal["receipt_no"] in page.text
    assert "+96550001234" in page.text


def test_a_bad_number_filter_is_a_problem(dev: TestClient) -> None:
    response = dev.get("/dev/sms?to=hello", headers={"Accept": "application/json"})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_msisdn"


def test_there_is_no_sms_viewer_outside_development(api: TestClient) -> None:
    response = api.get("/dev/sms", headers={"Accept": "application/json"})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
