"""KNET's hosted-page protocol (KNET Payment Gateway "raw" integration, merchant manual K-064).

The adapter: it sends the payer to `PaymentHTTP.htm` with the encrypted request, reads the
`trandata` KNET posts back, answers it with `REDIRECT=`, and asks `tranPipe.htm` about a
payment (inquiry) or for a refund. The wire formats are in knet_protocol.

KNET signs nothing and has no timestamp: a callback's only proof of origin is that it decrypts
with the resource key. AES-CBC without a MAC is malleable, so every decrypted field is checked
strictly (a tampered block decrypts to bytes that fail those checks), and KNET's manual makes the
merchant confirm a transaction by inquiry before giving the service.
"""

from __future__ import annotations

import hmac
import string
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

import httpx

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
from simrenew.payments.gateways.knet_protocol import (
    ACTION_INQUIRY,
    ACTION_PURCHASE,
    ACTION_REFUND,
    CURRENCY_CODE,
    LANGUAGES,
    NOT_FOUND_ERRORS,
    TRACK_ID,
    KnetProtocolError,
    build_request,
    build_tags,
    canonical_result,
    cipher,
    decrypt_trandata,
    encrypt_trandata,
    format_amount,
    kept_details,
    knet_error,
    outcome_of,
    parse_amount,
    parse_response,
    parse_tags,
    refund_track_id,
)


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
        cipher(resource_key)  # a wrong-sized key is a configuration error: say so at once
        self.base_url = base_url.rstrip("/")
        self._tranportal_id = tranportal_id
        self._password = password
        self._resource_key = resource_key
        self._http = http

    def start_payment(self, order: PaymentOrder) -> Checkout:
        """The URL of KNET's page for `order` (no server call: KNET's paymentid comes later)."""
        if order.currency != "KWD" or order.amount_fils <= 0:
            raise ValueError("KNET takes positive amounts of KWD only")
        if not TRACK_ID.fullmatch(order.payment_ref):
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
            event_id=f"{payment_id}:{canonical_result(result)}",
            payment_ref=track_id,
            outcome=outcome,
            amount_fils=amount,
            currency="KWD",
            gateway_payment_id=payment_id,
            reason=reason,
            details=kept_details(data),  # from trandata only: the clear fields prove nothing
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
            event_id=f"{payment_id or payment_ref}:{canonical_result(result)}",
            payment_ref=payment_ref,
            outcome=outcome,
            amount_fils=amount,
            currency="KWD",
            gateway_payment_id=payment_id,
            reason=reason,
            details=kept_details(answer),
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
