"""What the sandbox's hosted pages show: texts in three languages, the test cards, the forms.

checkout.py decides what a page's form means; this module only draws the pages, and the page
that sends the payer's browser back to the merchant.
"""

# The translation table keeps one text per line, in three languages: longer than 100 columns.
# ruff: noqa: E501

from __future__ import annotations

from html import escape
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from fastapi.responses import HTMLResponse, RedirectResponse, Response

from simrenew.money import format_fils
from simrenew.payments.sandbox.protocol import BrowserReturn, Outcome
from simrenew.payments.sandbox.store import SandboxPayment

# Sandbox test cards. Any other number is refused with a hint, so nobody types a real card.
TEST_CARDS: dict[str, Outcome | None] = {
    "4111111111111111": "approved",
    "4000000000000002": "declined",
    "4000000000009995": "insufficient_funds",
    "4000000000003220": None,  # approved after a 3-D Secure challenge
}
OTP_CODE = "123456"
# KNET test cards are 888888 + 10 digits: KNET's test environment answers CAPTURED for
# 8888880000000001 and NOT CAPTURED for ...0002 (a third-party integration guide; KNET's own
# document is not public). ...9995 for insufficient funds is our choice, after the card above.
KNET_TEST_PREFIX = "888888"
KNET_TEST_NUMBERS: dict[str, Outcome] = {
    "0000000002": "declined",
    "0000009995": "insufficient_funds",
}
# The bank does not change the outcome; the list is the KNET member banks' names.
KNET_BANKS = (
    "Al Ahli Bank of Kuwait [ABK]", "Al Rajhi Bank [Rajhi]", "Bank of Bahrain and Kuwait [BBK]",
    "Boubyan Bank [Boubyan]", "Burgan Bank [Burgan]", "Commercial Bank of Kuwait [CBK]",
    "Doha Bank [Doha]", "Gulf Bank [GBK]", "Kuwait Finance House [KFH]",
    "Kuwait International Bank [KIB]", "National Bank of Kuwait [NBK]", "Warba Bank [Warba]",
    "KNET Test Card [KNET1]",
)  # fmt: skip

