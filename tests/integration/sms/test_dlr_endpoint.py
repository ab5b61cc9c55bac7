"""GET /sms/dlr/kannel: Kannel's delivery reports, checked by token, recorded once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from integration.sms.conftest import AddMessage, FakeTransport, Row
from simrenew.bootstrap import Platform
from simrenew.notify.service import drain_outbox
from simrenew.notify.sms.kannel import dlr_token
from simrenew.web.app import build_app


@pytest.fixture
def client(platform: Platform) -> TestClient:
    """The app over the test platform."""
    return TestClient(build_app(platform.settings, platform=platform))


@pytest.fixture
def token(platform: Platform) -> str:
    """The token Kannel's dlr-url carries."""
    return dlr_token(platform.settings.resolved_secret_key())


def test_a_report_is_recorded_on_its_row_once(
    platform: Platform,
    client: TestClient,
    token: str,
    add_message: AddMessage,
    fake_transport: FakeTransport,
    outbox_row: Row,
) -> None:
    message_id = add_message()
    drain_outbox(platform.uow(), fake_transport, clock=platform.clock)
    ts = 1795624140
    query = {"id": message_id, "token": token, "status": 1, "ts": ts}

    first = client.get("/sms/dlr/kannel", params=query)
    again = client.get("/sms/dlr/kannel", params=query)

    assert first.status_code == 200, first.text
    assert first.json() == {"id": message_id, "delivery_state": "delivered", "changed": True}
    assert again.json()["changed"] is False
    row = outbox_row(message_id)
    assert (row.delivery_state, row.delivered_at) == ("delivered", datetime.fromtimestamp(ts, UTC))


def test_kannel_status_codes_map_to_delivery_states(
    platform: Platform, client: TestClient, token: str, add_message: AddMessage, outbox_row: Row
) -> None:
    expected = {8: "accepted", 4: "buffered", 16: "rejected", 2: "failed"}
    for status, state in expected.items():
        message_id = add_message()
        answer = client.get(
            "/sms/dlr/kannel", params={"id": message_id, "token": token, "status": status}
        )
        assert answer.status_code == 200, answer.text
        assert outbox_row(message_id).delivery_state == state


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"token": "wrong", "status": 1}, 401, "bad_signature"),
        ({"status": 1}, 401, "bad_signature"),
        ({"status": 3, "token": None}, 422, "validation_error"),
        ({"status": "x", "token": None}, 422, "validation_error"),
    ],
)
def test_bad_reports_are_refused_and_change_nothing(
    platform: Platform,
    client: TestClient,
    token: str,
    add_message: AddMessage,
    outbox_row: Row,
    params: dict[str, object],
    status: int,
    code: str,
) -> None:
    message_id = add_message()
    query = {"id": message_id, **{k: (token if v is None else v) for k, v in params.items()}}

    answer = client.get("/sms/dlr/kannel", params=query)

    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert answer.headers["content-type"] == "application/problem+json"
    assert outbox_row(message_id).delivery_state is None


def test_a_report_for_an_unknown_message_is_404(client: TestClient, token: str) -> None:
    answer = client.get("/sms/dlr/kannel", params={"id": "nope", "token": token, "status": 1})

    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
