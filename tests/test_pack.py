"""Pack sizes and the pack policy: the members' total in, the producer's order out."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from pot_bridge.config import PackPolicy, ProducerConfig
from pot_bridge.pack import (
    Packed,
    apply_policy,
    pack_size_of,
    parse_pack_size,
    sold_by_weight,
)

HOF = ProducerConfig(
    name="Hof Sonnenberg",
    pack_sizes={"EIER-6": D(10), "APFEL": D(1), "MEHL": D("2.50")},
    sold_by_weight=["KAESE-STUECK"],
)


@pytest.mark.parametrize(
    ("expected", "text"),
    [
        (D(6), "6"),
        (D(12), "12"),
        (D("2.5"), "2.5"),
        (D(6), "6 Stk"),
        (D(10), " 10 "),
        (D(6), "6,0"),
        (D("2.5"), "2,50"),
        (D(6), "6.0"),
        (None, ""),
        (None, None),
        (None, "abc"),
        (None, "Stk 6"),
        (None, "0"),
        (None, "0.0"),
        (None, "-3"),
        (None, "1"),
        (None, "1.0"),
        (None, "1 Stk"),
    ],
    ids=repr,
)
def test_parse_pack_size(expected: D | None, text: str | None) -> None:
    """The leading positive number, None for anything else and for 1."""
    got = parse_pack_size(text)

    assert expected == got
    if got is not None:
        assert str(expected) == str(got)


def test_config_pack_size_wins_over_gebinde() -> None:
    """The producer's pack_sizes correct a wrong `_gebinde`."""
    assert D(10) == pack_size_of("6", "EIER-6", HOF)
    assert D("2.5") == pack_size_of(None, "MEHL", HOF)


def test_config_pack_size_of_one_switches_packs_off() -> None:
    """A configured size of 1 overrides a `_gebinde` of 12: no packs."""
    assert None is pack_size_of("12", "APFEL", HOF)


def test_gebinde_used_without_config_entry() -> None:
    """Other SKUs, or no producer config, read `_gebinde`."""
    assert D(12) == pack_size_of("12 Stk", "KAROTTEN", HOF)
    assert D(6) == pack_size_of("6", "EIER-6", None)
    assert None is pack_size_of("", "KAROTTEN", HOF)


@pytest.mark.parametrize(
    ("expected", "unit"),
    [
        (True, "kg"),
        (True, "Kg"),
        (True, "KG"),
        (True, "g"),
        (True, "100g"),
        (True, "100 g"),
        (True, "pro kg"),
        (True, "Pro  KG"),
        (True, "per kg"),
        (True, "/kg"),
        (True, "/ kg"),
        (True, "je kg"),
        (True, " kg "),
        (True, "pro 100 g"),
        (False, "500 g"),
        (False, "250g"),
        (False, "1 kg"),
        (False, "Stk"),
        (False, "Bund"),
        (False, "1 l"),
        (False, ""),
        (False, "kg Sack"),
    ],
    ids=repr,
)
def test_sold_by_weight_by_unit(expected: bool, unit: str) -> None:
    """Units that are a price per weight; fixed pieces are counted."""
    assert expected is sold_by_weight(unit, "X", [D(1), D(2)], None)


def test_sold_by_weight_when_a_quantity_is_not_whole() -> None:
    """A weighed sale (0.375) makes the product weighed, whatever its unit."""
    assert True is sold_by_weight("Stk", "X", [D(2), D("0.375")], None)
    assert False is sold_by_weight("Stk", "X", [D(2), D("3.000")], None)


def test_sold_by_weight_listed_by_producer() -> None:
    """The producer's sold_by_weight list wins over a counted unit."""
    assert True is sold_by_weight("Stk", "KAESE-STUECK", [D(1)], HOF)
    assert False is sold_by_weight("Stk", "KAROTTEN", [D(1)], HOF)


