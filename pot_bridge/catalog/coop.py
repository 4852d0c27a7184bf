"""One coop's catalog, end to end: read its shop and the store, plan, push.

The shop is read outside any transaction (a slow shop must not hold the
store); the store's side is read in one short session. `due` tells the
daemon whether a coop needs a push at all, so an unchanged catalog costs no
request to the shop once it was pushed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge.catalog.hold import held_due, products_in_open_rounds
from pot_bridge.catalog.item import ItemState
from pot_bridge.catalog.model import Catalog
from pot_bridge.catalog.plan import Plan, plan
from pot_bridge.catalog.push import Pushed, push
from pot_bridge.catalog.shelf import read_shelf
from pot_bridge.config import CoopConfig
from pot_bridge.shop.client import ShopClient
from pot_bridge.store.schema import CatalogItem


def items_of(session: Session, coop: str) -> dict[str, ItemState]:
    rows = session.scalars(select(CatalogItem).where(CatalogItem.coop == coop))
    return {row.pot_id: ItemState.of(row) for row in rows}


def plan_coop(
    sessions: sessionmaker[Session],
    client: ShopClient,
    coop: CoopConfig,
    catalog: Catalog,
    now: datetime,
    *,
    product_page: str,
    version: int | None = None,
) -> Plan:
    """Read the shop (all products and categories) and the store; plan."""
    shelf = read_shelf(client)
    with sessions() as session:
        items = items_of(session, coop.slug)
        in_rounds = products_in_open_rounds(session, coop.slug, now)

    return plan(
        coop,
        catalog,
        shelf,
        items,
        in_rounds,
        product_page=product_page,
        version=version,
    )


def push_coop(
    sessions: sessionmaker[Session],
    client: ShopClient,
    coop: CoopConfig,
    catalog: Catalog,
    now: datetime,
    *,
    product_page: str,
    version: int | None = None,
) -> tuple[Plan, Pushed]:
    """Plan and push one coop; returns both, for the admin's report."""
    planned = plan_coop(
        sessions,
        client,
        coop,
        catalog,
        now,
        product_page=product_page,
        version=version,
    )

    return planned, push(planned, client, sessions, now)


def due(session: Session, coop: str, version: int, now: datetime) -> bool:
    """By the store, a push is due: a product was pushed against an older
    version or failed, or a held price waits for a round that has closed."""
    rows = session.execute(
        select(CatalogItem.snapshot_pk, CatalogItem.last_error).where(
            CatalogItem.coop == coop
        )
    )
    if any(pk != version or error for pk, error in rows.tuples()):
        return True

    return held_due(session, coop, now)
