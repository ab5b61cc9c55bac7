"""The Kannel transport: Kannel's HTTP `sendsms` interface, delivery reports back by dlr-url.

Kannel (bearerbox + smsbox) is the SMS gateway operators run in front of their SMSCs. Each
message is one GET of `sendsms`; Kannel answers `0: Accepted for delivery` (or `3: Queued for
later delivery` while its SMSC link is down: it keeps the message in its store and sends it
later). Either means Kannel has the message. Anything else, or no answer, raises: the outbox
retries it. Kannel has no duplicate check on sendsms, so a message whose answer was lost (a
timeout after Kannel took it) may go out twice: delivery is at-least-once.

Delivery reports: every message asks for all of them (`dlr-mask=31`) with a `dlr-url` back to
`{public_url}/sms/dlr/kannel` naming the outbox id, Kannel's status (`%d`), its time (`%T`)
and a token derived from the secret key (the endpoint refuses calls without it). The smsbox's
`sendsms-user` should allow long messages: `concatenation = true`, `max-messages = 3`.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

import httpx

from simrenew.notify.rules import sms_encoding
from simrenew.notify.sms.base import DeliveryReceipt, DeliveryState, SmsRejected, SmsSendError

DLR_PATH = "/sms/dlr/kannel"
# Kannel's dlr-mask bits: 1 delivered to phone, 2 not delivered to phone, 4 queued on the
# SMSC, 8 accepted by the SMSC, 16 rejected by the SMSC. 31 asks for every one.
DLR_MASK_ALL = 31
KANNEL_DLR_STATES: dict[int, DeliveryState] = {
    1: "delivered",
    2: "failed",
    4: "buffered",
    8: "accepted",
    16: "rejected",
}
_ACCEPTED_PREFIXES = ("0:", "3:")  # "0: Accepted for delivery", "3: Queued for later delivery"


def dlr_token(secret_key: str) -> str:
    """The shared token Kannel's delivery-report calls carry (derived from the secret key)."""
    digest = hmac.new(secret_key.encode(), b"simrenew kannel dlr-url", hashlib.sha256)
    return digest.hexdigest()[:32]


def kannel_delivery_state(status: int) -> DeliveryState | None:
    """What a Kannel DLR status (`%d`) means for the message; None for codes not known."""
    return KANNEL_DLR_STATES.get(status)


class KannelTransport:
    """Sends through Kannel's sendsms; one HTTP connection kept alive between messages."""

    name = "kannel"

    def __init__(
        self,
        *,
        sendsms_url: str,
        username: str,
        password: str,
        sender: str,
        public_url: str,
        dlr_token: str,
        timeout_seconds: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.sendsms_url = sendsms_url
        self._credentials = {"username": username, "password": password}
        self.sender = sender
        self._dlr_base = public_url.rstrip("/") + DLR_PATH
        self._dlr_token = dlr_token
        self._client = client or httpx.Client(timeout=timeout_seconds)

    def dlr_url(self, message_id: str) -> str:
        """The dlr-url for one message; Kannel fills in %d (status) and %T (Unix time)."""
        # Built by hand: urlencode would escape the % of Kannel's escape codes.
        query = urlencode({"id": message_id, "token": self._dlr_token})
        return f"{self._dlr_base}?{query}&status=%d&ts=%T"

    def send(self, recipient: str, text: str, *, language: str, message_id: str) -> str | None:
        """Hand the message to Kannel; return the outbox id (what its reports will name)."""
        params = {
            **self._credentials,
            "from": self.sender,
            "to": recipient,
            "text": text,
            "dlr-mask": str(DLR_MASK_ALL),
            "dlr-url": self.dlr_url(message_id),
            # The text is UTF-8 (httpx encodes it so); saying so keeps é and £ intact.
            "charset": "UTF-8",
        }
        if sms_encoding(text) == "ucs2":
            params["coding"] = "2"  # Arabic, Chinese: sent as UCS-2
        try:
            response = self._client.get(self.sendsms_url, params=params)
        except httpx.HTTPError as error:
            raise SmsSendError(f"kannel unreachable: {type(error).__name__}: {error}") from error
        answer = response.text.strip()
        if answer.startswith(_ACCEPTED_PREFIXES):
            return message_id
        problem = f"kannel answered HTTP {response.status_code}: {answer[:200]}"
        if response.status_code == 400:
            # The message itself is wrong (no receiver, too long...): retrying cannot help.
            raise SmsRejected(problem)
        raise SmsSendError(problem)  # 403 bad credentials, 503 queue full...: fix, then retry

    def take_receipts(self) -> list[DeliveryReceipt]:
        """None here: Kannel's reports come over HTTP, to the dlr-url."""
        return []

    def close(self) -> None:
        """Close the HTTP connection."""
        self._client.close()
