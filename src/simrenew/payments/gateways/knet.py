"""KNET's own hosted-page protocol (KNET Payment Gateway "raw" integration, merchant manual K-064).

The payment request is a `key=value&...` string encrypted with the terminal resource key
(AES-128-CBC, key = IV = the 16-character resource key, PKCS#5 padding, hex) and carried by the
browser to `PaymentHTTP.htm?param=paymentInit`. KNET posts the outcome, encrypted the same way, as
a form field `trandata` to `responseURL`, and the merchant answers with one line
`REDIRECT=<receipt URL>` where KNET sends the browser. Inquiry (action 8) and refund (action 2)
are server-to-server POSTs of XML-like tags (`<id>..</id><action>8</action>...`) to
`tranPipe.htm?param=tranInit`; KNET answers with tags too (`<result>CAPTURED</result>...`).

KNET signs nothing and has no timestamp: a callback's only proof of origin is that it decrypts
with the resource key. AES-CBC without a MAC is malleable, so every decrypted field is checked
strictly (a tampered block decrypts to bytes that fail those checks), and KNET's manual makes the
merchant confirm a transaction by inquiry before giving the service.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import string
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape, unescape

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from simrenew.payments.gateways.base import (
    CallbackRejected,
    CallbackReply,
    Checkout,
    GatewayEvent,
    GatewayOutcome,
    GatewayUnavailable,
    PaymentOrder,
    Refund,
)

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
_TRACK_ID = re.compile(r"[A-Za-z0-9]{1,40}")  # KNET: alphanumeric only, at most 40


class KnetProtocolError(ValueError):
    """Text that is not what KNET's protocol says it should be (does not decrypt or parse)."""


def _cipher(resource_key: str) -> Cipher[modes.CBC]:
    key = resource_key.encode()
    if len(key) != _BLOCK_BYTES:
        raise ValueError("a KNET terminal resource key is exactly 16 bytes")
    return Cipher(algorithms.AES(key), modes.CBC(key))  # KNET uses the key as IV too


