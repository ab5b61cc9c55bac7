"""The smpp transport's pure parts: splitting text into SMPP parts, reading delivery receipts."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from simrenew.notify.rules import gsm_septets
from simrenew.notify.sms.smpp import encode_parts, parse_receipt

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_a_short_english_text_is_one_gsm_part() -> None:
    parts, coding, esm_class = encode_parts("Hello @ 5 KWD", reference=1)

    assert (parts, coding, esm_class) == ([b"Hello \x00 5 KWD"], 0, 0)


def test_160_septets_fit_one_part_161_need_two_with_a_udh() -> None:
    assert len(encode_parts("a" * 160, reference=9)[0]) == 1

    parts, coding, esm_class = encode_parts("a" * 161, reference=9)

    assert (coding, esm_class) == (0, 0x40)
    assert [p[:6] for p in parts] == [b"\x05\x00\x03\x09\x02\x01", b"\x05\x00\x03\x09\x02\x02"]
    assert [len(p) - 6 for p in parts] == [153, 8]


def test_an_extension_character_is_never_split_from_its_escape() -> None:
    parts, _, _ = encode_parts("x" * 152 + "€" + "y" * 9, reference=0)  # 163 septets

    assert parts[0][6:] == b"x" * 152  # the € (ESC + 0x65) did not fit: it opens part two
    assert parts[1][6:] == b"\x1b\x65" + b"y" * 9
    assert gsm_septets("§") == b"\x5f"


def test_arabic_is_ucs2_in_parts_of_67_characters() -> None:
    assert encode_parts("م" * 70, reference=0)[1:] == (8, 0)

    parts, coding, esm_class = encode_parts("م" * 71, reference=0)

    assert (coding, esm_class) == (8, 0x40)
    assert [len(p) - 6 for p in parts] == [134, 8]
    assert parts[0][6:8] == "م".encode("utf-16-be")


def test_an_emoji_is_never_split_between_parts() -> None:
    # 66 + 2 + 3 = 71 UTF-16 units: two parts; the emoji's pair does not fit in the first's 67.
    parts, _, _ = encode_parts("م" * 66 + "😀" + "م" * 3, reference=0)

    assert parts[0][6:].decode("utf-16-be") == "م" * 66
    assert parts[1][6:].decode("utf-16-be") == "😀" + "م" * 3


def deliver_sm(text: bytes, esm_class: int = 0x04, **tlvs: object) -> SimpleNamespace:
    return SimpleNamespace(short_message=text, esm_class=esm_class, **tlvs)


@pytest.mark.parametrize(
    ("stat", "state"),
    [
        ("DELIVRD", "delivered"),
        ("UNDELIV", "failed"),
        ("EXPIRED", "expired"),
        ("REJECTD", "rejected"),
        ("ACCEPTD", "accepted"),
        ("ENROUTE", "buffered"),
    ],
)
def test_receipt_text_is_read(stat: str, state: str) -> None:
    text = (
        f"id:0A1B sub:001 dlvrd:001 submit date:2611251200 done date:2611251201 stat:{stat} err:0"
    )

    receipt = parse_receipt(deliver_sm(text.encode()), now=NOW)

    assert receipt is not None
    assert (receipt.external_id, receipt.state, receipt.at) == ("0A1B", state, NOW)


def test_receipt_tlvs_win_over_the_text() -> None:
    pdu = deliver_sm(b"id:999 stat:ENROUTE", receipted_message_id=b"0A1B\x00", message_state=2)

    receipt = parse_receipt(pdu, now=NOW)

    assert receipt is not None
    assert (receipt.external_id, receipt.state) == ("0A1B", "delivered")


def test_a_message_from_a_subscriber_is_not_a_receipt() -> None:
    assert parse_receipt(deliver_sm(b"id:1 stat:DELIVRD", esm_class=0), now=NOW) is None
    assert parse_receipt(deliver_sm(b"hello"), now=NOW) is None
