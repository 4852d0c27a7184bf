"""The shop's products, mirrored for what order lines do not carry.

Pack sizes and POT IDs are the product's, so products are pulled before the
orders (`pot_bridge.sync`), and a line whose product is not stored yet fetches
it by id. The plugin's own products (a wallet top-up) are left out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge import problems
from pot_bridge.config import CoopConfig
from pot_bridge.cursor import (
    MAX_PASSES,
    SyncResult,
    advance,
    fit,
    gmt_param,
    resume_from,
    skip,
    unseen,
)
from pot_bridge.errors import ShopBadResponse, ShopError, ShopNotFound, SkipItemError
from pot_bridge.producer import is_plugin_product
from pot_bridge.shop.client import ShopClient
from pot_bridge.shop.wire import Product as WireProduct
from pot_bridge.shop.wire import parse_product
from pot_bridge.store.schema import Product

log = structlog.get_logger(__name__)


def pull_products(
    coop: CoopConfig,
    client: ShopClient,
    sessions: sessionmaker[Session],
    window_end: datetime,
    now: datetime,
    result: SyncResult,
) -> None:
    """The catalog for pack sizes and POT IDs, which order lines do not carry.

    A catalog is a few thousand products at most, so the first pull reads all
    of them rather than from `history_since`; later ones only what changed, one
    request when nothing did. A failure is reported and the orders go on; the
    cursor stays, and the next poll reads the same window again.
    """
    with sessions() as session:
        start = resume_from(session, coop.slug, "products")
    params: dict[str, object] = {
        "modified_before": gmt_param(window_end),
        "dates_are_gmt": True,
        "status": "any",
        "orderby": "id",
        "order": "asc",
        "per_page": 100,
    }
    if start is not None:
        params["modified_after"] = gmt_param(start)

    try:
        _pull_product_passes(coop, client, sessions, params, now, result)
    except ShopError as exc:
        log.warning("sync.products.failed", coop=coop.slug, error=str(exc))
        with sessions.begin() as session:
            problems.report(
                session,
                coop=coop.slug,
                kind="products.pull_failed",
                subject="products",
                message=f"the products could not be pulled ({exc.message}); pack "
                "sizes and POT IDs may be stale until a later poll succeeds",
                now=now,
            )
        return

    with sessions.begin() as session:
        problems.resolve(
            session,
            coop=coop.slug,
            kind="products.pull_failed",
            subject="products",
            now=now,
        )
        advance(session, coop.slug, "products", window_end, now)


def _pull_product_passes(
    coop: CoopConfig,
    client: ShopClient,
    sessions: sessionmaker[Session],
    params: dict[str, object],
    now: datetime,
    result: SyncResult,
) -> None:
    """Passes until one is complete: every product its first page counted.

    A product saved again during a pass leaves the window and shifts the
    pages behind it, so one may go unread. Two passes that read the same ids
    mean the shop just hides some it counts (a failed per-object check).
    """
    previous: set[int] | None = None
    for attempt in range(1, MAX_PASSES + 1):
        seen, total = _pull_product_pass(coop, client, sessions, params, now, result)
        if total is None or len(seen) >= total or seen == previous:
            return
        log.warning(
            "sync.products.moved",
            coop=coop.slug,
            attempt=attempt,
            total=total,
            seen=len(seen),
        )
        previous = seen

    raise ShopBadResponse(
        f"products changed under {MAX_PASSES} passes in a row",
        coop=coop.slug,
    )


def _pull_product_pass(
    coop: CoopConfig,
    client: ShopClient,
    sessions: sessionmaker[Session],
    params: dict[str, object],
    now: datetime,
    result: SyncResult,
) -> tuple[set[int], int | None]:
    seen: set[int] = set()
    total: int | None = None
    for page in client.iter_pages("products", params):
        total = page.total if total is None else total
        ids = [r["id"] for r in page.items if isinstance(r, dict) and "id" in r]
        with sessions.begin() as session, session.no_autoflush:
            rows = _product_rows(session, coop.slug, ids)
            for product_id, raw in unseen(page.items, seen):
                try:
                    product = parse_product(raw, coop.slug)
                except SkipItemError as exc:
                    skip(session, coop, f"product {product_id}", str(exc), now, result)
                    continue
                if is_plugin_product(product.sku):
                    continue
                upsert_product(session, coop.slug, product, now, rows)
                result.products_seen += 1
    return seen, total


def _product_rows(session: Session, coop: str, ids: list[Any]) -> dict[int, Product]:
    query = select(Product).where(Product.coop == coop, Product.product_id.in_(ids))
    return {row.product_id: row for row in session.scalars(query)}


def upsert_product(
    session: Session,
    coop: str,
    product: WireProduct,
    now: datetime,
    rows: dict[int, Product],
    *,
    product_id: int | None = None,
) -> Product:
    """Mirror one product by the shop's id (or `product_id`, when a variation
    stands in for the product its line names)."""
    key = product.id if product_id is None else product_id
    row = rows.get(key)
    if row is None:
        row = rows[key] = Product(coop=coop, product_id=key)
        session.add(row)
    row.sku = fit(Product, "sku", product.sku or "")
    row.name = fit(Product, "name", product.name)
    producer = (product.lieferant or "").strip()
    row.producer = fit(Product, "producer", producer) if producer else None
    row.unit = fit(Product, "unit", product.einheit or "")
    row.pack_size = fit(Product, "pack_size", product.gebinde or "")
    row.pot_id = fit(Product, "pot_id", product.pot_id or "")
    row.synced_at = now

    return row


def product_for(
    session: Session,
    coop: CoopConfig,
    client: ShopClient,
    product_id: int,
    now: datetime,
) -> Product | None:
    """The product behind a line, fetched once by id (a list may miss it, T-18)."""
    try:
        product = parse_product(client.get(f"products/{product_id}"), coop.slug)
        if not product.lieferant and product.parent_id:
            parent = parse_product(
                client.get(f"products/{product.parent_id}"), coop.slug
            )
            product = product.model_copy(update={"meta_data": parent.meta_data})
    except ShopNotFound:
        return None

    rows = _product_rows(session, coop.slug, [product_id])
    row = upsert_product(session, coop.slug, product, now, rows, product_id=product_id)
    session.flush()
    return row
