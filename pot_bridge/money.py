"""Money and quantities as exact decimals.

Amounts enter as the shop's strings and become `Decimal` here; nothing in
pot-bridge touches a float for money. The store keeps integer Rappen. Rounding
to the Rappen happens in `to_rappen_exact` / `round_chf` only, half up, as Swiss
invoices do.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FIVE_RAPPEN = Decimal("0.05")
CENT = Decimal("0.01")
ZERO = Decimal(0)


def parse_decimal(value: object) -> Decimal:
    """Read a money string or JSON number (already a Decimal) exactly.

    Floats are refused: a float here means one slipped past the JSON border.
    """
    if isinstance(value, bool | float):
        raise TypeError(f"refusing {type(value).__name__} as a decimal: {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if value is None or value == "":
        return ZERO
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def round_chf(amount: Decimal) -> Decimal:
    """Round to the Rappen, half up: the one place money is rounded."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def round_five_rappen(amount: Decimal) -> Decimal:
    """Round to 0.05 CHF, half up: shelf prices, as Swiss cash is counted."""
    steps = (amount / FIVE_RAPPEN).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return (steps * FIVE_RAPPEN).quantize(CENT)


def to_rappen(amount: Decimal) -> int:
    """Exact CHF amount to integer Rappen; refuses sub-Rappen amounts."""
    rappen = amount * 100
    if rappen != rappen.to_integral_value():
        raise ValueError(f"{amount} CHF is not a whole number of Rappen")
    return int(rappen)


def from_rappen(rappen: int) -> Decimal:
    """Integer Rappen back to CHF with two decimals."""
    return (Decimal(rappen) / 100).quantize(CENT)


def format_chf(amount: Decimal) -> str:
    """CHF as the Swiss write it: 1'234.50."""
    amount = round_chf(amount)
    sign = "-" if amount < 0 else ""
    whole, _, cents = f"{abs(amount):.2f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + "'".join(groups) + "." + cents


def format_quantity(quantity: Decimal) -> str:
    """A quantity without trailing zeros: 3, 1.75, 0.5."""
    return f"{quantity.normalize():f}"
