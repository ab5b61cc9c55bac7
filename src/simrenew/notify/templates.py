"""SMS wording in English, Arabic and Chinese; money with three decimals, dates in Kuwait time.

Every message must fit in two SMS parts with realistic values (tests/unit/notify/test_templates.py
renders each one and counts): Arabic and Chinese go out as UCS-2, 134 characters in two parts,
so their wording is kept short, web addresses are shown without "https://" (short_url) and
dates without the hour where the hour does not matter. Numbers stay in Latin digits, as
operators' SMS write them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from simrenew.clock import to_kuwait

TEMPLATES: dict[str, dict[str, str]] = {
    "renewal_confirmation": {
        "en": (
            "{operator}: {credit} credited to {msisdn}. Balance {balance}, valid until "
            "{valid_until}. Receipt {receipt_no}."
        ),
        "ar": (
            "{operator}: أُضيف {credit} إلى {msisdn}. الرصيد {balance}، صالح حتى "
            "{valid_until}. الإيصال {receipt_no}"
        ),
        "zh": (
            "{operator}：已为{msisdn}充值{credit}。余额{balance}，有效期至{valid_until}。"
            "收据号{receipt_no}。"
        ),
    },
    # Before validity ends; {days} is days_left written out ("1 day", "3 أيام", "3天").
    "reminder": {
        "en": (
            "{operator}: your line {msisdn} expires in {days}, on {valid_until}. "
            "To renew, dial {ussd_code} or visit {web_url}"
        ),
        "ar": (
            "{operator}: خطك {msisdn} ينتهي بعد {days} في {valid_until}. "
            "للتجديد اطلب {ussd_code} أو زر {web_url}"
        ),
        "zh": (
            "{operator}：您的号码{msisdn}将于{days}后（{valid_until}）到期。"
            "续费请拨{ussd_code}或访问{web_url}"
        ),
    },
    "grace_started": {
        "en": (
            "{operator}: your line {msisdn} has expired. Outgoing calls and SMS are barred; "
            "you can still receive calls until {grace_ends}. Renew now: dial {ussd_code} "
            "or visit {web_url}"
        ),
        "ar": (
            "{operator}: انتهت صلاحية خطك {msisdn}، ويبقى استقبال المكالمات حتى "
            "{grace_ends}. جدد عبر {ussd_code} أو {web_url}"
        ),
        "zh": (
            "{operator}：您的号码{msisdn}已到期，已停止呼出和发短信，{grace_ends}前仍可接听来电。"
            "请拨{ussd_code}或访问{web_url}续费"
        ),
    },
    "suspended": {
        "en": (
            "{operator}: your line {msisdn} is suspended. To reactivate it, visit a store "
            "with your ID, call {care_number} or go to {web_url}. If not reactivated, the "
            "number will be recycled on {recycle_on}."
        ),
        "ar": (
            "{operator}: أُوقف خطك {msisdn}. أعد تفعيله بهويتك في فروعنا أو {care_number} "
            "أو {web_url}، وإلا يُلغى الرقم في {recycle_on}"
        ),
        "zh": (
            "{operator}：您的号码{msisdn}已停机。请携带证件到营业厅、致电{care_number}或访问"
            "{web_url}办理复机，否则号码将于{recycle_on}被回收。"
        ),
    },
    "recycle_warning": {
        "en": (
            "{operator}: your line {msisdn} will be recycled on {recycle_on} and its balance "
            "lost. To keep the number, reactivate it now: call {care_number} or visit a store "
            "with your ID."
        ),
        "ar": (
            "{operator}: سيُلغى رقمك {msisdn} في {recycle_on} ويضيع رصيده. للاحتفاظ به أعد "
            "تفعيله الآن: اتصل بـ{care_number} أو زر فرعًا بهويتك."
        ),
        "zh": (
            "{operator}：您的号码{msisdn}将于{recycle_on}被回收，余额将清零。如需保留号码，"
            "请尽快致电{care_number}或携带证件到营业厅复机。"
        ),
    },
    "recycled": {
        "en": (
            "{operator}: your line {msisdn} has been closed and its remaining balance "
            "forfeited. The number will be offered to new customers. Thank you for being "
            "with us."
        ),
        "ar": (
            "{operator}: أُغلق خطك {msisdn} وسقط رصيده المتبقي، وسيُعرض الرقم لمشتركين جدد. شكرًا لك."
        ),
        "zh": (
            "{operator}：您的号码{msisdn}已注销，剩余余额已清零，该号码将重新分配。感谢您的使用。"
        ),
    },
    "reactivation": {
        "en": "{operator}: your line {msisdn} is active again, valid until {valid_until}. "
        "Welcome back!",
        "ar": "{operator}: أُعيد تفعيل خطك {msisdn}، وهو صالح حتى {valid_until}. أهلًا بعودتك!",
        "zh": "{operator}：您的号码{msisdn}已恢复使用，有效期至{valid_until}。欢迎回来！",
    },
    # A capture that could not become credit (the line was recycled meanwhile, say).
    "payment_refunded": {
        "en": (
            "{operator}: your payment of {amount} for {msisdn} could not be credited and has "
            "been refunded to the card or wallet you paid with. Reference {payment_ref}."
        ),
        "ar": (
            "{operator}: تعذّر إضافة دفعتك {amount} إلى {msisdn}، وأُعيد المبلغ إلى البطاقة أو "
            "المحفظة التي دفعت بها. المرجع {payment_ref}"
        ),
        "zh": (
            "{operator}：您为{msisdn}支付的{amount}未能充值，款项已退回原支付卡或钱包。"
            "参考号{payment_ref}。"
        ),
    },
    # No operator in an OTP: it is short, and the code is the only thing that matters.
    "otp": {
        "en": "Your verification code is {code}. It expires in {minutes_text}. "
        "Never share it with anyone, not even our staff.",
        "ar": "رمز التحقق: {code}. صالح لمدة {minutes_text}. لا تشاركه مع أحد، ولا حتى موظفينا.",
        "zh": "您的验证码是{code}，{minutes_text}内有效。请勿告诉任何人，包括我们的工作人员。",
    },
}

# Counted nouns by language and plural form; Arabic has the dual (2), a plural for 3-10 and the
# singular accusative for 11-99 ("11 يومًا"), as CLDR's plural rules describe.
_NOUNS: dict[str, dict[str, dict[str, str]]] = {
    "day": {
        "en": {"one": "1 day", "other": "{n} days"},
        "ar": {
            "one": "يوم واحد",
            "two": "يومين",
            "few": "{n} أيام",
            "many": "{n} يومًا",
            "other": "{n} يوم",
        },
        "zh": {"other": "{n}天"},
    },
    "minute": {
        "en": {"one": "1 minute", "other": "{n} minutes"},
        "ar": {
            "one": "دقيقة واحدة",
            "two": "دقيقتين",
            "few": "{n} دقائق",
            "many": "{n} دقيقة",
            "other": "{n} دقيقة",
        },
        "zh": {"other": "{n}分钟"},
    },
}


def _plural_form(n: int, language: str) -> str:
    if language == "ar":
        last_two = n % 100
        if n == 1:
            return "one"
        if n == 2:
            return "two"
        if 3 <= last_two <= 10:
            return "few"
        if 11 <= last_two <= 99:
            return "many"
        return "other"
    if language == "en":
        return "one" if n == 1 else "other"
    return "other"


def count_text(n: int, noun: str, language: str) -> str:
    """A number with its noun in the language's plural form: "1 day", "3 أيام", "3天"."""
    forms = _NOUNS[noun].get(language, _NOUNS[noun]["en"])
    form = _plural_form(n, language if language in _NOUNS[noun] else "en")
    return forms.get(form, forms["other"]).format(n=n)


