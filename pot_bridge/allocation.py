"""Sharing a shortfall among members, by a rule each of them can check.

When less arrives than members ordered (the pack policy rounded down, or the
producer delivered short), the available quantity is shared by largest
remainder: everyone first gets the whole units of their proportional quota,
and the units left over go, one each, to the largest fractions cut off. Equal
fractions go to the earlier order, then to the smaller (order id, item id).
The same input always gives the same result, whatever its order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from pot_bridge.money import ZERO

_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Claim:
    """One member's order line competing for a product in short supply."""

    key: tuple[int, int]  # (order_id, item_id)
    ordered: Decimal
    ordered_at: datetime | None  # order creation time (UTC); None comes last


def share(
    available: Decimal, claims: Sequence[Claim], *, step: Decimal = Decimal(1)
) -> dict[tuple[int, int], Decimal]:
    """Each claim's part of `available`, in whole multiples of `step`.

    Nobody gets more than they ordered or less than the whole steps of their
    quota (available × ordered / total). Whatever is below one step stays
    unallocated: an `available` that is not a multiple of `step`, and units no
    one can take as a whole step without exceeding their order (a 0.6 ordered
    with step 1). Weighed goods pass a step of 0.001 to share by the gram.
    Negative orders count as 0.
    """
    if step <= 0:
        raise ValueError(f"step must be above 0, not {step}")
    if len({c.key for c in claims}) != len(claims):
        raise ValueError("two claims share a key")

    wanted = {c.key: max(c.ordered, ZERO) for c in claims}
    total = sum(wanted.values(), ZERO)
    if available >= total:
        return wanted
    if available <= 0:
        return dict.fromkeys(wanted, ZERO)

    unit = Fraction(step)
    quotas = {
        key: Fraction(available) * Fraction(amount) / Fraction(total)
        for key, amount in wanted.items()
    }
    units = {key: math.floor(quota / unit) for key, quota in quotas.items()}

    leftover = math.floor((Fraction(available) - sum(units.values()) * unit) / unit)
    for claim in sorted(claims, key=lambda c: _precedence(c, quotas, units, unit)):
        if leftover == 0:
            break
        if (units[claim.key] + 1) * unit <= wanted[claim.key]:
            units[claim.key] += 1
            leftover -= 1

    return {key: count * step for key, count in units.items()}


def _precedence(
    claim: Claim,
    quotas: dict[tuple[int, int], Fraction],
    units: dict[tuple[int, int], int],
    unit: Fraction,
) -> tuple[Fraction, bool, datetime, tuple[int, int]]:
    remainder = quotas[claim.key] - units[claim.key] * unit
    ordered_at = claim.ordered_at or _NEVER
    return (-remainder, claim.ordered_at is None, ordered_at, claim.key)
