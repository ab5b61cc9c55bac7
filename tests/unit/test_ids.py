"""Ids sort in creation order (ledger rows of one transaction keep their order) and are UUIDv7."""

from __future__ import annotations

import uuid

from simrenew.ids import new_code, new_id, new_receipt_no


def test_ids_are_uuid7_and_strictly_increasing_even_within_one_millisecond() -> None:
    ids = [new_id() for _ in range(10_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122


def test_receipt_numbers_are_short_unique_and_unambiguous() -> None:
    numbers = {new_receipt_no() for _ in range(5_000)}
    assert len(numbers) == 5_000
    assert all(len(n) == 18 and n.startswith("R") for n in numbers)
    assert not any(set(n[1:]) & set("ILOU") for n in numbers)  # Crockford base32
    assert len(new_code(10)) == 10