@pytest.mark.parametrize(
    ("expected", "ordered", "pack", "policy"),
    [
        pytest.param((D(6), D(2), D(12)), "7", "6", "round-up", id="up-7-by-6"),
        pytest.param((D(6), D(2), D(12)), "12", "6", "round-up", id="up-exact"),
        pytest.param((D(6), D(1), D(6)), "1", "6", "round-up", id="up-1-by-6"),
        pytest.param((D(6), D(1), D(6)), "7", "6", "round-down", id="down-7-by-6"),
        pytest.param((D(6), D(0), D(0)), "5", "6", "round-down", id="down-to-0"),
        pytest.param((D(6), D(1), D(6)), "8", "6", "nearest", id="nearest-down"),
        pytest.param((D(6), D(2), D(12)), "10", "6", "nearest", id="nearest-up"),
        pytest.param((D(6), D(2), D(12)), "9", "6", "nearest", id="nearest-half"),
        pytest.param((D(6), D(1), D(6)), "3", "6", "nearest", id="nearest-half-1"),
        pytest.param((D(6), D(0), D(0)), "2", "6", "nearest", id="nearest-to-0"),
        pytest.param(
            (D("2.5"), D(3), D("7.5")), "7", "2.5", "round-up", id="up-fractional"
        ),
        pytest.param(
            (D("2.5"), D(2), D(5)), "7", "2.5", "round-down", id="down-fractional"
        ),
        pytest.param(
            (D("2.5"), D(3), D("7.5")), "6.25", "2.5", "nearest", id="near-frac-half"
        ),
        pytest.param((D(6), D(2), D(12)), "12", "6", "as-ordered", id="as-whole"),
        pytest.param((D(6), None, D(7)), "7", "6", "as-ordered", id="as-not-whole"),
        pytest.param((D("2.5"), D(3), D("7.5")), "7.5", "2.5", "as-ordered", id="as-f"),
    ],
)
def test_policy(
    expected: tuple[D, D | None, D], ordered: str, pack: str, policy: PackPolicy
) -> None:
    """Members' total and pack size in; (pack size, packs, quantity) out."""
    got = apply_policy(D(ordered), D(pack), policy, by_weight=False)

    assert Packed(*expected, by_weight=False) == got


@pytest.mark.parametrize("policy", ["as-ordered", "round-up", "round-down", "nearest"])
def test_sold_by_weight_is_never_rounded(policy: PackPolicy) -> None:
    """0.375 kg of cheese with a pack size of 5 stays 0.375 kg."""
    got = apply_policy(D("0.375"), D(5), policy, by_weight=True)

    assert Packed(None, None, D("0.375"), True) == got


@pytest.mark.parametrize("policy", ["as-ordered", "round-up", "round-down", "nearest"])
def test_no_pack_size_is_never_rounded(policy: PackPolicy) -> None:
    """Without a pack size, the producer gets the members' total."""
    got = apply_policy(D(7), None, policy, by_weight=False)

    assert Packed(None, None, D(7), False) == got


@pytest.mark.parametrize("policy", ["as-ordered", "round-up", "round-down", "nearest"])
@pytest.mark.parametrize("ordered", ["0", "-2"])
def test_nothing_ordered_orders_nothing(ordered: str, policy: PackPolicy) -> None:
    """A total of 0, or below after refunds, is 0 packs and 0 quantity."""
    with_packs = apply_policy(D(ordered), D(6), policy, by_weight=False)
    without = apply_policy(D(ordered), None, policy, by_weight=False)

    assert Packed(D(6), D(0), D(0), False) == with_packs
    assert Packed(None, None, D(0), False) == without


def test_unknown_policy_is_a_bug() -> None:
    """A policy outside PackPolicy raises rather than passing the total on."""
    with pytest.raises(ValueError, match="pack policy"):
        apply_policy(D(7), D(6), "sideways", by_weight=False)  # type: ignore[arg-type]
