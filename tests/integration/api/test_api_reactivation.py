"""A suspended line is restored by a renewal only after its holder's ID is checked."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from builders import make_line
from simrenew.bootstrap import Platform
from simrenew.clock import FixedClock, to_kuwait
from simrenew.lines.models import LineHistory
from simrenew.notify.models import OutboxMessage

if TYPE_CHECKING:
    from starlette.testclient import TestClient

HOLDER = {"id_type": "civil_id", "id_number": "288020122596"}  # make_line's registration
SUSPENDED_FOR = -timedelta(days=8)  # Zahra prepaid: 7 grace days, then suspended


def _renew(api: TestClient, store: dict[str, str], key: str, **extra: Any) -> Any:
    body = {"msisdn": "50001234", "package_code": "kd10", "payment": {"method": "cash"}, **extra}
    return api.post("/api/v1/renewals", headers={**store, "Idempotency-Key": key}, json=body)


def test_a_suspended_line_is_refused_without_the_holders_id(
    api: TestClient, platform: Platform, store: dict[str, str]
) -> None:
    make_line(platform, "+96550001234", valid_for=SUSPENDED_FOR)
    answer = _renew(api, store, "k1")
    assert answer.status_code == 409
    assert answer.json()["code"] == "line_suspended"


def test_the_holders_id_reactivates_with_fresh_validity_history_and_sms(
    api: TestClient, platform: Platform, store: dict[str, str], clock: FixedClock
) -> None:
    make_line(platform, "+96550001234", valid_for=SUSPENDED_FOR)
    quote = api.post(
        "/api/v1/quotes",
        headers=store,
        json={"msisdn": "50001234", "package_code": "kd10", "reactivation": True},
    )
    assert quote.status_code == 200, quote.text
    answer = _renew(api, store, "k1", reactivation={**HOLDER, "id_number": "2880 2012 2596"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["state"] == "credited"
    assert body["valid_until"] == quote.json()["new_valid_until"]
    line = api.get("/api/v1/lines/50001234", headers=store).json()
    assert line["state"] == "active"
    assert line["reactivation_required"] is False
    # Validity starts again from now (kd10 gives Zahra prepaid 90 days), not from the old end.
    assert line["valid_until"] == to_kuwait(clock.now() + timedelta(days=90)).isoformat()
    with platform.uow() as uow:
        events = list(
            uow.session.scalars(
                select(LineHistory.event).where(LineHistory.renewal_id.is_not(None))
            )
        )
        templates = set(uow.session.scalars(select(OutboxMessage.template)))
    assert events == ["reactivation"]
    assert {"reactivation", "renewal_confirmation"} <= templates


def test_another_persons_id_is_refused_and_nothing_is_written(
    api: TestClient, platform: Platform, store: dict[str, str]
) -> None:
    make_line(platform, "+96550001234", paid_fils=700, valid_for=SUSPENDED_FOR)
    answer = _renew(api, store, "k1", reactivation={**HOLDER, "id_number": "227081660516"})
    assert answer.status_code == 422
    assert answer.json()["code"] == "identity_mismatch"
    malformed = _renew(api, store, "k2", reactivation={**HOLDER, "id_number": "123"})
    assert malformed.status_code == 422
    assert malformed.json()["code"] == "invalid_identity"
    line = api.get("/api/v1/lines/50001234", headers=store).json()
    assert (line["state"], line["balance_fils"]) == ("suspended", 700)


def test_an_id_given_for_a_line_that_is_not_suspended_is_an_ordinary_renewal(
    api: TestClient, platform: Platform, store: dict[str, str]
) -> None:
    make_line(platform, "+96550001234", valid_for=timedelta(days=3))
    answer = _renew(api, store, "k1", reactivation=HOLDER)
    assert answer.status_code == 201
    with platform.uow() as uow:
        events = list(
            uow.session.scalars(
                select(LineHistory.event).where(LineHistory.renewal_id.is_not(None))
            )
        )
    assert events == ["renewal"]


def test_a_recycled_line_cannot_be_reactivated(
    api: TestClient, platform: Platform, store: dict[str, str]
) -> None:
    make_line(platform, "+96550001234", valid_for=-timedelta(days=60))
    answer = _renew(api, store, "k1", reactivation=HOLDER)
    assert answer.status_code == 409
    assert answer.json()["code"] == "line_recycled"