def encrypt_trandata(plain: str, resource_key: str) -> str:
    """Encrypt a KNET message as KNET does: AES-128-CBC, key = IV, PKCS#5 padding, hex."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain.encode()) + padder.finalize()
    encryptor = _cipher(resource_key).encryptor()
    return (encryptor.update(padded) + encryptor.finalize()).hex()


def decrypt_trandata(hex_text: str, resource_key: str) -> str:
    """Decrypt KNET's hex `trandata` (KnetProtocolError when it is not that key's ciphertext)."""
    text = hex_text.strip()
    if not _HEX.fullmatch(text) or len(text) % (2 * _BLOCK_BYTES):
        raise KnetProtocolError("trandata is not hex whole AES blocks")
    decryptor = _cipher(resource_key).decryptor()
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
    if _TRACK_ID.fullmatch(refund_ref):
        return refund_ref
    return "r" + hashlib.sha256(refund_ref.encode()).hexdigest()[:39]


def _details(fields: Mapping[str, str]) -> dict[str, str]:
    return {name: fields[name] for name in DETAIL_FIELDS if fields.get(name)}


def _canonical_result(result: str) -> str:
    text = " ".join(result.upper().split())
    return "CAPTURED" if text == "SUCCESS" else text


class KnetGateway:
    """simrenew's adapter of KNET's raw hosted-page protocol (payment, inquiry, refund)."""

    code = "knet"

    def __init__(
        self,
        *,
        base_url: str,
        tranportal_id: str,
        password: str,
        resource_key: str,
        http: httpx.Client | None = None,
    ) -> None:
        """`base_url` is where PaymentHTTP.htm and tranPipe.htm live (e.g. .../kpg)."""
        _cipher(resource_key)  # a wrong-sized key is a configuration error: say so at once
        self.base_url = base_url.rstrip("/")
        self._tranportal_id = tranportal_id
        self._password = password
        self._resource_key = resource_key
        self._http = http

    def start_payment(self, order: PaymentOrder) -> Checkout:
        """The URL of KNET's page for `order` (no server call: KNET's paymentid comes later)."""
        if order.currency != "KWD" or order.amount_fils <= 0:
            raise ValueError("KNET takes positive amounts of KWD only")
        if not _TRACK_ID.fullmatch(order.payment_ref):
            raise ValueError("KNET's trackid is alphanumeric, at most 40 characters")
        request = {
            "id": self._tranportal_id,
            "password": self._password,
            "action": ACTION_PURCHASE,
            "langid": LANGUAGES.get(order.language, "USA"),
            "currencycode": CURRENCY_CODE,
            "amt": format_amount(order.amount_fils),
            "responseURL": order.callback_url,
            "errorURL": order.return_url,
            "trackid": order.payment_ref,
            # udf1: the line's number, digits only (KNET refuses "+" and other symbols in UDFs),
            # so KNET's support screens find a payer's payments; udf2-5 stay empty: udf3 is
            # KFAST's customer token and udf5 goes to the bank's reports.
            "udf1": "".join(ch for ch in order.msisdn if ch in string.digits),
            **dict.fromkeys(("udf2", "udf3", "udf4", "udf5"), ""),
        }
        trandata = encrypt_trandata(build_request(request), self._resource_key)
        query = urlencode(
            {
                "param": "paymentInit",
                "trandata": trandata,
                "tranportalId": self._tranportal_id,  # beside trandata, as KNET's kit sends it
                "responseURL": order.callback_url,
                "errorURL": order.return_url,
            }
        )
        return Checkout(redirect_url=f"{self.base_url}/PaymentHTTP.htm?{query}")

    def read_callback(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> GatewayEvent:
        """Decrypt and read KNET's POST to responseURL (CallbackRejected when it does not).

        `now` is unused: KNET's message carries no timestamp to check.
        """
        try:
            plain = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except ValueError as exc:
            raise CallbackRejected("KNET callback is not a form") from exc
        if not plain.get("trandata"):
            # Error/ErrorText without trandata come in clear and prove nothing: the browser
            # return and an inquiry tell what happened instead.
            raise CallbackRejected("KNET callback without trandata")
        try:
            data = parse_response(decrypt_trandata(plain["trandata"], self._resource_key))
            amount = parse_amount(data["amt"]) if data.get("amt") else None
        except KnetProtocolError as exc:
            raise CallbackRejected(f"KNET trandata does not verify: {exc}") from exc
        for name in ("paymentid", "trackid"):  # clear copies beside trandata must agree with it
            if plain.get(name) and not hmac.compare_digest(plain[name], data.get(name, "")):
                raise CallbackRejected(f"KNET callback {name} differs from its trandata")
        payment_id, track_id = data.get("paymentid", ""), data.get("trackid", "")
        result = data.get("result", "")
        if not payment_id.isdigit() or not track_id:
            raise CallbackRejected("KNET trandata without paymentid or trackid")
        if result:
            outcome, reason = outcome_of(result, data.get("authRespCode", ""))
        elif data.get("Error"):  # a failure KNET reports as an error code, not a result
            outcome = GatewayOutcome.DECLINED
            reason = f"{data['Error']} {data.get('ErrorText', '')}".strip()
            result = data["Error"]
        else:
            raise CallbackRejected("KNET trandata without result")
        return GatewayEvent(
            event_id=f"{payment_id}:{_canonical_result(result)}",
            payment_ref=track_id,
            outcome=outcome,
            amount_fils=amount,
            currency="KWD",
            gateway_payment_id=payment_id,
            reason=reason,
            details=_details(data),  # from trandata only: the clear fields prove nothing
        )

    def reply_to_callback(self, event: GatewayEvent | None, *, redirect_url: str) -> CallbackReply:
        """The single line KNET reads from responseURL: `REDIRECT=<where the browser goes>`."""
        if "\r" in redirect_url or "\n" in redirect_url:
            raise ValueError("a REDIRECT URL is one line")
        # The same answer for a rejected callback: KNET treats anything else as a failed
        # notification (and reverses a capture), so the browser still reaches our failure page.
        return CallbackReply(status_code=200, body=f"REDIRECT={redirect_url}")

    def query_payment(
        self, payment_ref: str, *, gateway_payment_id: str | None, amount_fils: int
    ) -> GatewayEvent:
        """KNET inquiry (action 8) by track id, as KNET's manual describes inquiring by TrackID."""
        # KNET wants the original amount, and transid = trackid when inquiring by TrackID.
        answer = self._tran_pipe(ACTION_INQUIRY, amount_fils, payment_ref, payment_ref, "TrackID")
        error = knet_error(answer)
        if error is not None:
            code, text = error
            if code not in NOT_FOUND_ERRORS:
                raise GatewayUnavailable(f"KNET inquiry failed: {code} {text}")
            # Never reached KNET's page, or still on it: KNET has no transaction yet.
            return GatewayEvent(
                event_id=f"{payment_ref}:UNKNOWN",
                payment_ref=payment_ref,
                outcome=GatewayOutcome.UNKNOWN,
                amount_fils=None,
                currency=None,
                gateway_payment_id=gateway_payment_id,
                reason=f"{code} {text}".strip(),
                details={"error_code_tag": code},
            )
        result = answer.get("result", "")
        if not result or answer.get("trackid", payment_ref) != payment_ref:
            raise GatewayUnavailable("KNET inquiry answer is not about this payment")
        try:
            amount = parse_amount(answer["amt"]) if answer.get("amt") else None
        except KnetProtocolError as exc:
            raise GatewayUnavailable(f"KNET inquiry answer: {exc}") from exc
        outcome, reason = outcome_of(result, answer.get("authRespCode", ""))
        payment_id = answer.get("payid") or answer.get("paymentid") or gateway_payment_id
        return GatewayEvent(
            # The same id as the callback's for the same fact, so the two are one event.
            event_id=f"{payment_id or payment_ref}:{_canonical_result(result)}",
            payment_ref=payment_ref,
            outcome=outcome,
            amount_fils=amount,
            currency="KWD",
            gateway_payment_id=payment_id,
            reason=reason,
            details=_details(answer),
        )

    def refund(
        self,
        payment_ref: str,
        *,
        gateway_payment_id: str | None,
        amount_fils: int,
        refund_ref: str,
    ) -> Refund:
        """KNET refund (action 2) of the capture with KNET paymentid `gateway_payment_id`.

        The refund's own trackid is `refund_ref` (KNET's manual only shows refunds by the
        original track id; we identify the original by PaymentID so the trackid is free to
        carry the refund's reference, which is what makes a retry recognisable).
        """
        if not gateway_payment_id:
            # Only a callback or an inquiry tells KNET's paymentid; without it there is no
            # way to name the capture to KNET.
            return Refund(refund_ref, amount_fils, succeeded=False, reason="no KNET paymentid")
        track_id = refund_track_id(refund_ref)
        answer = self._tran_pipe(
            ACTION_REFUND, amount_fils, gateway_payment_id, track_id, "PaymentID"
        )
        error = knet_error(answer)
        if error is not None:
            return Refund(refund_ref, amount_fils, succeeded=False, reason=" ".join(error))
        result = " ".join(answer.get("result", "").upper().split())
        if result != "CAPTURED":  # KNET: a refund succeeded only when result is CAPTURED
            return Refund(refund_ref, amount_fils, succeeded=False, reason=result or "no result")
        try:
            refunded = parse_amount(answer["amt"]) if answer.get("amt") else amount_fils
        except KnetProtocolError as exc:
            raise GatewayUnavailable(f"KNET refund answer: {exc}") from exc
        refund_id = answer.get("tranid") or answer.get("payid") or refund_ref
        return Refund(refund_id=refund_id, amount_fils=refunded, succeeded=True)

    def _tran_pipe(
        self, action: str, amount_fils: int, transid: str, track_id: str, udf5: str
    ) -> dict[str, str]:
        """POST a tranPipe.htm request; KNET's answer as fields (tags or encrypted trandata)."""
        url = f"{self.base_url}/tranPipe.htm?param=tranInit"
        fields = {"id": self._tranportal_id, "password": self._password, "action": action}
        if action == ACTION_REFUND:
            fields["currencycode"] = CURRENCY_CODE  # as KNET's library sample sets it
        amount = format_amount(amount_fils)
        fields.update(amt=amount, transid=transid, trackid=track_id, udf5=udf5)
        content = build_tags(fields)
        headers = {"Content-Type": "application/xml"}  # as KNET's manual says for RAW
        try:
            if self._http is not None:
                response = self._http.post(url, content=content, headers=headers)
            else:
                with httpx.Client(timeout=30.0) as client:
                    response = client.post(url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise GatewayUnavailable(f"KNET did not answer: {exc.__class__.__name__}") from exc
        if response.status_code != 200:
            raise GatewayUnavailable(f"KNET answered HTTP {response.status_code}")
        text = response.text.strip()
        try:
            if "<" in text:
                return parse_tags(text)
            # Some terminals answer encrypted, as `trandata=<hex>` or the bare hex.
            encrypted = dict(parse_qsl(text)).get("trandata", text) if "=" in text else text
            return parse_response(decrypt_trandata(encrypted, self._resource_key))
        except KnetProtocolError as exc:
            raise GatewayUnavailable(f"KNET answer unreadable: {exc}") from exc
