"""The subscriber site's words in English, Arabic and Chinese: gettext catalogs and templates.

The `.po` files under `web/locale/` are compiled in memory on first use (Babel's `read_po` and
`write_mo`), so a checkout runs without a build step; `babel.cfg` next to `pyproject.toml` says how
`pybabel extract` finds the strings. One Jinja2 environment per language holds its translations,
so concurrent requests in different languages never share gettext state.
"""

from __future__ import annotations

import gettext
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from simrenew.clock import to_kuwait
from simrenew.errors import LANGUAGES
from simrenew.money import format_fils

WEB_DIR = Path(__file__).resolve().parents[2]
LOCALE_DIR = WEB_DIR / "locale"
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
RIGHT_TO_LEFT = frozenset({"ar"})
# Each language's name written in itself, for the switcher.
LANGUAGE_NAMES = {"en": "English", "ar": "العربية", "zh": "中文"}
_BABEL_LOCALES = {"en": "en", "ar": "ar", "zh": "zh_Hans"}
_TO_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def supported(language: str | None) -> str | None:
    """The supported language a tag names ("ar-KW" -> "ar"), or None."""
    if not language:
        return None
    primary = language.strip().lower().replace("_", "-").split("-", 1)[0]
    return primary if primary in LANGUAGES else None


def direction(language: str) -> str:
    """The text direction of a language: "rtl" or "ltr"."""
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of a language (English is the source: no catalog)."""
    if language not in LANGUAGES or language == "en":
        return gettext.NullTranslations()
    po_file = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with po_file.open("rb") as source:
        catalog = read_po(source, locale=_BABEL_LOCALES[language])
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translate(language: str, message: str, **params: Any) -> str:
    """A message in a language, with `%(name)s` parameters filled in."""
    text = translations(language).gettext(message)
    return text % params if params else text


def local_digits(value: object, language: str) -> str:
    """A number as the language writes it (Arabic-Indic digits in Arabic, like amounts)."""
    text = str(value)
    return text.translate(_TO_ARABIC_DIGITS) if language == "ar" else text


def _instant(value: datetime | str) -> datetime:
    return to_kuwait(datetime.fromisoformat(value) if isinstance(value, str) else value)


def kuwait_date(value: datetime | str | None, language: str) -> str:
    """The Kuwait calendar date of an instant, spelt the language's way."""
    if value is None:
        return ""
    local = _instant(value).replace(tzinfo=None)
    text = format_date(local.date(), format="long", locale=_BABEL_LOCALES[language])
    return local_digits(text, language)


def kuwait_datetime(value: datetime | str | None, language: str) -> str:
    """The Kuwait date and time (24-hour) of an instant."""
    if value is None:
        return ""
    local = _instant(value).replace(tzinfo=None)
    time_text = local_digits(
        format_time(local.time(), "HH:mm", locale=_BABEL_LOCALES[language]), language
    )
    return f"{kuwait_date(value, language)} {time_text}"


def money_html(fils: int, language: str) -> Markup:
    """An amount for a page: "12.500 KWD", never broken between the number and the currency."""
    return Markup('<span class="money">%s</span>') % format_fils(fils, language)


@cache
def environment(language: str) -> Environment:
    """The Jinja2 environment rendering pages in one language."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Whitespace inside {% trans %} blocks is collapsed, as `trimmed = true` extracts it.
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(  # type: ignore[attr-defined]  # added by the extension
        translations(language), newstyle=True
    )
    env.globals.update(
        language=language,
        dir=direction(language),
        language_names=LANGUAGE_NAMES,
    )
    env.filters.update(
        money=lambda fils: money_html(int(fils), language),
        kuwait_date=lambda value: kuwait_date(value, language),
        kuwait_datetime=lambda value: kuwait_datetime(value, language),
        digits=lambda value: local_digits(value, language),
    )
    return env


def render_template(language: str, name: str, context: dict[str, Any]) -> str:
    """A template rendered in a language."""
    return environment(language).get_template(name).render(context)
