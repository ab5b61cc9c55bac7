"""The reconcile job: settle payments left open, credit or refund captures, every few minutes."""

from __future__ import annotations

from simrenew.bootstrap import Platform
from simrenew.payments.reconciliation import reconcile_payments


def reconcile_due_payments(platform: Platform) -> int:
    """One reconciliation pass; return how many payments it acted on."""
    summary = reconcile_payments(platform.uow(), platform.payments, clock=platform.clock)
    return summary.asked + summary.credited + summary.refunds_requested + summary.refunds_done
