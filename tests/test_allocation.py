"""Sharing a shortfall: members' orders and what arrived in, each member's part out."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from fractions import Fraction

import pytest

from pot_bridge.allocation import Claim, share

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def claims(*ordered: str) -> list[Claim]:
    """Orders 131, 132, … one line each, placed an hour apart in that order."""
    return [
        Claim((131 + n, 1), D(q), T0 + timedelta(hours=n))
        for n, q in enumerate(ordered)
    ]


def test_largest_remainders_get_the_leftover_units() -> None:
    """6 among 4, 3, 3: quotas 2.4, 1.8, 1.8, base 2, 1, 1; the 0.8s get the two."""
    got = share(D(6), claims("4", "3", "3"))

    assert {(131, 1): D(2), (132, 1): D(2), (133, 1): D(2)} == got


def test_larger_remainder_wins_over_earlier_order() -> None:
    """5 among 3, 4: quotas 15/7 and 20/7, remainders 1/7 and 6/7; the later wins."""
    got = share(D(5), claims("3", "4"))

    assert {(131, 1): D(2), (132, 1): D(3)} == got


def test_tie_goes_to_the_earlier_order() -> None:
    """3 among 2, 2 placed later first: quotas 1.5 each; the earlier gets the unit."""
    late = Claim((131, 1), D(2), T0 + timedelta(minutes=5))
    early = Claim((140, 1), D(2), T0)

    got = share(D(3), [late, early])

    assert {(131, 1): D(1), (140, 1): D(2)} == got


def test_tie_at_the_same_time_goes_to_the_smaller_key() -> None:
    """Same order time: (order 131, item 2) comes before (order 131, item 7)."""
    a = Claim((131, 7), D(2), T0)
    b = Claim((131, 2), D(2), T0)

    got = share(D(1), [a, b])

    assert {(131, 7): D(0), (131, 2): D(1)} == got


def test_unknown_order_time_comes_last() -> None:
    """A claim without ordered_at loses a tie even against a larger key."""
    unknown = Claim((100, 1), D(2), None)
    known = Claim((900, 1), D(2), T0)

    got = share(D(3), [unknown, known])

    assert {(100, 1): D(1), (900, 1): D(2)} == got


def test_enough_for_everyone() -> None:
    """Available at or above the total: everyone gets what they ordered."""
    exact = share(D(10), claims("4", "3", "3"))
    more = share(D(12), claims("4", "3", "3"))

    expected = {(131, 1): D(4), (132, 1): D(3), (133, 1): D(3)}
    assert expected == exact
    assert expected == more


@pytest.mark.parametrize("available", ["0", "-1"])
def test_nothing_available(available: str) -> None:
    """Nothing delivered: everyone gets 0."""
    got = share(D(available), claims("4", "3"))

    assert {(131, 1): D(0), (132, 1): D(0)} == got


def test_zero_order_gets_zero() -> None:
    """A line refunded to 0 takes nothing from the others."""
    got = share(D(3), claims("0", "2", "2"))

    assert {(131, 1): D(0), (132, 1): D(2), (133, 1): D(1)} == got


def test_weighed_goods_share_by_the_gram() -> None:
    """1.000 kg among 0.5, 0.5, 0.5 kg ordered: 334 g, 333 g, 333 g, earliest first."""
    got = share(D("1.000"), claims("0.5", "0.5", "0.5"), step=D("0.001"))

    assert {
        (131, 1): D("0.334"),
        (132, 1): D("0.333"),
        (133, 1): D("0.333"),
    } == got
    assert D(1) == sum(got.values())


def test_below_one_step_stays_unallocated() -> None:
    """2.5 available in whole units: 2 are shared, the half stays with the coop."""
    got = share(D("2.5"), claims("2", "2"))

    assert {(131, 1): D(1), (132, 1): D(1)} == got


def test_a_step_never_takes_anyone_past_their_order() -> None:
    """1 unit among three 0.6 orders: a whole unit would overfill each; none gets it."""
    got = share(D(1), claims("0.6", "0.6", "0.6"))

    assert {(131, 1): D(0), (132, 1): D(0), (133, 1): D(0)} == got


def test_same_claims_in_any_order_share_the_same() -> None:
    """Shuffling the claims changes nothing, ties included."""
    base = [
        Claim((131, 1), D(3), T0),
        Claim((132, 1), D(3), T0),
        Claim((133, 4), D(5), None),
        Claim((133, 2), D(5), None),
        Claim((134, 1), D(1), T0 + timedelta(days=1)),
    ]
    expected = share(D(9), base)
    rng = random.Random(20261201)

    for _ in range(50):
        shuffled = base[:]
        rng.shuffle(shuffled)
        assert expected == share(D(9), shuffled)
    assert D(9) == sum(expected.values())


def test_duplicate_keys_are_a_bug() -> None:
    """Two claims with one key would silently merge; refuse them."""
    with pytest.raises(ValueError, match="key"):
        share(D(1), [Claim((1, 1), D(1), T0), Claim((1, 1), D(2), T0)])


@pytest.mark.parametrize("step", [D(1), D("0.5"), D("0.001")], ids=str)
def test_every_small_case_keeps_the_rules(step: D) -> None:
    """All orders of up to three lines (0 to 4 steps each) and every shortfall."""
    checked = 0
    for size in (1, 2, 3):
        for units in itertools.product(range(5), repeat=size):
            ordered = [n * step for n in units]
            total = sum(ordered, D(0))
            for available_units in range(int(total / step) + 2):
                available = available_units * step
                _check(available, ordered, step)
                checked += 1

    assert 1000 < checked


def _check(available: D, ordered: list[D], step: D) -> None:
    lines = [
        Claim((131 + n, 1), q, T0 + timedelta(minutes=n % 2))
        for n, q in enumerate(ordered)
    ]
    total = sum(ordered, D(0))

    got = share(available, lines, step=step)

    assert [c.key for c in lines] == list(got)
    if available >= total:
        assert ordered == list(got.values())
        return
    assert available == sum(got.values())
    for claim in lines:
        quota = Fraction(available) * Fraction(claim.ordered) / Fraction(total)
        steps = Fraction(got[claim.key]) / Fraction(step)
        assert steps.denominator == 1
        assert got[claim.key] <= claim.ordered
        assert math.floor(quota / Fraction(step)) <= steps
        assert steps <= math.ceil(quota / Fraction(step))
