"""A line's status and history as staff channels see them, whatever the number's spelling."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from builders import make_line
from simrenew.bootstrap import Platform
from simrenew.clock import FixedClock

if TYPE_CHECKING:
    from starlette.testclient import TestClient

SPELLINGS = ["+96550001234", "0096550001234", "50001234", "5000 1234", "5000-1234", "٥٠٠٠١٢٣٤"]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_line_status_has_the_contract_fields_for_every_spelling(
    api: TestClient, platform: Platform, store: dict[str, str], spelling: str
) -> None:
    make_line(platform, "+96550001234", paid_fils=12500, valid_for=timedelta(days=10))

    response = api.get(f"/api/v1/lines/{spelling}", headers=store)

    assert response.status_code == 200
    line = response.json()
    assert line["msisdn"] == "+96550001234"
    assert line["operator"] == "zahra"
    assert line["plan"] == "prepaid"
    assert line["state"] == "active"
    assert line["balance_fils"] == 12500
    assert line["balance_display"] == "12.500 KWD"
    # The clock stands at 09:00 UTC: ten days later, shown in Kuwait time.
    assert line["valid_until"] == "2026-12-05T12:00:00+03:00"
    assert line["days_left"] == 10
    assert line["reactivation_required"] is False


def test_a_line_whose_validity_ended_an_hour_ago_is_in_grace_without_any_sweep(
    api: TestClient, platform: Platform, store: dict[str, str]
) -> None:
    make_line(platform, "+96550001234", state="active", valid_for=timedelta(hours=-1))

    line = api.get("/api/v1/lines/50001234", headers=store).json()

    assert line["state"] == "grace"
    assert line["days_left"] == 0
    assert line["reactivation_required"] is False


def test_a_suspended_line_says_reactivation_is_required(
    api: TestClient, platform: Platform, store: dict[str, str]
) -> None:
    # Zahra prepaid has 7 grace days: a day past them the line is suspended.
    make_line(platform, "+96550001234", valid_for=-timedelta(days=8))

    line = api.get("/api/v1/lines/50001234", headers=store).json()

    assert line["state"] == "suspended"
    assert line["reactivation_required"] is True


def test_the_balance_counts_the_bonus_until_it_expires(
    api: TestClient, platform: Platform, clock: FixedClock, store: dict[str, str]
) -> None:
    make_line(platform, paid_fils=3000, bonus_fils=2000, bonus_expires_in=timedelta(days=2))

    before = api.get("/api/v1/lines/50001234", headers=store).json()
    clock.advance(days=3)
    after = api.get("/api/v1/lines/50001234", headers=store).json()

    assert (before["balance_fils"], before["bonus_fils"]) == (5000, 2000)
    assert (after["balance_fils"], after["bonus_fils"]) == (3000, 0)


def test_unknown_and_invalid_numbers_are_told_apart(api: TestClient, store: dict[str, str]) -> None:
    unknown = api.get("/api/v1/lines/50009999", headers=store)
    landline = api.get("/api/v1/lines/22001234", headers=store)
    letters = api.get("/api/v1/lines/5000ABCD", headers=store)

    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_line"
    for invalid in (landline, letters):
        assert invalid.status_code == 422
        assert invalid.headers["content-type"] == "application/problem+json"
        assert invalid.json()["code"] == "invalid_msisdn"


def test_the_network_may_not_read_lines_and_learns_nothing_about_them(
    api: TestClient, platform: Platform, network: dict[str, str]
) -> None:
    make_line(platform, "+96550001234")

    known = api.get("/api/v1/lines/50001234", headers=network)
    unknown = api.get("/api/v1/lines/50009999", headers=network)
    history = api.get("/api/v1/lines/50009999/history", headers=network)

    assert known.status_code == unknown.status_code == history.status_code == 403
    assert known.json() == unknown.json() == history.json()
    assert known.json()["code"] == "not_allowed"


def test_reading_a_line_needs_a_token(api: TestClient, platform: Platform) -> None:
    make_line(platform, "+96550001234")

    response = api.get("/api/v1/lines/50001234")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "balance_fils" not in response.text


def _renew(api: TestClient, headers: dict[str, str], key: str) -> None:
    response = api.post(
        "/api/v1/renewals",
        headers={**headers, "Idempotency-Key": key},
        json={"msisdn": "50001234", "package_code": "week", "payment": {"method": "cash"}},
    )
    assert response.status_code == 201, response.text


def test_history_pages_newest_first_with_a_cursor(
    api: TestClient, platform: Platform, clock: FixedClock, store: dict[str, str]
) -> None:
    make_line(platform, "+96550001234")
    for number in range(4):
        clock.advance(minutes=5)
        _renew(api, store, f"history-{number}")

    first = api.get("/api/v1/lines/+96550001234/history?limit=2", headers=store).json()
    second = api.get(
        "/api/v1/lines/50001234/history",
        params={"limit": 2, "cursor": first["next_cursor"]},
        headers=store,
    ).json()
    third = api.get(
        "/api/v1/lines/50001234/history",
        params={"limit": 2, "cursor": second["next_cursor"]},
        headers=store,
    ).json()

    items = first["items"] + second["items"] + third["items"]
    assert [len(page["items"]) for page in (first, second, third)] == [2, 2, 1]
    assert third["next_cursor"] is None
    assert [item["event"] for item in items] == ["renewal"] * 4 + ["import"]
    assert len({item["id"] for item in items}) == 5
    times = [item["at"] for item in items]
    assert times == sorted(times, reverse=True)
    assert items[0]["at"].endswith("+03:00")
    assert items[0]["details"]["receipt_no"]


def test_history_refuses_a_forged_cursor_and_a_silly_limit(
    api: TestClient, platform: Platform, store: dict[str, str]
) -> None:
    make_line(platform, "+96550001234")

    forged = api.get("/api/v1/lines/50001234/history?cursor=not-a-cursor", headers=store)
    too_many = api.get("/api/v1/lines/50001234/history?limit=100000", headers=store)
    words = api.get("/api/v1/lines/50001234/history?limit=ten", headers=store)

    for response in (forged, too_many, words):
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
    assert too_many.json()["errors"][0]["field"] == "limit"


def test_a_recycled_line_shows_no_balance(
    api: TestClient, platform: Platform, store: dict[str, str], clock: FixedClock
) -> None:
    """Recycling forfeits the balance: the status says 0 even before a sweep writes it."""
    make_line(platform, "+96550007777", paid_fils=4_000, valid_for=timedelta(days=1))
    clock.advance(days=400)
    body = api.get("/api/v1/lines/50007777", headers=store).json()
    assert body["state"] == "recycled"
    assert body["balance_fils"] == 0
    assert body["reactivation_required"] is False
