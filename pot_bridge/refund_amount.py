"""How much a refund takes back of one order line, to the Rappen.

A line may be refunded in parts, by the bridge and by hand; each part is a
share of the line's net and of each tax rate, capped by what earlier refunds
took back, so the parts never add up to more than the member paid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from pot_bridge.money import ZERO, format_quantity, round_chf


@dataclass(frozen=True)
class Line:
    """An order line as sold: net `total` and tax per rate id (6 decimals)."""

    id: int
    name: str
    quantity: Decimal
    total: Decimal
    taxes: Mapping[int, Decimal]


@dataclass(frozen=True)
class LineRefund:
    """What a refund takes back of one order line, in positive numbers."""

    item_id: int
    quantity: Decimal
    total: Decimal
    taxes: Mapping[int, Decimal]

    @property
    def tax(self) -> Decimal:
        return sum(self.taxes.values(), ZERO)

    @property
    def amount(self) -> Decimal:
        return self.total + self.tax

    def describe(self) -> str:
        return (
            f"line {self.item_id}: {format_quantity(self.quantity)} × "
            f"{self.total} + tax {self.tax}"
        )


def line_refund(
    line: Line, earlier: Iterable[LineRefund], quantity: Decimal
) -> LineRefund | None:
    """The refund of `quantity` units of a line, or None if nothing is left.

    Net and each tax rate are shares of the line, rounded half up; what earlier
    refunds took back caps them, and the last units get exactly what remains,
    so a line's refunds add up to what the member paid, to the Rappen.
    """
    earlier = list(earlier)
    left_qty = line.quantity - sum((e.quantity for e in earlier), ZERO)
    left_total = line.total - sum((e.total for e in earlier), ZERO)
    left_taxes = {
        rate: round_chf(amount) - sum((e.taxes.get(rate, ZERO) for e in earlier), ZERO)
        for rate, amount in line.taxes.items()
    }
    if left_qty <= 0 or quantity <= 0:
        return None

    if quantity >= left_qty:
        quantity, total, taxes = left_qty, left_total, left_taxes
    else:
        total = min(round_chf(line.total * quantity / line.quantity), left_total)
        taxes = {
            rate: min(round_chf(amount * quantity / line.quantity), left_taxes[rate])
            for rate, amount in line.taxes.items()
        }

    refund = LineRefund(
        item_id=line.id,
        quantity=quantity,
        total=max(total, ZERO),
        taxes={rate: amount for rate, amount in taxes.items() if amount > 0},
    )
    return refund if refund.amount > 0 else None
