"""Group orders: one producer's total for one round, built when the round closes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pot_bridge import allocation, pack
from pot_bridge.config import CoopConfig, PackPolicy, ProducerConfig
from pot_bridge.money import ZERO, round_chf
from pot_bridge.producer import is_plugin_product
from pot_bridge.refund_wire import BRIDGE_MARK
from pot_bridge.store.schema import (
    Order,
    OrderLine,
    Product,
    Refund,
    RefundLine,
    Round,
    ShopRefund,
)

WEIGHT_STEP = Decimal("0.001")


@dataclass(frozen=True)
class ProductTotal:
    """One product of a group order: what members ordered, what the producer gets.

    `ordered` is the members' total (net of refunds); `quantity` is what is
    ordered from the producer after the pack policy, `packs` whole packs of
    `pack_size` (both None when the product has no packs or is sold by weight).
    `amount` is the value of `quantity` at the members' price.
    """

    product_id: int
    sku: str
    pot_id: str
    name: str
    unit: str
    pack_size: Decimal | None
    packs: Decimal | None
    ordered: Decimal
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    by_weight: bool = False

    @property
    def surplus(self) -> Decimal:
        """Ordered from the producer beyond what members ordered: the coop's stock."""
        return max(self.quantity - self.ordered, ZERO)

    @property
    def shortfall(self) -> Decimal:
        """What members ordered but the producer is not asked for."""
        return max(self.ordered - self.quantity, ZERO)


# Why a member gets what they get (MemberShare.reason).
FULL = "full"
PACKS = "packs"
SHORT_DELIVERY = "short-delivery"
BELOW_MINIMUM = "below-minimum"


@dataclass(frozen=True)
class Share:
    """One member's order line in a group order: ordered, allocated, and why."""

    order_id: int
    item_id: int
    product_id: int
    customer_id: int
    member_name: str
    email: str
    pickup_place: str
    name: str
    sku: str
    unit: str
    ordered: Decimal
    allocated: Decimal
    reason: str
    ordered_at: datetime | None = None
    payment_method: str = ""

    @property
    def missing(self) -> Decimal:
        return self.ordered - self.allocated


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
    shares: tuple[Share, ...] = ()
    coop_address: tuple[str, ...] = ()
    pickup_place: str = ""
    note: str = ""
    per_member: bool = False


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


@dataclass
class _Product:
    """One product's member lines while a group order is being summed."""

    first: OrderLine
    shares: list[Share] = field(default_factory=list)
    amount: Decimal = ZERO

    @property
    def ordered(self) -> Decimal:
        return sum((s.ordered for s in self.shares), ZERO)


Deliveries = Mapping[tuple[str, int], Decimal]


def build(
    session: Session,
    coop: CoopConfig,
    round_: Round,
    *,
    deliveries: Deliveries | None = None,
    producer: str | None = None,
) -> Built:
    """Sum a round's counted lines per producer and product, net of refunds.

    Refunds a member or an admin made count; refunds the bridge made itself for
    what members did not get do not, so the group order stays what the producer
    was asked for. Each product is rounded to packs by the producer's policy;
    when members get less than they ordered (fewer packs, or `deliveries` below
    the quantity) the available units are shared by `allocation.share`. Amounts
    are the members' paid amounts (line total plus tax), so a producer's total
    is the exact sum of its lines; a rounded quantity is valued at the members'
    price and rounded once.
    """
    orders = _counted_orders(session, coop, round_)
    refunded = _refunded_by_item(session, coop.slug, [o.order_id for o in orders])

    products: dict[str, dict[tuple[int, int, str], _Product]] = {}
    unknown: list[UnknownLine] = []
    for order in orders:
        for line in order.lines:
            back_qty, back_amount = refunded.get(line.item_id, (ZERO, ZERO))
            quantity = line.quantity + back_qty
            amount = line.amount + back_amount
            if (quantity == 0 and amount == 0) or is_plugin_product(line.sku):
                continue
            if line.producer is None:
                unknown.append(
                    UnknownLine(order.order_id, line.item_id, line.name, line.sku)
                )
                continue
            if producer is not None and line.producer != producer:
                continue
            key = (
                line.product_id,
                line.variation_id,
                line.name if line.product_id == 0 else "",
            )
            entry = products.setdefault(line.producer, {}).setdefault(
                key, _Product(first=line)
            )
            entry.amount += amount
            entry.shares.append(_share(coop, order, line, quantity))

    catalog = _catalog(session, coop.slug, products)
    views = [
        _view(coop, round_, name, products[name], catalog, deliveries or {})
        for name in sorted(products)
    ]
    return Built(views=tuple(views), unknown=tuple(unknown))


