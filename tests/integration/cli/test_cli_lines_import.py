"""`simrenew lines import FILE.csv` and the importer behind it."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from typer.testing import Result

from builders import load_demo_catalog
from simrenew.bootstrap import Platform
from simrenew.clock import FixedClock
from simrenew.lines import csv_import
from simrenew.lines.csv_import import import_lines
from simrenew.lines.csv_rows import REQUIRED_COLUMNS
from simrenew.lines.models import Customer, Line, LineHistory
from simrenew.lines.service import line_status
from simrenew.renewals.models import LedgerEntry

COLUMNS = [*REQUIRED_COLUMNS, "iccid", "nationality"]
GOOD_CIVIL_ID = "288020122596"
OTHER_CIVIL_ID = "227081660516"
BAD_CIVIL_ID = "288020122597"  # check digit off by one


def _row(now: datetime, **values: str) -> dict[str, str]:
    row = {
        "msisdn": "50001234",
        "operator": "zahra",
        "plan": "prepaid",
        "state": "active",
        "balance_fils": "1500",
        "valid_until": (now + timedelta(days=30)).isoformat(),
        "id_type": "civil_id",
        "id_number": GOOD_CIVIL_ID,
        "name": "Fahad",
        "language": "en",
        "iccid": "",
        "nationality": "",
    }
    row.update(values)
    return row


def _mixed_rows(now: datetime) -> list[dict[str, str]]:
    """Four good rows (one to be corrected to grace), then one bad row of each kind."""
    past = (now - timedelta(days=2)).isoformat()
    return [
        # line 2..5: good
        _row(now, iccid="8996501234567890123", nationality="KWT"),
        _row(now, msisdn="+965 5000 1235", id_type="passport", id_number="n1234567",
             name="王芳", language="zh", balance_fils="0", nationality="chn"),
        _row(now, msisdn="0096560001236", operator="najm", valid_until=past, balance_fils="250",
             id_number=OTHER_CIVIL_ID, language="ar", name="مريم"),
        _row(now, msisdn="90001237", operator="bahar", state="recycled", balance_fils="0"),
        # line 6..: bad, one reason each
        _row(now, msisdn="12345"),
        _row(now, msisdn="50001240", operator="nosuch"),
        _row(now, msisdn="50001241", plan="gold"),
        _row(now, msisdn="50001242", state="frozen"),
        _row(now, msisdn="50001243", balance_fils="-5"),
        _row(now, msisdn="50001244", balance_fils="12.5"),
        _row(now, msisdn="50001245", valid_until="next week"),
        _row(now, msisdn="50001246", id_number=BAD_CIVIL_ID),
        _row(now, msisdn="50001247", id_type="driving_licence"),
        _row(now, msisdn="50001248", language="fr"),
        _row(now, msisdn="50001249", iccid="123"),
        _row(now, msisdn="50001250", nationality="XQZ"),
        _row(now, msisdn="+96550001234"),  # the same line as line 2
        _row(now, msisdn="50001251", name=""),
    ]  # fmt: skip


# line number -> (column named in the reason, a word of the reason)
EXPECTED_REJECTS = {
    6: ("msisdn", "8 digits"),
    7: ("operator", "not in the catalog"),
    8: ("plan", "not a plan"),
    9: ("state", "not one of"),
    10: ("balance_fils", "non-negative"),
    11: ("balance_fils", "non-negative"),
    12: ("valid_until", "ISO 8601"),
    13: ("id_number", "check digit"),
    14: ("id_number", "identity type"),
    15: ("language", "not one of"),
    16: ("iccid", "18 to 22"),
    17: ("nationality", "alpha-3"),
    18: ("msisdn", "already appears on line 2"),
    19: ("name", "printable"),
}


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _counts(platform: Platform) -> dict[str, int]:
    with platform.uow() as uow:
        return {
            model.__tablename__: uow.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Line, LedgerEntry, LineHistory, Customer)
        }


@pytest.fixture
def catalog(platform: Platform) -> Platform:
    load_demo_catalog(platform)
    return platform


def test_each_bad_row_is_rejected_with_its_line_number(catalog: Platform) -> None:
    now = catalog.clock.now()

    summary = import_lines(catalog.uow, _mixed_rows(now), clock=catalog.clock)

    assert (summary.rows, summary.imported, summary.rejected) == (18, 4, 14)
    assert summary.corrected == 1
    reasons = {r.line_no: r.reason for r in summary.rejections}
    assert set(reasons) == set(EXPECTED_REJECTS)
    for line_no, (column, words) in EXPECTED_REJECTS.items():
        assert reasons[line_no].startswith(f"{column}:"), reasons[line_no]
        assert words in reasons[line_no], reasons[line_no]
    assert BAD_CIVIL_ID not in str(summary)
    assert "2880******97" in reasons[13]


def test_state_is_what_the_dates_give_and_corrections_are_counted(catalog: Platform) -> None:
    clock = catalog.clock
    now = clock.now()

    summary = import_lines(catalog.uow, _mixed_rows(now), clock=clock)

    assert summary.corrected == 1
    assert line_status(catalog.uow(), "+96560001236", clock=clock)["state"] == "grace"
    assert line_status(catalog.uow(), "+96590001237", clock=clock)["state"] == "recycled"
    with catalog.uow() as uow:
        grace = uow.session.get(Line, "+96560001236")
        assert grace is not None
        assert grace.state == "grace"
        assert grace.state_since == now - timedelta(days=2)
        history = uow.session.scalars(
            select(LineHistory).where(LineHistory.msisdn == "+96560001236")
        ).all()
    assert [(h.event, h.from_state, h.to_state) for h in history] == [("import", None, "grace")]
    assert history[0].details["file_state"] == "active"


def test_opening_balances_are_one_ledger_row_each(catalog: Platform) -> None:
    import_lines(catalog.uow, _mixed_rows(catalog.clock.now()), clock=catalog.clock)

    with catalog.uow() as uow:
        entries = uow.session.scalars(select(LedgerEntry).order_by(LedgerEntry.msisdn)).all()
        line = uow.session.get(Line, "+96550001234")
        assert line is not None
        assert line.iccid == "8996501234567890123"
    assert [(e.msisdn, e.kind, e.bucket, e.amount_fils) for e in entries] == [
        ("+96550001234", "opening_balance", "paid", 1500),
        ("+96560001236", "opening_balance", "paid", 250),
    ]


def test_a_changed_row_updates_the_line_and_adjusts_the_balance_through_the_ledger(
    catalog: Platform, clock: FixedClock
) -> None:
    now = clock.now()
    import_lines(catalog.uow, [_row(now)], clock=clock)
    clock.advance(hours=1)

    changed = _row(now, balance_fils="900", name="Fahad K", plan="visitor")
    summary = import_lines(catalog.uow, [changed], clock=clock)

    assert (summary.updated, summary.unchanged, summary.imported) == (1, 0, 0)
    with catalog.uow() as uow:
        line = uow.session.get(Line, "+96550001234")
        assert line is not None
        assert (line.plan_code, line.balance_fils, line.paid_fils) == ("visitor", 900, 900)
        customer = uow.session.get(Customer, line.customer_id)
        assert customer is not None
        assert customer.name == "Fahad K"
        kinds = uow.session.scalars(
            select(LedgerEntry.kind).order_by(LedgerEntry.at, LedgerEntry.id)
        ).all()
        amounts = uow.session.scalars(
            select(LedgerEntry.amount_fils).order_by(LedgerEntry.at, LedgerEntry.id)
        ).all()
    assert list(kinds) == ["opening_balance", "import_adjustment"]
    assert list(amounts) == [1500, -600]


def test_cli_imports_reports_rejects_and_reimport_changes_nothing(
    simrenew: Callable[..., Result], catalog: Platform, tmp_path: Path
) -> None:
    # The command runs on the real clock: dates are relative to it.
    csv_file = _write_csv(tmp_path / "lines.csv", _mixed_rows(datetime.now(UTC)))

    first = simrenew("lines", "import", str(csv_file))
    after_first = _counts(catalog)
    second = simrenew("lines", "import", str(csv_file))
    audit = simrenew("audit")

    assert first.exit_code == 0, first.output
    assert re.search(r"imported \(new lines\)\s+│\s+4 ", first.stdout), first.stdout
    assert re.search(r"state corrected by the dates\s+│\s+1 ", first.stdout)
    assert "14 rows were rejected" in first.stdout
    shown_lines = {int(n) for n in re.findall(r"^│\s+(\d+) │", first.stdout, re.MULTILINE)}
    assert shown_lines == set(EXPECTED_REJECTS)
    assert BAD_CIVIL_ID not in first.output
    assert GOOD_CIVIL_ID not in first.output
    assert after_first == {"lines": 4, "ledger_entries": 2, "line_history": 4, "customers": 3}
    assert second.exit_code == 0, second.output
    assert re.search(r"unchanged\s+│\s+4 ", second.stdout), second.stdout
    assert re.search(r"imported \(new lines\)\s+│\s+0 ", second.stdout)
    assert _counts(catalog) == after_first
    assert audit.exit_code == 0, audit.output
    assert "Lines checked: 4" in audit.stdout


def test_cli_shows_grace_for_an_active_row_two_days_past(
    simrenew: Callable[..., Result], catalog: Platform, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    past = _row(now, valid_until=(now - timedelta(days=2)).isoformat())
    csv_file = _write_csv(tmp_path / "one.csv", [past])

    result = simrenew("lines", "import", str(csv_file))

    assert result.exit_code == 0, result.output
    assert "Every row was read without error" in result.stdout
    status = line_status(catalog.uow(), "+96550001234", clock=catalog.clock)
    assert status["state"] == "grace"


def test_cli_refuses_a_header_without_the_required_columns(
    simrenew: Callable[..., Result], catalog: Platform, tmp_path: Path
) -> None:
    csv_file = tmp_path / "short.csv"
    csv_file.write_text("msisdn,operator,plan\n50001234,zahra,prepaid\n", encoding="utf-8")

    result = simrenew("lines", "import", str(csv_file))

    assert result.exit_code == 2
    assert "lacks required columns: state, balance_fils" in result.stderr
    assert _counts(catalog)["lines"] == 0


def test_cli_refuses_a_file_it_cannot_read(
    simrenew: Callable[..., Result], catalog: Platform, tmp_path: Path
) -> None:
    result = simrenew("lines", "import", str(tmp_path / "absent.csv"))

    assert result.exit_code == 2
    assert "cannot read the file" in result.stderr


def test_bad_bytes_short_rows_and_multiline_values_reject_only_their_row(
    catalog: Platform, tmp_path: Path
) -> None:
    until = (catalog.clock.now() + timedelta(days=3)).isoformat()
    head = ",".join(REQUIRED_COLUMNS).encode()
    good = f"zahra,prepaid,active,0,{until},civil_id,{GOOD_CIVIL_ID}".encode()
    path = tmp_path / "messy.csv"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + head
        + b"\r\n"  # 1: header after a byte order mark
        + b"50001234,"
        + good
        + b",Fa\xffhad,en\r\n"  # 2: not UTF-8
        + b"50001235,"
        + good
        + b',"two\nlines",en\r\n'  # 3-4: a value over two lines
        + b"50001236,zahra,prepaid\r\n"  # 5: too few values
        + b"\r\n"  # 6: blank, not a row
        + b"50001237,"
        + good
        + b",Salem,en\r\n"  # 7: good
    )

    summary = import_lines(catalog.uow, path, clock=catalog.clock, batch_size=1)

    assert (summary.rows, summary.imported, summary.rejected) == (4, 1, 3)
    assert [(r.line_no, r.reason) for r in summary.rejections] == [
        (2, "name: the value is not valid UTF-8 text"),
        (3, "name: give 1 to 200 printable characters"),
        (5, "the row has 3 values but the header has 10"),
    ]


def test_batches_commit_as_they_go(catalog: Platform) -> None:
    now = catalog.clock.now()
    rows = [_row(now, msisdn=f"5100{n:04d}", id_number=OTHER_CIVIL_ID) for n in range(25)]
    seen: list[int] = []

    summary = import_lines(
        catalog.uow, rows, clock=catalog.clock, progress=seen.append, batch_size=10
    )

    assert summary.imported == 25
    assert seen == [10, 20, 25]
    assert _counts(catalog)["customers"] == 1


def test_audit_names_a_line_whose_balance_was_tampered_with(
    simrenew: Callable[..., Result], catalog: Platform
) -> None:
    import_lines(catalog.uow, [_row(catalog.clock.now())], clock=catalog.clock)
    with catalog.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE lines SET paid_fils = paid_fils + 100, balance_fils = balance_fils + 100 "
                "WHERE msisdn = '+96550001234'"
            )
        )

    result = simrenew("audit")

    assert result.exit_code == 1
    assert "+96550001234" in result.stdout
    assert "Lines checked: 1" in result.stdout


def test_a_row_that_conflicts_at_write_time_is_rejected_alone(
    catalog: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = catalog.clock.now()
    import_lines(catalog.uow, [_row(now)], clock=catalog.clock)
    # As if another writer registered the same civil ID after the batch looked for it.
    monkeypatch.setattr(csv_import, "_customers", lambda *_args: {})
    rows = [
        _row(now, msisdn="50001235"),  # same civil ID as the stored line: the unique index says no
        _row(now, msisdn="50001236", id_number=OTHER_CIVIL_ID),
    ]

    summary = import_lines(catalog.uow, rows, clock=catalog.clock)

    assert (summary.imported, summary.rejected) == (1, 1)
    assert summary.rejections[0].line_no == 2
    assert "conflicts" in summary.rejections[0].reason
    assert _counts(catalog)["lines"] == 2


def test_cli_refuses_to_import_before_a_catalog_is_loaded(
    simrenew: Callable[..., Result], platform: Platform, tmp_path: Path
) -> None:
    csv_file = _write_csv(tmp_path / "lines.csv", [_row(datetime.now(UTC))])

    result = simrenew("lines", "import", str(csv_file))

    assert result.exit_code == 2
    assert "The catalog is empty" in result.stderr


def _ledger(platform: Platform, msisdn: str) -> list[tuple[str, str, int, int]]:
    """(kind, bucket, amount, balance after) of a line's ledger, oldest first."""
    with platform.uow() as uow:
        entries = uow.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.msisdn == msisdn)
            # Rows written by one import share its instant; within it the balance only falls.
            .order_by(LedgerEntry.at, LedgerEntry.balance_after_fils.desc())
        ).all()
    return [(e.kind, e.bucket, e.amount_fils, e.balance_after_fils) for e in entries]


