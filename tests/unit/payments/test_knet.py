"""The KNET adapter without a network: trandata crypto, request strings, amounts, callbacks,
and inquiry/refund answers through a mock transport."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simrenew.payments.gateways.base import (
    CallbackRejected,
    GatewayEvent,
    GatewayOutcome,
    GatewayUnavailable,
    PaymentOrder,
)
from simrenew.payments.gateways.knet import KnetGateway
from simrenew.payments.gateways.knet_protocol import (
    KnetProtocolError,
    build_request,
    build_response,
    build_tags,
    decrypt_trandata,
    encrypt_trandata,
    format_amount,
    knet_error,
    outcome_of,
    parse_amount,
    parse_request,
    parse_response,
    parse_tags,
    refund_track_id,
)

KEY = "0123456789abcdef"
OTHER_KEY = "fedcba9876543210"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
BASE = "https://kpay.example/kpg"
# Computed once with the openssl command line (an implementation independent of ours):
#   printf '<plain>' | openssl enc -aes-128-cbc -K <hex of KEY> -iv <hex of KEY> | xxd -p
VECTORS = [
    ("id=123&password=pw&action=1", "a5f0ba06db0866ae365f4e6738365cbf49e3e990a11ee68489180d08d8bac539"),  # noqa: E501
    ("0123456789ABCDEF", "3f9068c01d6c579565df4478b5276637ae3e33d89b8afb254b01b6f3fecc7c74"),
]  # fmt: skip
# KNET's manual's sample answer for a captured payment (section 5).
CAPTURED = (
    "paymentid=8962225231041180&result=CAPTURED&auth=999554&avr=N&ref=411857974849"
    "&tranid=9929892231041180&postdate=0427&trackid=632186&udf1=&udf2=&udf3=&udf4=&udf5="
    "&amt=20.550&authResponseCode=00"
)


def gateway(http: httpx.Client | None = None, key: str = KEY) -> KnetGateway:
    return KnetGateway(
        base_url=BASE + "/", tranportal_id="tp123", password="s3cret!", resource_key=key, http=http
    )


def order(**changes: str | int) -> PaymentOrder:
    fields: dict[str, str | int] = {
        "payment_ref": "7h3kq9x2m4p8r1t6v0w5y2z3",
        "amount_fils": 10_250,
        "currency": "KWD",
        "method": "knet",
        "language": "en",
        "return_url": "https://simrenew.example/pay/return",
        "callback_url": "https://simrenew.example/pay/knet/callback",
        "description": "Zahra 10 KD renewal +96550001234",
        "msisdn": "+96550001234",
    }
    fields.update(changes)
    return PaymentOrder(**fields)  # type: ignore[arg-type]


def callback_body(plain: str, key: str = KEY, **clear: str) -> bytes:
    """What KNET posts to responseURL: `trandata` and, maybe, clear fields beside it."""
    return urlencode({"trandata": encrypt_trandata(plain, key), **clear}).encode()


def read(body: bytes) -> GatewayEvent:
    return gateway().read_callback(
        body, {"content-type": "application/x-www-form-urlencoded"}, now=NOW
    )


# Crypto ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("plain", "cipher"), VECTORS)
def test_encryption_matches_openssl(plain: str, cipher: str) -> None:
    assert encrypt_trandata(plain, KEY) == cipher
    assert decrypt_trandata(cipher.upper(), KEY) == plain  # KNET's samples are upper-case hex


@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 31, 32, 33])
def test_padding_always_adds_one_to_sixteen_bytes(length: int) -> None:
    cipher = encrypt_trandata("x" * length, KEY)
    assert len(cipher) // 2 == (length // 16 + 1) * 16
    assert decrypt_trandata(cipher, KEY) == "x" * length


@given(st.text(max_size=300))
def test_round_trip_of_any_text(plain: str) -> None:
    assert decrypt_trandata(encrypt_trandata(plain, KEY), KEY) == plain


def test_another_key_does_not_decrypt() -> None:
    # A random key gives valid padding by chance about once in 256 tries: this pair does not.
    with pytest.raises(KnetProtocolError):
        decrypt_trandata(VECTORS[0][1], OTHER_KEY)


@pytest.mark.parametrize("text", ["", "zz", "abc", "00" * 15, "00" * 17, VECTORS[0][1] + "0"])
def test_what_is_not_whole_hex_blocks_is_refused(text: str) -> None:
    with pytest.raises(KnetProtocolError):
        decrypt_trandata(text, KEY)


def test_a_resource_key_is_sixteen_bytes() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        encrypt_trandata("x", "short")
    with pytest.raises(ValueError, match="16 bytes"):
        gateway(key="0123456789abcdef0")


# Strings and amounts --------------------------------------------------------------------------


def test_request_string_keeps_urls_raw_and_round_trips() -> None:
    fields = {"id": "tp1", "responseURL": "https://m.example/cb", "udf1": ""}
    text = build_request(fields)
    assert text == "id=tp1&responseURL=https://m.example/cb&udf1="
    assert parse_request(text) == fields


@pytest.mark.parametrize("value", ["a&b", "line\nbreak"])
def test_request_string_refuses_what_would_split_it(value: str) -> None:
    with pytest.raises(ValueError, match="cannot carry"):
        build_request({"udf1": value})


@pytest.mark.parametrize("text", ["id", "id=1&id=2", "=1", "bad name=1"])
def test_malformed_request_strings_are_refused(text: str) -> None:
    with pytest.raises(KnetProtocolError):
        parse_request(text)


def test_manual_sample_answer_parses() -> None:
    fields = parse_response(CAPTURED.replace("CAPTURED", "NOT+CAPTURED"))
    assert fields["result"] == "NOT CAPTURED"
    assert fields["amt"] == "20.550"
    assert parse_response(build_response(fields)) == fields


@pytest.mark.parametrize("text", ["", "result", "a=1&a=2", "result=\x01", "r%FF=1", "x=%FF"])
def test_answers_that_are_not_clean_fields_are_refused(text: str) -> None:
    with pytest.raises(KnetProtocolError):
        parse_response(text)


def test_tags_round_trip_and_ignore_a_wrapper() -> None:
    fields = {"result": "CAPTURED", "udf1": "a<b & c", "amt": "1.000"}
    assert parse_tags(build_tags(fields)) == fields
    assert parse_tags(f"<response>{build_tags(fields)}</response>") == fields
    with pytest.raises(KnetProtocolError):
        parse_tags("Internal error")


@pytest.mark.parametrize(
    ("text", "fils"),
    [("0.001", 1), ("10.000", 10_000), ("1234.567", 1_234_567), ("10", 10_000), ("10.5", 10_500)],
)
def test_amounts(text: str, fils: int) -> None:
    assert parse_amount(text) == fils


@pytest.mark.parametrize(
    ("fils", "text"), [(1, "0.001"), (10_000, "10.000"), (1_234_567, "1234.567")]
)
def test_formatted_amounts_have_three_decimals(fils: int, text: str) -> None:
    assert format_amount(fils) == text


@given(st.integers(min_value=0, max_value=10**12))
def test_amounts_round_trip(fils: int) -> None:
    assert parse_amount(format_amount(fils)) == fils


@pytest.mark.parametrize("text", ["", "-1.000", "1.0001", "1e3", "1,000.000", "abc", ".5", "NaN"])
def test_bad_amounts_are_refused(text: str) -> None:
    with pytest.raises(KnetProtocolError):
        parse_amount(text)


@pytest.mark.parametrize("fils", [-1, True])
def test_format_refuses_what_is_not_fils(fils: int) -> None:
    with pytest.raises(ValueError, match="not an amount"):
        format_amount(fils)


@pytest.mark.parametrize(
    ("result", "code", "outcome", "reason"),
    [
        ("CAPTURED", "00", GatewayOutcome.CAPTURED, None),
        ("SUCCESS", "", GatewayOutcome.CAPTURED, None),
        ("NOT CAPTURED", "05", GatewayOutcome.DECLINED, "NOT CAPTURED"),
        ("NOT CAPTURED", "51", GatewayOutcome.DECLINED, "insufficient_funds"),
        ("NOT CAPTURED", "55", GatewayOutcome.DECLINED, "3ds_failed"),
        ("CANCELED", "", GatewayOutcome.CANCELLED, "CANCELED"),
        ("HOST TIMEOUT", "", GatewayOutcome.DECLINED, "HOST TIMEOUT"),
        ("DENIED BY RISK", "", GatewayOutcome.DECLINED, "DENIED BY RISK"),
    ],
)
def test_outcomes(result: str, code: str, outcome: GatewayOutcome, reason: str | None) -> None:
    assert outcome_of(result, code) == (outcome, reason)


def test_errors_are_read_from_either_form() -> None:
    assert knet_error({"result": "!ERROR!-IPAY0100263-Transaction not found."}) == (
        "IPAY0100263",
        "Transaction not found.",
    )
    assert knet_error({"error_code_tag": "IPAY0100015", "error_service_tag": "null"}) == (
        "IPAY0100015",
        "",
    )
    assert knet_error({"result": "CAPTURED", "error_code_tag": "null"}) is None


def test_refund_track_ids_fit_knet() -> None:
    assert refund_track_id("rf01abc") == "rf01abc"
    long = refund_track_id("7h3kq9x2m4p8r1t6v0w5y2z3-refund-1")
    assert len(long) == 40
    assert long.isalnum()
    assert long == refund_track_id("7h3kq9x2m4p8r1t6v0w5y2z3-refund-1")
    assert long != refund_track_id("7h3kq9x2m4p8r1t6v0w5y2z3-refund-2")


# start_payment --------------------------------------------------------------------------------


def test_start_payment_builds_knets_page_url() -> None:
    checkout = gateway().start_payment(order())
    url = urlsplit(checkout.redirect_url)
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == BASE + "/PaymentHTTP.htm"
    assert query["param"] == "paymentInit"
    assert query["tranportalId"] == "tp123"
    assert query["responseURL"] == "https://simrenew.example/pay/knet/callback"
    assert query["errorURL"] == "https://simrenew.example/pay/return"
    assert "s3cret" not in checkout.redirect_url  # the password travels encrypted only
    assert checkout.gateway_payment_id is None  # KNET names the payment later
    assert parse_request(decrypt_trandata(query["trandata"], KEY)) == {
        "id": "tp123",
        "password": "s3cret!",
        "action": "1",
        "langid": "USA",
        "currencycode": "414",
        "amt": "10.250",
        "responseURL": "https://simrenew.example/pay/knet/callback",
        "errorURL": "https://simrenew.example/pay/return",
        "trackid": "7h3kq9x2m4p8r1t6v0w5y2z3",
        "udf1": "96550001234",
        "udf2": "",
        "udf3": "",
        "udf4": "",
        "udf5": "",
    }


@pytest.mark.parametrize(("language", "langid"), [("en", "USA"), ("ar", "ARA"), ("zh", "USA")])
def test_page_language(language: str, langid: str) -> None:
    url = gateway().start_payment(order(language=language)).redirect_url
    trandata = parse_qs(urlsplit(url).query)["trandata"][0]
    assert parse_request(decrypt_trandata(trandata, KEY))["langid"] == langid


@pytest.mark.parametrize(
    "changes",
    [
        {"currency": "USD"},
        {"amount_fils": 0},
        {"payment_ref": "has-dash"},
        {"payment_ref": "x" * 41},
    ],
)
def test_orders_knet_cannot_take_are_refused(changes: dict[str, str | int]) -> None:
    with pytest.raises(ValueError, match="KNET"):
        gateway().start_payment(order(**changes))


# read_callback / reply_to_callback -----------------------------------------------------------


def test_captured_callback() -> None:
    event = gateway().read_callback(
        callback_body(CAPTURED.replace("udf1=", "udf1=96550001234"), paymentid="8962225231041180"),
        {},
        now=NOW,
    )
    assert event.outcome is GatewayOutcome.CAPTURED
    assert event.amount_fils == 20_550
    assert event.currency == "KWD"
    assert event.payment_ref == "632186"
    assert event.gateway_payment_id == "8962225231041180"
    assert event.event_id == "8962225231041180:CAPTURED"
    assert event.reason is None
    assert event.details["auth"] == "999554"
    assert event.details["tranid"] == "9929892231041180"
    assert event.details["udf1"] == "96550001234"


@pytest.mark.parametrize(
    ("result", "extra", "outcome", "reason"),
    [
        ("NOT+CAPTURED", "&authRespCode=05", GatewayOutcome.DECLINED, "NOT CAPTURED"),
        ("NOT+CAPTURED", "&authRespCode=51", GatewayOutcome.DECLINED, "insufficient_funds"),
        ("CANCELED", "", GatewayOutcome.CANCELLED, "CANCELED"),
        ("HOST+TIMEOUT", "", GatewayOutcome.DECLINED, "HOST TIMEOUT"),
    ],
)
def test_failed_callbacks(result: str, extra: str, outcome: GatewayOutcome, reason: str) -> None:
    event = read(callback_body(CAPTURED.replace("=CAPTURED", f"={result}") + extra))
    assert event.outcome is outcome
    assert event.reason == reason
    assert event.event_id == f"8962225231041180:{result.replace('+', ' ')}"


def test_error_callback_is_a_decline() -> None:
    plain = "paymentid=8962225231041180&trackid=632186&Error=IPAY0100158&ErrorText=Host+timeout"
    event = read(callback_body(plain))
    assert event.outcome is GatewayOutcome.DECLINED
    assert event.reason == "IPAY0100158 Host timeout"


def test_only_support_fields_are_kept() -> None:
    event = read(callback_body(CAPTURED + "&cardnumber=8888880000000001&pin=1234"))
    assert "cardnumber" not in event.details
    assert "pin" not in event.details


def flip(hex_text: str, index: int) -> str:
    return hex_text[:index] + format(int(hex_text[index], 16) ^ 0x8, "x") + hex_text[index + 1 :]


REJECTED: dict[str, Callable[[], bytes]] = {
    "another key": lambda: callback_body(CAPTURED, OTHER_KEY),
    "no trandata": lambda: b"paymentid=8962225231041180&trackid=632186&result=CAPTURED",
    "clear paymentid differs": lambda: callback_body(CAPTURED, paymentid="8962225231041181"),
    "clear trackid differs": lambda: callback_body(CAPTURED, trackid="999999"),
    "bad amount": lambda: callback_body(CAPTURED.replace("20.550", "20,550")),
    "no result": lambda: callback_body(CAPTURED.replace("result=CAPTURED&", "")),
    "no paymentid": lambda: callback_body(CAPTURED.replace("paymentid=8962225231041180&", "")),
    "not hex": lambda: b"trandata=not-hex",
    "not utf-8": lambda: b"trandata=\xff\xfe",
}  # fmt: skip


@pytest.mark.parametrize("case", list(REJECTED))
def test_callbacks_that_do_not_verify_are_rejected(case: str) -> None:
    with pytest.raises(CallbackRejected):
        read(REJECTED[case]())


def test_every_tampered_nibble_is_rejected() -> None:
    # AES-CBC has no MAC: a flipped bit garbles its block and flips the same bit in the next
    # one. The strict parse must catch the garbled block wherever the flip is.
    trandata = encrypt_trandata(CAPTURED.replace("=CAPTURED", "=NOT+CAPTURED"), KEY)
    for index in range(len(trandata)):
        with pytest.raises(CallbackRejected):
            read(urlencode({"trandata": flip(trandata, index)}).encode())


def test_reply_is_one_redirect_line_even_for_a_rejected_callback() -> None:
    reply = gateway().reply_to_callback(None, redirect_url="https://simrenew.example/pay/failed")
    assert (reply.status_code, reply.media_type) == (200, "text/plain")
    assert reply.body == "REDIRECT=https://simrenew.example/pay/failed"
    with pytest.raises(ValueError, match="one line"):
        gateway().reply_to_callback(None, redirect_url="https://x.example/\r\nSet-Cookie: a=b")


# query_payment / refund through a mock transport ----------------------------------------------


def answering(body: str, status: int = 200, seen: list[httpx.Request] | None = None) -> KnetGateway:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, text=body)

    return gateway(httpx.Client(transport=httpx.MockTransport(handle)))


INQUIRY_CAPTURED = (
    "<result>SUCCESS</result><auth>B24047</auth><ref>024110000636</ref><avr>N</avr>"
    "<postdate>0829</postdate><tranid>202024178509663</tranid><trackid>7h3kq9x2m4p8r1t6v0w5y2z3</trackid>"
    "<payid>100202024086546767</payid><udf1>96550001234</udf1><udf5>TrackID</udf5><amt>10.250</amt>"
    "<authRespCode>00</authRespCode>"
)


def test_inquiry_request_is_knets_tag_format_by_track_id() -> None:
    seen: list[httpx.Request] = []
    answering(INQUIRY_CAPTURED, seen=seen).query_payment(
        "7h3kq9x2m4p8r1t6v0w5y2z3", gateway_payment_id=None, amount_fils=10_250
    )
    (request,) = seen
    assert str(request.url) == BASE + "/tranPipe.htm?param=tranInit"
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/xml"
    assert parse_tags(request.content.decode()) == {
        "id": "tp123",
        "password": "s3cret!",
        "action": "8",
        "amt": "10.250",
        "transid": "7h3kq9x2m4p8r1t6v0w5y2z3",
        "trackid": "7h3kq9x2m4p8r1t6v0w5y2z3",
        "udf5": "TrackID",
    }


def test_inquiry_of_a_capture() -> None:
    event = answering(INQUIRY_CAPTURED).query_payment(
        "7h3kq9x2m4p8r1t6v0w5y2z3", gateway_payment_id=None, amount_fils=10_250
    )
    assert event.outcome is GatewayOutcome.CAPTURED
    assert event.amount_fils == 10_250
    assert event.gateway_payment_id == "100202024086546767"
    assert event.event_id == "100202024086546767:CAPTURED"  # the callback's id for the same fact


def test_inquiry_answer_may_come_encrypted() -> None:
    plain = build_response(
        {
            "result": "NOT CAPTURED",
            "payid": "1002",
            "trackid": "abc1",
            "amt": "1.000",
            "authRespCode": "51",
        }
    )
    event = answering("trandata=" + encrypt_trandata(plain, KEY)).query_payment(
        "abc1", gateway_payment_id="1002", amount_fils=1_000
    )
    assert (event.outcome, event.reason) == (GatewayOutcome.DECLINED, "insufficient_funds")


def test_inquiry_of_an_unknown_transaction() -> None:
    answer = (
        "<error_code_tag>IPAY0100263</error_code_tag><error_service_tag>null</error_service_tag>"
        "<result>!ERROR!-IPAY0100263-Transaction not found.</result>"
    )
    event = answering(answer).query_payment("abc1", gateway_payment_id=None, amount_fils=1_000)
    assert event.outcome is GatewayOutcome.UNKNOWN
    assert event.amount_fils is None
    assert event.reason == "IPAY0100263 Transaction not found."


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("<result>!ERROR!-IPAY0100015-Invalid tranportal password</result>", 200),
        ("<result>CAPTURED</result><trackid>someone-else</trackid>", 200),
        ("<result>CAPTURED</result><amt>ten</amt>", 200),
        ("Service Unavailable", 503),
        ("<html>maintenance</html>", 200),
        ("not encrypted", 200),
    ],
)
def test_inquiry_answers_that_tell_nothing_are_unavailable(body: str, status: int) -> None:
    with pytest.raises(GatewayUnavailable):
        answering(body, status).query_payment("abc1", gateway_payment_id=None, amount_fils=1_000)


def test_unreachable_knet_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    knet = gateway(httpx.Client(transport=httpx.MockTransport(refuse)))
    with pytest.raises(GatewayUnavailable):
        knet.query_payment("abc1", gateway_payment_id=None, amount_fils=1_000)
    with pytest.raises(GatewayUnavailable):
        knet.refund("abc1", gateway_payment_id="1002", amount_fils=1, refund_ref="rf1")


def test_refund_request_and_success() -> None:
    seen: list[httpx.Request] = []
    answer = build_tags(
        {"result": "CAPTURED", "payid": "1003", "trackid": "rf1", "tranid": "777", "amt": "2.500"}
    )
    refund = answering(answer, seen=seen).refund(
        "abc1", gateway_payment_id="1002", amount_fils=2_500, refund_ref="rf1"
    )
    assert (refund.succeeded, refund.amount_fils, refund.refund_id) == (True, 2_500, "777")
    fields = parse_tags(seen[0].content.decode())
    assert {name: fields[name] for name in ("action", "amt", "transid", "trackid", "udf5")} == {
        "action": "2",
        "amt": "2.500",
        "transid": "1002",
        "trackid": "rf1",
        "udf5": "PaymentID",
    }


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            "<result>!ERROR!-IPAY0100137-Transaction denied due to credit amount greater</result>",
            "IPAY0100137 Transaction denied due to credit amount greater",
        ),
        ("<result>NOT CAPTURED</result>", "NOT CAPTURED"),
    ],
)
def test_refused_refunds(answer: str, reason: str) -> None:
    refund = answering(answer).refund(
        "abc1", gateway_payment_id="1002", amount_fils=1, refund_ref="rf1"
    )
    assert (refund.succeeded, refund.reason) == (False, reason)


def test_refund_without_knets_payment_id_is_not_sent() -> None:
    seen: list[httpx.Request] = []
    refund = answering("", seen=seen).refund(
        "abc1", gateway_payment_id=None, amount_fils=1, refund_ref="r"
    )
    assert not refund.succeeded
    assert seen == []