def _counted_orders(session: Session, coop: CoopConfig, round_: Round) -> list[Order]:
    return list(
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


def _share(coop: CoopConfig, order: Order, line: OrderLine, quantity: Decimal) -> Share:
    return Share(
        order_id=order.order_id,
        item_id=line.item_id,
        product_id=line.variation_id or line.product_id,
        customer_id=order.customer_id,
        member_name=order.member_name or order.email or f"#{order.order_id}",
        email=order.email,
        pickup_place=order.pickup_place or coop.pickup_place,
        name=line.name,
        sku=line.sku,
        unit=line.unit,
        ordered=quantity,
        allocated=quantity,
        reason=FULL,
        ordered_at=order.created_gmt,
        payment_method=order.payment_method,
    )


def _catalog(
    session: Session, coop: str, products: Mapping[str, Mapping[Any, _Product]]
) -> dict[int, Product]:
    ids = {
        p.first.product_id for entries in products.values() for p in entries.values()
    }
    found: dict[int, Product] = {}
    wanted = sorted(i for i in ids if i)
    for start in range(0, len(wanted), 500):
        rows = session.scalars(
            select(Product).where(
                Product.coop == coop,
                Product.product_id.in_(wanted[start : start + 500]),
            )
        )
        found.update((row.product_id, row) for row in rows)
    return found


def _view(
    coop: CoopConfig,
    round_: Round,
    producer: str,
    entries: Mapping[Any, _Product],
    catalog: Mapping[int, Product],
    deliveries: Deliveries,
) -> GroupOrderView:
    contact = coop.producer(producer)
    policy = coop.pack_policy_of(producer)
    lines: list[ProductTotal] = []
    shares: list[Share] = []
    for entry in entries.values():
        total, given = _product(entry, catalog, contact, policy, deliveries, producer)
        lines.append(total)
        shares.extend(given)

    lines.sort(key=lambda p: (p.name.casefold(), p.sku))
    shares.sort(key=lambda s: (s.pickup_place, s.member_name.casefold(), s.name))
    return replace(
        empty_view(coop, round_, producer),
        lines=tuple(lines),
        total=sum((p.amount for p in lines), ZERO),
        shares=tuple(shares),
    )


def empty_view(coop: CoopConfig, round_: Round, producer: str) -> GroupOrderView:
    """A producer's group order with nothing in it: who, for which round, where."""
    contact = coop.producer(producer)
    return GroupOrderView(
        coop_slug=coop.slug,
        coop_name=coop.name,
        coop_email=coop.admin_email,
        producer=producer,
        round_key=round_.key,
        round_name=round_.name,
        closes_at=round_.closes_at,
        distribution_day=round_.distribution_day,
        lines=(),
        total=ZERO,
        coop_address=tuple(coop.address),
        pickup_place=coop.pickup_place,
        note=contact.note if contact else "",
        per_member=bool(contact and contact.packs_per_member),
    )


def _product(
    entry: _Product,
    catalog: Mapping[int, Product],
    contact: ProducerConfig | None,
    policy: PackPolicy,
    deliveries: Deliveries,
    producer: str,
) -> tuple[ProductTotal, list[Share]]:
    """Round one product to packs and share what members get of it."""
    first = entry.first
    product = catalog.get(first.product_id)
    ordered = entry.ordered
    by_weight = pack.sold_by_weight(
        first.unit, first.sku, [s.ordered for s in entry.shares], contact
    )
    size = pack.pack_size_of(product.pack_size if product else None, first.sku, contact)
    packed = pack.apply_policy(ordered, size, policy, by_weight=by_weight)

    amount = entry.amount
    if packed.quantity != ordered:
        amount = (
            round_chf(entry.amount * packed.quantity / ordered) if ordered else ZERO
        )
    product_id = first.variation_id or first.product_id
    total = ProductTotal(
        product_id=product_id,
        sku=first.sku,
        pot_id=product.pot_id if product else "",
        name=first.name,
        unit=first.unit or (product.unit if product else ""),
        pack_size=packed.pack_size,
        packs=packed.packs,
        ordered=ordered,
        quantity=packed.quantity,
        unit_price=round_chf(entry.amount / ordered) if ordered else ZERO,
        amount=amount,
        by_weight=packed.by_weight,
    )

    available, reason = packed.quantity, PACKS
    delivered = deliveries.get((producer, product_id))
    if delivered is not None and delivered < available:
        available, reason = delivered, SHORT_DELIVERY
    return total, allot(entry.shares, available, reason, by_weight=packed.by_weight)


def allot(
    shares: Sequence[Share], available: Decimal, reason: str, *, by_weight: bool
) -> list[Share]:
    """Give each member line its part of `available`, recording why it is less."""
    ordered = sum((s.ordered for s in shares), ZERO)
    if available >= ordered:
        return [replace(s, allocated=s.ordered, reason=FULL) for s in shares]

    claims = [
        allocation.Claim(
            key=(s.order_id, s.item_id), ordered=s.ordered, ordered_at=s.ordered_at
        )
        for s in shares
    ]
    step = WEIGHT_STEP if by_weight else Decimal(1)
    given = allocation.share(max(available, ZERO), claims, step=step)
    return [
        replace(
            s,
            allocated=given[(s.order_id, s.item_id)],
            reason=FULL if given[(s.order_id, s.item_id)] == s.ordered else reason,
        )
        for s in shares
    ]


def _refunded_by_item(
    session: Session, coop: str, order_ids: list[int]
) -> dict[int, tuple[Decimal, Decimal]]:
    """Per order line, what refunds took back (negative), but for the bridge's own."""
    ours = set(
        session.scalars(
            select(ShopRefund.refund_id).where(
                ShopRefund.coop == coop, ShopRefund.refund_id.is_not(None)
            )
        )
    )
    result: dict[int, tuple[Decimal, Decimal]] = {}
    for chunk_start in range(0, len(order_ids), 500):
        chunk = order_ids[chunk_start : chunk_start + 500]
        rows = session.execute(
            select(
                Refund.refund_id,
                Refund.reason,
                RefundLine.item_id,
                RefundLine.quantity,
                RefundLine.amount,
            )
            .join(Refund)
            .where(Refund.coop == coop, Refund.order_id.in_(chunk))
        )
        for refund_id, reason, item_id, quantity, amount in rows:
            if item_id is None or refund_id in ours or BRIDGE_MARK in (reason or ""):
                continue
            qty, amt = result.get(item_id, (ZERO, ZERO))
            result[item_id] = (qty + quantity, amt + amount)
    return result
