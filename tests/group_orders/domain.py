"""A coop's round written as the coop speaks of it: products, orders, refunds.

Tables are `|`-separated with a header row, so a test reads like the lists an
admin keeps:

    products('''
    id | name       | producer        | unit | pack | price
    11 | Dinkelbrot | Bäckerei Korn   | Stk  | 6    | 4.80
    ''')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge.close import close_round
from pot_bridge.config import CoopConfig
from pot_bridge.money import round_chf
from pot_bridge.store.schema import (
    GroupOrder,
    MemberShare,
    Order,
    OrderLine,
    OutboxMessage,
    Product,
    Refund,
    RefundLine,
    Round,
    ShopRefund,
)

OPENS = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
CLOSES = datetime(2026, 12, 3, 23, 0, tzinfo=UTC)
AFTER = CLOSES + timedelta(minutes=5)


def table(text: str) -> list[dict[str, str]]:
    rows = [
        [cell.strip() for cell in line.split("|")]
        for line in text.strip().splitlines()
        if line.strip()
    ]
    header, body = rows[0], rows[1:]
    return [dict(zip(header, row, strict=True)) for row in body]


@dataclass
class RoundBook:
    """One coop's round in the store, filled from tables."""

    session: Session
    coop: CoopConfig
    key: str = "plugin:130"
    day: date | None = date(2026, 12, 5)
    round_: Round = field(init=False)
    prices: dict[int, Decimal] = field(default_factory=dict)
    names: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    next_item: int = 1000

    def __post_init__(self) -> None:
        self.round_ = Round(
            coop=self.coop.slug,
            key=self.key,
            name="KW 49",
            opens_at=OPENS,
            closes_at=CLOSES,
            distribution_day=self.day,
        )
        self.session.add(self.round_)
        self.session.flush()

    def products(self, text: str) -> None:
        for row in table(text):
            product_id = int(row["id"])
            self.prices[product_id] = Decimal(row["price"])
            self.names[product_id] = (row["name"], row["producer"], row["unit"])
            self.session.add(
                Product(
                    coop=self.coop.slug,
                    product_id=product_id,
                    sku=row.get("sku") or f"SKU-{product_id}",
                    name=row["name"],
                    producer=row["producer"],
                    unit=row["unit"],
                    pack_size=row.get("pack", ""),
                    pot_id=row.get("pot") or f"4{product_id:04d}",
                    synced_at=OPENS,
                )
            )
        self.session.flush()

    def orders(self, text: str) -> None:
        """Rows: order | member | at (HH:MM on the round's first day) | product | qty."""
        by_order: dict[int, Order] = {}
        for row in table(text):
            order_id = int(row["order"])
            order = by_order.get(order_id) or self._order(order_id, row)
            by_order[order_id] = order
            product_id = int(row["product"])
            name, producer, unit = self.names[product_id]
            quantity = Decimal(row["qty"])
            amount = round_chf(self.prices[product_id] * quantity)
            self.next_item += 1
            order.lines.append(
                OrderLine(
                    item_id=int(row.get("item") or self.next_item),
                    product_id=product_id,
                    variation_id=0,
                    name=name,
                    sku=f"SKU-{product_id}",
                    unit=unit,
                    producer=producer,
                    quantity=quantity,
                    amount=amount,
                )
            )
            order.total += amount
        self.session.flush()

    def _order(self, order_id: int, row: dict[str, str]) -> Order:
        hour, minute = (int(part) for part in row["at"].split(":"))
        created = OPENS.replace(hour=hour, minute=minute)
        order = Order(
            coop=self.coop.slug,
            order_id=order_id,
            status="processing",
            customer_id=abs(hash(row["member"])) % 10_000,
            email=f"{row['member'].lower()}@example.org",
            member_name=row["member"],
            payment_method=row.get("paid") or "foodcoop_guthaben",
            pickup_place=row.get("pickup", ""),
            round_key=self.key,
            created_gmt=created,
            modified_gmt=created,
            total=Decimal("0.00"),
            content_hash=f"h{order_id}",
            synced_at=OPENS,
        )
        self.session.add(order)
        return order

    def refund(
        self, refund_id: int, order_id: int, item_id: int, qty: str, at: datetime
    ) -> None:
        """A member's or admin's refund of `qty` units of one line."""
        line = self.session.scalars(
            select(OrderLine)
            .join(Order)
            .where(Order.order_id == order_id, OrderLine.item_id == item_id)
        ).one()
        amount = round_chf(line.amount * Decimal(qty) / line.quantity)
        refund = Refund(
            coop=self.coop.slug,
            refund_id=refund_id,
            order_id=order_id,
            amount=amount,
            reason="Kundin hat storniert",
            created_gmt=at,
            synced_at=at,
        )
        refund.lines.append(
            RefundLine(
                line_id=refund_id * 10,
                item_id=item_id,
                quantity=-Decimal(qty),
                amount=-amount,
            )
        )
        self.session.add(refund)
        self.session.flush()

    def close(self, now: datetime = AFTER) -> None:
        close_round(self.session, self.coop, self.round_, now)
        self.session.flush()

    # -- what comes out ----------------------------------------------------

    def producer_gets(self, producer: str) -> dict[str, tuple[str, str | None]]:
        """Per product name: (quantity, packs) ordered from the producer."""
        row = self.group_order(producer)
        return {
            line.name: (
                str(line.quantity),
                None if line.packs is None else str(line.packs),
            )
            for line in row.lines
        }

    def group_order(self, producer: str) -> GroupOrder:
        self.session.expire_all()
        return self.session.scalars(
            select(GroupOrder).where(
                GroupOrder.round_pk == self.round_.id, GroupOrder.producer == producer
            )
        ).one()

    def members_get(
        self, producer: str, product: int | None = None
    ) -> dict[str, tuple[str, str, str]]:
        """Per member: (ordered, allocated, reason) of a producer's product."""
        result = {}
        for share in self.session.scalars(
            select(MemberShare)
            .join(GroupOrder)
            .where(
                GroupOrder.round_pk == self.round_.id,
                GroupOrder.producer == producer,
                MemberShare.product_id == product if product else True,
            )
        ):
            result[share.member_name] = (
                str(share.ordered),
                str(share.allocated),
                share.reason,
            )
        return result

    def refunds_asked(self) -> dict[int, str]:
        """Per order: units the bridge will refund (all lines summed)."""
        result: dict[int, Decimal] = {}
        for row in self.session.scalars(
            select(ShopRefund).where(ShopRefund.coop == self.coop.slug)
        ):
            result[row.order_id] = result.get(row.order_id, Decimal(0)) + row.quantity
        return {order: str(qty) for order, qty in sorted(result.items())}

    def mails(self) -> list[OutboxMessage]:
        return list(
            self.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        )
