"""The composition root: builds the engine, units of work and adapters from settings.

Web, workers, CLI and tests all start here, so a fake (clock, SMS transport, gateway) is
swapped in at one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from simrenew.clock import Clock, SystemClock
from simrenew.db.session import UnitOfWork, make_engine, make_session_factory
from simrenew.payments.desk import PaymentDesk, PaymentLinks
from simrenew.settings import Settings


@dataclass
class Platform:
    """Everything a channel needs to call the services."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def payments(self) -> PaymentDesk:
        """The payment gateways and links, built on first use (tests may set their own)."""
        from simrenew.payments.gateways.factory import build_gateways  # loads httpx, crypto

        return PaymentDesk(
            gateways=build_gateways(self.settings),
            links=PaymentLinks(self.settings.public_url.rstrip("/")),
            timeout=timedelta(seconds=self.settings.payment_timeout_seconds),
        )

    def uow(self) -> UnitOfWork:
        """A fresh unit of work (one transaction)."""
        return UnitOfWork(self.session_factory)

    def database_answers(self) -> bool:
        """Whether the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # any failure means "not healthy"; the detail goes to logs
            return False
        return True

    def close(self) -> None:
        """Release the database connections and the gateways' HTTP connections."""
        desk = self.__dict__.get("payments")  # only when it was built
        if desk is not None:
            for gateway in desk.gateways.values():
                close = getattr(gateway, "close", None)
                if close is not None:
                    close()
        self.engine.dispose()


def build_platform(settings: Settings | None = None, *, clock: Clock | None = None) -> Platform:
    """Build the platform from settings (read from the environment when not given)."""
    settings = settings or Settings()
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url, pool_size=settings.db_pool_size)
    factory = make_session_factory(engine)
    return Platform(
        settings=settings, engine=engine, session_factory=factory, clock=clock or SystemClock()
    )
