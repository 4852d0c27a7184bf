"""Group orders: one producer's total for one round, built when the round closes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pot_bridge.config import CoopConfig
from pot_bridge.money import ZERO, round_chf
from pot_bridge.producer import is_plugin_product
from pot_bridge.store.schema import (
    GroupOrder,
    GroupOrderLine,
    Order,
    OrderLine,
    Refund,
    RefundLine,
    Round,
)


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


@dataclass(frozen=True)
class UnknownLine:
    """A counted line that no producer could be found for."""

    order_id: int
    item_id: int
    name: str
    sku: str


@dataclass(frozen=True)
class Built:
    views: tuple[GroupOrderView, ...]
    unknown: tuple[UnknownLine, ...]


def build(session: Session, coop: CoopConfig, round_: Round) -> Built:
    """Sum a round's counted lines per producer and product, net of refunds.

    Amounts are what the members paid (line total plus tax) less what refunds
    gave back; they are exact sums of Rappen amounts, so a producer's total is
    the sum of its member lines to the Rappen. Lines with nothing left after
    refunds are left out. The unit price shown is the amount over the quantity,
    rounded once for display.
    """
    orders = list(
        session.scalars(
            select(Order)
            .where(
                Order.coop == coop.slug,
                Order.round_key == round_.key,
                Order.status.in_(coop.counted_statuses),
            )
            .options(selectinload(Order.lines))
            .order_by(Order.order_id)
        )
    )
    refunded = _refunded_by_item(session, coop.slug, [o.order_id for o in orders])

    totals: dict[str, dict[tuple[int, int, str], list[Decimal]]] = {}
    meta: dict[tuple[int, int, str], OrderLine] = {}
    unknown: list[UnknownLine] = []
    for order in orders:
        for line in order.lines:
            back_qty, back_amount = refunded.get(line.item_id, (ZERO, ZERO))
            quantity = line.quantity + back_qty
            amount = line.amount + back_amount
            if quantity == 0 and amount == 0:
                continue
            if is_plugin_product(line.sku):
                continue
            if line.producer is None:
                unknown.append(
                    UnknownLine(order.order_id, line.item_id, line.name, line.sku)
                )
                continue
            key = (
                line.product_id,
                line.variation_id,
                line.name if line.product_id == 0 else "",
            )
            sums = totals.setdefault(line.producer, {}).setdefault(key, [ZERO, ZERO])
            sums[0] += quantity
            sums[1] += amount
            meta.setdefault(key, line)

    views = []
    for producer in sorted(totals):
        lines = []
        for key, (quantity, amount) in totals[producer].items():
            first = meta[key]
            unit_price = round_chf(amount / quantity) if quantity else ZERO
            lines.append(
                ProductTotal(
                    product_id=first.variation_id or first.product_id,
                    sku=first.sku,
                    name=first.name,
                    unit=first.unit,
                    quantity=quantity,
                    unit_price=unit_price,
                    amount=amount,
                )
            )
        lines.sort(key=lambda p: (p.name.casefold(), p.sku))
        views.append(
            GroupOrderView(
                coop_slug=coop.slug,
                coop_name=coop.name,
                coop_email=coop.admin_email,
                producer=producer,
                round_key=round_.key,
                round_name=round_.name,
                closes_at=round_.closes_at,
                distribution_day=round_.distribution_day,
                lines=tuple(lines),
                total=sum((p.amount for p in lines), ZERO),
            )
        )

    return Built(views=tuple(views), unknown=tuple(unknown))


def _refunded_by_item(
    session: Session, coop: str, order_ids: list[int]
) -> dict[int, tuple[Decimal, Decimal]]:
    """Per order line, the quantity and amount refunds took back (negative)."""
    result: dict[int, tuple[Decimal, Decimal]] = {}
    for chunk_start in range(0, len(order_ids), 500):
        chunk = order_ids[chunk_start : chunk_start + 500]
        rows = session.execute(
            select(RefundLine.item_id, RefundLine.quantity, RefundLine.amount)
            .join(Refund)
            .where(Refund.coop == coop, Refund.order_id.in_(chunk))
        )
        for item_id, quantity, amount in rows:
            if item_id is None:
                continue
            qty, amt = result.get(item_id, (ZERO, ZERO))
            result[item_id] = (qty + quantity, amt + amount)
    return result


def save(session: Session, round_: Round, view: GroupOrderView, now: datetime) -> bool:
    """Keep the group order as built; False when this round has it already."""
    exists = session.scalars(
        select(GroupOrder).where(
            GroupOrder.round_pk == round_.id, GroupOrder.producer == view.producer
        )
    ).one_or_none()
    if exists is not None:
        return False

    row = GroupOrder(
        round_pk=round_.id,
        producer=view.producer,
        total=view.total,
        content_hash=content_hash(view),
        built_at=now,
    )
    for position, line in enumerate(view.lines):
        row.lines.append(
            GroupOrderLine(
                position=position,
                product_id=line.product_id,
                sku=line.sku,
                name=line.name,
                unit=line.unit,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.amount,
            )
        )
    session.add(row)
    session.flush()
    return True


def content_hash(view: GroupOrderView) -> str:
    """A fingerprint of what the producer was told, to see later changes."""
    text = "\n".join(
        f"{p.product_id}|{p.sku}|{p.name}|{p.unit}|{p.quantity}|{p.amount}"
        for p in view.lines
    )
    return hashlib.sha256(text.encode()).hexdigest()
