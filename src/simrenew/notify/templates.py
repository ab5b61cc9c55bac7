"""SMS wording in English, Arabic and Chinese; money with three decimals, dates in Kuwait time."""

from __future__ import annotations

from typing import Any

TEMPLATES: dict[str, dict[str, str]] = {
    "renewal_confirmation": {
        "en": (
            "{operator}: {credit} credited to {msisdn}. Balance {balance}, valid until "
            "{valid_until}. Receipt {receipt_no}."
        ),
        "ar": (
            "{operator}: تمت إضافة {credit} إلى الرقم {msisdn}. الرصيد {balance}، صالح حتى "
            "{valid_until}. رقم الإيصال {receipt_no}."
        ),
        "zh": (
            "{operator}：已为{msisdn}充值{credit}。余额{balance}，有效期至{valid_until}。"
            "收据号{receipt_no}。"
        ),
    },
}


def render(template: str, language: str, params: dict[str, Any]) -> str:
    """One message in the subscriber's language (English when the language is unknown)."""
    texts = TEMPLATES[template]
    return texts.get(language, texts["en"]).format(**params)
