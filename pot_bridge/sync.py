"""Pull a coop's products, orders, refunds and members into the store.

Each stream keeps a cursor: the end of the last window pulled completely. A run
asks for everything modified in [cursor - overlap, now - settle), by GMT and with
a naive UTC value (a `Z` would be turned into site time, trap T-04), in id order.
Rows are upserted by the shop's ids and compared by content, so the overlap and
any re-run after a crash double nothing. The cursor moves only after a complete,
consistent pass; a pass whose total changed under it is repeated.

Products come first, so order lines find their pack size and POT ID stored;
their pull failing is reported and the orders are pulled all the same.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from pot_bridge import problems
from pot_bridge.config import CoopConfig
from pot_bridge.cursor import (
    SyncResult,
    advance,
    gmt_param,
    merge_rows,
    resume_from,
    skip,
    window_start,
)
from pot_bridge.errors import (
    AbortError,
    ShopBadResponse,
    ShopError,
    ShopNotFound,
    SkipItemError,
)
from pot_bridge.member import pull_members
from pot_bridge.producer import is_plugin_product, producer_of_line
from pot_bridge.refund import pull_order_refunds, pull_refunds
from pot_bridge.shop.client import ShopClient
from pot_bridge.shop.wire import LineItem, parse_order, parse_product
from pot_bridge.shop.wire import Order as WireOrder
from pot_bridge.shop.wire import Product as WireProduct
from pot_bridge.store.schema import Order, OrderLine, Product

log = structlog.get_logger(__name__)

SETTLE = timedelta(seconds=30)
MAX_PASSES = 3
# Fields that change without the order changing (trap T-01) or that only link.
VOLATILE = ("date_modified", "date_modified_gmt", "_links", "payment_url")


def sync_coop(
    coop: CoopConfig,
    client: ShopClient,
    sessions: sessionmaker[Session],
    now: datetime,
) -> SyncResult:
    """One incremental pull of everything a coop's shop changed."""
    result = SyncResult(coop=coop.slug)
    window_end = now - SETTLE

    if not client.supports_modified_after():
        raise AbortError(
            "the shop ignores modified_after (WooCommerce older than 5.8?): an "
            "incremental pull would fetch the whole history every time; update "
            "WooCommerce",
            coop=coop.slug,
        )

    pull_products(coop, client, sessions, window_end, now, result)
    _pull_orders(coop, client, sessions, window_end, now, result)
    pull_refunds(coop, client, sessions, window_end, now, result)
    pull_members(coop, client, sessions, now, result)

    log.info(
        "sync.done",
        coop=coop.slug,
        orders_seen=result.orders_seen,
        orders_changed=result.orders_changed,
        refunds_seen=result.refunds_seen,
        members_seen=result.members_seen,
        products_seen=result.products_seen,
        skipped=len(result.skipped),
    )
    return result


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
            for raw in page.items:
                product_id = raw.get("id") if isinstance(raw, dict) else None
                if not isinstance(product_id, int) or product_id in seen:
                    continue
                seen.add(product_id)
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
    row.sku = _fit(Product, "sku", product.sku or "")
    row.name = _fit(Product, "name", product.name)
    producer = (product.lieferant or "").strip()
    row.producer = _fit(Product, "producer", producer) if producer else None
    row.unit = _fit(Product, "unit", product.einheit or "")
    row.pack_size = _fit(Product, "pack_size", product.gebinde or "")
    row.pot_id = _fit(Product, "pot_id", product.pot_id or "")
    row.synced_at = now

    return row


def _fit(model: type[Product | Order], column: str, text: str) -> str:
    """Cut shop text to its column: PostgreSQL refuses the whole page otherwise."""
    length = getattr(model.__table__.c[column].type, "length", None)
    return text[:length] if length else text


def _pull_orders(
    coop: CoopConfig,
    client: ShopClient,
    sessions: sessionmaker[Session],
    window_end: datetime,
    now: datetime,
    result: SyncResult,
) -> None:
    with sessions() as session:
        start = window_start(coop, session, "orders")

    # "any" leaves out trashed orders: the plugin trashes a replaced order.
    for status in ("any", "trash"):
        params = {
            "modified_after": gmt_param(start),
            "modified_before": gmt_param(window_end),
            "dates_are_gmt": True,
            "status": status,
            "orderby": "id",
            "order": "asc",
            "per_page": 100,
        }
        for attempt in range(1, MAX_PASSES + 1):
            seen, total = _pull_order_pass(coop, client, sessions, params, now, result)
            recount = client.get_page("orders", {**params, "per_page": 1}).total
            if total is None or (recount == total and len(seen) >= total):
                break
            log.warning(
                "sync.orders.moved",
                coop=coop.slug,
                status=status,
                attempt=attempt,
                total=total,
                recount=recount,
                seen=len(seen),
            )
        else:
            raise ShopBadResponse(
                f"orders changed under {MAX_PASSES} passes in a row (status {status}); "
                "the cursor stays and the next run tries again",
                coop=coop.slug,
            )

    with sessions.begin() as session:
        advance(session, coop.slug, "orders", window_end, now)


