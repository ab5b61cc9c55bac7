"""Catalog use cases: load a catalog file into the database, show operators and payment methods."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from simrenew.catalog import repository
from simrenew.catalog.models import (
    CatalogVersion,
    Operator,
    Package,
    PaymentMethod,
    Plan,
    Promotion,
)
from simrenew.catalog.snapshot import CATALOG_ROW
from simrenew.catalog.specs import CatalogSpec
from simrenew.clock import Clock, to_kuwait
from simrenew.db.session import UnitOfWork
from simrenew.ids import new_id
from simrenew.money import format_fils


@dataclass
class CatalogLoadSummary:
    operators: int = 0
    plans: int = 0
    packages: int = 0
    promotions: int = 0
    payment_methods: int = 0
    retired: list[str] = field(default_factory=list)


def load_catalog(uow: UnitOfWork, spec: CatalogSpec, *, clock: Clock) -> CatalogLoadSummary:
    """Make the stored catalog equal the file in one transaction; what it drops is retired."""
    summary = CatalogLoadSummary()
    now = clock.now()
    with uow:
        session = uow.session
        # Retire everything first, then revive what the file names: rows are never deleted,
        # because past renewals and lines refer to their codes.
        for model in (Plan, Package, Promotion, PaymentMethod):
            session.execute(update(model).values(active=False))
        for op in spec.operators:
            operator = session.get(Operator, op.code) or Operator(code=op.code)
            operator.name = op.name
            operator.names = dict(op.names)
            operator.colour = op.colour
            operator.ussd_code = op.ussd_code
            operator.web_url = op.web_url
            operator.care_number = op.care_number
            operator.number_prefixes = list(op.number_prefixes)
            operator.channel_discounts = {k: str(v) for k, v in op.channel_discounts.items()}
            operator.updated_at = now
            session.add(operator)
            session.flush()
            summary.operators += 1
            for pl in op.plans:
                plan = session.get(Plan, (op.code, pl.code)) or Plan(
                    operator_code=op.code, code=pl.code
                )
                plan.name = pl.name
                plan.grace_days = pl.grace_days
                plan.suspension_days = pl.suspension_days
                plan.recycle_days = pl.recycle_days
                plan.max_validity_days = pl.max_validity_days
                plan.reminder_days = list(pl.reminder_days)
                plan.active = True
                session.add(plan)
                session.flush()
                summary.plans += 1
                for pk in pl.packages:
                    package = session.get(Package, (op.code, pl.code, pk.code)) or Package(
                        operator_code=op.code, plan_code=pl.code, code=pk.code
                    )
                    package.name = pk.name
                    package.names = dict(pk.names)
                    package.price_fils = pk.price_fils
                    package.credit_fils = pk.credit_fils
                    package.validity_days = pk.validity_days
                    package.channels = list(pk.channels)
                    package.active = True
                    session.add(package)
                    summary.packages += 1
            for pr in op.promotions:
                promotion = session.get(Promotion, (op.code, pr.code)) or Promotion(
                    operator_code=op.code, code=pr.code
                )
                promotion.name = pr.name
                promotion.kind = pr.kind
                promotion.bonus_percent = pr.bonus_percent
                promotion.discount_fils = pr.discount_fils
                promotion.spend_fils = pr.spend_fils
                promotion.save_fils = pr.save_fils
                promotion.channels = None if pr.channels is None else list(pr.channels)
                promotion.packages = None if pr.packages is None else list(pr.packages)
                promotion.plans = None if pr.plans is None else list(pr.plans)
                promotion.starts_at = pr.starts_at
                promotion.ends_at = pr.ends_at
                promotion.per_line_limit = pr.per_line_limit
                promotion.bonus_validity_days = pr.bonus_validity_days
                promotion.active = True
                session.add(promotion)
                summary.promotions += 1
        for pm in spec.payment_methods:
            method = session.get(PaymentMethod, pm.method) or PaymentMethod(method=pm.method)
            method.gateway = pm.gateway
            method.fee_fixed_fils = pm.fee_fixed_fils
            method.fee_percent = pm.fee_percent
            method.channels = list(pm.channels)
            method.active = True
            session.add(method)
            summary.payment_methods += 1
        version = session.get(CatalogVersion, CATALOG_ROW) or CatalogVersion(name=CATALOG_ROW)
        version.version = new_id()  # every load a new token: running processes reload
        version.loaded_at = now
        session.add(version)
        session.flush()
        summary.retired = [
            f"{p.operator_code}/{p.plan_code}/{p.code}"
            for p in repository.list_packages(session, active_only=False)
            if not p.active
        ]
        uow.commit()
    return summary


def catalog_is_empty(uow: UnitOfWork) -> bool:
    """Whether no operator has been loaded yet (first start)."""
    with uow:
        return not repository.list_operators(uow.session)


def describe_operators(uow: UnitOfWork, *, language: str = "en") -> list[dict[str, Any]]:
    """Operators with their plans and packages, as the API shows them."""
    with uow:
        session = uow.session
        plans = repository.list_plans(session)
        packages = repository.list_packages(session)
        promotions = repository.list_promotions(session)
        result = []
        for op in repository.list_operators(session):
            op_plans = []
            for plan in (p for p in plans if p.operator_code == op.code):
                op_plans.append(
                    {
                        "code": plan.code,
                        "name": plan.name,
                        "grace_days": plan.grace_days,
                        "suspension_days": plan.suspension_days,
                        "recycle_days": plan.recycle_days,
                        "max_validity_days": plan.max_validity_days,
                        "reminder_days": list(plan.reminder_days),
                        "packages": [
                            {
                                "code": pk.code,
                                "name": pk.name,
                                "price_fils": pk.price_fils,
                                "price_display": format_fils(pk.price_fils, language),
                                "credit_fils": pk.credit_fils,
                                "validity_days": pk.validity_days,
                                "channels": list(pk.channels),
                            }
                            for pk in packages
                            if pk.operator_code == op.code and pk.plan_code == plan.code
                        ],
                    }
                )
            result.append(
                {
                    "code": op.code,
                    "name": op.names.get(language, op.name),
                    "names": dict(op.names),
                    "colour": op.colour,
                    "ussd_code": op.ussd_code,
                    "web_url": op.web_url,
                    "care_number": op.care_number,
                    "number_prefixes": list(op.number_prefixes),
                    "channel_discounts": dict(op.channel_discounts),
                    "plans": op_plans,
                    "promotions": [
                        {
                            "code": pr.code,
                            "name": pr.name,
                            "kind": pr.kind,
                            "channels": pr.channels,
                            "starts_at": to_kuwait(pr.starts_at) if pr.starts_at else None,
                            "ends_at": to_kuwait(pr.ends_at) if pr.ends_at else None,
                        }
                        for pr in promotions
                        if pr.operator_code == op.code
                    ],
                }
            )
        return result


def describe_payment_methods(uow: UnitOfWork, *, channel: str | None) -> list[dict[str, Any]]:
    """The payment methods a channel may use, with their fee rules (all of them for None)."""
    with uow:
        return [
            {
                "method": pm.method,
                "gateway": pm.gateway,
                "fee_fixed_fils": pm.fee_fixed_fils,
                "fee_percent": format(Decimal(pm.fee_percent).normalize(), "f"),
                "channels": list(pm.channels),
            }
            for pm in repository.list_payment_methods(uow.session)
            if channel is None or channel in pm.channels
        ]
