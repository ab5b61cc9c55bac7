"""The kannel transport's requests and how it reads Kannel's answers; the transport factory."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from simrenew.errors import ValidationFailed
from simrenew.notify.sms.base import SmsRejected, SmsSendError
from simrenew.notify.sms.factory import build_transport
from simrenew.notify.sms.kannel import KannelTransport, dlr_token, kannel_delivery_state
from simrenew.notify.sms.log import LogTransport
from simrenew.notify.sms.smpp import SmppTransport
from simrenew.settings import Settings


def transport_answering(
    status: int, text: str, seen: list[httpx.Request] | None = None
) -> KannelTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, text=text)

    return KannelTransport(
        sendsms_url="http://kannel.test:13013/cgi-bin/sendsms",
        username="simrenew",
        password="pw",
        sender="Zahra",
        public_url="http://simrenew.test/",
        dlr_token="tok",
        client=httpx.Client(transport=httpx.MockTransport(answer)),
    )


def query(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}


def test_english_goes_as_gsm_with_every_delivery_report_asked_for() -> None:
    seen: list[httpx.Request] = []
    transport = transport_answering(202, "0: Accepted for delivery", seen)

    gateway_id = transport.send("+96550001234", "Renew: dial *100#", language="en", message_id="m1")

    assert gateway_id == "m1"
    sent = query(seen[0])
    assert sent == {
        "username": "simrenew",
        "password": "pw",
        "from": "Zahra",
        "to": "+96550001234",
        "text": "Renew: dial *100#",
        "charset": "UTF-8",
        "dlr-mask": "31",
        "dlr-url": "http://simrenew.test/sms/dlr/kannel?id=m1&token=tok&status=%d&ts=%T",
    }


def test_arabic_goes_as_ucs2() -> None:
    seen: list[httpx.Request] = []
    transport = transport_answering(202, "3: Queued for later delivery", seen)

    transport.send("+96550001234", "تم تجديد خطك", language="ar", message_id="m2")

    sent = query(seen[0])
    assert (sent["text"], sent["charset"], sent["coding"]) == ("تم تجديد خطك", "UTF-8", "2")


@pytest.mark.parametrize(
    ("status", "text", "error"),
    [
        (400, "Missing receiver number, rejected", SmsRejected),
        (403, "Authorization failed for sendsms", SmsSendError),
        (503, "Message queue full", SmsSendError),
        (200, "", SmsSendError),
    ],
)
def test_anything_but_accepted_raises(status: int, text: str, error: type[Exception]) -> None:
    transport = transport_answering(status, text)

    with pytest.raises(error, match=f"HTTP {status}"):
        transport.send("+96550001234", "hi", language="en", message_id="m3")


def test_no_answer_is_a_temporary_failure() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport = KannelTransport(
        sendsms_url="http://kannel.test/cgi-bin/sendsms",
        username="u",
        password="p",
        sender="s",
        public_url="http://simrenew.test",
        dlr_token="t",
        client=httpx.Client(transport=httpx.MockTransport(refuse)),
    )

    with pytest.raises(SmsSendError, match="kannel unreachable") as caught:
        transport.send("+96550001234", "hi", language="en", message_id="m4")
    assert not isinstance(caught.value, SmsRejected)


def test_kannel_dlr_types_and_the_token() -> None:
    assert [kannel_delivery_state(n) for n in (1, 2, 4, 8, 16, 3)] == [
        "delivered",
        "failed",
        "buffered",
        "accepted",
        "rejected",
        None,
    ]
    assert dlr_token("a") == dlr_token("a") != dlr_token("b")
    assert len(dlr_token("a")) == 32


def test_the_factory_builds_what_the_settings_name(tmp_path: Path) -> None:
    base = Settings(env="test", data_dir=tmp_path, secret_key="s3cret")
    assert isinstance(build_transport(base), LogTransport)

    kannel = build_transport(
        base.model_copy(update={"sms_transport": "kannel", "kannel_password": "pw"})
    )
    assert isinstance(kannel, KannelTransport)
    assert f"token={dlr_token('s3cret')}" in kannel.dlr_url("x")
    kannel.close()

    with pytest.raises(ValidationFailed, match="SIMRENEW_KANNEL_PASSWORD"):
        build_transport(base.model_copy(update={"sms_transport": "kannel"}))
    with pytest.raises(ValidationFailed, match="SIMRENEW_SMPP_PASSWORD"):
        build_transport(base.model_copy(update={"sms_transport": "smpp"}))
    smpp = build_transport(base.model_copy(update={"sms_transport": "smpp", "smpp_password": "p"}))
    assert isinstance(smpp, SmppTransport)  # it binds on its first message, not before
