"""KNET's side of its raw hosted-page protocol, as the sandbox gateway plays it.

`GET /knet/PaymentHTTP.htm?param=paymentInit&trandata=..` opens a payment and sends the browser to
the shared hosted page; once the payer is done, the encrypted outcome is POSTed as `trandata` to
the merchant's responseURL, whose `REDIRECT=<url>` line is where the browser goes.
`POST /knet/tranPipe.htm?param=tranInit` answers inquiries (action 8) and refunds (action 2) in
KNET's tag format. Error codes and texts are those of KNET's manual (K-064, section 10).
"""

from __future__ import annotations

import hmac
import secrets
import time
from html import escape
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from simrenew.payments.gateways.knet_protocol import (
    ACTION_INQUIRY,
    ACTION_PURCHASE,
    ACTION_REFUND,
    CURRENCY_CODE,
    KnetProtocolError,
    build_response,
    build_tags,
    decrypt_trandata,
    encrypt_trandata,
    format_amount,
    parse_amount,
    parse_request,
    parse_tags,
)
from simrenew.payments.sandbox.protocol import BrowserReturn, SandboxContext
from simrenew.payments.sandbox.store import SandboxPayment

# langid values seen in KNET's manual and kits: USA/ARA (kits), EN/AR (manual), ENG (older kit).
_LANGUAGES = {"USA": "en", "EN": "en", "ENG": "en", "ARA": "ar", "AR": "ar"}
_UDF_FORBIDDEN = set("@/")  # KNET's manual, 9.1.1: symbols UDFs must not carry
_DECLINE_CODES = {"insufficient_funds": "51", "3ds_failed": "55"}  # ISO 8583 reason codes
_UDFS = ("udf1", "udf2", "udf3", "udf4", "udf5")
# The IPAY codes the sandbox answers with, worded as in KNET's manual (K-064, section 10).
_ERRORS = {
    "IPAY0100001": "Missing error URL",
    "IPAY0100002": "Invalid error URL",
    "IPAY0100003": "Missing response URL",
    "IPAY0100004": "Invalid response URL",
    "IPAY0100005": "Missing tranportal ID",
    "IPAY0100006": "Invalid tranportal ID",
    "IPAY0100007": "Missing transaction data",
    "IPAY0100013": "Invalid transaction data",
    "IPAY0100014": "Terminal Authentication requested with invalid tranportal ID data",
    "IPAY0100015": "Invalid tranportal password",
    "IPAY0100020": "Invalid action type",
    "IPAY0100022": "Invalid currency",
    "IPAY0100023": "Missing amount",
    "IPAY0100024": "Invalid amount",
    "IPAY0100026": "Invalid language ID",
    "IPAY0100027": "Invalid track id",
    "IPAY0100028": "Invalid user defined field1",
    "IPAY0100029": "Invalid user defined field2",
    "IPAY0100030": "Invalid user defined field3",
    "IPAY0100031": "Invalid user defined field4",
    "IPAY0100032": "Invalid user defined field5",
    "IPAY0100038": "Unable to process the request",
    "IPAY0100061": "Transaction denied due to invalid amount",
    "IPAY0100063": "Transaction denied due to invalid track ID",
    "IPAY0100068": "Transaction denied due to invalid UDF5",
    "IPAY0100114": "Duplicate Record",
    "IPAY0100116": "Transaction denied due to invalid original transaction ID",
    "IPAY0100136": "Transaction denied due to previous capture check failure"
    " (Validate Original Transaction)",
    "IPAY0100137": "Transaction denied due to credit amount greater than auth amount check failure"
    " (Validate Original Transaction)",
    "IPAY0100263": "Transaction details not available",
    "IPAY0100272": "Problem occurred while validating xml message format",
}


class _KnetFailure(Exception):
    """A request KNET refuses with one of its IPAY error codes."""

    def __init__(self, code: str) -> None:
        super().__init__(f"{code} {_ERRORS[code]}")
        self.code, self.text = code, _ERRORS[code]


def _digits(count: int) -> str:
    return f"{secrets.randbelow(10**count):0{count}d}"


def _postdate(at: float) -> str:
    return time.strftime("%m%d", time.gmtime(at))  # KNET's MMDD posting date


