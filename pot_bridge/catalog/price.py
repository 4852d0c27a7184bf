"""A coop's price for a central product: the producer's price plus its margin.

Shelf prices end in 0 or 5 Rappen, as Swiss cash does: the margin is applied
first, then the result is rounded to 0.05 CHF (in `money`, where all rounding
lives).
"""

from __future__ import annotations

from decimal import Decimal

from pot_bridge.config import CoopCatalog
from pot_bridge.money import round_five_rappen

HUNDRED = Decimal(100)


def coop_price(central: Decimal, carry: CoopCatalog) -> Decimal:
    """The central price with the coop's margin, rounded to 0.05 CHF."""
    return round_five_rappen(central * (HUNDRED + carry.margin_percent) / HUNDRED)
