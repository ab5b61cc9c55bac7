"""Personal data never reaches the logs: civil IDs, card numbers, tokens, full MSISDNs."""

from __future__ import annotations

import json

import pytest
import structlog

from simrenew.logs import configure_logging, mask_value


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("id_number", "288020122596", "***"),
        ("password", "hunter2", "***"),
        ("token", "srn_abc", "***"),
        ("msisdn", "+96550001234", "+9655000****"),
        ("event", "import of 288020122596 failed", "import of [civil-id] failed"),
        ("detail", "card 4111111111111111 refused", "card [number] refused"),
        ("count", 12, 12),
    ],
)
def test_mask_value(key: str, value: object, expected: object) -> None:
    assert mask_value(key, value) == expected


def test_logged_line_is_json_without_the_civil_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    structlog.get_logger("t").info("line.imported", msisdn="+96550001234", id_number="288020122596")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "line.imported"
    assert line["msisdn"] == "+9655000****"
    assert "288020122596" not in json.dumps(line)
    structlog.reset_defaults()