# One line per text: English, Arabic, Chinese.
_TEXT: dict[str, tuple[str, str, str]] = {
    "banner": ("SANDBOX - no real money", "بيئة تجريبية - لا أموال حقيقية", "沙盒环境 - 不涉及真实资金"),
    "card": ("Pay by card", "الدفع بالبطاقة", "银行卡支付"),
    "knet": ("KNET payment", "الدفع عبر كي نت", "KNET 支付"),
    "wallet": ("Approve payment", "الموافقة على الدفع", "确认付款"),
    "3ds": ("3-D Secure check", "التحقق الآمن ثلاثي الأبعاد", "3-D Secure 验证"),
    "finished": ("Payment finished", "انتهت عملية الدفع", "付款已结束"),
    "returning": ("Returning to the merchant", "العودة إلى التاجر", "正在返回商户"),
    "for": ("Payment for", "الدفع مقابل", "付款用途"),
    "amount": ("Amount", "المبلغ", "金额"),
    "number": ("Card number", "رقم البطاقة", "卡号"),
    "expiry": ("Expiry (MM/YY)", "تاريخ الانتهاء (شهر/سنة)", "有效期 (月/年)"),
    "cvv": ("CVV", "رمز التحقق (CVV)", "安全码 (CVV)"),
    "name": ("Name on card", "الاسم على البطاقة", "持卡人姓名"),
    "bank": ("Bank", "البنك", "银行"),
    "prefix": ("Card prefix", "بادئة البطاقة", "卡号前缀"),
    "rest": ("Card number (after the prefix)", "رقم البطاقة (بعد البادئة)", "卡号（前缀之后）"),
    "pin": ("PIN", "الرقم السري", "密码 (PIN)"),
    "otp": ("One-time code", "رمز التحقق لمرة واحدة", "一次性验证码"),
    "pay": ("Pay", "ادفع", "支付"),
    "submit": ("Submit", "إرسال", "提交"),
    "verify": ("Verify", "تحقق", "验证"),
    "approve": ("Approve", "موافقة", "批准"),
    "decline": ("Decline", "رفض", "拒绝"),
    "cancel": ("Cancel", "إلغاء", "取消"),
    "continue": ("Continue", "متابعة", "继续"),
    "ask": ("Approve payment of {amount} to {to}", "الموافقة على دفع {amount} إلى {to}", "批准向 {to} 支付 {amount}"),
    "tests": ("Sandbox test cards", "بطاقات الاختبار", "沙盒测试卡"),
    "approved": ("approved", "مقبولة", "批准"),
    "declined": ("declined", "مرفوضة", "拒绝"),
    "insufficient_funds": ("insufficient funds", "رصيد غير كاف", "余额不足"),
    "challenge": ("3-D Secure code 123456", "رمز التحقق 123456", "3-D Secure 验证码 123456"),
    "knet_hint": ("Any future expiry and any 4-digit PIN; other numbers are approved.", "أي تاريخ انتهاء مستقبلي وأي رقم سري من 4 أرقام؛ الأرقام الأخرى مقبولة.", "任意未过期的有效期和任意 4 位 PIN；其他卡号均批准。"),
    "otp_hint": ("Sandbox code: 123456", "رمز الاختبار: 123456", "沙盒验证码：123456"),
    "done": ("This payment is finished: {state}.", "انتهت هذه الدفعة: {state}.", "该付款已结束：{state}。"),
    "state_captured": ("paid", "مدفوعة", "已支付"),
    "state_declined": ("declined", "مرفوضة", "已拒绝"),
    "state_cancelled": ("cancelled", "ملغاة", "已取消"),
    "bad_card": ("Use one of the sandbox test cards listed below.", "استخدم إحدى بطاقات الاختبار أدناه.", "请使用下方列出的沙盒测试卡。"),
    "bad_expiry": ("Enter a future expiry as MM/YY.", "أدخل تاريخ انتهاء مستقبلياً بصيغة شهر/سنة.", "请按 MM/YY 输入未过期的有效期。"),
    "bad_cvv": ("The CVV is 3 or 4 digits.", "رمز التحقق 3 أو 4 أرقام.", "安全码为 3 或 4 位数字。"),
    "bad_name": ("Enter the name on the card.", "أدخل الاسم على البطاقة.", "请输入持卡人姓名。"),
    "bad_bank": ("Choose your bank.", "اختر البنك.", "请选择银行。"),
    "bad_knet": ("Enter the 6-digit prefix and the other 10 digits.", "أدخل البادئة من 6 أرقام والأرقام العشرة الأخرى.", "请输入 6 位前缀和其余 10 位数字。"),
    "bad_pin": ("The PIN is 4 digits.", "الرقم السري 4 أرقام.", "PIN 为 4 位数字。"),
}  # fmt: skip
_LANGUAGES = ("en", "ar", "zh")
_CSS = """*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,sans-serif;background:#f3f4f6;color:#111}
.banner{background:#b45309;color:#fff;text-align:center;font-weight:700;padding:.5rem}
main{max-width:28rem;margin:1rem auto;padding:1rem;background:#fff;border-radius:.5rem}
h1{font-size:1.3rem;margin:0 0 .5rem}.amount{font-size:1.6rem;font-weight:700;margin:.25rem 0 1rem}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input,select{width:100%;padding:.6rem;font-size:16px;border:1px solid #9ca3af;border-radius:.3rem}
.buttons{display:flex;gap:.5rem;flex-wrap:wrap;margin-top:1rem}
button{flex:1;min-width:7rem;padding:.7rem;font-size:16px;border:0;border-radius:.3rem;
background:#1d4ed8;color:#fff}
button.secondary{background:#6b7280}.errors{color:#b91c1c}
table{width:100%;border-collapse:collapse;margin-top:1rem;font-size:.9rem}
td{padding:.2rem;border-top:1px solid #e5e7eb}"""
_HEADERS = {
    "Cache-Control": "no-store",  # a page holding card fields must not be cached
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "script-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
}


def page_language(payment: SandboxPayment | None) -> str:
    language = payment.language if payment else "en"
    return language if language in _LANGUAGES else "en"


def _t(lang: str, key: str, **values: str) -> str:
    """The text `key` in `lang`, HTML-escaped, with escaped `values` filled in."""
    text = _TEXT[key][_LANGUAGES.index(lang)]
    return escape(text).format(**{k: escape(v) for k, v in values.items()})