def _pull_order_pass(
    coop: CoopConfig,
    client: ShopClient,
    sessions: sessionmaker[Session],
    params: dict[str, object],
    now: datetime,
    result: SyncResult,
) -> tuple[set[int], int | None]:
    seen: set[int] = set()
    total: int | None = None
    for page in client.iter_pages("orders", params):
        total = page.total if total is None else total
        with sessions.begin() as session, session.no_autoflush:
            known = _known(session, coop, page.items)
            for raw in page.items:
                order_id = raw.get("id") if isinstance(raw, dict) else None
                if not isinstance(order_id, int) or order_id in seen:
                    continue
                seen.add(order_id)
                result.orders_seen += 1
                try:
                    order = parse_order(raw, coop.slug)
                    changed = upsert_order(
                        session, coop, client, order, raw, now, known=known
                    )
                except SkipItemError as exc:
                    skip(session, coop, f"order {order_id}", str(exc), now, result)
                    continue
                if changed:
                    result.orders_changed += 1
                    if order.refunds:
                        pull_order_refunds(coop, client, session, order, now, result)
    return seen, total


@dataclass
class Known:
    """What the store already holds for one page, read in a few queries rather
    than a few per order."""

    orders: dict[int, Order]
    products: dict[int, Product | None]
    unknown_producers: set[str]


def _known(session: Session, coop: CoopConfig, items: list[Any]) -> Known:
    ids = [raw["id"] for raw in items if isinstance(raw, dict) and "id" in raw]
    orders = session.scalars(
        select(Order)
        .where(Order.coop == coop.slug, Order.order_id.in_(ids))
        .options(selectinload(Order.lines))
    )
    product_ids = {
        line.get("product_id")
        for raw in items
        if isinstance(raw, dict)
        for line in raw.get("line_items") or []
        if isinstance(line, dict)
    }
    products = session.scalars(
        select(Product).where(
            Product.coop == coop.slug, Product.product_id.in_(product_ids - {None})
        )
    )
    return Known(
        orders={o.order_id: o for o in orders},
        products={p.product_id: p for p in products},
        unknown_producers=problems.open_subjects(
            session, coop.slug, "line.producer_unknown"
        ),
    )


def content_hash(raw: dict[str, Any]) -> str:
    """The order's content without the fields that move on their own (T-01)."""
    stable = {k: v for k, v in raw.items() if k not in VOLATILE}
    text = json.dumps(stable, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def upsert_order(
    session: Session,
    coop: CoopConfig,
    client: ShopClient,
    order: WireOrder,
    raw: dict[str, Any],
    now: datetime,
    *,
    known: Known | None = None,
) -> bool:
    """Mirror one order; False when its content did not change."""
    digest = content_hash(raw)
    pickup = _fit(Order, "pickup_place", order.pickup_place(coop.pickup_meta_key))
    known = known or _known(session, coop, [raw])
    row = known.orders.get(order.id)
    if row is not None and row.content_hash == digest:
        # Same content, but the coop may have set its pickup key since: not a
        # change of the order (T-01), only of how the bridge reads it.
        if row.pickup_place != pickup:
            row.pickup_place = pickup
        return False

    if row is None:
        row = Order(coop=coop.slug, order_id=order.id)
        session.add(row)
        known.orders[order.id] = row
    name = f"{order.billing.first_name} {order.billing.last_name}".strip()
    row.number = order.number
    row.status = order.status
    row.customer_id = order.customer_id
    row.email = (order.billing.email or "").strip().lower()
    row.member_name = name
    row.payment_method = order.payment_method
    row.pickup_place = pickup
    row.created_via = order.created_via or ""
    row.plugin_round_id = order.round_id
    row.created_gmt = order.date_created_gmt
    row.modified_gmt = order.date_modified_gmt
    row.total = order.total
    row.content_hash = digest
    row.synced_at = now

    lines = [
        _line(session, coop, client, order, item, now, known)
        for item in order.line_items
    ]
    row.lines = merge_rows(row.lines, lines, key="item_id")
    log.debug("order.pulled", coop=coop.slug, order_id=order.id, status=order.status)
    return True


def _line(
    session: Session,
    coop: CoopConfig,
    client: ShopClient,
    order: WireOrder,
    item: LineItem,
    now: datetime,
    known: Known,
) -> OrderLine:
    sku = item.sku or _meta_str(item, "_sku")
    product = None
    if not item.lieferant and item.product_id and not is_plugin_product(sku):
        if item.product_id not in known.products:
            known.products[item.product_id] = product_for(
                session, coop, client, item.product_id, now
            )
        product = known.products[item.product_id]
    producer = producer_of_line(
        coop, line_producer=item.lieferant, sku=sku, product=product
    )

    # One problem per product, not per line: thousands of orders may hold it.
    subject = f"product {item.product_id}" if item.product_id else f"line {item.id}"
    if producer is None and not is_plugin_product(sku):
        if subject not in known.unknown_producers:
            problems.report(
                session,
                coop=coop.slug,
                kind="line.producer_unknown",
                subject=subject,
                message=f"{item.name!r} (SKU {sku or '-'}, product "
                f"{item.product_id}) has no producer (first seen in order "
                f"{order.id}): set _lieferant on the product or map its SKU to a "
                "producer in the configuration",
                now=now,
            )
            known.unknown_producers.add(subject)
    elif subject in known.unknown_producers:
        problems.resolve(
            session,
            coop=coop.slug,
            kind="line.producer_unknown",
            subject=subject,
            now=now,
        )
        known.unknown_producers.discard(subject)

    return OrderLine(
        item_id=item.id,
        product_id=item.product_id,
        variation_id=item.variation_id,
        name=item.name,
        sku=sku,
        unit=item.einheit or (product.unit if product else ""),
        producer=producer,
        quantity=item.quantity,
        amount=item.gross,
    )


def _meta_str(item: LineItem, key: str) -> str:
    value = next((m.value for m in item.meta_data if m.key == key), None)
    return value if isinstance(value, str) else ""


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
