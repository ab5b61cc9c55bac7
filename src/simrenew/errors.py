"""The error catalogue: every error simrenew reports, with its stable code and HTTP status.

    SimrenewError
    ├── ValidationFailed        422 validation_error   (bad field, bad file row, bad amount)
    │   ├── InvalidMsisdn       422 invalid_msisdn
    │   ├── InvalidIdentity     422 invalid_identity   (civil ID / passport)
    │   ├── IdentityMismatch    422 identity_mismatch  (not the line's registered holder)
    │   └── OtpInvalid          422 otp_invalid        (wrong one-time code; attempts left)
    ├── Unauthenticated         401 unauthenticated
    ├── BadSignature            401 bad_signature
    ├── NotAllowed              403 not_allowed
    ├── NotFound                404 not_found
    │   ├── UnknownLine         404 unknown_line
    │   ├── UnknownRenewal      404 unknown_renewal
    │   └── UnknownReceipt      404 unknown_receipt
    ├── Conflict                409 conflict
    │   ├── LineRecycled        409 line_recycled
    │   ├── LineSuspended       409 line_suspended     (reactivation required)
    │   ├── LineNotActive       409 line_not_active    (usage on a barred line)
    │   ├── QuoteExpired        409 quote_expired
    │   ├── IdempotencyKeyReused 409 idempotency_key_reused
    │   ├── InsufficientBalance 409 insufficient_balance
    │   ├── LoginTaken          409 login_taken        (an account already uses this login)
    │   ├── LineAlreadyBound    409 line_already_bound (already on the caller's account)
    │   ├── LineBoundElsewhere  409 line_bound_elsewhere (another account's: contact care)
    │   └── OtpExpired          409 otp_expired        (code expired or used up: ask again)
    ├── PackageNotAvailable     422 package_not_available
    ├── PaymentMethodNotAvailable 422 payment_method_not_available
    ├── PaymentDeclined         402 payment_declined
    ├── RateLimited             429 rate_limited       (retry_after: seconds to wait)
    ├── CatalogInvalid          422 catalog_invalid    (file, line and reason)
    ├── MethodNotAllowed        405 method_not_allowed (HTTP only)
    ├── PayloadTooLarge         413 payload_too_large  (HTTP only)
    ├── InternalError           500 internal_error     (HTTP only: nothing leaks)
    └── ServiceUnavailable      503 service_unavailable (HTTP only: database down)
        └── GatewayUnavailable  503 gateway_unavailable (a payment gateway does not answer)

Each error carries its human message in English, Arabic and Chinese; `detail` adds specifics
(English), or `translated` adds them in every language (what a subscriber reads).
Web turns them into RFC 9457 problem JSON, the CLI into one line and an exit code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

LANGUAGES = ("en", "ar", "zh")


class SimrenewError(Exception):
    """Base of every error a caller may see; subclasses fix code, status and titles."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400
    titles: ClassVar[dict[str, str]] = {
        "en": "The request could not be completed.",
        "ar": "تعذّر إتمام الطلب.",
        "zh": "无法完成请求。",
    }

    def __init__(
        self,
        detail: str | None = None,
        *,
        translated: Mapping[str, str] | None = None,
        **context: Any,
    ) -> None:
        self.translated = dict(translated) if translated else None
        detail = detail or (self.translated or {}).get("en")
        super().__init__(detail or self.titles["en"])
        self.detail = detail
        self.context = context

    def title(self, language: str = "en") -> str:
        """The error's message in the caller's language (English when unknown)."""
        return self.titles.get(language, self.titles["en"])

    def message(self, language: str = "en") -> str:
        """Title plus the specific detail in the caller's language.

        A detail written only in English is shown to English readers alone: an Arabic or
        Chinese reader gets the translated title rather than a sentence in another language.
        """
        title = self.title(language)
        if self.translated and language in self.translated:
            detail: str | None = self.translated[language]
        else:
            detail = self.detail if language == "en" or language not in self.titles else None
        if not detail:
            return title
        separator = "" if language == "zh" else " "  # Chinese sentences run on without a space
        return f"{title}{separator}{detail}"


