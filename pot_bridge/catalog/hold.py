"""Prices held while a round is open, so a coop's prices do not move under it.

A round is open from `opens_at` until `closes_at` unless it was closed
already. A product is "in" an open round when an order of that round in the
store holds a line of it; only such products have their price changes held
(or applied and reported, as the coop chose). Orders already placed keep
their price either way: the bridge never touches orders.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge.store.schema import CatalogItem, Order, OrderLine, Round


def open_rounds(session: Session, coop: str, now: datetime) -> set[str]:
    """The keys of the coop's rounds open at `now`."""
    return set(
        session.scalars(
            select(Round.key).where(
                Round.coop == coop,
                Round.closed_at.is_(None),
                Round.opens_at <= now,
                Round.closes_at > now,
            )
        )
    )


def products_in_open_rounds(
    session: Session, coop: str, now: datetime
) -> dict[int, str]:
    """Shop product id → key of an open round whose orders hold that product."""
    rows = session.execute(
        select(OrderLine.product_id, Round.key)
        .join(Order, OrderLine.order_pk == Order.id)
        .join(Round, (Round.coop == Order.coop) & (Round.key == Order.round_key))
        .where(
            Order.coop == coop,
            Round.closed_at.is_(None),
            Round.opens_at <= now,
            Round.closes_at > now,
            OrderLine.product_id != 0,
        )
        .order_by(Round.closes_at, OrderLine.product_id)
    )
    found: dict[int, str] = {}
    for product_id, key in rows.tuples():
        found.setdefault(product_id, key)

    return found


def held_due(session: Session, coop: str, now: datetime) -> bool:
    """Whether a held price waits for a round that is no longer open."""
    rounds = {
        str(item.held.get("round", ""))
        for item in session.scalars(select(CatalogItem).where(CatalogItem.coop == coop))
        if item.held
    }
    if not rounds:
        return False

    return bool(rounds - open_rounds(session, coop, now))
