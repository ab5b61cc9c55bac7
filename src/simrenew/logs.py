"""Structured JSON logs with personal data masked before anything is written."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Keys whose values never reach a log: identity documents, card data, secrets.
_SECRET_KEYS = re.compile(
    r"(id_number|civil_id|passport|pan|card|cvv|cvc|password|token|secret|otp|pin|authorization)",
    re.IGNORECASE,
)
_MSISDN_KEYS = re.compile(r"(msisdn|recipient|phone|to)$", re.IGNORECASE)
_TWELVE_DIGITS = re.compile(r"\b[23]\d{11}\b")  # a civil ID inside free text
_CARD_NUMBER = re.compile(r"\b\d{13,19}\b")


def mask_value(key: str, value: Any) -> Any:
    """The loggable form of one field: secrets hidden, MSISDNs cut, IDs in text blanked."""
    if _SECRET_KEYS.search(key):
        return "***"
    if isinstance(value, str):
        if _MSISDN_KEYS.search(key) and len(value) > 4:
            return value[:-4] + "****"
        return _CARD_NUMBER.sub("[number]", _TWELVE_DIGITS.sub("[civil-id]", value))
    return value


def mask_personal_data(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor applying mask_value to every field."""
    for key, value in list(event.items()):
        event[key] = mask_value(key, value)
    return event


class _StderrLogger:
    """Writes each rendered line to the current sys.stderr (looked up per call, so a CLI test
    runner that swaps stderr still receives the lines)."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Send structlog events, masked, as JSON (or console) lines to stderr."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_personal_data,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=lambda *_args: _StderrLogger(),
        cache_logger_on_first_use=False,
    )