class ValidationFailed(SimrenewError):
    code = "validation_error"
    http_status = 422
    titles: ClassVar[dict[str, str]] = {
        "en": "Some of the information given is not valid.",
        "ar": "بعض المعلومات المدخلة غير صحيحة.",
        "zh": "提供的部分信息无效。",
    }


class InvalidMsisdn(ValidationFailed):
    code = "invalid_msisdn"
    titles: ClassVar[dict[str, str]] = {
        "en": "This is not a valid Kuwaiti mobile number.",
        "ar": "هذا ليس رقم هاتف نقال كويتي صحيح.",
        "zh": "这不是有效的科威特手机号码。",
    }


class InvalidIdentity(ValidationFailed):
    code = "invalid_identity"
    titles: ClassVar[dict[str, str]] = {
        "en": "The civil ID or passport number is not valid.",
        "ar": "رقم البطاقة المدنية أو جواز السفر غير صحيح.",
        "zh": "民事身份证号或护照号无效。",
    }


class IdentityMismatch(ValidationFailed):
    code = "identity_mismatch"
    titles: ClassVar[dict[str, str]] = {
        "en": "This civil ID or passport number is not the one registered to the line.",
        "ar": "رقم البطاقة المدنية أو جواز السفر لا يطابق المسجل على هذا الخط.",
        "zh": "该民事身份证号或护照号与此号码登记的证件不符。",
    }


class OtpInvalid(ValidationFailed):
    code = "otp_invalid"
    titles: ClassVar[dict[str, str]] = {
        "en": "The code is not correct.",
        "ar": "الرمز غير صحيح.",
        "zh": "验证码不正确。",
    }


class Unauthenticated(SimrenewError):
    code = "unauthenticated"
    http_status = 401
    titles: ClassVar[dict[str, str]] = {
        "en": "Please sign in: a valid access token is required.",
        "ar": "يرجى تسجيل الدخول: مطلوب رمز دخول صالح.",
        "zh": "请登录：需要有效的访问令牌。",
    }


class BadSignature(SimrenewError):
    code = "bad_signature"
    http_status = 401
    titles: ClassVar[dict[str, str]] = {
        "en": "The request signature could not be verified.",
        "ar": "تعذّر التحقق من توقيع الطلب.",
        "zh": "无法验证请求签名。",
    }


class NotAllowed(SimrenewError):
    code = "not_allowed"
    http_status = 403
    titles: ClassVar[dict[str, str]] = {
        "en": "You are not allowed to act on this line.",
        "ar": "غير مسموح لك بإجراء هذه العملية على هذا الخط.",
        "zh": "您无权对此号码进行操作。",
    }


class NotFound(SimrenewError):
    code = "not_found"
    http_status = 404
    titles: ClassVar[dict[str, str]] = {
        "en": "Not found.",
        "ar": "غير موجود.",
        "zh": "未找到。",
    }


class UnknownLine(NotFound):
    code = "unknown_line"
    titles: ClassVar[dict[str, str]] = {
        "en": "No line with this number is registered.",
        "ar": "لا يوجد خط مسجّل بهذا الرقم.",
        "zh": "没有以此号码登记的线路。",
    }


class UnknownRenewal(NotFound):
    code = "unknown_renewal"
    titles: ClassVar[dict[str, str]] = {
        "en": "No renewal with this id exists.",
        "ar": "لا توجد عملية تجديد بهذا المعرّف.",
        "zh": "不存在此编号的续费记录。",
    }


class UnknownReceipt(NotFound):
    code = "unknown_receipt"
    titles: ClassVar[dict[str, str]] = {
        "en": "No receipt with this number exists.",
        "ar": "لا يوجد إيصال بهذا الرقم.",
        "zh": "不存在此编号的收据。",
    }


class Conflict(SimrenewError):
    code = "conflict"
    http_status = 409


