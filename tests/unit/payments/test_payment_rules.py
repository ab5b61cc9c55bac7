"""The payment state machine, what a gateway's word may do, and payment references."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise, product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simrenew.payments.gateways.base import GatewayEvent, GatewayOutcome
from simrenew.payments.rules import (
    FAILED_STATES,
    OPEN_STATES,
    PaymentState,
    event_problem,
    expiry_state,
    new_payment_ref,
    next_state,
    renewal_state_after,
)

CREATED, PENDING, CAPTURED = PaymentState.CREATED, PaymentState.PENDING, PaymentState.CAPTURED
DECLINED, CANCELLED = PaymentState.DECLINED, PaymentState.CANCELLED
EXPIRED, REFUNDED = PaymentState.EXPIRED, PaymentState.REFUNDED
Rule = Callable[[PaymentState, GatewayOutcome], PaymentState | None]

# What a callback or a status answer while the payer waits does: state -> (outcome -> new state)
# in the order captured, declined, cancelled, pending, unknown. None: the payment is unchanged.
NEXT: dict[PaymentState, tuple[PaymentState | None, ...]] = {
    CREATED: (CAPTURED, DECLINED, CANCELLED, None, None),
    PENDING: (CAPTURED, DECLINED, CANCELLED, None, None),
    CAPTURED: (None, None, None, None, None),
    DECLINED: (CAPTURED, None, None, None, None),  # a late capture is still money taken
    CANCELLED: (CAPTURED, None, None, None, None),
    EXPIRED: (CAPTURED, None, None, None, None),
    REFUNDED: (None, None, None, None, None),
}
# The same answer at the payment's deadline: a payer who never finished lets it expire.
EXPIRY: dict[PaymentState, tuple[PaymentState | None, ...]] = {
    **NEXT,
    CREATED: (CAPTURED, DECLINED, CANCELLED, EXPIRED, EXPIRED),
    PENDING: (CAPTURED, DECLINED, CANCELLED, EXPIRED, EXPIRED),
}
OUTCOMES = (
    GatewayOutcome.CAPTURED,
    GatewayOutcome.DECLINED,
    GatewayOutcome.CANCELLED,
    GatewayOutcome.PENDING,
    GatewayOutcome.UNKNOWN,
)
CELLS = list(product(PaymentState, OUTCOMES))


def test_the_tables_cover_every_state_and_outcome() -> None:
    assert set(NEXT) == set(EXPIRY) == set(PaymentState)
    assert set(OUTCOMES) == set(GatewayOutcome)


@pytest.mark.parametrize(("state", "outcome"), CELLS)
def test_next_state_for_every_state_and_outcome(
    state: PaymentState, outcome: GatewayOutcome
) -> None:
    assert next_state(state, outcome) == NEXT[state][OUTCOMES.index(outcome)]


@pytest.mark.parametrize(("state", "outcome"), CELLS)
def test_expiry_state_for_every_state_and_outcome(
    state: PaymentState, outcome: GatewayOutcome
) -> None:
    assert expiry_state(state, outcome) == EXPIRY[state][OUTCOMES.index(outcome)]


@pytest.mark.parametrize(
    ("state", "renewal"),
    [
        (CREATED, None),
        (PENDING, None),
        (CAPTURED, None),  # crediting is the service's job, in the capture's transaction
        (DECLINED, "failed"),
        (CANCELLED, "failed"),
        (EXPIRED, "failed"),
        (REFUNDED, "refunded"),
    ],
)
def test_the_renewal_follows_its_payment(state: PaymentState, renewal: str | None) -> None:
    assert renewal_state_after(state) == renewal


# -- any sequence of gateway answers, in any order ----------------------------------------------

rules: st.SearchStrategy[Rule] = st.sampled_from(
    [next_state, expiry_state]
)  # callback/inquiry or reconciliation
steps = st.lists(st.tuples(st.sampled_from(OUTCOMES), rules), max_size=12)


def walk(start: PaymentState, sequence: list[tuple[GatewayOutcome, Rule]]) -> list[PaymentState]:
    """The states a payment goes through (start included) as the answers are applied."""
    states = [start]
    for outcome, rule in sequence:
        moved = rule(states[-1], outcome)
        states.append(moved if moved is not None else states[-1])
    return states


@given(start=st.sampled_from(PaymentState), sequence=steps)
def test_once_captured_a_payment_stays_captured_and_refunded_stays_refunded(
    start: PaymentState, sequence: list[tuple[GatewayOutcome, Rule]]
) -> None:
    states = walk(start, sequence)
    for before, after in pairwise(states):
        if before in (CAPTURED, REFUNDED):
            assert after == before
        assert after != REFUNDED or before == REFUNDED  # no gateway answer refunds


@given(start=st.sampled_from(PaymentState), sequence=steps)
def test_a_payment_fails_only_from_an_open_state(
    start: PaymentState, sequence: list[tuple[GatewayOutcome, Rule]]
) -> None:
    states = walk(start, sequence)
    for before, after in pairwise(states):
        if after in FAILED_STATES and after != before:
            assert before in OPEN_STATES


@given(
    start=st.sampled_from(sorted(set(PaymentState) - {REFUNDED})),
    sequence=steps,
    rule=rules,
    data=st.data(),
)
def test_whatever_the_order_a_sequence_with_a_capture_ends_captured(
    start: PaymentState,
    sequence: list[tuple[GatewayOutcome, Rule]],
    rule: Rule,
    data: st.DataObject,
) -> None:
    with_capture = [*sequence, (GatewayOutcome.CAPTURED, rule)]
    shuffled = data.draw(st.permutations(with_capture))
    assert walk(start, shuffled)[-1] == CAPTURED


# -- whether an event may be taken as the payment's word ----------------------------------------

AMOUNT = 10_250


def event(
    outcome: GatewayOutcome = GatewayOutcome.CAPTURED,
    *,
    amount_fils: int | None = AMOUNT,
    currency: str | None = "KWD",
    gateway_payment_id: str | None = "chg_1",
) -> GatewayEvent:
    return GatewayEvent(
        event_id="evt_1",
        payment_ref="ref1",
        outcome=outcome,
        amount_fils=amount_fils,
        currency=currency,
        gateway_payment_id=gateway_payment_id,
    )


def problem(given_event: GatewayEvent, stored_id: str | None = "chg_1") -> str | None:
    return event_problem(given_event, amount_fils=AMOUNT, gateway_payment_id=stored_id)


def test_a_capture_of_the_right_amount_and_currency_is_accepted() -> None:
    assert problem(event()) is None


@pytest.mark.parametrize("amount", [AMOUNT - 1, AMOUNT + 1, 0, None])
def test_a_capture_off_by_even_one_fils_is_refused(amount: int | None) -> None:
    assert problem(event(amount_fils=amount)) == "amount_mismatch"


@pytest.mark.parametrize("currency", ["USD", "KWF", "KW", ""])
def test_a_capture_in_another_currency_is_refused(currency: str) -> None:
    assert problem(event(currency=currency)) == "currency_mismatch"


@pytest.mark.parametrize("currency", ["kwd", "Kwd", "KWD"])
def test_the_currency_code_is_read_whatever_its_case(currency: str) -> None:
    assert problem(event(currency=currency)) is None


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_an_event_naming_another_gateway_payment_is_refused(outcome: GatewayOutcome) -> None:
    assert problem(event(outcome, gateway_payment_id="chg_2")) == "payment_id_mismatch"


def test_a_missing_gateway_payment_id_on_either_side_is_no_mismatch() -> None:
    assert problem(event(gateway_payment_id=None)) is None
    assert problem(event(gateway_payment_id="chg_2"), stored_id=None) is None


@pytest.mark.parametrize("outcome", OUTCOMES[1:])
def test_events_that_take_no_money_are_never_amount_checked(outcome: GatewayOutcome) -> None:
    assert problem(event(outcome, amount_fils=AMOUNT + 1, currency="USD")) is None
    assert problem(event(outcome, amount_fils=None, currency=None)) is None


# -- payment references -------------------------------------------------------------------------


def test_a_payment_ref_is_24_letters_and_digits_safe_as_a_knet_trackid() -> None:
    refs = [new_payment_ref() for _ in range(1000)]
    for ref in refs:
        assert len(ref) == 24
        assert ref.isascii()
        assert ref.isalnum()  # KNET's trackid: letters and digits only, at most 40
    assert len(set(refs)) == 1000
