"""Refunds: pulled with their order, and on their own (a gateway may refund
without touching the order, trap T-06). Keyed by the shop's refund id, so a
refund seen twice is stored once; refunds cannot be edited, only detailed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge import problems
from pot_bridge.config import CoopConfig
from pot_bridge.cursor import (
    SyncResult,
    advance,
    gmt_param,
    merge_rows,
    skip,
    window_start,
)
from pot_bridge.errors import ShopNotFound, SkipItemError
from pot_bridge.shop.client import ShopClient
from pot_bridge.shop.wire import Order as WireOrder
from pot_bridge.shop.wire import parse_refund
from pot_bridge.store.schema import Refund as RefundRow
from pot_bridge.store.schema import RefundLine as RefundLineRow

log = structlog.get_logger(__name__)


def pull_order_refunds(
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
        upsert_refund_raw(session, coop, item, now, result, order_id=order.id)
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


def upsert_refund_raw(
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
        skip(session, coop, f"refund {ident}", str(exc), now, result)
        return
    if refund.parent_id is None:
        skip(session, coop, f"refund {refund.id}", "refund names no order", now, result)
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
        refunded_payment=refund.refunded_payment,
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
    refunded_payment: bool | None = None,
) -> None:
    """Mirror one refund by its id; refunds cannot be edited, only detailed.

    `refunded_payment` is None where only the order's summary was seen.
    """
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
    if refunded_payment is not None:
        row.refunded_payment = refunded_payment
    row.created_gmt = created or row.created_gmt
    row.lines = merge_rows(row.lines, new_lines, key="line_id")
    session.flush()


def pull_refunds(
    coop: CoopConfig,
    client: ShopClient,
    sessions: sessionmaker[Session],
    window_end: datetime,
    now: datetime,
    result: SyncResult,
) -> None:
    """Refunds on their own: a gateway refund may not touch its order (T-06)."""
    with sessions() as session:
        start = window_start(coop, session, "refunds")
    params = {
        "after": gmt_param(start),
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
                    upsert_refund_raw(session, coop, raw, now, result)
    except ShopNotFound:
        # WooCommerce before 9.0 has no /refunds route; per-order pulls remain.
        log.info("sync.refunds.unsupported", coop=coop.slug)
    with sessions.begin() as session:
        advance(session, coop.slug, "refunds", window_end, now)
