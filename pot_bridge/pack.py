"""Pack sizes and the pack policy: from the members' total to what the producer gets.

Producers often deliver in packs (a crate of 6, a tray of 12). The coop's pack
policy says whether the members' total is passed on as it is or rounded to whole
packs. Goods sold by weight and goods without a pack size are never rounded:
there is no pack to round to.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from pot_bridge.config import PackPolicy, ProducerConfig
from pot_bridge.money import ZERO

_LEADING_NUMBER = re.compile(r"\s*([0-9]+(?:[.,][0-9]+)?)(?![0-9.,'])", re.ASCII)
# a pack beyond this, or with more than three decimals, is a typing error
MAX_PACK = Decimal(10_000)
# after lower-casing and removing all whitespace: "pro kg", "/kg", "100 g", "je kg"
_WEIGHT_UNIT = re.compile(r"(?:pro|per|je|/)?(?:kg|kilo|(?:100)?(?:g|gr))")


@dataclass(frozen=True)
class Packed:
    """What is ordered from the producer for one product, after the pack policy.

    `pack_size` and `packs` are None when no packs apply: no known size, a size
    of 1, sold by weight. `packs` is also None when `as-ordered` leaves a
    quantity that is not a whole number of packs.
    """

    pack_size: Decimal | None
    packs: Decimal | None
    quantity: Decimal
    by_weight: bool


def parse_pack_size(text: str | None) -> Decimal | None:
    """The leading positive number of the plugin's free-text `_gebinde`, or None.

    "6 Stk" is 6, "6,0" is 6 (decimal comma). Missing, unreadable, zero,
    negative and 1 give None: a pack of one is no pack. So do sizes above
    10,000, with more than three decimals, or written with thousands marks
    ("10'000", "1.000,5"): a typing error must not order a lorry-load.
    """
    if text is None:
        return None

    match = _LEADING_NUMBER.match(text)
    if match is None:
        return None

    return _as_pack_size(Decimal(match.group(1).replace(",", ".")))


def pack_size_of(
    gebinde: str | None, sku: str, producer: ProducerConfig | None
) -> Decimal | None:
    """The producer config's size for the SKU, else the product's `_gebinde`.

    The config wins because it exists to correct a missing or wrong `_gebinde`;
    a configured size of 1 switches packs off for that SKU.
    """
    if producer is not None and sku in producer.pack_sizes:
        return _as_pack_size(producer.pack_sizes[sku])

    return parse_pack_size(gebinde)


def sold_by_weight(
    unit: str,
    sku: str,
    quantities: Iterable[Decimal],
    producer: ProducerConfig | None,
) -> bool:
    """Whether a product is weighed rather than counted, so never rounded to packs.

    True when the producer lists the SKU in `sold_by_weight`, when any quantity
    ordered is not whole (a weighed sale gives 0.375), or when the unit is a
    price per weight: "kg", "g", "100 g", "pro kg", "per kg", "je kg", "/kg"
    (any case and spacing). "100 g" is read as the Swiss price per 100 g. Any
    other amount names a fixed piece ("500 g", "250g", "1 kg"), as do "Stk",
    "Bund", "1 l" and "": those are counted.
    """
    if producer is not None and sku in producer.sold_by_weight:
        return True

    if any(q != q.to_integral_value() for q in quantities):
        return True

    compact = "".join(unit.lower().split())
    return _WEIGHT_UNIT.fullmatch(compact) is not None


def apply_policy(
    ordered: Decimal, pack_size: Decimal | None, policy: PackPolicy, *, by_weight: bool
) -> Packed:
    """Round the members' total `ordered` to packs as `policy` says.

    `round-up` and `round-down` take the next whole pack count above or below;
    `nearest` takes the closer one, and an exact half goes up so members get
    what they ordered. Rounding down may reach 0 packs. `as-ordered` passes the
    total on and counts packs only when it fills whole packs. Nothing ordered
    (or a negative total, after refunds) orders nothing.
    """
    if by_weight or pack_size is None:
        return Packed(None, None, max(ordered, ZERO), by_weight)

    if ordered <= 0:
        return Packed(pack_size, ZERO, ZERO, by_weight)

    exact = Fraction(ordered) / Fraction(pack_size)
    if policy == "as-ordered":
        packs = Decimal(exact.numerator) if exact.denominator == 1 else None
        return Packed(pack_size, packs, ordered, by_weight)

    if policy == "round-up":
        count = math.ceil(exact)
    elif policy == "round-down":
        count = math.floor(exact)
    elif policy == "nearest":
        count = math.floor(exact + Fraction(1, 2))
    else:
        raise ValueError(f"unknown pack policy {policy!r}")

    return Packed(pack_size, Decimal(count), count * pack_size, by_weight)


def _as_pack_size(size: Decimal) -> Decimal | None:
    """A usable pack size, or None: no pack, or one no producer would mean."""
    if size <= 0 or size == 1 or size > MAX_PACK:
        return None
    if size != size.quantize(Decimal("0.001")):
        return None

    if size == size.to_integral_value():
        return size.quantize(Decimal(1))
    return size.normalize()
