"""Every catalog query, as plain functions taking a session."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from simrenew.catalog.models import Operator, Package, PaymentMethod, Plan, Promotion


def list_operators(session: Session) -> Sequence[Operator]:
    """All operators, by code."""
    return session.scalars(select(Operator).order_by(Operator.code)).all()


def list_plans(session: Session, *, active_only: bool = True) -> Sequence[Plan]:
    """Plans of every operator, by operator and code."""
    query = select(Plan).order_by(Plan.operator_code, Plan.code)
    if active_only:
        query = query.where(Plan.active.is_(True))
    return session.scalars(query).all()


def list_packages(session: Session, *, active_only: bool = True) -> Sequence[Package]:
    """Packages of every plan, cheapest first within a plan."""
    query = select(Package).order_by(
        Package.operator_code, Package.plan_code, Package.price_fils, Package.code
    )
    if active_only:
        query = query.where(Package.active.is_(True))
    return session.scalars(query).all()


def list_promotions(session: Session, operator_code: str | None = None) -> Sequence[Promotion]:
    """Active promotions, of one operator or all."""
    query = select(Promotion).where(Promotion.active.is_(True)).order_by(Promotion.code)
    if operator_code is not None:
        query = query.where(Promotion.operator_code == operator_code)
    return session.scalars(query).all()


def list_payment_methods(session: Session) -> Sequence[PaymentMethod]:
    """Active payment methods, by name."""
    query = select(PaymentMethod).where(PaymentMethod.active.is_(True))
    return session.scalars(query.order_by(PaymentMethod.method)).all()