class LineRecycled(Conflict):
    code = "line_recycled"
    titles: ClassVar[dict[str, str]] = {
        "en": "This number was recycled and can no longer be renewed.",
        "ar": "تمت إعادة تدوير هذا الرقم ولا يمكن تجديده.",
        "zh": "此号码已被回收，无法续费。",
    }


class LineSuspended(Conflict):
    code = "line_suspended"
    titles: ClassVar[dict[str, str]] = {
        "en": "This line is suspended: it must be reactivated before it can be renewed.",
        "ar": "هذا الخط موقوف: يجب إعادة تفعيله قبل تجديده.",
        "zh": "此线路已停机：须先重新激活才能续费。",
    }


class LineNotActive(Conflict):
    code = "line_not_active"
    titles: ClassVar[dict[str, str]] = {
        "en": "This line is not active.",
        "ar": "هذا الخط غير فعّال.",
        "zh": "此线路未处于有效状态。",
    }


class QuoteExpired(Conflict):
    code = "quote_expired"
    titles: ClassVar[dict[str, str]] = {
        "en": "This quote has expired or does not match: please ask for a new one.",
        "ar": "انتهت صلاحية عرض السعر أو لا يطابق الطلب: يرجى طلب عرض جديد.",
        "zh": "报价已过期或不匹配：请重新获取报价。",
    }


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    titles: ClassVar[dict[str, str]] = {
        "en": "This Idempotency-Key was already used for a different request.",
        "ar": "مفتاح عدم التكرار هذا استُخدم سابقاً لطلب مختلف.",
        "zh": "此幂等键已被用于另一个不同的请求。",
    }


class InsufficientBalance(Conflict):
    code = "insufficient_balance"
    titles: ClassVar[dict[str, str]] = {
        "en": "The line's balance is not enough for this charge.",
        "ar": "رصيد الخط غير كافٍ لهذه العملية.",
        "zh": "线路余额不足以支付此费用。",
    }


class LoginTaken(Conflict):
    code = "login_taken"
    titles: ClassVar[dict[str, str]] = {
        "en": "An account with this mobile number or e-mail already exists: sign in, or reset "
        "the password.",
        "ar": "يوجد حساب بهذا الرقم أو البريد الإلكتروني: سجّل الدخول أو أعد تعيين كلمة المرور.",
        "zh": "已有使用此手机号码或电子邮件的账户：请登录或重置密码。",
    }


class LineAlreadyBound(Conflict):
    code = "line_already_bound"
    titles: ClassVar[dict[str, str]] = {
        "en": "This line is already linked to your account.",
        "ar": "هذا الخط مرتبط بحسابك بالفعل.",
        "zh": "此号码已绑定到您的账户。",
    }


class LineBoundElsewhere(Conflict):
    code = "line_bound_elsewhere"
    titles: ClassVar[dict[str, str]] = {
        "en": "This line is linked to another account. Please contact customer care to manage "
        "it from more than one account.",
        "ar": "هذا الخط مرتبط بحساب آخر. يرجى التواصل مع خدمة العملاء لإدارته من أكثر من حساب.",
        "zh": "此号码已绑定到另一个账户。如需在多个账户中管理，请联系客户服务。",
    }


class OtpExpired(Conflict):
    code = "otp_expired"
    titles: ClassVar[dict[str, str]] = {
        "en": "This code has expired or can no longer be used: please ask for a new code.",
        "ar": "انتهت صلاحية هذا الرمز أو لم يعد صالحاً للاستخدام: يرجى طلب رمز جديد.",
        "zh": "此验证码已过期或已失效：请重新获取验证码。",
    }


class PackageNotAvailable(SimrenewError):
    code = "package_not_available"
    http_status = 422
    titles: ClassVar[dict[str, str]] = {
        "en": "This package is not available for this line on this channel.",
        "ar": "هذه الباقة غير متاحة لهذا الخط عبر هذه القناة.",
        "zh": "此套餐不适用于该线路或该渠道。",
    }


