"""`simrenew catalog load FILE`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import Result

from builders import DEMO_CATALOG
from simrenew.bootstrap import Platform
from simrenew.catalog.service import catalog_is_empty, describe_operators


def test_a_good_file_is_loaded_and_summarised(
    simrenew: Callable[..., Result], platform: Platform
) -> None:
    result = simrenew("catalog", "load", str(DEMO_CATALOG))

    assert result.exit_code == 0, result.output
    assert "3 operators" in result.stdout
    for code in ("zahra", "najm", "bahar"):
        assert code in result.stdout
    assert {op["code"] for op in describe_operators(platform.uow())} == {"zahra", "najm", "bahar"}


def test_a_bad_file_names_file_and_line_and_loads_nothing(
    simrenew: Callable[..., Result], platform: Platform, tmp_path: Path
) -> None:
    text = DEMO_CATALOG.read_text(encoding="utf-8")
    bad_line = text.splitlines().index('    ussd_code: "*150#"') + 1
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace('ussd_code: "*150#"', 'ussd_code: "150"'), encoding="utf-8")

    result = simrenew("catalog", "load", str(bad))

    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{bad}:{bad_line}: "), result.stderr
    assert "ussd_code" in first
    assert "Nothing was loaded" in result.stderr
    assert catalog_is_empty(platform.uow())


def test_a_missing_file_is_refused(simrenew: Callable[..., Result], tmp_path: Path) -> None:
    result = simrenew("catalog", "load", str(tmp_path / "absent.yaml"))

    assert result.exit_code == 2
    assert "absent.yaml:1: cannot read the file" in result.stderr
