"""Pull a coop's products, orders, refunds and members into the store.

Each stream keeps a cursor: the end of the last window pulled completely. A run
asks for everything modified in [cursor - overlap, now - settle), by GMT and with
a naive UTC value (a `Z` would be turned into site time, trap T-04), in id order.
Rows are upserted by the shop's ids and compared by content, so the overlap and
any re-run after a crash double nothing. The cursor moves only after a complete,
consistent pass; a pass whose total changed under it is repeated.

Products come first (`pot_bridge.product`), so order lines find their pack
size and POT ID stored; their pull failing is reported and the orders are
pulled all the same. Refunds and members follow (`pot_bridge.refund`,
`pot_bridge.member`); the orders are pulled here.
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
    MAX_PASSES,
    SyncResult,
    advance,
    fit,
    gmt_param,
    merge_rows,
    skip,
    unseen,
    window_start,
)
from pot_bridge.errors import AbortError, ShopBadResponse, SkipItemError
from pot_bridge.member import pull_members
from pot_bridge.producer import is_plugin_product, producer_of_line
from pot_bridge.product import product_for, pull_products
from pot_bridge.refund import pull_order_refunds, pull_refunds
from pot_bridge.shop.client import ShopClient
from pot_bridge.shop.wire import LineItem, parse_order
from pot_bridge.shop.wire import Order as WireOrder
from pot_bridge.store.schema import Order, OrderLine, Product

log = structlog.get_logger(__name__)

SETTLE = timedelta(seconds=30)
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
            for order_id, raw in unseen(page.items, seen):
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
    pickup = fit(Order, "pickup_place", order.pickup_place(coop.pickup_meta_key))
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
    row.number = fit(Order, "number", order.number)
    row.status = fit(Order, "status", order.status)
    row.customer_id = order.customer_id
    row.email = fit(Order, "email", (order.billing.email or "").strip().lower())
    row.member_name = fit(Order, "member_name", name)
    row.payment_method = fit(Order, "payment_method", order.payment_method)
    row.pickup_place = pickup
    row.created_via = fit(Order, "created_via", order.created_via or "")
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
        name=fit(OrderLine, "name", item.name),
        sku=fit(OrderLine, "sku", sku),
        unit=fit(OrderLine, "unit", item.einheit or (product.unit if product else "")),
        producer=fit(OrderLine, "producer", producer) if producer else None,
        quantity=item.quantity,
        amount=item.gross,
    )


def _meta_str(item: LineItem, key: str) -> str:
    value = next((m.value for m in item.meta_data if m.key == key), None)
    return value if isinstance(value, str) else ""
