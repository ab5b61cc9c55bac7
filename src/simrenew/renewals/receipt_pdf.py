"""Receipts as PDF in English, Arabic and Chinese, with a QR code of their public verify address.

Rendered by WeasyPrint (Pango + HarfBuzz shape the text, so Arabic comes out joined and right to
left) from an autoescaped Jinja2 page, with fonts found by fontconfig: "DejaVu Sans" (Latin,
Arabic) and "WenQuanYi Zen Hei" (Chinese), from Debian's fonts-dejavu-core and fonts-wqy-zenhei.

Digits: in Arabic, amounts and dates use Arabic-Indic digits (as `format_fils` shows money to
Arabic readers everywhere else); identifiers a person types or compares (receipt number, MSISDN,
verification code, addresses) keep Latin digits and are isolated left to right.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Any, NoReturn
from urllib.parse import quote, urlencode

import segno
from babel.dates import format_datetime
from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup
from weasyprint import HTML  # type: ignore[import-untyped]
from weasyprint.urls import FatalURLFetchingError, URLFetcher  # type: ignore[import-untyped]

from simrenew.catalog.snapshot import OperatorTerms, current_catalog
from simrenew.clock import KUWAIT, to_kuwait
from simrenew.db.session import UnitOfWork
from simrenew.errors import UnknownReceipt
from simrenew.money import format_fils
from simrenew.renewals import repository
from simrenew.renewals.models import Receipt
from simrenew.renewals.receipts import get_receipt
from simrenew.staff.rules import Caller

LANGUAGES = ("en", "ar", "zh")
DEFAULT_COLOUR = "#1f4e79"
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
_TO_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_DATE_PATTERNS = {"en": "d MMMM y, HH:mm", "ar": "d MMMM y، HH:mm", "zh": "y年M月d日 HH:mm"}

# Labels of the receipt. The rest of the app moves to Babel catalogs; these few stay here until
# the receipt page does too.
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "receipt": "Receipt",
        "receipt_no": "Receipt number",
        "issued_at": "Date and time",
        "kuwait_time": "Kuwait time",
        "line": "Line",
        "package": "Package",
        "payment_method": "Payment method",
        "channel": "Bought at",
        "price": "Price",
        "discount": "Discount",
        "fee": "Fee",
        "total_paid": "Total paid",
        "credit": "Credit added",
        "bonus": "Bonus credit",
        "new_balance": "New balance",
        "valid_until": "Valid until",
        "promotions": "Promotions",
        "verify_title": "Verify this receipt",
        "verification_code": "Verification code",
        "verify_hint": "Scan the QR code or open the address below to check this receipt.",
        "care": "Customer care",
        "thanks": "Thank you",
    },
    "ar": {
        "receipt": "إيصال",
        "receipt_no": "رقم الإيصال",
        "issued_at": "التاريخ والوقت",
        "kuwait_time": "بتوقيت الكويت",
        "line": "رقم الخط",
        "package": "الباقة",
        "payment_method": "طريقة الدفع",
        "channel": "مكان الشراء",
        "price": "السعر",
        "discount": "الخصم",
        "fee": "الرسوم",
        "total_paid": "المبلغ المدفوع",
        "credit": "الرصيد المضاف",
        "bonus": "رصيد المكافأة",
        "new_balance": "الرصيد الجديد",
        "valid_until": "صالح حتى",
        "promotions": "العروض",
        "verify_title": "تحقق من هذا الإيصال",
        "verification_code": "رمز التحقق",
        "verify_hint": "امسح رمز الاستجابة السريعة أو افتح العنوان أدناه للتحقق من هذا الإيصال.",
        "care": "خدمة العملاء",
        "thanks": "شكرا لك",
    },
    "zh": {
        "receipt": "收据",
        "receipt_no": "收据编号",
        "issued_at": "日期和时间",
        "kuwait_time": "科威特时间",
        "line": "号码",
        "package": "套餐",
        "payment_method": "付款方式",
        "channel": "购买渠道",
        "price": "价格",
        "discount": "折扣",
        "fee": "手续费",
        "total_paid": "实付金额",
        "credit": "充值金额",
        "bonus": "赠送金额",
        "new_balance": "新余额",
        "valid_until": "有效期至",
        "promotions": "优惠活动",
        "verify_title": "验证此收据",
        "verification_code": "验证码",
        "verify_hint": "扫描二维码或打开下方网址即可验证此收据。",
        "care": "客户服务",
        "thanks": "谢谢",
    },
}
METHOD_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "cash": "Cash",
        "till": "Store till",
        "card_terminal": "Card (terminal)",
        "card": "Card",
        "knet": "KNET",
        "voucher": "Voucher",
        "wallet": "Wallet",
    },
    "ar": {
        "cash": "نقدا",
        "till": "صندوق المتجر",
        "card_terminal": "بطاقة (جهاز الدفع)",
        "card": "بطاقة",
        "knet": "كي نت",
        "voucher": "قسيمة",
        "wallet": "محفظة",
    },
    "zh": {
        "cash": "现金",
        "till": "门店收银",
        "card_terminal": "刷卡终端",
        "card": "银行卡",
        "knet": "KNET",
        "voucher": "充值券",
        "wallet": "电子钱包",
    },
}
CHANNEL_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "store": "Store",
        "kiosk": "Kiosk",
        "web": "Website",
        "app": "App",
        "partner": "Partner",
        "ussd": "USSD",
        "care": "Customer care",
    },
    "ar": {
        "store": "متجر",
        "kiosk": "جهاز الخدمة الذاتية",
        "web": "الموقع الإلكتروني",
        "app": "التطبيق",
        "partner": "شريك",
        "ussd": "USSD",
        "care": "خدمة العملاء",
    },
    "zh": {
        "store": "门店",
        "kiosk": "自助终端",
        "web": "网站",
        "app": "应用",
        "partner": "合作伙伴",
        "ussd": "USSD",
        "care": "客户服务",
    },
}


class ExternalResourceRefused(ValueError):
    """A receipt asked for something outside itself (image, stylesheet, font by URL)."""


class RefuseAllFetcher(URLFetcher):  # type: ignore[misc]
    """WeasyPrint's URL fetcher, made to fetch nothing: a receipt is self-contained."""

    def __init__(self) -> None:
        # fail_on_errors: a refused fetch stops the rendering rather than printing a receipt
        # with a hole in it (it can only come from a change to the template).
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=True)

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> NoReturn:
        """Refuse every URL (http, file, data alike)."""
        raise ExternalResourceRefused(f"receipts fetch nothing, refused {url[:80]!r}")


