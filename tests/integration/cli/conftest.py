"""CLI tests: run `simrenew` in-process against the test database of the `platform` fixture."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from simrenew.bootstrap import Platform
from simrenew.cli.main import app

Invoke = Callable[..., Result]


@pytest.fixture
def cli_env(platform: Platform, db_url: str, tmp_path: Path) -> dict[str, str]:
    """SIMRENEW_* variables naming the (emptied) test database and a private data directory."""
    return {
        "SIMRENEW_DATABASE_URL": db_url,
        "SIMRENEW_DATA_DIR": str(tmp_path / "var"),
        "SIMRENEW_ENV": "test",
        "SIMRENEW_SECRET_KEY": "test-secret",
    }


@pytest.fixture
def simrenew(cli_env: dict[str, str]) -> Invoke:
    """Run `simrenew ARGS...` with the test settings (extra variables by keyword `env`)."""
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(app, list(args), env={**cli_env, **(env or {})})

    return invoke
