"""The catalog as the hot path reads it: an immutable in-process snapshot, reloaded on change.

A renewal needs the line's plan, the package, the operator's discounts and promotions and the
payment method. Reading them from the database on every renewal cost six statements; instead each
process keeps a snapshot per database and reloads it when the stored catalog version (read in the
same query that reads the line) differs from the snapshot's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ScalarSelect

from simrenew.catalog import repository
from simrenew.catalog.models import CatalogVersion
from simrenew.lines.rules import LifecyclePeriods
from simrenew.renewals.rules import FeeRule, PackageTerms, PromotionTerms

CATALOG_ROW = "catalog"


@dataclass(frozen=True)
class PlanTerms:
    operator_code: str
    code: str
    periods: LifecyclePeriods
    max_validity_days: int
    reminder_days: tuple[int, ...]  # ascending, positive, distinct


@dataclass(frozen=True)
class OperatorTerms:
    code: str
    name: str
    names: dict[str, str]
    channel_discounts: dict[str, Decimal]
    promotions: tuple[PromotionTerms, ...]
    colour: str  # the brand colour of the operator's pages
    # How subscribers renew or reach care, as the SMS name them.
    ussd_code: str
    web_url: str
    care_number: str

    def display_name(self, language: str) -> str:
        """The operator's name in a language (its main name when untranslated)."""
        return str(self.names.get(language) or self.name)


@dataclass(frozen=True)
class PackageOffer:
    name: str
    terms: PackageTerms
    names: dict[str, str] = field(default_factory=dict)

    def display_name(self, language: str) -> str:
        """The package's name in a language (its main name when untranslated)."""
        return str(self.names.get(language) or self.name)


@dataclass(frozen=True)
class MethodTerms:
    fee: FeeRule
    gateway: str | None
    channels: tuple[str, ...]


@dataclass(frozen=True)
class CatalogSnapshot:
    """Everything active in the catalog, keyed for lookups (retired entries are absent)."""

    version: str | None
    operators: dict[str, OperatorTerms]
    plans: dict[tuple[str, str], PlanTerms]
    packages: dict[tuple[str, str, str], PackageOffer]
    payment_methods: dict[str, MethodTerms]


_snapshots: WeakKeyDictionary[Engine, CatalogSnapshot] = WeakKeyDictionary()


def catalog_version_query() -> ScalarSelect[str]:
    """A scalar subquery of the stored catalog version (to read along with a line)."""
    return (
        select(CatalogVersion.version).where(CatalogVersion.name == CATALOG_ROW).scalar_subquery()
    )


def catalog_for(session: Session, version: str | None) -> CatalogSnapshot:
    """The snapshot of the catalog at `version`, reloaded only when the version changed."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)  # noqa: S101 - sessions are bound to one engine
    snapshot = _snapshots.get(engine)
    if snapshot is None or version is None or snapshot.version != version:
        snapshot = read_snapshot(session, version)
        if version is not None:
            _snapshots[engine] = snapshot
    return snapshot


def current_catalog(session: Session) -> CatalogSnapshot:
    """The catalog as stored now (cached while its version stays the same)."""
    return catalog_for(session, session.scalar(select(catalog_version_query())))


def read_snapshot(session: Session, version: str | None) -> CatalogSnapshot:
    """Read the active catalog from the database."""
    promotions: dict[str, list[PromotionTerms]] = {}
    for p in repository.list_promotions(session):
        promotions.setdefault(p.operator_code, []).append(
            PromotionTerms(
                code=p.code,
                kind=p.kind,
                bonus_percent=p.bonus_percent,
                discount_fils=p.discount_fils,
                spend_fils=p.spend_fils,
                save_fils=p.save_fils,
                channels=None if p.channels is None else tuple(p.channels),
                packages=None if p.packages is None else tuple(p.packages),
                plans=None if p.plans is None else tuple(p.plans),
                starts_at=p.starts_at,
                ends_at=p.ends_at,
                per_line_limit=p.per_line_limit,
                bonus_validity_days=p.bonus_validity_days,
            )
        )
    return CatalogSnapshot(
        version=version,
        operators={
            op.code: OperatorTerms(
                code=op.code,
                name=op.name,
                names=dict(op.names),
                channel_discounts={k: Decimal(str(v)) for k, v in op.channel_discounts.items()},
                promotions=tuple(promotions.get(op.code, ())),
                colour=op.colour,
                ussd_code=op.ussd_code,
                web_url=op.web_url,
                care_number=op.care_number,
            )
            for op in repository.list_operators(session)
        },
        plans={
            (plan.operator_code, plan.code): PlanTerms(
                operator_code=plan.operator_code,
                code=plan.code,
                periods=plan.periods(),
                max_validity_days=plan.max_validity_days,
                reminder_days=tuple(sorted({d for d in plan.reminder_days if d > 0})),
            )
            for plan in repository.list_plans(session, active_only=False)
        },
        packages={
            (pk.operator_code, pk.plan_code, pk.code): PackageOffer(
                name=pk.name,
                names=dict(pk.names or {}),
                terms=PackageTerms(
                    code=pk.code,
                    price_fils=pk.price_fils,
                    credit_fils=pk.credit_fils,
                    validity_days=pk.validity_days,
                    channels=tuple(pk.channels),
                ),
            )
            for pk in repository.list_packages(session)
        },
        payment_methods={
            pm.method: MethodTerms(
                fee=FeeRule(
                    method=pm.method,
                    fee_fixed_fils=pm.fee_fixed_fils,
                    fee_percent=Decimal(pm.fee_percent),
                ),
                gateway=pm.gateway,
                channels=tuple(pm.channels),
            )
            for pm in repository.list_payment_methods(session)
        },
    )
