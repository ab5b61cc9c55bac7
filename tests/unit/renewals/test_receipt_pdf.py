"""Receipt PDFs: every figure in three languages, Arabic shaped and right to left, nothing fetched.

Text is read back two ways, because each extractor gets a different part of Arabic right:
`pdftotext` gives Arabic-Indic numbers in order but writes the lam-alef ligature (لا, لإ) with
its two letters swapped ("الإيصال" comes out "اإليصال"); pypdf maps ligatures correctly but
reverses runs of digits. Words without lam-alef are checked with the first, words with it with
the second. Joined letters are checked in the fonts: shaping draws one Arabic letter with
several glyphs (its initial, medial and final forms) and lam + alef as one ligature glyph.
"""

from __future__ import annotations

import io
import logging
import re
import subprocess
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdf
import pytest
from PIL import Image

from simrenew.catalog.snapshot import OperatorTerms
from simrenew.renewals import receipt_pdf
from simrenew.renewals.receipt_pdf import (
    DEFAULT_COLOUR,
    ExternalResourceRefused,
    qr_svg,
    receipt_html,
    render_receipt_pdf,
    verify_url_for,
)

OPERATOR = OperatorTerms(
    code="zahra",
    name="Zahra Telecom",
    names={"en": "Zahra Telecom", "ar": "زهرة للاتصالات", "zh": "扎赫拉电信"},
    channel_discounts={"app": Decimal(5)},
    promotions=(),
    colour="#0f7b6c",
    ussd_code="*135#",
    web_url="https://zahra.example",
    care_number="107",
)
VERIFY_URL = "https://selfcare.example/receipts/R01JDX4K3V2Q7T9M8N/verify?code=K3V2Q7T9M8"
# The JSON view of a receipt, as GET /api/v1/receipts/{no} answers it.
RECEIPT: dict[str, Any] = {
    "receipt_no": "R01JDX4K3V2Q7T9M8N",
    "renewal_id": "01937a2e-8c4b-7d2a-9f1e-3b5c6d7e8f91",
    "msisdn": "+96550001234",
    "issued_at": "2026-11-25T12:00:00+03:00",
    "verification_code": "K3V2Q7T9M8",
    "operator": "zahra",
    "operator_name": "Zahra Telecom",
    "package_code": "kd10",
    "package_name": "10 KD",
    "channel": "app",
    "payment_method": "wallet:stcpay",
    "price_fils": 10000,
    "discount_fils": 500,
    "fee_fils": 150,
    "total_fils": 9650,
    "credit_fils": 10000,
    "bonus_fils": 2000,
    "promotions": ["double-weekend"],
    "balance_after_fils": 13500,
    "valid_until": "2027-01-04T12:00:00+03:00",
    "total_display": "9.650 KWD",
    "credit_display": "10.000 KWD",
}
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def render(language: str, receipt: dict[str, Any] | None = None, **kw: Any) -> bytes:
    options: dict[str, Any] = {"operator": OPERATOR, "verify_url": VERIFY_URL, **kw}
    return render_receipt_pdf(receipt or RECEIPT, language=language, **options)


