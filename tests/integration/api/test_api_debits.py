"""Usage debits from the network: bonus first, once per charge, never overdrawn."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from builders import make_line
from simrenew.bootstrap import Platform

if TYPE_CHECKING:
    from starlette.testclient import TestClient

Rows = Callable[[], dict[str, int]]


def _debit(
    api: TestClient, headers: dict[str, str], amount: Any, charge_id: str = "ocs-1", **extra: Any
) -> Any:
    return api.post(
        "/api/v1/lines/50001234/debits",
        headers=headers,
        json={"charge_id": charge_id, "amount_fils": amount, "kind": "voice", **extra},
    )


def test_a_debit_spends_the_bonus_first(
    api: TestClient, platform: Platform, network: dict[str, str], store: dict[str, str]
) -> None:
    make_line(platform, "+96550001234", paid_fils=5000, bonus_fils=1000)

    response = _debit(api, network, 1500)
    line = api.get("/api/v1/lines/50001234", headers=store).json()

    assert response.status_code == 200
    debit = response.json()
    assert debit["msisdn"] == "+96550001234"
    assert (debit["from_bonus_fils"], debit["from_paid_fils"]) == (1000, 500)
    assert debit["balance_fils"] == 4500
    assert (line["balance_fils"], line["bonus_fils"], line["paid_fils"]) == (4500, 0, 4500)


def test_a_repeated_charge_id_is_not_debited_again(
    api: TestClient, platform: Platform, network: dict[str, str], store: dict[str, str], rows: Rows
) -> None:
    make_line(platform, "+96550001234", paid_fils=5000)

    first = _debit(api, network, 700)
    after_first = rows()
    again = _debit(api, network, 700)
    line = api.get("/api/v1/lines/50001234", headers=store).json()

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert rows() == after_first
    assert line["balance_fils"] == 4300


def test_a_charge_id_reported_again_with_another_amount_is_refused(
    api: TestClient, platform: Platform, network: dict[str, str], rows: Rows
) -> None:
    make_line(platform, "+96550001234", paid_fils=5000)
    _debit(api, network, 700)
    before = rows()

    response = _debit(api, network, 900)

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert rows() == before


def test_more_than_the_balance_is_refused_and_nothing_is_taken(
    api: TestClient, platform: Platform, network: dict[str, str], store: dict[str, str], rows: Rows
) -> None:
    make_line(platform, "+96550001234", paid_fils=1000, bonus_fils=200)
    before = rows()

    response = _debit(api, network, 1201)

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_balance"
    assert rows() == before
    assert api.get("/api/v1/lines/50001234", headers=store).json()["balance_fils"] == 1200


def test_a_line_in_grace_is_barred_from_outgoing_usage(
    api: TestClient, platform: Platform, network: dict[str, str], rows: Rows
) -> None:
    make_line(platform, "+96550001234", paid_fils=5000, valid_for=-timedelta(hours=1))
    before = rows()

    response = _debit(api, network, 100)

    assert response.status_code == 409
    assert response.json()["code"] == "line_not_active"
    assert rows() == before


def test_a_suspended_line_is_refused_with_its_own_code(
    api: TestClient, platform: Platform, network: dict[str, str]
) -> None:
    make_line(platform, "+96550001234", paid_fils=5000, valid_for=-timedelta(days=8))

    response = _debit(api, network, 100)

    assert response.status_code == 409
    assert response.json()["code"] == "line_suspended"


def test_only_the_network_may_debit(
    api: TestClient, platform: Platform, store: dict[str, str], partner: dict[str, str], rows: Rows
) -> None:
    make_line(platform, "+96550001234", paid_fils=5000)
    before = rows()

    for headers in (store, partner):
        response = _debit(api, headers, 100)
        assert response.status_code == 403
        assert response.json()["code"] == "not_allowed"
    assert rows() == before


def test_a_debit_on_an_unknown_line_is_refused(
    api: TestClient, network: dict[str, str], rows: Rows
) -> None:
    before = rows()

    response = _debit(api, network, 100)

    assert response.status_code == 404
    assert response.json()["code"] == "unknown_line"
    assert rows() == before
