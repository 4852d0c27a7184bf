"""A member's orders in one round: the re-order that replaced an earlier one.

The POT plugin lets a member check out again in a round they ordered in; it
then cancels and trashes the old order and charges only the difference
(pot-plugin.md §4.2). Telling which order replaced which is what lets
`pot_bridge.credit.orders` net the two as the plugin does. A block checkout
loses the round, so its orders are never replaced and are charged in full
(`double_charges`, §17).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge.config import CoopConfig
from pot_bridge.store.schema import Order

# What counts as paid; `pot_bridge.credit.orders` says why.
PAID = frozenset({"processing", "on-hold", "completed", "refunded"})
CANCELLED = "cancelled"
TRASH = "trash"
# the statuses a replaced order ends in: the plugin cancels it, then trashes it
ENDED = frozenset({CANCELLED, TRASH})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class OrderFacts(Protocol):
    """What telling a re-order needs of an order (a stored `Order` has it)."""

    @property
    def order_id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def customer_id(self) -> int: ...
    @property
    def plugin_round_id(self) -> int | None: ...
    @property
    def created_gmt(self) -> datetime | None: ...
    @property
    def modified_gmt(self) -> datetime | None: ...


@dataclass(frozen=True)
class _Facts:
    order_id: int
    status: str
    customer_id: int
    plugin_round_id: int | None
    created_gmt: datetime | None
    modified_gmt: datetime | None


def replaced_orders(session: Session, coop: CoopConfig) -> dict[int, int]:
    """`replacements` of the coop's credit orders, read without loading them
    whole (for many rows at once)."""
    rows = session.execute(
        select(
            Order.order_id,
            Order.status,
            Order.customer_id,
            Order.plugin_round_id,
            Order.created_gmt,
            Order.modified_gmt,
        ).where(
            Order.coop == coop.slug,
            Order.payment_method.in_(coop.credit.payment_methods),
            Order.plugin_round_id.is_not(None),
        )
    ).tuples()

    return replacements(_Facts(*row) for row in rows)


def replacements(orders: Iterable[OrderFacts]) -> dict[int, int]:
    """Old order id → the id of the member's re-order that replaced it.

    The plugin replaces a member's order of a round (its `bestellrunde_id`, so
    never a block-checkout order, which loses the round) when the member checks
    out again with the wallet: the old order is cancelled and trashed in that
    checkout. So an ended order is replaced by the member's next order in the
    same round, if it ended no earlier than that order was created; an order an
    admin cancelled before the member ordered again was charged in full.
    """
    rounds: dict[tuple[int, int], list[OrderFacts]] = defaultdict(list)
    for order in orders:
        if order.plugin_round_id is None or not order.customer_id:
            continue
        if order.status in PAID or order.status in ENDED:
            rounds[(order.customer_id, order.plugin_round_id)].append(order)

    replaced = {}
    for round_orders in rounds.values():
        round_orders.sort(key=lambda o: (o.created_gmt or _EPOCH, o.order_id))
        for old, new in pairwise(round_orders):
            if old.status in ENDED and _ended_at_checkout(old, new):
                replaced[old.order_id] = new.order_id

    return replaced


def _ended_at_checkout(old: OrderFacts, new: OrderFacts) -> bool:
    if old.modified_gmt is None or new.created_gmt is None:
        return True

    return old.modified_gmt >= new.created_gmt


def double_charges(orders: Iterable[Order]) -> dict[tuple[int, str], list[int]]:
    """(member, round key) → ids of two or more paid orders of one member in one
    round: the block checkout loses the round, so the plugin charged each in
    full (pot-plugin.md §17). Reconciliation reports them; both are debited."""
    rounds: dict[tuple[int, str], list[int]] = defaultdict(list)
    for order in orders:
        if order.customer_id and order.round_key and order.status in PAID:
            rounds[(order.customer_id, order.round_key)].append(order.order_id)

    return {key: sorted(ids) for key, ids in rounds.items() if len(ids) > 1}