def _error_answer(failure: _KnetFailure) -> dict[str, str]:
    return {
        "error_code_tag": failure.code,
        "error_service_tag": "null",
        "result": f"!ERROR!-{failure.code}-{failure.text}",
    }


def redirect_target(reply: str | None) -> str | None:
    """The URL of a merchant's `REDIRECT=<url>` line; None when the reply is anything else."""
    text = (reply or "").strip()
    if not text.startswith("REDIRECT=") or "\n" in text or "\r" in text:
        return None
    url = text.removeprefix("REDIRECT=").strip()
    return url if url.startswith(("http://", "https://")) else None


class KnetSandbox:
    """The sandbox's KNET: payment pages by encrypted request, callbacks, inquiry and refunds."""

    gateway = "knet"

    def __init__(self, context: SandboxContext) -> None:
        """Serve KNET's protocol over the sandbox's shared store and hosted pages."""
        self.context = context
        self._by_tranid: dict[str, SandboxPayment] = {}
        self._by_refno: dict[str, SandboxPayment] = {}
        # refund trackid -> (payment reference, KNET's answer): a repeated trackid is answered
        # again, never refunded again (KNET's manual is silent on refund trackids).
        self._refunds: dict[str, tuple[str, dict[str, str]]] = {}

    def router(self) -> APIRouter:
        """PaymentHTTP.htm (the browser's entry) and tranPipe.htm (server to server)."""
        router = APIRouter()

        @router.get("/PaymentHTTP.htm")
        def payment_init(request: Request) -> Response:
            query = request.query_params
            try:
                if query.get("param") != "paymentInit":
                    raise _KnetFailure("IPAY0100038")
                payment = self._open(query.get("tranportalId", ""), query.get("trandata", ""))
            except _KnetFailure as failure:
                # KNET shows its own error page: the URLs in the request cannot be trusted.
                message = escape(f"!ERROR!-{failure.code}-{failure.text}")
                page = f"<html><body><h1>KNET Payment Gateway</h1><p>{message}</p></body></html>"
                return HTMLResponse(page, status_code=400)
            return RedirectResponse(self.context.checkout_url(payment), status_code=303)

        @router.post("/tranPipe.htm")
        async def tran_pipe(request: Request) -> Response:
            body = (await request.body()).decode("utf-8", errors="replace")
            try:
                if request.query_params.get("param") != "tranInit":
                    raise _KnetFailure("IPAY0100038")
                answer = self._transaction(body)
            except _KnetFailure as failure:
                answer = _error_answer(failure)
            return PlainTextResponse(build_tags(answer))  # KNET answers HTTP 200, errors too

        return router

    def _check_terminal(self, tranportal_id: str, password: str | None) -> None:
        settings = self.context.settings
        if not tranportal_id:
            raise _KnetFailure("IPAY0100005")
        if not hmac.compare_digest(tranportal_id, settings.secret("knet_tranportal_id")):
            raise _KnetFailure("IPAY0100006")
        expected = settings.secret("knet_tranportal_password")
        if password is not None and not hmac.compare_digest(password, expected):
            raise _KnetFailure("IPAY0100015")

    def _open(self, tranportal_id: str, trandata: str) -> SandboxPayment:
        """Check and decrypt a payment request; the new payment, kept in the store."""
        self._check_terminal(tranportal_id, None)
        if not trandata:
            raise _KnetFailure("IPAY0100007")
        key = self.context.settings.secret("knet_resource_key")
        try:
            fields = parse_request(decrypt_trandata(trandata, key))
        except KnetProtocolError as exc:
            raise _KnetFailure("IPAY0100013") from exc
        if not hmac.compare_digest(fields.get("id", ""), tranportal_id):
            raise _KnetFailure("IPAY0100014")
        self._check_terminal(tranportal_id, fields.get("password", ""))
        if fields.get("action") != ACTION_PURCHASE:
            raise _KnetFailure("IPAY0100020")
        if fields.get("currencycode") != CURRENCY_CODE:
            raise _KnetFailure("IPAY0100022")
        try:
            amount_fils = parse_amount(fields.get("amt", ""))
        except KnetProtocolError:
            amount_fils = 0
        if amount_fils <= 0:
            raise _KnetFailure("IPAY0100024")
        language = _LANGUAGES.get(fields.get("langid", "").upper())
        if language is None:
            raise _KnetFailure("IPAY0100026")
        track_id = fields.get("trackid", "")
        if not track_id.isascii() or not track_id.isalnum() or len(track_id) > 40:
            raise _KnetFailure("IPAY0100027")
        # The URLs inside trandata are the ones that count: those beside it came through the
        # browser in clear.
        for name, missing, invalid in (
            ("responseURL", "IPAY0100003", "IPAY0100004"),
            ("errorURL", "IPAY0100001", "IPAY0100002"),
        ):
            url = fields.get(name, "")
            if not url:
                raise _KnetFailure(missing)
            if not url.startswith(("http://", "https://")):
                raise _KnetFailure(invalid)
        for number, name in enumerate(_UDFS, start=1):
            if _UDF_FORBIDDEN & set(fields.get(name, "")):
                raise _KnetFailure(f"IPAY01000{27 + number}")
        extra = {name: fields.get(name, "") for name in _UDFS}
        extra.update(tranid=_digits(15), ref=_digits(12), auth=_digits(6), langid=fields["langid"])
        with self.context.store.lock:
            payment_id = "100" + _digits(15)
            while self.context.store.by_id(payment_id) is not None:
                payment_id = "100" + _digits(15)
            payment = SandboxPayment(
                gateway=self.gateway,
                ref=track_id,
                gateway_payment_id=payment_id,
                amount_fils=amount_fils,
                currency="KWD",
                method="knet",
                language=language,
                return_url=fields["errorURL"],
                callback_url=fields["responseURL"],
                description=f"KNET payment, track ID {track_id}",  # KNET sends no description
                created_at=time.time(),
                extra=extra,
            )
            self.context.store.add(payment)
            self._by_tranid[extra["tranid"]] = payment
            self._by_refno[extra["ref"]] = payment
        return payment

    def _result_fields(self, payment: SandboxPayment) -> dict[str, str] | None:
        """KNET's answer about a finished payment, in its manual's field order."""
        with self.context.store.lock:
            state, reason, extra = payment.state, payment.reason, dict(payment.extra)
            at = payment.captured_at or payment.created_at
        if state == "captured":
            result, code, auth = "CAPTURED", "00", extra["auth"]
        elif state == "declined":
            result, code, auth = "NOT CAPTURED", _DECLINE_CODES.get(reason or "", "05"), "000000"
        elif state == "cancelled":  # KNET's cancel sample: no auth, ref, tranid or postdate
            result, code, auth = "CANCELED", "", ""
            extra.update(ref="", tranid="")
        else:
            return None
        fields = {
            "paymentid": payment.gateway_payment_id,
            "result": result,
            "auth": auth,
            "avr": "N",
            "ref": extra["ref"],
            "tranid": extra["tranid"],
            "postdate": _postdate(at) if extra["tranid"] else "",
            "trackid": payment.ref,
            **{name: extra.get(name, "") for name in _UDFS},
            "amt": format_amount(payment.amount_fils),
        }
        if code:
            fields["authRespCode"] = code
        return fields

    def send_callback(self, payment: SandboxPayment) -> str | None:
        """POST the encrypted outcome to responseURL; the merchant's reply (None on failure)."""
        fields = self._result_fields(payment)
        if fields is None or not payment.callback_url:
            return None
        key = self.context.settings.secret("knet_resource_key")
        form = {
            "trandata": encrypt_trandata(build_response(fields), key),
            # KNET's manual reads these beside trandata too; which ones a real KNET sends in
            # clear is not said: we send the two that identify the payment.
            "paymentid": payment.gateway_payment_id,
            "trackid": payment.ref,
        }
        try:
            response = httpx.post(payment.callback_url, data=form, timeout=10.0)
        except httpx.HTTPError:
            return None
        return response.text if response.status_code == 200 else None

    def browser_return(self, payment: SandboxPayment, reply: str | None) -> BrowserReturn:
        """To the merchant's REDIRECT URL; when the reply was anything else, to errorURL.

        A real KNET also reverses a capture whose notification failed (manual, 9.2.1); the
        sandbox keeps the payment as the payer finished it, so tests can recover it by inquiry.
        """
        url = redirect_target(reply)
        if url is not None:
            return BrowserReturn(method="GET", url=url)
        if reply is None:  # codes chosen from KNET's list; its manual does not say which
            error, text = "IPAY0100249", "Merchant response URL is down"
        else:
            error, text = "IPAY0200014", "Problem occurred during merchant response"
        query = urlencode(
            {
                "paymentid": payment.gateway_payment_id,
                "trackid": payment.ref,
                "Error": error,
                "ErrorText": text,
            }
        )
        separator = "&" if "?" in payment.return_url else "?"
        return BrowserReturn(method="GET", url=f"{payment.return_url}{separator}{query}")

    def _transaction(self, body: str) -> dict[str, str]:
        """One tranPipe.htm request: inquiry or refund."""
        try:
            fields = parse_tags(body)
        except KnetProtocolError as exc:
            raise _KnetFailure("IPAY0100272") from exc
        self._check_terminal(fields.get("id", ""), fields.get("password", ""))
        if not fields.get("amt"):
            raise _KnetFailure("IPAY0100023")
        try:
            amount_fils = parse_amount(fields["amt"])
        except KnetProtocolError as exc:
            raise _KnetFailure("IPAY0100024") from exc
        action = fields.get("action", "")
        if action == ACTION_INQUIRY:
            # KNET wants the original amount in an inquiry; whether it checks it is not said:
            # the sandbox answers anyway, and the answer's amt tells the truth.
            return self._inquiry(fields)
        if action == ACTION_REFUND:
            return self._refund(fields, amount_fils)
        raise _KnetFailure("IPAY0100020")

    def _original(self, fields: dict[str, str]) -> SandboxPayment | None:
        """The transaction `transid` names, read as `udf5` says (default: transaction id)."""
        transid, kind = fields.get("transid", ""), fields.get("udf5", "").lower()
        payment: SandboxPayment | None
        if kind == "trackid":  # KNET: then trackid and transid are the same track id
            same = transid == fields.get("trackid")
            payment = self.context.store.by_ref(transid) if same else None
        elif kind == "paymentid":
            payment = self.context.store.by_id(transid)
        elif kind in ("refid", "seqnum"):
            payment = self._by_refno.get(transid)
        elif kind in ("", "transid", "transactionid"):
            payment = self._by_tranid.get(transid)
        else:
            raise _KnetFailure("IPAY0100068")
        return payment if payment is not None and payment.gateway == self.gateway else None

    def _inquiry(self, fields: dict[str, str]) -> dict[str, str]:
        payment = self._original(fields)
        result = self._result_fields(payment) if payment is not None else None
        if payment is None or result is None:  # no transaction until the payer submits
            raise _KnetFailure("IPAY0100263")
        answer = {name: value for name, value in result.items() if name != "paymentid"}
        if answer["result"] == "CAPTURED":
            answer["result"] = "SUCCESS"  # how KNET's inquiry says captured (manual 3.5.5)
        answer["payid"] = payment.gateway_payment_id  # inquiry answers say payid, not paymentid
        answer["udf5"] = fields.get("udf5", "")  # KNET echoes the inquiry's udf5
        return answer

    def _refund(self, fields: dict[str, str], amount_fils: int) -> dict[str, str]:
        track_id = fields.get("trackid", "")
        if not track_id.isascii() or not track_id.isalnum() or len(track_id) > 40:
            raise _KnetFailure("IPAY0100063")
        if amount_fils <= 0:
            raise _KnetFailure("IPAY0100061")
        with self.context.store.lock:
            payment = self._original(fields)
            if payment is None:
                raise _KnetFailure("IPAY0100116")
            done = self._refunds.get(track_id)
            if done is not None:
                if done[0] != payment.ref:
                    raise _KnetFailure("IPAY0100114")
                return done[1]
            if payment.state != "captured":
                raise _KnetFailure("IPAY0100136")
            if payment.refunded_fils + amount_fils > payment.amount_fils:
                raise _KnetFailure("IPAY0100137")
            payment.refunds[track_id] = amount_fils
            # KNET's sample refund answer leaves ref/tranid/amt empty; ours fills them, so
            # the merchant can keep the refund's own transaction id.
            answer = {
                "result": "CAPTURED",
                "payid": "100" + _digits(15),
                "trackid": track_id,
                **{name: "" for name in _UDFS},
                "ref": _digits(12),
                "auth": "",
                "postdate": _postdate(time.time()),
                "tranid": _digits(15),
                "amt": format_amount(amount_fils),
            }
            self._refunds[track_id] = (payment.ref, answer)
            return answer
