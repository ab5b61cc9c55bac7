"""Operators as the pages show them: name in the visitor's language, brand colour, care number."""

from __future__ import annotations

import re
from dataclasses import dataclass

from simrenew.bootstrap import Platform
from simrenew.catalog.snapshot import current_catalog
from simrenew.lines.rules import national_number

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
NEUTRAL_COLOUR = "#44546a"  # for an operator whose colour is missing or malformed


@dataclass(frozen=True)
class Brand:
    """An operator's face on the pages."""

    code: str
    name: str
    colour: str
    care_number: str
    ussd_code: str


def operator_brands(platform: Platform, language: str) -> dict[str, Brand]:
    """Every operator of the catalog (a cached snapshot: no query while its version holds)."""
    with platform.uow() as uow:
        operators = current_catalog(uow.session).operators
    return {
        code: Brand(
            code=code,
            name=terms.display_name(language),
            # The colour goes into a style attribute: only a plain #rrggbb is let through.
            colour=terms.colour if _COLOUR.fullmatch(terms.colour or "") else NEUTRAL_COLOUR,
            care_number=terms.care_number,
            ussd_code=terms.ussd_code,
        )
        for code, terms in operators.items()
    }


def brand_of(platform: Platform, code: str, language: str) -> Brand:
    """One operator's brand (a neutral one for a code the catalog no longer has)."""
    found = operator_brands(platform, language).get(code)
    return found or Brand(code, code, NEUTRAL_COLOUR, "", "")


def line_path(msisdn: str) -> str:
    """A line's pages live under its 8 national digits: /lines/50001234."""
    return f"/lines/{national_number(msisdn)}"