def pdftotext(pdf: bytes) -> str:
    """The PDF's text as poppler extracts it, without the direction marks it adds for RTL."""
    result = subprocess.run(
        ["/usr/bin/pdftotext", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    )
    return _BIDI_CONTROLS.sub("", result.stdout.decode())


def pypdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def page_count(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def glyphs_per_text(pdf: bytes) -> dict[str, set[tuple[str, str]]]:
    """For each text a glyph stands for (ToUnicode), the distinct glyphs drawn for it."""
    glyphs: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            cmap = font["/ToUnicode"].get_object().get_data().decode()
            for glyph, hex_text in re.findall(r"<([0-9a-f]+)>\s*<([0-9a-f]+)>", cmap):
                text = bytes.fromhex(hex_text).decode("utf-16-be")
                glyphs[text].add((str(font["/BaseFont"]), glyph))
    return glyphs


def png_of(pdf: bytes, tmp_path: Path) -> Image.Image:
    (tmp_path / "receipt.pdf").write_bytes(pdf)
    pdf_path, png_stem = str(tmp_path / "receipt.pdf"), str(tmp_path / "receipt")
    subprocess.run(  # noqa: S603 - a fixed local tool on files of this test
        ["/usr/bin/pdftoppm", "-png", "-r", "100", "-singlefile", pdf_path, png_stem],
        check=True,
    )
    with Image.open(tmp_path / "receipt.png") as image:
        return image.convert("RGB")


def header_text_centre(image: Image.Image) -> float:
    """Where, across the operator-coloured header band (0 left .. 1 right), its text sits."""
    width, height = image.size
    pixels = image.load()
    assert pixels is not None
    brand = (0x0F, 0x7B, 0x6C)

    def is_brand(x: int, y: int) -> bool:
        return all(abs(a - b) <= 12 for a, b in zip(pixels[x, y], brand, strict=True))

    band_rows = [y for y in range(height // 3) if is_brand(width // 2, y)]
    band_columns = [x for x in range(width) if is_brand(x, band_rows[len(band_rows) // 2])]
    left, right = min(band_columns) + 10, max(band_columns) - 10
    text_columns = [
        x
        for y in band_rows[5:-5]
        for x in range(left, right)
        if min(pixels[x, y]) > 200  # white text on the brand colour
    ]
    assert text_columns, "no text found in the header band"
    return (sum(text_columns) / len(text_columns) - left) / (right - left)


def test_an_english_receipt_shows_every_figure_with_three_decimals() -> None:
    pdf = render("en")

    text = pdftotext(pdf)
    assert pdf.startswith(b"%PDF-")
    assert page_count(pdf) == 1
    for expected in (
        "Zahra Telecom",
        "Receipt number",
        "R01JDX4K3V2Q7T9M8N",
        "+96550001234",
        "10 KD",
        "Wallet (stcpay)",
        "10.000 KWD",  # price
        "0.500 KWD",  # discount
        "0.150 KWD",  # fee
        "9.650 KWD",  # total paid
        "2.000 KWD",  # bonus
        "13.500 KWD",  # new balance
        "25 November 2026, 12:00 (Kuwait time)",
        "4 January 2027, 12:00 (Kuwait time)",
        "double-weekend",
        "K3V2Q7T9M8",
        "Customer care: 107",
    ):
        assert expected in text, expected


def test_times_are_printed_in_kuwait_time_whatever_form_they_come_in() -> None:
    stored = {
        **RECEIPT,
        "issued_at": datetime(2026, 11, 25, 21, 30, tzinfo=UTC),
        # SQLite gives stored instants back naive: they are UTC.
        "valid_until": datetime(2027, 1, 4, 21, 30),  # noqa: DTZ001 - as SQLite returns it
    }

    text = pdftotext(render("en", stored))

    assert "26 November 2026, 00:30 (Kuwait time)" in text
    assert "5 January 2027, 00:30 (Kuwait time)" in text


def test_the_verify_address_and_code_are_printed_beside_a_qr_code_of_that_address() -> None:
    html = receipt_html(RECEIPT, language="en", operator=OPERATOR, verify_url=VERIFY_URL)
    text = pdftotext(render("en"))

    # No QR decoder is installed: the QR drawn is segno's code of exactly the verify address
    # (its <title> names it), and the address and code are printed for people to type.
    assert qr_svg(VERIFY_URL) in html
    assert f"<title>{VERIFY_URL}</title>" in qr_svg(VERIFY_URL)
    assert VERIFY_URL in text.replace("\n", "")
    assert "Verification code: K3V2Q7T9M8" in text


def test_the_verify_address_is_the_public_check_with_the_code_escaped() -> None:
    assert (
        verify_url_for("https://selfcare.example/", "R01ABC", "K3V2Q7T9M8")
        == "https://selfcare.example/receipts/R01ABC/verify?code=K3V2Q7T9M8"
    )
    assert (
        verify_url_for("http://h", "R 1/2", "A&B")
        == "http://h/receipts/R%201%2F2/verify?code=A%26B"
    )


def test_an_arabic_receipt_is_right_to_left_with_its_words_in_reading_order() -> None:
    pdf = render("ar")
    html = receipt_html(RECEIPT, language="ar", operator=OPERATOR, verify_url=VERIFY_URL)

    poppler, pypdf_words = pdftotext(pdf), pypdf_text(pdf)
    assert '<html lang="ar" dir="rtl">' in html
    assert page_count(pdf) == 1
    for word in ("إيصال", "رقم الخط", "السعر", "الرصيد الجديد", "رمز التحقق", "بتوقيت الكويت"):
        assert word in poppler, word
    for word in ("زهرة للاتصالات", "رقم الإيصال", "تحقق من هذا الإيصال", "خدمة العملاء"):
        assert word in pypdf_words, word
    # Amounts and dates in Arabic-Indic digits with the Arabic decimal separator (pdftotext
    # moves the spaces at each change of direction, hence compared without spaces); the
    # identifiers a person types stay in Latin digits.
    compact = re.sub(r"\s+", "", poppler)
    for figure in ("١٣٫٥٠٠د.ك", "٩٫٦٥٠د.ك", "١٠٫٠٠٠د.ك", "٢٥نوفمبر", "٢٠٢٦", "١٢:٠٠"):
        assert figure in compact, figure
    assert "+96550001234" in poppler
    assert "R01JDX4K3V2Q7T9M8N" in poppler
    assert "K3V2Q7T9M8" in poppler


def test_arabic_letters_are_joined_by_shaping() -> None:
    glyphs = glyphs_per_text(render("ar"))

    # Lam and alef drawn as one ligature glyph: only a shaping engine does that.
    assert glyphs["لا"], "no lam-alef ligature: the Arabic was not shaped"
    # Yeh (in إيصال, الرصيد الجديد...) drawn with more than one contextual form.
    assert len(glyphs["ي"]) >= 2, glyphs["ي"]
    assert len(glyphs["ل"]) >= 2, glyphs["ل"]


def test_the_arabic_page_reads_from_the_right_and_the_english_one_from_the_left(
    tmp_path: Path,
) -> None:
    arabic = header_text_centre(png_of(render("ar"), tmp_path))
    english = header_text_centre(png_of(render("en"), tmp_path))

    assert arabic > 0.6
    assert english < 0.4


def test_a_chinese_receipt_has_its_characters_and_dates() -> None:
    text = pdftotext(render("zh"))

    for expected in (
        "扎赫拉电信",
        "收据",
        "实付金额",
        "9.650 科威特第纳尔",
        "13.500 科威特第纳尔",
        "2026年11月25日 12:00 (科威特时间)",
        "电子钱包 (stcpay)",
        "验证码",
    ):
        assert expected in text, expected


def test_each_language_prints_with_the_debian_fonts() -> None:
    for language, family in (("en", "DejaVu-Sans"), ("ar", "DejaVu-Sans"), ("zh", "WenQuanYi")):
        fonts = {
            str(font.get_object()["/BaseFont"])
            for page in pypdf.PdfReader(io.BytesIO(render(language))).pages
            for font in page["/Resources"]["/Font"].values()
        }
        assert any(family in font for font in fonts), (language, fonts)


def test_rendering_logs_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    # WeasyPrint logs what it ignores (an unsupported CSS property, a missing font or
    # resource): the receipt must not rely on anything it skips.
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        for language in ("en", "ar", "zh"):
            render(language)

    assert [record.getMessage() for record in caplog.records] == []


def test_an_unknown_language_prints_english_and_a_regional_tag_its_language() -> None:
    french = receipt_html(RECEIPT, language="fr", operator=OPERATOR, verify_url=VERIFY_URL)
    kuwaiti = receipt_html(RECEIPT, language="ar-KW", operator=OPERATOR, verify_url=VERIFY_URL)

    assert '<html lang="en" dir="ltr">' in french
    assert "Total paid" in french
    assert '<html lang="ar" dir="rtl">' in kuwaiti


def test_without_operator_terms_the_stored_name_and_a_default_colour_show() -> None:
    html = receipt_html(RECEIPT, language="ar", operator=None, verify_url=VERIFY_URL)

    assert "Zahra Telecom" in html
    assert DEFAULT_COLOUR in html


def test_the_operator_colour_is_used_only_when_it_is_a_colour() -> None:
    hostile = OperatorTerms(**{**OPERATOR.__dict__, "colour": "red;}</style><img src=x>"})
    bright = OperatorTerms(**{**OPERATOR.__dict__, "colour": "#ffd100"})

    hostile_html = receipt_html(RECEIPT, language="en", operator=hostile, verify_url=VERIFY_URL)
    teal_html = receipt_html(RECEIPT, language="en", operator=OPERATOR, verify_url=VERIFY_URL)
    bright_html = receipt_html(RECEIPT, language="en", operator=bright, verify_url=VERIFY_URL)

    assert "<img src=x>" not in hostile_html
    assert f"background: {DEFAULT_COLOUR}; color: #ffffff" in hostile_html
    assert "background: #0f7b6c; color: #ffffff" in teal_html
    assert "background: #ffd100; color: #1b1b1b" in bright_html  # dark text on yellow


def test_receipt_text_is_printed_as_text_never_as_markup() -> None:
    hostile = {
        **RECEIPT,
        "operator_name": '<img src="http://attacker.example/x.png">',
        "package_name": '<link rel="stylesheet" href="http://attacker.example/x.css">',
        "promotions": ['<iframe src="file:///etc/passwd">'],
    }

    pdf = render("en", hostile, operator=None)  # fetching anything would fail the rendering

    text = re.sub(r"\s+", "", pdftotext(pdf))  # long lines wrap: compared without spaces
    assert '<imgsrc="http://attacker.example/x.png">' in text
    assert '<linkrel="stylesheet"href="http://attacker.example/x.css">' in text
    assert '<iframesrc="file:///etc/passwd">' in text


@pytest.mark.parametrize(
    "resource",
    [
        '<img src="http://127.0.0.1:9/x.png">',
        '<img src="file:///etc/hostname">',
        '<img src="data:image/png;base64,iVBORw0KGgo=">',
        "<style>@import url(https://cdn.example/a.css);</style>",
    ],
)
def test_a_receipt_fetches_nothing(monkeypatch: pytest.MonkeyPatch, resource: str) -> None:
    # Only a change to the template could ask for a resource: it stops the rendering.
    monkeypatch.setattr(receipt_pdf, "receipt_html", lambda *_a, **_kw: f"<p>x</p>{resource}")

    with pytest.raises(ExternalResourceRefused, match="refused"):
        render("en")


def test_the_package_is_named_in_the_readers_language_when_the_catalog_names_it() -> None:
    named = {**RECEIPT, "package_names": {"en": "10 KD", "ar": "باقة 10 د.ك", "zh": "10 第纳尔"}}
    assert "باقة 10 د.ك" in receipt_html(
        named, language="ar-KW", operator=None, verify_url="https://x.example/v"
    )
    assert "10 第纳尔" in receipt_html(
        named, language="zh", operator=None, verify_url="https://x.example/v"
    )
    unnamed = {**RECEIPT, "package_names": {}}
    english = str(RECEIPT.get("package_name") or RECEIPT["package_code"])
    assert english in receipt_html(
        unnamed, language="ar", operator=None, verify_url="https://x.example/v"
    )