class PaymentMethodNotAvailable(SimrenewError):
    code = "payment_method_not_available"
    http_status = 422
    titles: ClassVar[dict[str, str]] = {
        "en": "This payment method is not available on this channel.",
        "ar": "طريقة الدفع هذه غير متاحة عبر هذه القناة.",
        "zh": "此渠道不支持该支付方式。",
    }


class PaymentDeclined(SimrenewError):
    code = "payment_declined"
    http_status = 402
    titles: ClassVar[dict[str, str]] = {
        "en": "The payment was declined.",
        "ar": "تم رفض عملية الدفع.",
        "zh": "付款被拒绝。",
    }


class RateLimited(SimrenewError):
    code = "rate_limited"
    http_status = 429
    titles: ClassVar[dict[str, str]] = {
        "en": "Too many requests: please wait a moment and try again.",
        "ar": "طلبات كثيرة جداً: يرجى الانتظار قليلاً ثم المحاولة مجدداً.",
        "zh": "请求过于频繁：请稍后再试。",
    }

    def __init__(
        self,
        detail: str | None = None,
        *,
        retry_after: int | None = None,
        translated: Mapping[str, str] | None = None,
        **context: Any,
    ) -> None:
        super().__init__(detail, translated=translated, **context)
        # Whole seconds until a retry can succeed, when known (HTTP's Retry-After).
        self.retry_after = retry_after


class CatalogInvalid(ValidationFailed):
    code = "catalog_invalid"
    titles: ClassVar[dict[str, str]] = {
        "en": "The catalog file is not valid; nothing was loaded.",
        "ar": "ملف الكتالوج غير صالح؛ لم يتم تحميل أي شيء.",
        "zh": "目录文件无效；未加载任何内容。",
    }


# Errors only an HTTP channel meets.


class MethodNotAllowed(SimrenewError):
    code = "method_not_allowed"
    http_status = 405
    titles: ClassVar[dict[str, str]] = {
        "en": "This method is not allowed on this address.",
        "ar": "هذه الطريقة غير مسموح بها على هذا العنوان.",
        "zh": "此地址不允许使用该请求方法。",
    }


class PayloadTooLarge(SimrenewError):
    code = "payload_too_large"
    http_status = 413
    titles: ClassVar[dict[str, str]] = {
        "en": "The request body is too large.",
        "ar": "حجم محتوى الطلب كبير جداً.",
        "zh": "请求内容过大。",
    }


class InternalError(SimrenewError):
    code = "internal_error"
    http_status = 500
    titles: ClassVar[dict[str, str]] = {
        "en": "Something went wrong on our side; nothing was changed. Please try again.",
        "ar": "حدث خطأ من جهتنا؛ لم يتم تغيير أي شيء. يرجى المحاولة مجدداً.",
        "zh": "我们这边出了问题；未做任何更改。请重试。",
    }


class ServiceUnavailable(SimrenewError):
    code = "service_unavailable"
    http_status = 503
    titles: ClassVar[dict[str, str]] = {
        "en": "The service is unavailable: the database does not answer.",
        "ar": "الخدمة غير متاحة: قاعدة البيانات لا تستجيب.",
        "zh": "服务不可用：数据库无响应。",
    }


class GatewayUnavailable(ServiceUnavailable):
    code = "gateway_unavailable"
    http_status = 503
    titles: ClassVar[dict[str, str]] = {
        "en": "The payment gateway does not answer; nothing was charged. Please try again.",
        "ar": "بوابة الدفع لا تستجيب، ولم يُخصم أي مبلغ. يرجى المحاولة مجدداً.",
        "zh": "支付网关无响应，未扣除任何款项。请重试。",
    }


def all_errors() -> list[type[SimrenewError]]:
    """Every error class of the catalogue, for docs and tests."""
    found: list[type[SimrenewError]] = []
    pending: list[type[SimrenewError]] = [SimrenewError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found
