"""Time-ordered identifiers made without a shared sequence (UUIDv7, receipt numbers).

Ids sort by creation time, so indexes stay append-mostly, yet any process can make them:
no global counter sits on the hot path (DESIGN.md, Scale).
"""

from __future__ import annotations

import os
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


_lock = threading.Lock()
_last_ms = 0
_last_counter = 0
# Random bytes from the OS drawn 4 KiB at a time: one system call per ~400 ids, not one each
# (a sweep makes a hundred thousand). Emptied in a forked child, which must not reuse them.
_RANDOM_CHUNK = 4096
_random = b""
_random_at = 0


def _forget_random() -> None:
    global _random, _random_at
    _random, _random_at = b"", 0


os.register_at_fork(after_in_child=_forget_random)


def new_id() -> str:
    """A new UUIDv7 (RFC 9562), increasing within this process even inside one millisecond."""
    global _last_ms, _last_counter, _random, _random_at
    with _lock:
        if _random_at + 10 > len(_random):
            _random, _random_at = os.urandom(_RANDOM_CHUNK), 0
        random = int.from_bytes(_random[_random_at : _random_at + 10], "big")
        _random_at += 10
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # Same millisecond (or the clock stepped back): count on in the 12-bit rand_a
            # field (RFC 9562 method 3), moving to the next millisecond when it fills up.
            ms = _last_ms
            counter = _last_counter + 1
            if counter > 0xFFF:
                ms += 1
                counter = 0
        else:
            counter = (random >> 64) & 0x7FF  # a new millisecond starts at random, with room
        _last_ms, _last_counter = ms, counter
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= counter << 64  # rand_a used as a counter
    value |= 0b10 << 62  # RFC 4122 variant
    value |= random & ((1 << 62) - 1)
    # The canonical 8-4-4-4-12 form, as str(uuid.UUID(int=value)) gives, without the object.
    digits = f"{value:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


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
