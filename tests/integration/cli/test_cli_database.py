"""`simrenew migrate` and `simrenew downgrade`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner, Result

from simrenew.cli.main import app


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrate_twice_is_a_no_op(simrenew: Callable[..., Result], db_url: str) -> None:
    before = _tables(db_url)

    first = simrenew("migrate")
    second = simrenew("migrate")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "nothing to do" in second.stdout
    assert _tables(db_url) == before


def test_migrate_creates_the_schema_and_downgrade_removes_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {"SIMRENEW_DATABASE_URL": url, "SIMRENEW_DATA_DIR": str(tmp_path)}
    runner = CliRunner()

    created = runner.invoke(app, ["migrate"], env=env)
    again = runner.invoke(app, ["migrate"], env=env)
    tables = _tables(url)
    unknown = runner.invoke(app, ["downgrade", "nosuch"], env=env)
    one_back = runner.invoke(app, ["downgrade", "-1"], env=env)  # not taken for an option
    dropped = runner.invoke(app, ["downgrade", "base"], env=env)

    assert created.exit_code == 0, created.output
    assert "migrated from (empty)" in created.stdout
    assert "nothing to do" in again.stdout
    assert {"lines", "ledger_entries", "outbox"} <= tables
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error [migrations]: Can't locate revision")
    assert one_back.exit_code == 0, one_back.output
    assert dropped.exit_code == 0, dropped.output
    assert _tables(url) <= {"alembic_version"}


def test_migrate_uses_the_data_directory_by_default(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["migrate"], env={"SIMRENEW_DATA_DIR": str(tmp_path), "SIMRENEW_DATABASE_URL": ""}
    )

    assert result.exit_code == 0, result.output
    assert (tmp_path / "simrenew.db").exists()


def test_an_unreachable_database_is_one_red_line_and_exit_2(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/nowhere"
    result = CliRunner().invoke(app, ["audit"], env={"SIMRENEW_DATABASE_URL": url})

    assert result.exit_code == 2
    assert result.stderr.startswith("error [database]:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_settings_are_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(app, ["audit"], env={"SIMRENEW_PORT": "eighty"})

    assert result.exit_code == 2
    assert "SIMRENEW_PORT" in result.stderr