def verify_url_for(public_url: str, receipt_no: str, code: str) -> str:
    """The public address that checks a receipt's code, as printed and put in its QR code."""
    path = f"/receipts/{quote(receipt_no, safe='')}/verify"
    return f"{public_url.rstrip('/')}{path}?{urlencode({'code': code})}"


def qr_svg(text: str) -> str:
    """An inline SVG QR code of `text` (size set by the page's CSS)."""
    # Error level M survives a crease or a smudge on a printed receipt; border 4 is the
    # quiet zone scanners need.
    code = segno.make(text, error="m", micro=False)
    svg: str = code.svg_inline(scale=1, border=4, omitsize=True, title=text)
    return svg


def render_receipt_pdf(
    receipt: Mapping[str, Any],
    *,
    language: str,
    operator: OperatorTerms | None,
    verify_url: str,
) -> bytes:
    """A receipt as a one-page A5 PDF in en, ar (right to left) or zh.

    `receipt` is the receipt's JSON view (what `GET /api/v1/receipts/{no}` answers, or
    `stored_receipt_view` of the row): its `_fils` amounts are used, `issued_at` and
    `valid_until` may be datetimes or ISO 8601 strings. `operator` gives the name in the
    language, the brand colour, care number and web address; without it the stored name shows.
    """
    html = receipt_html(receipt, language=language, operator=operator, verify_url=verify_url)
    try:
        pdf: bytes = HTML(string=html, url_fetcher=RefuseAllFetcher()).write_pdf()
    except FatalURLFetchingError as refused:
        # WeasyPrint's is a BaseException: an ordinary error lets the app log it and answer 500.
        message = f"a receipt fetches nothing, refused: {refused}"
        raise ExternalResourceRefused(message) from refused.__cause__
    return pdf


