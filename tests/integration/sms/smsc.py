"""A test SMSC served by smpp34 (a maintained SMPP 3.4 library): takes binds and submit_sm,
answers each with a message id and pushes a DELIVRD receipt back on the same bind.

It runs its asyncio loop in a thread; `stop()` drops every bind at once (the peer going away)
and `start()` serves again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import smpp34

from integration.sms.kannel_stack import free_port


@dataclass(frozen=True)
class Submitted:
    """One submit_sm the SMSC took."""

    message_id: str
    destination: str
    data_coding: int
    esm_class: int
    short_message: bytes


class TestSmsc:
    """An SMPP server on a free loopback port; `submitted` lists what it took, in order."""

    __test__ = False  # not a test class, whatever its name says

    def __init__(self) -> None:
        self.port = free_port()
        self.submitted: list[Submitted] = []
        self.binds = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: Any = None
        self._serving: Any = None
        self._sessions: dict[str, Any] = {}

    def start(self) -> None:
        """Listen and serve until stop()."""
        self._run(self._start())

    def stop(self) -> None:
        """Unbind every bound session, then stop listening."""
        self._run(self._stop())

    def close(self) -> None:
        """Stop and end the loop thread."""
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _run(self, work: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    async def _start(self) -> None:
        self._server = smpp34.Server("127.0.0.1", self.port, system_id="TestSMSC")
        await self._server.start()
        self._serving = asyncio.ensure_future(self._serve(self._server))

    async def _stop(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        for session in list(self._sessions.values()):
            # The unbind goes out at once; the ESME need not answer before we hang up.
            with contextlib.suppress(TimeoutError, smpp34.SmppError):
                await asyncio.wait_for(session.unbind(), 0.2)
        self._sessions.clear()
        self._serving.cancel()
        await server.stop()

    async def _serve(self, server: Any) -> None:
        sessions = self._sessions
        while True:
            event = await server.next()
            if isinstance(event, smpp34.Esme):
                sessions[event.session_id] = event
                self.binds += 1
            elif isinstance(event, smpp34.SubmitSmEvent):
                message_id = f"smsc-{len(self.submitted) + 1}"
                self.submitted.append(
                    Submitted(
                        message_id,
                        event.destination_addr,
                        event.data_coding,
                        event.esm_class,
                        event.short_message,
                    )
                )
                event.accept(message_id=message_id)
                receipt = (
                    f"id:{message_id} sub:001 dlvrd:001 submit date:2611251200 "
                    "done date:2611251200 stat:DELIVRD err:000 text:"
                ).encode()
                await sessions[event.session_id].deliver_sm(
                    event.source_addr,
                    receipt,
                    source_addr=event.destination_addr,
                    esm_class=0x04,  # a delivery receipt
                )
            elif isinstance(event, smpp34.Unbound):
                sessions.pop(event.session_id, None)


def received_texts(submitted: list[Submitted]) -> list[tuple[str, str, int]]:
    """(destination, text, data_coding) of each whole message, concatenated parts joined."""
    messages = []
    parts: dict[tuple[str, int], dict[int, bytes]] = {}
    for s in submitted:
        body = s.short_message
        if s.esm_class & 0x40:  # a UDH first: 05 00 03 <reference> <total> <sequence>
            reference, total, sequence = body[3], body[4], body[5]
            pieces = parts.setdefault((s.destination, reference), {})
            pieces[sequence] = body[6:]
            if len(pieces) < total:
                continue
            body = b"".join(pieces[n] for n in range(1, total + 1))
            del parts[(s.destination, reference)]
        messages.append((s.destination, _decode(body, s.data_coding), s.data_coding))
    return messages


# GSM 03.38 written out here, apart from the transport's own table: what the SMSC decodes.
_GSM = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~",
                  0x3E: "]", 0x40: "|", 0x65: "€"}  # fmt: skip


def _decode(body: bytes, data_coding: int) -> str:
    if data_coding == 8:
        return body.decode("utf-16-be")
    out, escaped = [], False
    for septet in body:
        if septet == 0x1B:
            escaped = True
            continue
        out.append(_GSM_EXTENSION[septet] if escaped else _GSM[septet])
        escaped = False
    return "".join(out)
