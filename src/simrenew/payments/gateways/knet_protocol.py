"""KNET's hosted-page protocol on the wire: encryption, fields, answers (manual K-064).

The payment request is a `key=value&...` string encrypted with the terminal resource key
(AES-128-CBC, key = IV = the 16-character resource key, PKCS#5 padding, hex) and carried by the
browser to `PaymentHTTP.htm?param=paymentInit`. KNET posts the outcome, encrypted the same way, as
a form field `trandata` to `responseURL`, and the merchant answers with one line
`REDIRECT=<receipt URL>` where KNET sends the browser. Inquiry (action 8) and refund (action 2)
are server-to-server POSTs of XML-like tags (`<id>..</id><action>8</action>...`) to
`tranPipe.htm?param=tranInit`; KNET answers with tags too (`<result>CAPTURED</result>...`).

Pure functions, used by the adapter (gateways.knet) and by the sandbox's KNET (sandbox.knet).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape, unescape

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from simrenew.payments.gateways.base import GatewayOutcome

CURRENCY_CODE = "414"  # ISO 4217 numeric code of KWD, the only currency KNET takes
ACTION_PURCHASE = "1"
ACTION_REFUND = "2"
ACTION_INQUIRY = "8"
# KNET's page speaks English and Arabic only: Chinese payers get the English page.
LANGUAGES = {"en": "USA", "ar": "ARA"}
# "!ERROR!-IPAY0100263-Transaction not found." is how tranPipe.htm says it knows no such
# transaction; "Payment details not available" is our reading of the same case (docs silent).
NOT_FOUND_ERRORS = frozenset({"IPAY0100263", "IPAY0100054"})
# Reason codes (ISO 8583) that tell what a NOT CAPTURED was; "incorrect PIN" is KNET's failed
# cardholder authentication, which simrenew calls 3ds_failed.
DECLINE_REASONS = {"51": "insufficient_funds", "55": "3ds_failed"}
# Fields of KNET's answers worth keeping for support; anything else (never card data in KNET's
# answers, but who knows what a future version adds) is not copied.
DETAIL_FIELDS = (
    "result", "paymentid", "payid", "tranid", "ref", "auth", "postdate", "avr", "authRespCode",
    "trackid", "udf1", "udf2", "udf3", "udf4", "udf5", "Error", "ErrorText", "error_code_tag",
)  # fmt: skip

_BLOCK_BYTES = 16
_HEX = re.compile(r"[0-9A-Fa-f]+")
_AMOUNT = re.compile(r"([0-9]{1,10})(?:\.([0-9]{1,3}))?")
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9_]*)>([^<]*)</\1>")
_ERROR = re.compile(r"!ERROR!-(IPAY[0-9]+)-?(.*)", re.DOTALL)
TRACK_ID = re.compile(r"[A-Za-z0-9]{1,40}")  # KNET: alphanumeric only, at most 40


class KnetProtocolError(ValueError):
    """Text that is not what KNET's protocol says it should be (does not decrypt or parse)."""


def cipher(resource_key: str) -> Cipher[modes.CBC]:
    """AES-128-CBC with key = IV = the terminal's 16-character resource key, as KNET has it."""
    key = resource_key.encode()
    if len(key) != _BLOCK_BYTES:
        raise ValueError("a KNET terminal resource key is exactly 16 bytes")
    return Cipher(algorithms.AES(key), modes.CBC(key))  # KNET uses the key as IV too


def encrypt_trandata(plain: str, resource_key: str) -> str:
    """Encrypt a KNET message as KNET does: AES-128-CBC, key = IV, PKCS#5 padding, hex."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain.encode()) + padder.finalize()
    encryptor = cipher(resource_key).encryptor()
    return (encryptor.update(padded) + encryptor.finalize()).hex()


def decrypt_trandata(hex_text: str, resource_key: str) -> str:
    """Decrypt KNET's hex `trandata` (KnetProtocolError when it is not that key's ciphertext)."""
    text = hex_text.strip()
    if not _HEX.fullmatch(text) or len(text) % (2 * _BLOCK_BYTES):
        raise KnetProtocolError("trandata is not hex whole AES blocks")
    decryptor = cipher(resource_key).decryptor()
    padded = decryptor.update(bytes.fromhex(text)) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode("utf-8")
    except ValueError as exc:  # bad padding or not UTF-8: another key, or tampered
        raise KnetProtocolError("trandata does not decrypt with this resource key") from exc


def build_request(fields: Mapping[str, str]) -> str:
    """KNET's request string `id=..&password=..&..`: raw values, as KNET's own kit sends them."""
    for name, value in fields.items():
        if "&" in value or "=" in name or _CONTROL.search(value):
            raise ValueError(f"KNET cannot carry {name}={value!r} in its request string")
    return "&".join(f"{name}={value}" for name, value in fields.items())


def parse_request(text: str) -> dict[str, str]:
    """Split a KNET request string (values are raw: a URL keeps its `:` and `/`)."""
    fields: dict[str, str] = {}
    for part in text.split("&"):
        name, sep, value = part.partition("=")
        if not sep or not _FIELD_NAME.fullmatch(name) or name in fields:
            raise KnetProtocolError(f"not a KNET request field: {part[:40]!r}")
        fields[name] = value
    return fields


def build_response(fields: Mapping[str, str]) -> str:
    """KNET's answer string: form-encoded (`result=NOT+CAPTURED`), as in its manual's samples."""
    return urlencode(fields)


def parse_response(text: str) -> dict[str, str]:
    """Parse a decrypted KNET answer, strictly: a tampered block must not read as fields."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except ValueError as exc:
        raise KnetProtocolError("not a KNET answer string") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        if not _FIELD_NAME.fullmatch(name) or name in fields or _CONTROL.search(value):
            raise KnetProtocolError(f"not a KNET answer field: {name[:40]!r}")
        fields[name] = value
    if not fields:
        raise KnetProtocolError("an empty KNET answer")
    return fields