def kuwait_date(instant: datetime) -> str:
    """An instant as its Kuwait date, "YYYY-MM-DD" (where the hour does not matter)."""
    return to_kuwait(instant).date().isoformat()


def kuwait_minute(instant: datetime) -> str:
    """An instant in Kuwait time to the minute, "YYYY-MM-DD HH:MM" (where the hour matters)."""
    return to_kuwait(instant).replace(tzinfo=None).isoformat(" ", "minutes")


def short_url(url: str) -> str:
    """A web address as an SMS shows it: no scheme, no trailing slash ("www.zain.com/renew")."""
    # Phones link "www." and domain names by themselves; the scheme costs 8 characters, which
    # an Arabic message in two UCS-2 parts cannot spare.
    return url.removeprefix("https://").removeprefix("http://").rstrip("/")


def render(template: str, language: str, params: dict[str, Any]) -> str:
    """One message in the subscriber's language (English when the language is unknown)."""
    texts = TEMPLATES[template]
    lang = language if language in texts else "en"
    values = dict(params)
    # Counts are stored as numbers (the outbox keeps params as data) and worded here.
    if isinstance(params.get("days_left"), int):
        values["days"] = count_text(params["days_left"], "day", lang)
    if isinstance(params.get("minutes"), int):
        values["minutes_text"] = count_text(params["minutes"], "minute", lang)
    return texts[lang].format(**values)
