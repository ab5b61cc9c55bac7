"""The SMPP transport: a direct SMPP 3.4 bind (transceiver) to the operator's SMSC, via smpplib.

One connection, bound on first use and bound again after the SMSC drops it (the send that
finds it gone raises, so the outbox retries that message; the next send re-binds). Text goes as
GSM 7-bit (data_coding 0) or UCS-2 (data_coding 8), in concatenated parts with an 8-bit UDH
reference when longer than one SMS. A message is accepted when every part has its
`submit_sm_resp` with status 0; no answer in time raises (it may then go twice: the outbox is
at-least-once).

Delivery receipts (`deliver_sm` with esm_class 0x04) arrive on the same bind; they are read
while sending and whenever the worker calls `take_receipts()`, and name the first part's SMSC
message id, the id kept as the message's external id (receipts of the other parts are mapped
back to it while this process remembers them).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import select
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import smpplib.client
import smpplib.consts as c
import smpplib.exceptions
import smpplib.smpp

from simrenew.notify.rules import gsm_septets, sms_encoding
from simrenew.notify.sms.base import DeliveryReceipt, DeliveryState, SmsRejected, SmsSendError

SINGLE = {"gsm7": 160, "ucs2": 140}  # septets (one byte each, unpacked) / bytes
PART = {"gsm7": 153, "ucs2": 134}  # a part loses room to its 6-byte UDH
# The receipt's stat: word (SMPP 3.4 appendix B) and message_state TLV, as delivery states.
RECEIPT_STATES: dict[str, DeliveryState] = {
    "DELIVRD": "delivered",
    "EXPIRED": "expired",
    "DELETED": "failed",
    "UNDELIV": "failed",
    "UNKNOWN": "failed",
    "REJECTD": "rejected",
    "ACCEPTD": "accepted",
    "ENROUTE": "buffered",
    "SCHEDULED": "buffered",
}
MESSAGE_STATES: dict[int, DeliveryState] = {
    1: "buffered",
    2: "delivered",
    3: "expired",
    4: "failed",
    5: "failed",
    6: "accepted",
    7: "failed",
    8: "rejected",
}
# Answers that say the message itself is wrong: retrying cannot help.
_PERMANENT = {c.SMPP_ESME_RINVDSTADR, c.SMPP_ESME_RINVMSGLEN, c.SMPP_ESME_RINVSRCADR}
# "id:IIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E"
_RECEIPT_ID = re.compile(rb"\bid:(\S+)")
_RECEIPT_STAT = re.compile(rb"\bstat:(\w+)")
_REMEMBERED_PARTS = 100_000
ENQUIRE_LINK_SECONDS = 30.0
# A connection in any of these states is dropped; the next send binds again.
_BROKEN = (OSError, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError)


def encode_parts(text: str, *, reference: int) -> tuple[list[bytes], int, int]:
    """The message as SMPP short_message parts: (parts, data_coding, esm_class)."""
    if sms_encoding(text) == "gsm7":
        # One byte per septet, an extension character as ESC + character: never split a pair.
        units = [gsm_septets(char) for char in text]
        coding, kind = c.SMPP_ENCODING_DEFAULT, "gsm7"
    else:
        # A character outside the BMP is a surrogate pair (4 bytes): never split it either.
        units = [char.encode("utf-16-be") for char in text]
        coding, kind = c.SMPP_ENCODING_ISO10646, "ucs2"
    if sum(len(unit) for unit in units) <= SINGLE[kind]:
        return [b"".join(units)], coding, c.SMPP_MSGTYPE_DEFAULT
    chunks: list[bytes] = []
    current = b""
    for unit in units:
        if len(current) + len(unit) > PART[kind]:
            chunks.append(current)
            current = b""
        current += unit
    chunks.append(current)
    header = bytes([5, 0, 3, reference % 256, len(chunks)])
    parts = [header + bytes([n]) + chunk for n, chunk in enumerate(chunks, start=1)]
    return parts, coding, c.SMPP_GSMFEAT_UDHI


def parse_receipt(pdu: Any, *, now: datetime) -> DeliveryReceipt | None:
    """The delivery receipt a deliver_sm carries (dated `now`), or None when it is not one."""
    if not (pdu.esm_class or 0) & 0x04:
        return None  # a message from a subscriber (MO): simrenew takes none
    text = pdu.short_message or b""
    found_id, found_stat = _RECEIPT_ID.search(text), _RECEIPT_STAT.search(text)
    message_id = _text(getattr(pdu, "receipted_message_id", None)) or (
        found_id.group(1).decode(errors="replace") if found_id else None
    )
    state = MESSAGE_STATES.get(getattr(pdu, "message_state", None) or 0)
    if state is None and found_stat:
        state = RECEIPT_STATES.get(found_stat.group(1).decode(errors="replace").upper())
    if not message_id or state is None:
        return None
    # Its "done date" has no time zone (SMSCs write their local time): when it came is surer.
    return DeliveryReceipt(message_id, state, now)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return value.strip("\x00") if value else None


def _answer(client: smpplib.client.Client, command: str, sequence: int) -> None:
    response = smpplib.smpp.make_pdu(command, client=client)
    response.sequence = sequence
    client.send_pdu(response)


class SmppTransport:
    """Sends through one SMPP transceiver bind; receipts are kept for the worker to record."""

    name = "smpp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        system_id: str,
        password: str,
        sender: str,
        timeout_seconds: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.host, self.port = host, port
        self.system_id, self.password, self.sender = system_id, password, sender
        self.timeout_seconds = timeout_seconds
        self._clock = clock
        self._client: smpplib.client.Client | None = None
        self._responses: dict[int, Any] = {}
        self._receipts: list[DeliveryReceipt] = []
        self._first_part: OrderedDict[str, str] = OrderedDict()
        self._last_activity = time.monotonic()

    def send(self, recipient: str, text: str, *, language: str, message_id: str) -> str | None:
        """Submit every part; return the SMSC's id of the first part."""
        reference = hashlib.sha256(message_id.encode()).digest()[0]
        parts, coding, esm_class = encode_parts(text, reference=reference)
        ids: list[str] = []
        try:
            client = self._bound()
            for part in parts:
                pdu = client.send_message(
                    source_addr_ton=c.SMPP_TON_ALNUM,
                    source_addr_npi=c.SMPP_NPI_UNK,
                    source_addr=self.sender,
                    dest_addr_ton=c.SMPP_TON_INTL,
                    dest_addr_npi=c.SMPP_NPI_ISDN,
                    destination_addr=recipient.lstrip("+"),
                    short_message=part,
                    data_coding=coding,
                    esm_class=esm_class,
                    registered_delivery=1,  # a receipt for the final outcome
                )
                ids.append(self._wait_for_response(client, pdu.sequence))
                if len(ids) > 1:  # before the next part: its receipt may come meanwhile
                    self._remember(ids[-1], ids[0])
        except _BROKEN as error:
            self._drop()
            problem = f"smpp: connection to {self.host}:{self.port} lost"
            raise SmsSendError(f"{problem}: {type(error).__name__} {error}") from error
        self._last_activity = time.monotonic()
        return ids[0]

    def take_receipts(self) -> list[DeliveryReceipt]:
        """Read whatever the SMSC sent meanwhile; return and forget the receipts so far."""
        if self._client is not None:
            try:
                self._read_available(self._client)
                if time.monotonic() - self._last_activity > ENQUIRE_LINK_SECONDS:
                    # Idle binds get dropped by SMSCs: show we are alive.
                    self._client.send_pdu(
                        smpplib.smpp.make_pdu("enquire_link", client=self._client)
                    )
                    self._last_activity = time.monotonic()
            except _BROKEN:
                self._drop()  # the next send binds again
        receipts, self._receipts = self._receipts, []
        return receipts

    def close(self) -> None:
        """Unbind politely and close the connection."""
        if self._client is not None:
            # Closing anyway: the SMSC may be gone already.
            with contextlib.suppress(Exception):
                self._client.unbind()
            self._drop()

    # ------------------------------------------------------------------------------------------

    def _bound(self) -> smpplib.client.Client:
        if self._client is not None:
            return self._client
        client = smpplib.client.Client(
            self.host, self.port, timeout=self.timeout_seconds, allow_unknown_opt_params=True
        )
        try:
            client.connect()
            client.bind_transceiver(system_id=self.system_id, password=self.password)
        except smpplib.exceptions.PDUError as error:
            client.disconnect()
            raise SmsSendError(f"smpp: bind refused: {error}") from error
        except _BROKEN as error:
            client.disconnect()
            raise SmsSendError(f"smpp: cannot bind to {self.host}:{self.port}: {error}") from error
        self._client = client
        return client

    def _wait_for_response(self, client: smpplib.client.Client, sequence: int) -> str:
        deadline = time.monotonic() + self.timeout_seconds
        while sequence not in self._responses:
            if time.monotonic() > deadline:
                # The session is not answering: start a new one on the next send.
                self._drop()
                raise SmsSendError("smpp: no submit_sm_resp in time (the message may be sent)")
            try:
                self._read_one(client)
            except TimeoutError:
                continue
        response = self._responses.pop(sequence)
        if response.is_error():
            status = int(response.status)
            problem = f"smpp: submit_sm refused: {c.DESCRIPTIONS.get(status, status)}"
            raise SmsRejected(problem) if status in _PERMANENT else SmsSendError(problem)
        message_id = _text(response.message_id)
        if not message_id:
            raise SmsSendError("smpp: submit_sm_resp without a message id")
        return message_id

    def _read_one(self, client: smpplib.client.Client) -> None:
        """Read one PDU and act on it (raises TimeoutError when none came in time)."""
        pdu = client.read_pdu()
        command = pdu.command
        if command in ("submit_sm_resp", "generic_nack"):
            self._responses[pdu.sequence] = pdu
        elif command == "deliver_sm":
            receipt = parse_receipt(pdu, now=self._clock())
            if receipt is not None:
                first = self._first_part.get(receipt.external_id, receipt.external_id)
                self._receipts.append(DeliveryReceipt(first, receipt.state, receipt.at))
            _answer(client, "deliver_sm_resp", pdu.sequence)
        elif command == "enquire_link":
            _answer(client, "enquire_link_resp", pdu.sequence)
        elif command == "unbind":
            # The SMSC is going away: say goodbye, and bind again on the next send.
            _answer(client, "unbind_resp", pdu.sequence)
            raise smpplib.exceptions.ConnectionError("the SMSC unbound")

    def _read_available(self, client: smpplib.client.Client) -> None:
        """Act on every PDU already waiting, without blocking."""
        while select.select([client._socket], [], [], 0)[0]:  # smpplib keeps no public handle
            self._read_one(client)

    def _remember(self, part_id: str, first_id: str) -> None:
        self._first_part[part_id] = first_id
        while len(self._first_part) > _REMEMBERED_PARTS:
            self._first_part.popitem(last=False)

    def _drop(self) -> None:
        if self._client is not None:
            try:
                self._client.disconnect()
            finally:
                self._client = None
                self._responses.clear()