def _page(lang: str, title: str, body: str, status: int = 200) -> HTMLResponse:
    direction = "rtl" if lang == "ar" else "ltr"
    html = (
        f'<!doctype html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{_CSS}</style></head><body>"
        f'<div class="banner" role="note">{_t(lang, "banner")}</div>'
        f"<main><h1>{title}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _field(label: str, name: str, *, digits: bool = True, **attributes: str) -> str:
    if digits:  # numbers read left to right, in Arabic pages too
        attributes = {"inputmode": "numeric", "dir": "ltr", **attributes}
    attrs = " ".join(
        f'{key.replace("_", "-")}="{escape(value)}"' for key, value in attributes.items()
    )
    return f'<label for="{name}">{label}</label><input id="{name}" name="{name}" {attrs} required>'


def _buttons(lang: str, *actions: str) -> str:
    # Only the first button submits the fields: the others skip the browser's validation.
    html = "".join(
        f'<button type="submit" name="action" value="{action}"'
        f"{' class=secondary formnovalidate' if i else ''}>{_t(lang, action)}</button>"
        for i, action in enumerate(actions)
    )
    return f'<div class="buttons">{html}</div>'


def _summary(payment: SandboxPayment, lang: str) -> str:
    return (
        f"<p>{_t(lang, 'for')}: {escape(payment.description)}</p>"
        f'<p class="amount">{escape(format_fils(payment.amount_fils, lang))}</p>'
    )


def _errors(lang: str, errors: list[str]) -> str:
    if not errors:
        return ""
    items = "".join(f"<li>{_t(lang, error)}</li>" for error in errors)
    return f'<ul class="errors" role="alert">{items}</ul>'


def _form(payment: SandboxPayment, action: str, inner: str) -> str:
    url = f"/checkout/{quote(payment.gateway_payment_id, safe='')}{action}"
    return f'<form method="post" action="{url}" autocomplete="off">{inner}</form>'


def card_page(payment: SandboxPayment, errors: list[str], status: int = 200) -> HTMLResponse:
    lang = page_language(payment)
    fields = (
        _field(_t(lang, "number"), "card_number", maxlength="23")
        + _field(_t(lang, "expiry"), "expiry", placeholder="MM/YY", maxlength="7", inputmode="text")
        + _field(_t(lang, "cvv"), "cvv", maxlength="4", type="password")
        + _field(_t(lang, "name"), "name", digits=False, maxlength="60")
    )
    rows = "".join(
        f"<tr><td dir=ltr>{' '.join(number[i : i + 4] for i in range(0, 16, 4))}</td>"
        f"<td>{_t(lang, outcome or 'challenge')}</td></tr>"
        for number, outcome in TEST_CARDS.items()
    )
    body = (
        _summary(payment, lang)
        + _errors(lang, errors)
        + _form(payment, "", fields + _buttons(lang, "pay", "cancel"))
        + f"<table><caption>{_t(lang, 'tests')}</caption>{rows}</table>"
    )
    return _page(lang, _t(lang, "card"), body, status)


def knet_page(payment: SandboxPayment, errors: list[str], status: int = 200) -> HTMLResponse:
    lang = page_language(payment)
    banks = "".join(f"<option>{escape(bank)}</option>" for bank in KNET_BANKS)
    fields = (
        f'<label for="bank">{_t(lang, "bank")}</label>'
        f'<select id="bank" name="bank" required><option value=""></option>{banks}</select>'
        + _field(_t(lang, "prefix"), "prefix", maxlength="6")
        + _field(_t(lang, "rest"), "card_number", maxlength="10")
        + _field(_t(lang, "expiry"), "expiry", placeholder="MM/YY", maxlength="7", inputmode="text")
        + _field(_t(lang, "pin"), "pin", maxlength="4", type="password")
    )
    tests = {"0000000001": "approved", **KNET_TEST_NUMBERS}
    rows = "".join(
        f"<tr><td dir=ltr>{KNET_TEST_PREFIX} {number}</td><td>{_t(lang, outcome)}</td></tr>"
        for number, outcome in tests.items()
    )
    body = (
        _summary(payment, lang)
        + _errors(lang, errors)
        + _form(payment, "", fields + _buttons(lang, "submit", "cancel"))
        + f"<table><caption>{_t(lang, 'tests')}</caption>{rows}</table>"
        + f"<p>{_t(lang, 'knet_hint')}</p>"
    )
    return _page(lang, _t(lang, "knet"), body, status)


def wallet_page(payment: SandboxPayment, status: int = 200) -> HTMLResponse:
    lang = page_language(payment)
    provider = payment.method.partition(":")[2] or "wallet"
    ask = _t(lang, "ask", amount=format_fils(payment.amount_fils, lang), to=payment.description)
    body = f"<p>{escape(provider.title())}</p><p class=amount>{ask}</p>" + _form(
        payment, "", _buttons(lang, "approve", "decline", "cancel")
    )
    return _page(lang, _t(lang, "wallet"), body, status)


def otp_page(payment: SandboxPayment) -> HTMLResponse:
    lang = page_language(payment)
    fields = _field(_t(lang, "otp"), "otp", maxlength="6")
    fields += f"<p>{_t(lang, 'otp_hint')}</p>" + _buttons(lang, "verify", "cancel")
    body = _summary(payment, lang) + _form(payment, "/3ds", fields)
    return _page(lang, _t(lang, "3ds"), body)


def finished_page(payment: SandboxPayment, status: int = 200) -> HTMLResponse:
    lang = page_language(payment)
    state = _TEXT[f"state_{payment.state}"][_LANGUAGES.index(lang)]
    body = _summary(payment, lang) + f"<p>{_t(lang, 'done', state=state)}</p>"
    return _page(lang, _t(lang, "finished"), body, status)


def not_found_page() -> HTMLResponse:
    return _page("en", "Payment not found", "<p>No payment has this id.</p>", 404)


def send_back(browser: BrowserReturn, lang: str) -> Response:
    """A 303 for a GET return; for a POST an auto-submitting form (with a button for no-JS)."""
    if browser.method == "GET":
        url = browser.url
        if browser.fields:
            parts = urlsplit(url)
            query = [*parse_qsl(parts.query, keep_blank_values=True), *browser.fields.items()]
            url = urlunsplit(parts._replace(query=urlencode(query)))
        return RedirectResponse(url, status_code=303, headers=_HEADERS)
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in browser.fields.items()
    )
    body = (
        f'<form method="post" action="{escape(browser.url)}">{hidden}'
        f'<div class="buttons"><button type="submit">{_t(lang, "continue")}</button></div></form>'
        "<script>document.forms[0].submit()</script>"
    )
    return _page(lang, _t(lang, "returning"), body)
