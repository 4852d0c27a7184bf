"""Group orders: one producer's total for one round, built when the round closes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class ProductTotal:
    """One product of a group order, summed over the members' lines."""

    product_id: int
    sku: str
    name: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class GroupOrderView:
    """What a producer is told: everything the documents need, nothing more."""

    coop_slug: str
    coop_name: str
    coop_email: str | None
    producer: str
    round_key: str
    round_name: str
    closes_at: datetime
    distribution_day: date | None
    lines: tuple[ProductTotal, ...]
    total: Decimal