def _stored(platform: Platform, msisdn: str) -> tuple[str, int, int, int]:
    with platform.uow() as uow:
        line = uow.session.get(Line, msisdn)
        assert line is not None
        return line.state, line.balance_fils, line.paid_fils, line.bonus_fils


def test_cli_a_recycled_row_forfeits_its_balance_through_the_ledger(
    simrenew: Callable[..., Result], catalog: Platform, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    csv_file = _write_csv(
        tmp_path / "recycled.csv",
        [
            # recorded recycled
            _row(now, state="recycled", balance_fils="1500"),
            # recorded active, but 60 days past validity: recycled by zahra's 7 + 30 days
            _row(now, msisdn="50001235", id_number=OTHER_CIVIL_ID, balance_fils="700",
                 valid_until=(now - timedelta(days=60)).isoformat()),
        ],
    )  # fmt: skip

    first = simrenew("lines", "import", str(csv_file))
    after_first = _counts(catalog)
    second = simrenew("lines", "import", str(csv_file))
    audit = simrenew("audit")

    assert first.exit_code == 0, first.output
    assert re.search(r"state corrected by the dates\s+│\s+1 ", first.stdout), first.stdout
    assert _stored(catalog, "+96550001234") == ("recycled", 0, 0, 0)
    assert _stored(catalog, "+96550001235") == ("recycled", 0, 0, 0)
    assert _ledger(catalog, "+96550001234") == [
        ("opening_balance", "paid", 1500, 1500),
        ("recycle_forfeit", "paid", -1500, 0),
    ]
    assert _ledger(catalog, "+96550001235") == [
        ("opening_balance", "paid", 700, 700),
        ("recycle_forfeit", "paid", -700, 0),
    ]
    assert second.exit_code == 0, second.output
    assert re.search(r"unchanged\s+│\s+2 ", second.stdout), second.stdout
    assert _counts(catalog) == after_first
    assert audit.exit_code == 0, audit.output
    assert "Lines checked: 2" in audit.stdout


def test_a_stored_line_the_file_now_recycles_forfeits_the_files_balance(
    simrenew: Callable[..., Result], catalog: Platform, clock: FixedClock
) -> None:
    now = clock.now()
    import_lines(catalog.uow, [_row(now)], clock=clock)
    clock.advance(hours=1)
    recycled = [_row(now, state="recycled", balance_fils="900")]

    summary = import_lines(catalog.uow, recycled, clock=clock)
    after = _counts(catalog)
    clock.advance(hours=1)
    again = import_lines(catalog.uow, recycled, clock=clock)

    assert (summary.updated, summary.corrected) == (1, 0)
    assert _stored(catalog, "+96550001234") == ("recycled", 0, 0, 0)
    # The file's figure is written in first, then forfeited: the ledger explains both steps.
    assert _ledger(catalog, "+96550001234") == [
        ("opening_balance", "paid", 1500, 1500),
        ("import_adjustment", "paid", -600, 900),
        ("recycle_forfeit", "paid", -900, 0),
    ]
    assert (again.unchanged, again.updated) == (1, 0)
    assert _counts(catalog) == after
    audit = simrenew("audit")
    assert audit.exit_code == 0, audit.output
