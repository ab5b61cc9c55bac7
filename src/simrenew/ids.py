"""Time-ordered identifiers made without a shared sequence (UUIDv7, receipt numbers).

Ids sort by creation time, so indexes stay append-mostly, yet any process can make them:
no global counter sits on the hot path (DESIGN.md, Scale).
"""

from __future__ import annotations

import os
import time
import uuid

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id() -> str:
    """A new UUIDv7 (RFC 9562) as a 36-character string."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)  # rand_b, 62 bits
    return str(uuid.UUID(int=value))


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_receipt_no() -> str:
    """A receipt number: 'R' + 9 base32 chars of milliseconds + 8 random chars (18 chars)."""
    ms = time.time_ns() // 1_000_000
    return "R" + _base32(ms, 9) + _base32(int.from_bytes(os.urandom(5), "big"), 8)


def new_code(length: int = 8) -> str:
    """A random, unambiguous code (verification codes printed on receipts)."""
    return _base32(int.from_bytes(os.urandom(8), "big"), length)
