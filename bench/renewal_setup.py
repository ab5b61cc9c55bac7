"""The renewal benchmark's database (demo catalog, numbered lines) and one store renewal."""

from __future__ import annotations

import random
import tempfile
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

import simrenew.catalog
from simrenew.bootstrap import Platform, build_platform
from simrenew.catalog import repository as catalog_repository
from simrenew.catalog.rules import read_catalog_file
from simrenew.catalog.service import load_catalog
from simrenew.db.migrate import upgrade
from simrenew.ids import new_id
from simrenew.lines.models import Customer, Line, LineHistory
from simrenew.renewals.models import LedgerEntry
from simrenew.renewals.service import RenewalRequest, credit_renewal
from simrenew.settings import Settings
from simrenew.staff.rules import Caller
from simrenew.staff.service import authenticate, create_credential

DEMO_CATALOG = Path(simrenew.catalog.__file__).parent / "demo" / "demo.yaml"


WARMUP_RENEWALS = 20  # per client, before the clock starts: connections, compiled-SQL caches


@dataclass(frozen=True)
class Target:
    """A line the benchmark renews and the packages a store sells on its plan."""

    msisdn: str
    packages: tuple[str, ...]


def bench_platform(url: str, *, pool_size: int) -> Platform:
    """The platform exactly as bootstrap builds it for production, on the bench database."""
    settings = Settings(
        env="production",
        database_url=url,
        secret_key="bench-not-a-secret",  # noqa: S106 - nothing is signed in this benchmark
        db_pool_size=pool_size,
        data_dir=Path(tempfile.gettempdir()) / "simrenew-bench",
    )
    return build_platform(settings)


def line_msisdn(n: int) -> str:
    """The bench's n-th line: +96550000000, +96550000001, ... (as renewal_replay.sql builds it)."""
    return f"+9655{n:07d}"


def load_lines(platform: Platform, count: int, *, seed: int) -> list[Target]:
    """Bulk-insert `count` registered lines with opening balances whose ledger rows agree."""
    rng = random.Random(seed)
    now = platform.clock.now()
    with platform.uow() as uow:
        session = uow.session
        store_packages: dict[tuple[str, str], tuple[str, ...]] = {}
        for package in catalog_repository.list_packages(session):
            if "store" in package.channels:
                key = (package.operator_code, package.plan_code)
                store_packages[key] = (*store_packages.get(key, ()), package.code)
    plans = sorted(store_packages)
    if not plans:
        raise RuntimeError("the demo catalog sells no package at the store")

    customers: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    ledger: list[dict[str, Any]] = []
    targets: list[Target] = []
    for i in range(count):
        operator_code, plan_code = plans[i % len(plans)]
        # Numbered, so that pgbench's replay can pick a random line (numbers are portable: the
        # registry, not the prefix, says which operator a line belongs to).
        msisdn = line_msisdn(i)
        customer_id = new_id()
        customers.append(
            {
                "id": customer_id,
                "id_type": "civil_id",
                "id_number": f"2{i:011d}",
                "name": f"Bench Subscriber {i}",
                "nationality": None,
                "language": rng.choice(("en", "en", "ar", "zh")),
                "created_at": now,
            }
        )
        paid = rng.randrange(0, 5_000)
        bonus = rng.randrange(500, 2_000) if rng.random() < 0.25 else 0
        # Some validities ended a day or two ago (inside every plan's grace period), so renewals
        # also record late transitions; some bonuses have expired and are written off.
        valid_until = now + timedelta(hours=rng.uniform(-48, 30 * 24))
        bonus_expires_at = now + timedelta(days=rng.uniform(-5, 30)) if bonus else None
        lines.append(
            {
                "msisdn": msisdn,
                "iccid": None,
                "operator_code": operator_code,
                "plan_code": plan_code,
                "customer_id": customer_id,
                "state": "active",
                "state_since": now - timedelta(days=30),
                "valid_until": valid_until,
                "balance_fils": paid + bonus,
                "paid_fils": paid,
                "bonus_fils": bonus,
                "bonus_expires_at": bonus_expires_at,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        history.append(
            {
                "id": new_id(),
                "msisdn": msisdn,
                "at": now,
                "event": "import",
                "from_state": None,
                "to_state": "active",
                "renewal_id": None,
                "details": {},
            }
        )
        for bucket, amount, after in (("paid", paid, paid), ("bonus", bonus, paid + bonus)):
            if amount:
                ledger.append(
                    {
                        "id": new_id(),
                        "msisdn": msisdn,
                        "at": now,
                        "bucket": bucket,
                        "kind": "opening_balance",
                        "amount_fils": amount,
                        "balance_after_fils": after,
                        "renewal_id": None,
                        "charge_id": None,
                        "charge_kind": None,
                    }
                )
        targets.append(Target(msisdn, store_packages[(operator_code, plan_code)]))

    with platform.uow() as uow:
        session = uow.session
        for model, rows in (
            (Customer, customers),
            (Line, lines),
            (LineHistory, history),
            (LedgerEntry, ledger),
        ):
            for start in range(0, len(rows), 5_000):
                session.execute(insert(model), rows[start : start + 5_000])
        uow.commit()
    return targets


def set_up(url: str, lines: int, *, seed: int) -> tuple[Caller, list[Target]]:
    """Migrate, load the demo catalog and the lines, make a store credential."""
    upgrade(url)
    platform = bench_platform(url, pool_size=1)
    try:
        load_catalog(platform.uow(), read_catalog_file(DEMO_CATALOG), clock=platform.clock)
        targets = load_lines(platform, lines, seed=seed)
        _, token = create_credential(
            platform.uow(), "store", "bench store", clock=platform.clock, actor="bench"
        )
        caller = authenticate(platform.uow(), token)
        # Fresh statistics, as pgbench vacuums its tables before each run.
        with platform.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    finally:
        platform.close()
    return caller, targets


def renew_once(platform: Platform, caller: Caller, target: Target, package: str) -> None:
    """One renewal at a store, paid in cash, under a key never used before."""
    body = {"msisdn": target.msisdn, "package_code": package, "payment_method": "cash"}
    request = RenewalRequest(
        msisdn=target.msisdn,
        package_code=package,
        payment_method="cash",
        idempotency_key=str(uuid.uuid4()),
        body=body,
    )
    outcome = credit_renewal(platform.uow(), caller, request, clock=platform.clock)
    if outcome.replayed:  # a fresh key can never replay
        raise AssertionError(f"fresh key replayed: {request.idempotency_key}")
