"""The sandbox shop's data, and the changes a coop's members and admins make.

One `ShopState` holds products, members, orders, refunds and rounds in memory
behind one lock. The mutation helpers behave like WooCommerce and the POT
plugin do on a real shop (which dates they bump, which meta they write), so
tests can stage the traps the bridge must survive.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pot_bridge.sandbox import wire
from pot_bridge.sandbox.formatting import sanitize_title
from pot_bridge.sandbox.model import (
    PAID_STATUSES,
    WALLET,
    Category,
    Customer,
    LineItem,
    Media,
    Order,
    Product,
    Refund,
    RefundLine,
    Round,
    round_money,
)
from pot_bridge.sandbox.wallet import Wallet

GATEWAY_TITLES = {
    WALLET: "Foodcoop Guthaben",
    "bacs": "Banküberweisung",
    "cod": "Barzahlung bei Abholung",
}
ITEM_META_KEYS = ("_lieferant", "_einheit", "_herkunft")
BRIDGE_USER_ID = 14


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ShopState:
    """Everything the sandbox shop knows, guarded by `lock`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock: Callable[[], datetime] = _utc_now
        self.base_url = "http://127.0.0.1"
        self.products: dict[int, Product] = {}
        self.customers: dict[int, Customer] = {}
        self.orders: dict[int, Order] = {}
        self.refunds: dict[int, Refund] = {}
        self.rounds: dict[int, Round] = {}
        self.categories: dict[int, Category] = {}
        # every image the shop "downloaded", in upload order; never deleted
        self.media: dict[int, Media] = {}
        # hosts a product image cannot be fetched from, besides the ones that
        # never resolve (see product_writes.unreachable)
        self.unreachable_hosts: set[str] = set()
        self._next_post = 11
        self._next_user = 1
        self._next_item = 1
        self._next_meta = 1
        self._next_term = 15
        self._wire_cache: dict[int, tuple[int, str, str]] = {}
        # Shop versions that do not keep what a refund request asked for: meta
        # dropped on save, or line_items ignored whatever their shape (T-09).
        self.drops_refund_meta = False
        self.ignores_refund_lines = False
        # HPOS shops whose orders/<id>/refunds answers [] (T-07).
        self.hides_order_refunds = False
        # the POT wallet table; wallet-paid checkouts and refunds write to it
        self.wallet = Wallet()

    # -- ids and time ---------------------------------------------------

    def now(self) -> datetime:
        """The shop's clock, in UTC, to the second like WordPress stores it."""
        return self.clock().astimezone(UTC).replace(microsecond=0)

    def skip_post_ids(self, next_id: int) -> None:
        """Let later posts start at `next_id`, as other posts would on a real site."""
        with self.lock:
            self._next_post = max(self._next_post, next_id)

    def _post_id(self) -> int:
        self._next_post += 1
        return self._next_post - 1

    def _item_id(self) -> int:
        self._next_item += 1
        return self._next_item - 1

    def _meta_id(self) -> int:
        self._next_meta += 1
        return self._next_meta - 1

    def _meta(self, key: str, value: object) -> list[object]:
        return [self._meta_id(), key, value]

    def _term_id(self) -> int:
        self._next_term += 1
        return self._next_term - 1

    @property
    def media_created(self) -> int:
        """Images stored so far: each `src` sent makes one, even the same URL."""
        return len(self.media)

    # -- catalog and members ----------------------------------------------

    def add_category(
        self, term_id: int, name: str, slug: str, parent: int = 0
    ) -> Category:
        """Register a category as it is stored (`name` already HTML-escaped)."""
        with self.lock:
            category = Category(id=term_id, name=name, slug=slug, parent=parent)
            self.categories[term_id] = category
            self._next_term = max(self._next_term, term_id + 1)
            return category

    def add_product(
        self,
        name: str,
        sku: str,
        price: Decimal,
        *,
        tax_class: str = "reduced-rate",
        category: tuple[int, str, str] = (15, "Uncategorized", "uncategorized"),
        meta: dict[str, str] | None = None,
        status: str = "publish",
        stock: int | None = None,
        created: datetime | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            when = created or self.now()
            term = self.categories.get(category[0]) or self.add_category(*category)
            if sku.startswith("fcplugin"):  # the POT plugin names them by SKU
                slug = sku.lower()
            else:
                slug = sanitize_title(name) if status == "publish" else ""
            product = Product(
                id=self._post_id(),
                name=name,
                sku=sku,
                regular_price=wire.money(price),
                tax_class=tax_class,
                categories=[term],
                meta=[self._meta(k, v) for k, v in (meta or {}).items()],
                created=when,
                modified=when,
                status=status,
                slug=slug,
                short_description=name,
                manage_stock=stock is not None,
                stock_quantity=stock,
                stock_status="instock" if stock is None or stock > 0 else "outofstock",
            )
            self.products[product.id] = product
            return wire.product_json(product, self.base_url)

    def add_customer(
        self,
        first_name: str,
        last_name: str,
        *,
        role: str = "customer",
        address: tuple[str, str, str] = ("", "", ""),
        phone: str = "",
        username: str | None = None,
        email: str | None = None,
        user_id: int | None = None,
        created: datetime | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            uid = user_id if user_id is not None else self._next_user
            self._next_user = max(self._next_user, uid + 1)
            login = username or f"{first_name}.{last_name}".lower()
            when = created or self.now()
            customer = Customer(
                id=uid,
                first_name=first_name,
                last_name=last_name,
                email=email or f"{login}@example.org",
                username=login,
                created=when,
                modified=when,
                role=role,
                address=address,
                phone=phone,
            )
            self.customers[uid] = customer
            return wire.customer_json(customer, self.base_url)

    # -- orders -----------------------------------------------------------

    def _billing(self, customer_id: int) -> tuple[dict[str, str], dict[str, str]]:
        customer = self.customers.get(customer_id)
        if customer is None:  # a guest: what the checkout form asked for
            first, last, email = "Gast", f"Besteller{customer_id or ''}", ""
            street, postcode, city, phone = "Beispielweg 2", "8000", "Zürich", ""
            email = "gast@example.org"
        else:
            first, last, email = (
                customer.first_name,
                customer.last_name,
                customer.email,
            )
            (street, postcode, city), phone = customer.address, customer.phone
        base = {
            "first_name": first,
            "last_name": last,
            "company": "",
            "address_1": street,
            "address_2": "",
            "city": city,
            "state": "ZH" if street else "",
            "postcode": postcode,
            "country": "CH" if street else "",
        }
        return ({**base, "email": email, "phone": phone}, {**base, "phone": ""})

    def _line(self, product_id: int, qty: Decimal) -> LineItem:
        product = self.products[product_id]
        qty = Decimal(qty)
        line_meta = [self._meta(k, product.meta_value(k)) for k in ITEM_META_KEYS]
        line_meta += [
            self._meta("_pid", str(product.id)),
            self._meta("_category", str(product.category[0])),
            self._meta("_sku", product.sku),
        ]
        product.total_sales += int(qty)

        return LineItem(
            id=self._item_id(),
            product_id=product.id,
            name=product.name,
            sku=product.sku,
            quantity=qty,
            tax_class=product.tax_class,
            gross=round_money(product.price * qty),
            meta=line_meta,
        )

    def _order_meta(self, via: str, round_id: int | None) -> list[list[object]]:
        meta: list[list[object]] = []
        if via == "store-api":  # block checkout: hashes, but the round is lost
            for key in ("_coupons_hash", "_fees_hash", "_shipping_hash", "_taxes_hash"):
                meta.append(self._meta(key, hashlib.md5(key.encode()).hexdigest()))
        if via in ("checkout", "store-api"):
            meta.append(self._meta("is_vat_exempt", "no"))
        if round_id is not None and via != "store-api":
            meta.append(self._meta("bestellrunde_id", str(round_id)))
            meta.append(self._meta("order_type", "bestellrunde"))
        return meta

    def add_order(
        self,
        customer_id: int,
        items: Iterable[tuple[int, int | Decimal]],
        *,
        round_id: int | None,
        payment_method: str = WALLET,
        via: str = "checkout",
        status: str = "processing",
        created: datetime | None = None,
    ) -> dict[str, Any]:
        """Place an order the way the given checkout path stores it."""
        with self.lock:
            return self._order_json(
                self._add_order(
                    customer_id,
                    items,
                    round_id=round_id,
                    payment_method=payment_method,
                    via=via,
                    status=status,
                    created=created,
                )
            )

    def _add_order(
        self,
        customer_id: int,
        items: Iterable[tuple[int, int | Decimal]],
        *,
        round_id: int | None,
        payment_method: str,
        via: str,
        status: str,
        created: datetime | None,
        replaces: Order | None = None,
    ) -> Order:
        when = (created or self.now()).astimezone(UTC).replace(microsecond=0)
        order_id = self._post_id()
        billing, shipping = self._billing(customer_id)
        key = hashlib.sha1(f"order-{order_id}".encode()).hexdigest()[:13]
        order = Order(
            id=order_id,
            customer_id=customer_id,
            status=status,
            created=when,
            modified=when,
            payment_method=payment_method,
            payment_method_title=GATEWAY_TITLES.get(payment_method, payment_method),
            created_via=via,
            billing=billing,
            shipping=shipping,
            meta=self._order_meta(via, round_id),
            lines=[self._line(pid, Decimal(qty)) for pid, qty in items],
            order_key=f"wc_order_{key}",
            shipping_line_id=0,
            tax_line_ids={},
        )
        order.shipping_line_id = self._item_id()
        for line in order.lines:
            if line.tax_class not in order.tax_line_ids:
                order.tax_line_ids[line.tax_class] = self._item_id()
        self._stamp_status_dates(order, when)
        self.orders[order.id] = order
        self.wallet.charge(order, replaces)
        return order

    def _stamp_status_dates(self, order: Order, when: datetime) -> None:
        if order.status in PAID_STATUSES and order.date_paid is None:
            order.date_paid = when
        if order.status == "completed" and order.date_completed is None:
            order.date_completed = when

    def _bump(self, order: Order) -> None:
        order.modified = self.now()
        order.rev += 1

    def _get(self, order_id: int) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise KeyError(f"no order {order_id}")
        return order

    def _order_json(self, order: Order) -> dict[str, Any]:
        return wire.order_json(order, self.base_url)

    def set_status(self, order_id: int, status: str) -> dict[str, Any]:
        with self.lock:
            order = self._get(order_id)
            order.status = status
            self._stamp_status_dates(order, self.now())
            self._bump(order)
            return self._order_json(order)

    def trash(self, order_id: int) -> dict[str, Any]:
        """Move to trash as `$order->delete()` does, remembering the old status."""
        with self.lock:
            order = self._get(order_id)
            now = self.now()
            order.meta.append(self._meta("_wp_trash_meta_status", f"wc-{order.status}"))
            order.meta.append(
                self._meta("_wp_trash_meta_time", str(int(now.timestamp())))
            )
            order.status = "trash"
            self._bump(order)
            return self._order_json(order)

    def touch(self, order_id: int) -> dict[str, Any]:
        """Bump date_modified only, like HPOS did on opening an order (T-01)."""
        with self.lock:
            order = self._get(order_id)
            self._bump(order)
            return self._order_json(order)

    def set_meta(
        self, order_id: int, key: str, value: object, meta_id: int | None = None
    ) -> dict[str, Any]:
        """Write order meta like WC_Data: by id, else the first row of the key."""
        with self.lock:
            order = self._get(order_id)
            rows = order.meta
            target = next(
                (r for r in rows if meta_id is not None and r[0] == meta_id), None
            ) or next((r for r in rows if r[1] == key), None)
            if value is None:
                order.meta = [r for r in rows if r[1] != key]
            elif target is None:
                rows.append(self._meta(key, value))
            else:
                target[1], target[2] = key, value
                order.meta = [r for r in rows if r is target or r[1] != key]
            self._bump(order)
            return self._order_json(order)

    def reorder(
        self, old_order_id: int, items: Iterable[tuple[int, int | Decimal]]
    ) -> dict[str, Any]:
        """The POT classic re-order: old order cancelled then trashed, new one placed."""
        with self.lock:
            old = self._get(old_order_id)
            round_id = old.meta_value("bestellrunde_id")
            self.set_status(old_order_id, "cancelled")
            self.trash(old_order_id)
            new = self._add_order(
                old.customer_id,
                items,
                round_id=int(round_id) if round_id else None,
                payment_method=old.payment_method,
                via="checkout",
                status="processing",
                created=None,
                replaces=old,
            )
            return self._order_json(new)

    # -- refunds ----------------------------------------------------------

    def refunded_total(self, order: Order) -> Decimal:
        return sum((r.amount for r in order.refunds), Decimal("0.00"))

    def refund(
        self,
        order_id: int,
        lines: dict[int, int | Decimal] | None = None,
        amount: Decimal | None = None,
        reason: str = "",
        bump_modified: bool = True,
        api_refund: bool = True,
    ) -> dict[str, Any]:
        """Refund whole or partial lines, or an amount only, as WooCommerce stores it.

        `bump_modified=False` models refunds that left `date_modified` alone (T-06).
        """
        with self.lock:
            order = self._get(order_id)
            specs = []
            for item_id, qty in (lines or {}).items():
                item = next(li for li in order.lines if li.id == item_id)
                share = Decimal(qty) / item.quantity
                _exact, net, tax = item.totals
                specs.append(
                    (
                        item,
                        Decimal(qty),
                        round_money(net * share),
                        round_money(tax * share),
                    )
                )
            if amount is None:
                amount = sum((t + x for _i, _q, t, x in specs), Decimal("0.00"))
            refund = self.create_refund(
                order,
                specs,
                amount,
                reason,
                refunded_payment=api_refund and order.payment_method == WALLET,
                bump=bump_modified,
            )
            return wire.refund_json(refund, self.base_url, with_parent=False)

    def create_refund(
        self,
        order: Order,
        specs: list[tuple[LineItem, Decimal, Decimal, Decimal]],
        amount: Decimal,
        reason: str,
        *,
        refunded_payment: bool,
        bump: bool = True,
        meta: Iterable[tuple[str, object]] = (),
    ) -> Refund:
        """Store one refund; amounts in `specs` are positive (qty, net, tax)."""
        remaining = order.total - self.refunded_total(order)
        if amount <= 0 or amount > remaining:
            raise ValueError("Invalid refund amount.")
        if self.ignores_refund_lines:
            specs = []
        refund = Refund(
            id=self._post_id(),
            order_id=order.id,
            created=self.now(),
            amount=round_money(amount),
            reason=reason,
            refunded_by=BRIDGE_USER_ID,
            refunded_payment=refunded_payment,
            lines=[],
            tax_line_id=0,
        )
        if not self.drops_refund_meta:
            refund.meta = [self._meta(key, value) for key, value in meta]
        for item, qty, total, tax in specs:
            refund.lines.append(
                RefundLine(
                    id=self._item_id(),
                    item=item,
                    quantity=-qty,
                    total=-total,
                    tax=-tax,
                    meta_id=self._meta_id(),
                )
            )
        refund.tax_line_id = self._item_id()
        order.refunds.append(refund)
        self.refunds[refund.id] = refund
        if refunded_payment:  # the gateway's process_refund credits the wallet
            self.wallet.refund(
                order, refund.amount, reason, refund.refunded_by, refund.created
            )
        if amount == remaining:
            order.status = "refunded"
        if bump:
            self._bump(order)
        else:
            order.rev += 1  # content changed even though the date did not
        return refund

    # -- rounds -----------------------------------------------------------

    def add_round(
        self,
        name: str,
        start: date,
        end: date,
        distribution: date,
        complete: bool = False,
        products: list[int] | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            rnd = Round(
                id=self._post_id(),
                name=name,
                start=start,
                end=end,
                distribution=distribution,
                products=list(
                    products
                    if products is not None
                    else sorted(
                        p for p in self.products if self.products[p].status == "publish"
                    )
                ),
                created=self.now(),
                author=BRIDGE_USER_ID,
                complete=complete,
            )
            self.rounds[rnd.id] = rnd
            return wire.round_json(rnd)

    # -- wire cache -------------------------------------------------------

    def order_wire(self, order: Order) -> str:
        """The order's JSON text, cached per revision (lists of 10k orders stay fast)."""
        hit = self._wire_cache.get(order.id)
        if hit and hit[0] == order.rev and hit[1] == self.base_url:
            return hit[2]
        text = wire.dumps(self._order_json(order))
        self._wire_cache[order.id] = (order.rev, self.base_url, text)
        return text
