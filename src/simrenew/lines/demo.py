"""Demo lines for `simrenew demo`: every lifecycle state, three operators, a real history.

Lines come in through the CSV importer (history row, opening balance in the ledger), then some
are renewed in cash at a store and some report usage from the network, all through the same
services production uses, so the result passes `simrenew audit`. The subscribers are fictional;
their civil IDs carry correct check digits so every channel's identity check accepts them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from simrenew.catalog import repository as catalog_repository
from simrenew.clock import Clock
from simrenew.db.session import UnitOfWork
from simrenew.errors import InvalidIdentity, ValidationFailed
from simrenew.lines import repository
from simrenew.lines.csv_import import import_lines
from simrenew.lines.rules import LifecyclePeriods, validate_civil_id
from simrenew.lines.service import line_status
from simrenew.renewals.service import RenewalRequest, credit_renewal
from simrenew.renewals.usage import Charge, debit_line
from simrenew.staff.rules import Caller

# The demo loader acts as a store till and as the network's charging system; these callers
# exist only in this process (renewals record the caller id as their idempotency scope).
DEMO_STORE = Caller(kind="channel", channel="store", id="demo-store", name="demo store")
DEMO_NETWORK = Caller(kind="channel", channel="network", id="demo-network", name="demo network")


@dataclass(frozen=True)
class DemoLineSpec:
    """One demo line: where it should stand and what happens to it after the import."""

    msisdn: str
    operator: str
    plan: str
    story: str  # active | expiring | bonus | grace | suspended | recycled
    balance_fils: int
    language: str
    identity: tuple[str, str]  # (id_type, id_number)
    name: str
    nationality: str
    renew_with: str | None = None  # package bought in cash at a store after the import
    usage_fils: tuple[int, ...] = ()  # charges the network reports afterwards


@dataclass(frozen=True)
class DemoLine:
    """A demo line as it stands now."""

    msisdn: str
    operator: str
    plan: str
    state: str
    balance_fils: int
    valid_until: datetime


def civil_id(born: date, serial: int) -> str:
    """A valid civil ID for a birth date: the first serial from `serial` that has a check digit."""
    century = "2" if born.year < 2000 else "3"
    while True:
        first_eleven = f"{century}{born:%y%m%d}{serial:04d}"
        for check in range(10):
            try:
                return validate_civil_id(first_eleven + str(check))
            except InvalidIdentity:
                continue
        serial += 1  # this serial's check digit would be 10 or 11: never issued


def demo_specs() -> list[DemoLineSpec]:
    """The demo lines: every state, across the three demo operators, in en/ar/zh."""
    return [
        DemoLineSpec("+96550000101", "zahra", "prepaid", "active", 2000, "en",
                     ("civil_id", civil_id(date(1988, 2, 1), 2259)), "Fahad Al-Mutairi", "KWT",
                     renew_with="kd10", usage_fils=(750, 250)),
        DemoLineSpec("+96550000102", "zahra", "prepaid", "expiring", 1200, "ar",
                     ("civil_id", civil_id(date(1990, 7, 14), 1301)), "مريم العنزي", "KWT",
                     usage_fils=(300,)),
        DemoLineSpec("+96555000103", "zahra", "visitor", "active", 500, "zh",
                     ("passport", "E12345678"), "王芳", "CHN", renew_with="visitor-month"),
        DemoLineSpec("+96590000101", "bahar", "prepaid", "bonus", 0, "zh",
                     ("passport", "EA7654321"), "李伟", "CHN", renew_with="kd10",
                     usage_fils=(1500,)),
        DemoLineSpec("+96566000103", "najm", "prepaid", "active", 800, "en",
                     ("passport", "P4455667"), "Anil Kumar", "IND", renew_with="kd5",
                     usage_fils=(400,)),
        DemoLineSpec("+96560000101", "najm", "prepaid", "grace", 350, "ar",
                     ("civil_id", civil_id(date(1975, 11, 3), 4410)), "خالد الرشيدي", "KWT"),
        DemoLineSpec("+96565000102", "najm", "prepaid", "suspended", 0, "en",
                     ("passport", "M9081726"), "Maria Santos", "PHL"),
        DemoLineSpec("+96599000102", "bahar", "prepaid", "recycled", 0, "ar",
                     ("civil_id", civil_id(date(2001, 5, 20), 3120)), "نورة الشمري", "KWT"),
        DemoLineSpec("+96541000104", "bahar", "prepaid", "active", 5000, "en",
                     ("civil_id", civil_id(date(1983, 9, 9), 5521)), "Sara Al-Sabah", "KWT",
                     usage_fils=(1250, 600)),
    ]  # fmt: skip


# What the "old system" recorded for each story; the dates make the same state.
_RECORDED_STATE = {"expiring": "active", "bonus": "active"}


def _valid_until(story: str, periods: LifecyclePeriods, now: datetime) -> datetime:
    """An end date that puts a line in the state its story asks for, by the plan's periods."""
    grace = timedelta(days=periods.grace_days)
    suspension = timedelta(days=periods.suspension_days)
    if story == "expiring":
        return now + timedelta(days=2)
    if story == "grace":
        return now - grace / 2
    if story == "suspended":
        return now - grace - suspension / 2
    if story == "recycled":
        return now - grace - suspension - timedelta(days=10)
    return now + timedelta(days=20)  # active, bonus: renewals add to this


