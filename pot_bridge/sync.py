"""Pull a coop's orders, refunds and members into the store, incrementally.

Each stream keeps a cursor: the end of the last window pulled completely. A run
asks for everything modified in [cursor - overlap, now - settle), by GMT and with
a naive UTC value (a `Z` would be turned into site time, trap T-04), in id order.
Rows are upserted by the shop's ids and compared by content, so the overlap and
any re-run after a crash double nothing. The cursor moves only after a complete,
consistent pass; a pass whose total changed under it is repeated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from pot_bridge import problems
from pot_bridge.config import CoopConfig
from pot_bridge.errors import AbortError, ShopBadResponse, ShopNotFound, SkipItemError
from pot_bridge.producer import is_plugin_product, producer_of_line
from pot_bridge.shop.client import ShopClient
from pot_bridge.shop.wire import (
    Customer,
    LineItem,
    parse_customer,
    parse_order,
    parse_product,
    parse_refund,
)
from pot_bridge.shop.wire import Order as WireOrder
from pot_bridge.store.schema import Member, Order, OrderLine, Product, SyncCursor
from pot_bridge.store.schema import Refund as RefundRow
from pot_bridge.store.schema import RefundLine as RefundLineRow

log = structlog.get_logger(__name__)
Row = TypeVar("Row", OrderLine, RefundLineRow)

OVERLAP = timedelta(minutes=10)
SETTLE = timedelta(seconds=30)
MEMBER_SCAN_EVERY = timedelta(hours=6)
MAX_PASSES = 3
# Fields that change without the order changing (trap T-01) or that only link.
VOLATILE = ("date_modified", "date_modified_gmt", "_links", "payment_url")


@dataclass
class SyncResult:
    coop: str
    orders_seen: int = 0
    orders_changed: int = 0
    refunds_seen: int = 0
    members_seen: int = 0
    skipped: list[str] = field(default_factory=list)


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

    _pull_orders(coop, client, sessions, window_end, now, result)
    _pull_refunds(coop, client, sessions, window_end, now, result)
    _pull_members(coop, client, sessions, now, result)

    log.info(
        "sync.done",
        coop=coop.slug,
        orders_seen=result.orders_seen,
        orders_changed=result.orders_changed,
        refunds_seen=result.refunds_seen,
        members_seen=result.members_seen,
        skipped=len(result.skipped),
    )
    return result


def _window_start(coop: CoopConfig, session: Session, stream: str) -> datetime:
    cursor = session.get(SyncCursor, (coop.slug, stream))
    if cursor is None:
        first_day = datetime.combine(coop.history_since, time(0), tzinfo=coop.zone)
        return first_day.astimezone(UTC)
    return cursor.cursor_gmt - OVERLAP


def _advance(
    session: Session, coop: str, stream: str, to: datetime, now: datetime
) -> None:
    cursor = session.get(SyncCursor, (coop, stream))
    if cursor is None:
        session.add(SyncCursor(coop=coop, stream=stream, cursor_gmt=to, updated_at=now))
    else:
        cursor.cursor_gmt = max(cursor.cursor_gmt, to)
        cursor.updated_at = now


def gmt_param(moment: datetime) -> str:
    """A naive UTC timestamp, as `dates_are_gmt=true` wants it (no Z, no offset)."""
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def _pull_orders(
    coop: CoopConfig,
    client: ShopClient,
    sessions: sessionmaker[Session],
    window_end: datetime,
    now: datetime,
    result: SyncResult,
) -> None:
    with sessions() as session:
        window_start = _window_start(coop, session, "orders")

    # "any" leaves out trashed orders: the plugin trashes a replaced order.
    for status in ("any", "trash"):
        params = {
            "modified_after": gmt_param(window_start),
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
        _advance(session, coop.slug, "orders", window_end, now)


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
                    _skip(session, coop, f"order {order_id}", str(exc), now, result)
                    continue
                if changed:
                    result.orders_changed += 1
                    if order.refunds:
                        _pull_order_refunds(coop, client, session, order, now, result)
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
    products = session.scalars(select(Product).where(Product.coop == coop.slug))
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
    known = known or _known(session, coop, [raw])
    row = known.orders.get(order.id)
    if row is not None and row.content_hash == digest:
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


def merge_rows(current: list[Row], new: list[Row], *, key: str) -> list[Row]:
    """Update child rows in place by their shop id, so a re-pull never inserts a
    row whose unique key is still held by the row it replaces."""
    by_key = {getattr(row, key): row for row in current}
    merged = []
    for row in new:
        old = by_key.get(getattr(row, key))
        if old is None:
            merged.append(row)
            continue
        for column in row.__table__.columns:
            if not column.primary_key and column.name in row.__dict__:
                setattr(old, column.name, getattr(row, column.name))
        merged.append(old)
    return merged


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
    row = session.scalars(
        select(Product).where(
            Product.coop == coop.slug, Product.product_id == product_id
        )
    ).one_or_none()
    if row is not None:
        return row
    try:
        product = parse_product(client.get(f"products/{product_id}"), coop.slug)
        if not product.lieferant and product.parent_id:
            parent = parse_product(
                client.get(f"products/{product.parent_id}"), coop.slug
            )
            product = product.model_copy(update={"meta_data": parent.meta_data})
    except ShopNotFound:
        return None
    row = Product(
        coop=coop.slug,
        product_id=product_id,
        sku=product.sku or "",
        name=product.name,
        producer=product.lieferant,
        unit=product.einheit or "",
        pack_size=str(product.gebinde or ""),
        pot_id=str(product.pot_id or ""),
        synced_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _pull_order_refunds(
    coop: CoopConfig,
    client: ShopClient,
    session: Session,
    order: WireOrder,
    now: datetime,
    result: SyncResult,
) -> None:
    raw = client.get(f"orders/{order.id}/refunds", {"per_page": 100})
    detailed = {r["id"] for r in raw if isinstance(r, dict) and "id" in r}
    for item in raw:
        _upsert_refund_raw(session, coop, item, now, result, order_id=order.id)
    for summary in order.refunds:
        if summary.id in detailed:
            continue
        # The order lists a refund its refunds route does not show (T-07).
        upsert_refund(
            session,
            coop.slug,
            refund_id=summary.id,
            order_id=order.id,
            amount=-summary.total,
            reason=summary.reason,
            created=None,
            lines=[],
            now=now,
        )
        problems.report(
            session,
            coop=coop.slug,
            kind="refund.without_detail",
            subject=f"refund {summary.id}",
            message=f"order {order.id} lists refund {summary.id} of "
            f"{-summary.total} CHF, but the shop gives no detail for it; it is "
            "booked without lines until the detail appears",
            now=now,
        )


def _upsert_refund_raw(
    session: Session,
    coop: CoopConfig,
    raw: Any,
    now: datetime,
    result: SyncResult,
    order_id: int | None = None,
) -> None:
    try:
        refund = parse_refund(raw, coop.slug, order_id)
    except SkipItemError as exc:
        ident = raw.get("id") if isinstance(raw, dict) else "?"
        _skip(session, coop, f"refund {ident}", str(exc), now, result)
        return
    if refund.parent_id is None:
        _skip(
            session, coop, f"refund {refund.id}", "refund names no order", now, result
        )
        return
    result.refunds_seen += 1
    lines = [
        (line.id, line.refunded_item_id, line.quantity, line.total + line.total_tax)
        for line in refund.line_items
    ]
    upsert_refund(
        session,
        coop.slug,
        refund_id=refund.id,
        order_id=refund.parent_id,
        amount=refund.amount,
        reason=refund.reason,
        created=refund.date_created_gmt,
        lines=lines,
        now=now,
    )
    problems.resolve(
        session,
        coop=coop.slug,
        kind="refund.without_detail",
        subject=f"refund {refund.id}",
        now=now,
    )


def upsert_refund(
    session: Session,
    coop: str,
    *,
    refund_id: int,
    order_id: int,
    amount: Decimal,
    reason: str,
    created: datetime | None,
    lines: Iterable[tuple[int, int | None, Decimal, Decimal]],
    now: datetime,
) -> None:
    """Mirror one refund by its id; refunds cannot be edited, only detailed."""
    row = session.scalars(
        select(RefundRow).where(
            RefundRow.coop == coop, RefundRow.refund_id == refund_id
        )
    ).one_or_none()
    new_lines = [
        RefundLineRow(line_id=line_id, item_id=item_id, quantity=qty, amount=value)
        for line_id, item_id, qty, value in lines
    ]
    if row is None:
        row = RefundRow(coop=coop, refund_id=refund_id, order_id=order_id)
        session.add(row)
    elif row.lines and not new_lines:
        return
    row.amount, row.reason, row.synced_at = amount, reason, now
    row.created_gmt = created or row.created_gmt
    row.lines = merge_rows(row.lines, new_lines, key="line_id")
    session.flush()


def _pull_refunds(
    coop: CoopConfig,
    client: ShopClient,
    sessions: sessionmaker[Session],
    window_end: datetime,
    now: datetime,
    result: SyncResult,
) -> None:
    """Refunds on their own: a gateway refund may not touch its order (T-06)."""
    with sessions() as session:
        window_start = _window_start(coop, session, "refunds")
    params = {
        "after": gmt_param(window_start),
        "before": gmt_param(window_end),
        "dates_are_gmt": True,
        "orderby": "id",
        "order": "asc",
        "per_page": 100,
    }
    try:
        for page in client.iter_pages("refunds", params):
            with sessions.begin() as session:
                for raw in page.items:
                    _upsert_refund_raw(session, coop, raw, now, result)
    except ShopNotFound:
        # WooCommerce before 9.0 has no /refunds route; per-order pulls remain.
        log.info("sync.refunds.unsupported", coop=coop.slug)
    with sessions.begin() as session:
        _advance(session, coop.slug, "refunds", window_end, now)


def _pull_members(
    coop: CoopConfig,
    client: ShopClient,
    sessions: sessionmaker[Session],
    now: datetime,
    result: SyncResult,
) -> None:
    """Customers have no modified filter: scan them all, but only every few hours."""
    with sessions() as session:
        cursor = session.get(SyncCursor, (coop.slug, "members"))
        if cursor is not None and now - cursor.cursor_gmt < MEMBER_SCAN_EVERY:
            return
    params = {"role": "all", "orderby": "id", "order": "asc", "per_page": 100}
    for page in client.iter_pages("customers", params):
        with sessions.begin() as session, session.no_autoflush:
            ids = [r["id"] for r in page.items if isinstance(r, dict) and "id" in r]
            members = {
                m.customer_id: m
                for m in session.scalars(
                    select(Member).where(
                        Member.coop == coop.slug, Member.customer_id.in_(ids)
                    )
                )
            }
            for raw in page.items:
                try:
                    customer = parse_customer(raw, coop.slug)
                except SkipItemError as exc:
                    ident = raw.get("id") if isinstance(raw, dict) else "?"
                    _skip(session, coop, f"customer {ident}", str(exc), now, result)
                    continue
                upsert_member(session, coop.slug, customer, now, members)
                result.members_seen += 1
    with sessions.begin() as session:
        _advance(session, coop.slug, "members", now, now)


def upsert_member(
    session: Session,
    coop: str,
    customer: Customer,
    now: datetime,
    members: dict[int, Member],
) -> None:
    row = members.get(customer.id)
    if row is None:
        row = members[customer.id] = Member(coop=coop, customer_id=customer.id)
        session.add(row)
    row.email = (customer.email or "").strip().lower()
    row.first_name = customer.first_name or ""
    row.last_name = customer.last_name or ""
    row.modified_gmt = customer.date_modified_gmt
    row.synced_at = now


def _skip(
    session: Session,
    coop: CoopConfig,
    subject: str,
    message: str,
    now: datetime,
    result: SyncResult,
) -> None:
    result.skipped.append(subject)
    problems.report(
        session,
        coop=coop.slug,
        kind="shop.unreadable",
        subject=subject,
        message=message[:500],
        now=now,
    )


def iter_chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
