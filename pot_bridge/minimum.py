"""A producer's minimum order: whether a group order reaches it, and the
group order cancelled when it does not (the coop's `below_minimum` decides)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from pot_bridge.config import ProducerConfig
from pot_bridge.group_order import BELOW_MINIMUM, GroupOrderView
from pot_bridge.money import ZERO


def below_minimum(
    view: GroupOrderView, contact: ProducerConfig | None
) -> tuple[Decimal | None, Decimal | None] | None:
    """The minimum (value, quantity) this group order misses, or None when it is met."""
    if contact is None:
        return None
    quantity = sum((p.quantity for p in view.lines), ZERO)
    value_short = (
        contact.minimum_value is not None and view.total < contact.minimum_value
    )
    quantity_short = (
        contact.minimum_quantity is not None and quantity < contact.minimum_quantity
    )
    if not (value_short or quantity_short):
        return None
    return contact.minimum_value, contact.minimum_quantity


def cancel(view: GroupOrderView) -> GroupOrderView:
    """The same group order with nothing ordered: below the producer's minimum."""
    return replace(
        view,
        shares=tuple(
            replace(s, allocated=ZERO, reason=BELOW_MINIMUM) for s in view.shares
        ),
    )
