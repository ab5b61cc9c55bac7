"""Every error a caller can meet has a stable, unique code and a message in en, ar and zh."""

from __future__ import annotations

from simrenew.errors import LANGUAGES, LineSuspended, all_errors

API_MD_CODES = {
    "invalid_msisdn", "unknown_line", "line_recycled", "line_suspended", "package_not_available",
    "not_allowed", "quote_expired", "payment_declined", "insufficient_balance",
    "idempotency_key_reused", "rate_limited", "validation_error", "unauthenticated",
    "bad_signature",
}  # fmt: skip


def test_codes_are_unique_and_cover_the_contract() -> None:
    codes = [error.code for error in all_errors()]
    assert len(codes) == len(set(codes))
    assert set(codes) >= API_MD_CODES


def test_every_error_speaks_every_language() -> None:
    for error in all_errors():
        assert set(error.titles) >= set(LANGUAGES), error.code
        assert all(error.titles[language].strip() for language in LANGUAGES), error.code


def test_an_english_only_detail_is_never_mixed_into_another_language() -> None:
    error = LineSuspended("Since 2026-11-20.")
    assert error.message("en").endswith("Since 2026-11-20.")
    assert error.message("ar") == error.title("ar")
    assert "Since" not in error.message("zh")
    assert error.message("xx") == error.message("en")


def test_a_translated_detail_follows_the_title_in_each_language() -> None:
    error = LineSuspended(translated={"en": "Since May.", "ar": "منذ مايو.", "zh": "自五月起。"})
    assert error.message("en") == f"{error.title('en')} Since May."
    assert error.message("ar") == f"{error.title('ar')} منذ مايو."
    assert error.message("zh") == f"{error.title('zh')}自五月起。"  # no space between sentences
