"""The audit: every line's balance equals its ledger, every credited renewal has its ledger rows."""

from __future__ import annotations

from dataclasses import dataclass, field

from simrenew.db.session import UnitOfWork
from simrenew.lines import repository as lines_repository
from simrenew.renewals import repository


@dataclass
class AuditReport:
    """What the audit found; `ok` only when every list is empty."""

    lines_checked: int = 0
    balance_mismatches: list[tuple[str, int, int, int, int, int, int]] = field(default_factory=list)
    renewal_mismatches: list[tuple[str, str, int, int, int]] = field(default_factory=list)
    orphan_credits: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.balance_mismatches or self.renewal_mismatches or self.orphan_credits)

    def offenders(self) -> list[str]:
        """One human line per problem found."""
        lines = [
            f"{msisdn}: balance {balance} (paid {paid}, bonus {bonus}) but ledger {total} "
            f"(paid {lpaid}, bonus {lbonus})"
            for msisdn, balance, paid, bonus, total, lpaid, lbonus in self.balance_mismatches
        ]
        lines += [
            f"{msisdn}: renewal {rid} should have credited {expected} fils, ledger has {got} "
            f"in {rows} rows"
            for rid, msisdn, expected, got, rows in self.renewal_mismatches
        ]
        lines += [
            f"{msisdn}: ledger credit for renewal {rid or '(none)'} that is not credited"
            for msisdn, rid in self.orphan_credits
        ]
        return lines


def audit_ledger(uow: UnitOfWork) -> AuditReport:
    """Check every line and credited renewal against the ledger (set-based: millions of lines)."""
    with uow:
        session = uow.session
        return AuditReport(
            lines_checked=lines_repository.count_lines(session),
            balance_mismatches=repository.list_ledger_mismatches(session),
            renewal_mismatches=repository.list_renewal_mismatches(session),
            orphan_credits=repository.list_orphan_credits(session),
        )
