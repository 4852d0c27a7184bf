"""Records the sandbox shop keeps, in the shapes WooCommerce stores them.

Money is `Decimal` throughout; prices are entered including tax, as on the
recorded coop shops, so a line keeps its gross amount and derives net and tax
from it the way WooCommerce does (net rounded to the Rappen, tax = the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
MICRO = Decimal("0.000001")

# tax class -> (rate id, rate, rate code, label), as in taxes_list.json
TAX_RATES: dict[str, tuple[int, Decimal, str, str]] = {
    "": (1, Decimal("8.1"), "CH-MWST-1", "MWST"),
    "reduced-rate": (2, Decimal("2.6"), "CH-MWST REDUZIERT-1", "MWST reduziert"),
}

ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
)
# what `status=any` leaves out (trash and exclude_from_search statuses)
HIDDEN_STATUSES = frozenset({"trash", "checkout-draft", "auto-draft"})
PAID_STATUSES = frozenset({"processing", "completed"})
WALLET = "foodcoop_guthaben"

Meta = list[list[object]]  # [[meta id, key, value], ...]


def round_money(amount: Decimal) -> Decimal:
    """Round to the Rappen, half up: the only money rounding in the sandbox."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def split_gross(gross: Decimal, tax_class: str) -> tuple[Decimal, Decimal, Decimal]:
    """Split a tax-inclusive line into (exact net, rounded net, rounded tax)."""
    rate = TAX_RATES[tax_class][1]
    exact_net = gross * 100 / (100 + rate)
    net = round_money(exact_net)

    return exact_net, net, gross - net


@dataclass
class Product:
    id: int
    name: str
    sku: str
    price: Decimal  # gross, as entered
    tax_class: str
    category: tuple[int, str, str]  # id, name (HTML-escaped), slug
    meta: Meta
    created: datetime
    modified: datetime
    status: str = "publish"
    stock: int | None = None
    total_sales: int = 0
    virtual: bool = False

    def meta_value(self, key: str) -> str:
        for _mid, mkey, value in self.meta:
            if mkey == key:
                return str(value)
        return ""


@dataclass
class Customer:
    id: int
    first_name: str
    last_name: str
    email: str
    username: str
    created: datetime
    modified: datetime
    role: str = "customer"
    address: tuple[str, str, str] = ("", "", "")  # street, postcode, city
    phone: str = ""
    meta: Meta = field(default_factory=list)

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.username


@dataclass
class LineItem:
    id: int
    product_id: int
    name: str
    sku: str
    quantity: Decimal
    tax_class: str
    gross: Decimal
    meta: Meta

    @property
    def totals(self) -> tuple[Decimal, Decimal, Decimal]:
        return split_gross(self.gross, self.tax_class)


@dataclass
class RefundLine:
    id: int
    item: LineItem
    quantity: Decimal  # negative
    total: Decimal  # negative, net
    tax: Decimal  # negative
    meta_id: int


@dataclass
class Refund:
    id: int
    order_id: int
    created: datetime
    amount: Decimal
    reason: str
    refunded_by: int
    refunded_payment: bool
    lines: list[RefundLine]
    tax_line_id: int
    meta: Meta = field(default_factory=list)  # sent on creation, as {key, value}


@dataclass
class Order:
    id: int
    customer_id: int
    status: str
    created: datetime
    modified: datetime
    payment_method: str
    payment_method_title: str
    created_via: str
    billing: dict[str, str]
    shipping: dict[str, str]
    meta: Meta
    lines: list[LineItem]
    order_key: str
    shipping_line_id: int
    tax_line_ids: dict[str, int]
    date_paid: datetime | None = None
    date_completed: datetime | None = None
    refunds: list[Refund] = field(default_factory=list)
    rev: int = 0  # bumped on every change; keys the wire cache

    @property
    def total(self) -> Decimal:
        return sum((line.gross for line in self.lines), Decimal("0.00"))

    def meta_value(self, key: str) -> str:
        for _mid, mkey, value in self.meta:
            if mkey == key:
                return str(value)
        return ""


@dataclass
class Round:
    """A POT ordering round ("Bestellrunde"), a post with string meta."""

    id: int
    name: str
    start: date
    end: date
    distribution: date
    products: list[int]
    created: datetime
    author: int
    complete: bool = False