def has_lines(uow: UnitOfWork) -> bool:
    """Whether the registry holds any line at all."""
    with uow:
        return repository.count_lines(uow.session) > 0


def load_demo_lines(
    uow_factory: Callable[[], UnitOfWork],
    *,
    clock: Clock,
    specs: list[DemoLineSpec] | None = None,
) -> list[DemoLine]:
    """Create the demo lines not yet present (needs the demo catalog); return all of them now."""
    specs = demo_specs() if specs is None else specs
    now = clock.now()
    with uow_factory() as uow:
        present = {s.msisdn for s in specs if repository.get_line(uow.session, s.msisdn)}
        plans = {
            (plan.operator_code, plan.code): plan.periods()
            for plan in catalog_repository.list_plans(uow.session)
        }
    # Lines already present are left exactly as they are: running the demo twice adds nothing.
    new = [spec for spec in specs if spec.msisdn not in present]
    missing = sorted({f"{s.operator}/{s.plan}" for s in new} - {f"{o}/{p}" for o, p in plans})
    if missing:
        raise ValidationFailed(f"The demo needs the demo catalog; missing plans: {missing}.")
    rows = [
        {
            "msisdn": spec.msisdn,
            "operator": spec.operator,
            "plan": spec.plan,
            "state": _RECORDED_STATE.get(spec.story, spec.story),
            "balance_fils": str(spec.balance_fils),
            "valid_until": _valid_until(
                spec.story, plans[(spec.operator, spec.plan)], now
            ).isoformat(),
            "id_type": spec.identity[0],
            "id_number": spec.identity[1],
            "name": spec.name,
            "language": spec.language,
            "nationality": spec.nationality,
        }
        for spec in new
    ]
    summary = import_lines(uow_factory, rows, clock=clock)
    if summary.rejected:
        reasons = "; ".join(f"{r.msisdn}: {r.reason}" for r in summary.rejections)
        raise ValidationFailed(f"The demo lines could not be imported: {reasons}")
    for spec in new:
        _give_history(uow_factory, spec, clock)
    return [_demo_line(uow_factory(), spec.msisdn, clock) for spec in specs]


def _give_history(uow_factory: Callable[[], UnitOfWork], spec: DemoLineSpec, clock: Clock) -> None:
    """A cash renewal at a store and usage from the network, as production records them."""
    if spec.renew_with is not None:
        body = {
            "msisdn": spec.msisdn,
            "package_code": spec.renew_with,
            "payment": {"method": "cash"},
        }
        request = RenewalRequest(
            msisdn=spec.msisdn,
            package_code=spec.renew_with,
            payment_method="cash",
            idempotency_key=f"demo-{spec.msisdn}-renewal",
            body=body,
        )
        credit_renewal(uow_factory(), DEMO_STORE, request, clock=clock)
    for index, amount in enumerate(spec.usage_fils, start=1):
        kind = "data" if index % 2 else "voice"
        charge = Charge(spec.msisdn, f"demo-{spec.msisdn}-{index}", amount, kind)
        debit_line(uow_factory(), DEMO_NETWORK, charge, clock=clock)


def _demo_line(uow: UnitOfWork, msisdn: str, clock: Clock) -> DemoLine:
    status = line_status(uow, msisdn, clock=clock)
    return DemoLine(
        msisdn=status["msisdn"],
        operator=status["operator"],
        plan=status["plan"],
        state=status["state"],
        balance_fils=status["balance_fils"],
        valid_until=status["valid_until"],
    )