def receipt_html(
    receipt: Mapping[str, Any],
    *,
    language: str,
    operator: OperatorTerms | None,
    verify_url: str,
) -> str:
    """The receipt's page as HTML (what render_receipt_pdf prints)."""
    primary = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
    lang = primary if primary in LANGUAGES else "en"  # "ar-KW" is Arabic, "fr" English
    colour = operator.colour if operator and _COLOUR.fullmatch(operator.colour) else DEFAULT_COLOUR
    names = receipt.get("package_names") or {}
    package_name = str(names.get(lang) or receipt.get("package_name") or receipt["package_code"])

    def money(key: str) -> str:
        return format_fils(int(receipt[key]), lang)

    return _template().render(
        language=lang,
        direction="rtl" if lang == "ar" else "ltr",
        t=LABELS[lang],
        colour=colour,
        on_colour=_text_colour_on(colour),
        operator_name=operator.display_name(lang) if operator else receipt["operator_name"],
        care_number=operator.care_number if operator else "",
        web_url=operator.web_url if operator else "",
        receipt_no=receipt["receipt_no"],
        msisdn=receipt["msisdn"],
        issued_at=_when(receipt["issued_at"], lang),
        valid_until=_when(receipt["valid_until"], lang),
        package_name=package_name,
        package_direction=_direction_of(package_name),
        payment_method=_method_name(str(receipt["payment_method"]), lang),
        channel=CHANNEL_NAMES[lang].get(str(receipt.get("channel") or ""), ""),
        amounts={
            "price": money("price_fils"),
            "discount": money("discount_fils"),
            "fee": money("fee_fils"),
            "total": money("total_fils"),
            "credit": money("credit_fils"),
            "bonus": money("bonus_fils"),
            "balance": money("balance_after_fils"),
        },
        promotions=list(receipt.get("promotions") or []),
        verification_code=receipt["verification_code"],
        verify_url=verify_url,
        qr_svg=Markup(qr_svg(verify_url)),  # noqa: S704 - segno's own SVG, its title escaped
    )


def stored_receipt_view(receipt: Receipt) -> dict[str, Any]:
    """A stored receipt as the mapping render_receipt_pdf reads (the JSON view's fields)."""
    return {
        **receipt.data,
        "receipt_no": receipt.receipt_no,
        "renewal_id": receipt.renewal_id,
        "msisdn": receipt.msisdn,
        "issued_at": receipt.issued_at,
        "verification_code": receipt.verification_code,
    }


def receipt_pdf_for(uow: UnitOfWork, receipt_no: str, *, language: str, public_url: str) -> bytes:
    """A receipt's PDF for pages that have already checked the subscriber may see it."""
    with uow:
        receipt = repository.get_receipt(uow.session, receipt_no)
        if receipt is None:
            raise UnknownReceipt()
        view = stored_receipt_view(receipt)
        operator = current_catalog(uow.session).operators.get(receipt.data["operator"])
    # Rendered after the transaction: no database connection is held while WeasyPrint works.
    return _render_view(view, language=language, operator=operator, public_url=public_url)


def receipt_pdf_for_caller(
    uow: UnitOfWork, caller: Caller, receipt_no: str, *, language: str, public_url: str
) -> bytes:
    """A receipt's PDF for an API caller, allowed exactly as the JSON receipt is."""
    # get_receipt holds the authorisation rule, so the PDF can never be laxer than the JSON.
    view = get_receipt(uow, caller, receipt_no, language=language)
    with uow:
        operator = current_catalog(uow.session).operators.get(view["operator"])
    return _render_view(view, language=language, operator=operator, public_url=public_url)


def _render_view(
    view: Mapping[str, Any], *, language: str, operator: OperatorTerms | None, public_url: str
) -> bytes:
    verify_url = verify_url_for(public_url, view["receipt_no"], view["verification_code"])
    return render_receipt_pdf(view, language=language, operator=operator, verify_url=verify_url)


@cache
def _template() -> Template:
    """The page template, read once (StrictUndefined: a missing field fails, never prints "")."""
    text = files("simrenew.renewals").joinpath("receipt_pdf.html").read_text(encoding="utf-8")
    return Environment(autoescape=True, undefined=StrictUndefined).from_string(text)


def _when(value: datetime | str, language: str) -> str:
    """An instant in Kuwait time, written for a reader of `language`."""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    text = format_datetime(
        to_kuwait(instant), _DATE_PATTERNS[language], tzinfo=KUWAIT, locale=language
    )
    return text.translate(_TO_ARABIC_DIGITS) if language == "ar" else text


def _direction_of(text: str) -> str:
    """The text's direction, `rtl` or `ltr`, by its first strong character (as dir="auto")."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in {"R", "AL"}:
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def _method_name(method: str, language: str) -> str:
    """A payment method's name: `wallet:<provider>` keeps the provider's own name."""
    kind, _, provider = method.partition(":")
    name = METHOD_NAMES[language].get(kind, method)
    return f"{name} ({provider})" if provider else name


def _text_colour_on(background: str) -> str:
    """White or near-black, whichever reads better on the operator's colour (WCAG contrast)."""
    digits = background.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#ffffff" if (1.05 / (luminance + 0.05)) >= 4.5 else "#1b1b1b"
