"""API test fixtures: the app over the test platform with the demo catalog, and credentials."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from builders import load_demo_catalog, make_caller
from simrenew.bootstrap import Platform
from simrenew.notify.models import OutboxMessage
from simrenew.renewals.models import LedgerEntry, Quote, Receipt, Renewal
from simrenew.settings import Settings
from simrenew.web.app import build_app

Rows = Callable[[], dict[str, int]]


@pytest.fixture
def client_class() -> type[TestClient]:
    """The TestClient class (a fixture so tests need not import it themselves)."""
    return TestClient


@pytest.fixture
def client_for(
    platform: Platform, client_class: type[TestClient]
) -> Callable[[Settings], TestClient]:
    """Build a client for an app with given settings over the test platform."""

    def build(settings: Settings) -> TestClient:
        return client_class(build_app(settings, platform=platform))

    return build


@pytest.fixture
def api(
    platform: Platform, settings: Settings, client_for: Callable[[Settings], TestClient]
) -> TestClient:
    """A client of the app over the test platform, with the demo catalog loaded."""
    load_demo_catalog(platform)
    return client_for(settings)


def _bearer(platform: Platform, channel: str) -> dict[str, str]:
    _, token = make_caller(platform, channel)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def store(platform: Platform) -> dict[str, str]:
    """Headers of a store credential."""
    return _bearer(platform, "store")


@pytest.fixture
def partner(platform: Platform) -> dict[str, str]:
    """Headers of a partner credential."""
    return _bearer(platform, "partner")


@pytest.fixture
def network(platform: Platform) -> dict[str, str]:
    """Headers of the network's charging system credential."""
    return _bearer(platform, "network")


@pytest.fixture
def rows(platform: Platform) -> Rows:
    """Count the rows money and messages leave behind, to prove a request wrote nothing."""

    def count() -> dict[str, int]:
        with platform.engine.connect() as conn:
            return {
                model.__tablename__: conn.execute(
                    select(func.count()).select_from(model)
                ).scalar_one()
                for model in (Renewal, LedgerEntry, Receipt, Quote, OutboxMessage)
            }

    return count