def build_tags(fields: Mapping[str, str]) -> str:
    """The tag format of tranPipe.htm: `<id>..</id><action>8</action>...` (no root element)."""
    return "".join(f"<{name}>{escape(value)}</{name}>" for name, value in fields.items())


def parse_tags(text: str) -> dict[str, str]:
    """Read tranPipe.htm's tags (any wrapper such as `<response>` is ignored)."""
    fields = {name: unescape(value).strip() for name, value in _TAG.findall(text)}
    if not fields:
        raise KnetProtocolError("no KNET tags in the answer")
    return fields


def format_amount(fils: int) -> str:
    """Fils as KNET's amount: KWD with exactly three decimals (1 fils -> "0.001")."""
    if isinstance(fils, bool) or not isinstance(fils, int) or fils < 0:
        raise ValueError(f"not an amount of fils: {fils!r}")
    return f"{fils // 1000}.{fils % 1000:03d}"


def parse_amount(text: str) -> int:
    """KNET's amount ("10.000", "10.5", "10") as fils, without floats."""
    match = _AMOUNT.fullmatch(text.strip())
    if match is None:
        raise KnetProtocolError(f"not a KNET amount: {text[:20]!r}")
    whole, fraction = match.group(1), match.group(2) or ""
    return int(whole) * 1000 + int(fraction.ljust(3, "0"))


def knet_error(fields: Mapping[str, str]) -> tuple[str, str] | None:
    """The (code, text) of a tranPipe.htm error answer (`!ERROR!-IPAY0100263-...`), else None."""
    match = _ERROR.match(fields.get("result", "").strip())
    if match is not None:
        return match.group(1), match.group(2).strip()
    code = fields.get("error_code_tag", "").strip()
    if code and code != "null":
        return code, fields.get("error_text", "").strip()
    return None


def outcome_of(result: str, auth_resp_code: str = "") -> tuple[GatewayOutcome, str | None]:
    """What KNET's `result` says became of the payment, and why when it failed."""
    text = " ".join(result.upper().split())
    if text in ("CAPTURED", "SUCCESS"):  # SUCCESS: how an inquiry says CAPTURED
        return GatewayOutcome.CAPTURED, None
    if text in ("CANCELED", "CANCELLED"):
        return GatewayOutcome.CANCELLED, "CANCELED"
    if text == "NOT CAPTURED":
        return GatewayOutcome.DECLINED, DECLINE_REASONS.get(auth_resp_code.strip(), text)
    # HOST TIMEOUT, FAILURE, SUSPECTED, DENIED BY RISK or anything new: not money taken.
    return GatewayOutcome.DECLINED, text or "no result"


def refund_track_id(refund_ref: str) -> str:
    """The trackid a refund is sent under: the reference itself when KNET accepts it, else a
    stable 40-character digest of it (so a retried refund still carries the same trackid)."""
    if TRACK_ID.fullmatch(refund_ref):
        return refund_ref
    return "r" + hashlib.sha256(refund_ref.encode()).hexdigest()[:39]


def kept_details(fields: Mapping[str, str]) -> dict[str, str]:
    """The fields of a KNET answer worth keeping for support (DETAIL_FIELDS), no others."""
    return {name: fields[name] for name in DETAIL_FIELDS if fields.get(name)}


def canonical_result(result: str) -> str:
    """KNET's result in one spelling: upper case, single spaces, SUCCESS read as CAPTURED."""
    text = " ".join(result.upper().split())
    return "CAPTURED" if text == "SUCCESS" else text
