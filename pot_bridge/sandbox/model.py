"""Records the sandbox shop keeps, in the shapes WooCommerce stores them.

Money is `Decimal` throughout; prices are entered including tax, as on the
recorded coop shops, so a line keeps its gross amount and derives net and tax
from it the way WooCommerce does (net rounded to the Rappen, tax = the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
MICRO = Decimal("0.000001")

# tax class -> (rate id, rate, rate code, label), as in taxes_list.json
TAX_RATES: dict[str, tuple[int, Decimal, str, str]] = {
    "": (1, Decimal("8.1"), "CH-MWST-1", "MWST"),
    "reduced-rate": (2, Decimal("2.6"), "CH-MWST REDUZIERT-1", "MWST reduziert"),
}

# the recorded shop's tax classes; "zero-rate" has no rate (orders of such
# products are not modelled: split_gross knows only the classes with a rate)
TAX_CLASSES = ("", "reduced-rate", "zero-rate")
# post statuses WordPress knows for a product; the REST schema's enum
PRODUCT_STATUSES = (
    "draft",
    "pending",
    "private",
    "publish",
    "future",
    "auto-draft",
    "trash",
)
CATALOG_VISIBILITIES = ("visible", "catalog", "search", "hidden")
STOCK_STATUSES = ("instock", "outofstock", "onbackorder")
BACKORDERS = ("no", "notify", "yes")
DEFAULT_CATEGORY = 15  # "Uncategorized", WordPress's default_product_cat

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


def as_decimal(text: str) -> Decimal | None:
    """A stored price as a number, or None when it is empty or not numeric."""
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def split_gross(gross: Decimal, tax_class: str) -> tuple[Decimal, Decimal, Decimal]:
    """Split a tax-inclusive line into (exact net, rounded net, rounded tax)."""
    rate = TAX_RATES[tax_class][1]
    exact_net = gross * 100 / (100 + rate)
    net = round_money(exact_net)

    return exact_net, net, gross - net


@dataclass
class Category:
    """A product category (a `product_cat` term); `name` is stored HTML-escaped."""

    id: int
    name: str
    slug: str
    parent: int = 0
    description: str = ""
    display: str = "default"
    menu_order: int = 0

    @property
    def ref(self) -> tuple[int, str, str]:
        return self.id, self.name, self.slug


@dataclass
class Media:
    """An image attachment the shop stored after downloading a product's `src`."""

    id: int
    src: str  # where the shop serves its copy
    source: str  # the URL it was downloaded from
    name: str
    created: datetime
    parent_id: int  # the product being saved when it was uploaded (0 on create)
    alt: str = ""


@dataclass
class Product:
    """A simple product as WooCommerce stores it: prices are the strings
    `wc_format_decimal` left, descriptions are raw (rendered on read)."""

    id: int
    name: str
    sku: str
    regular_price: str
    tax_class: str
    categories: list[Category]
    meta: Meta
    created: datetime
    modified: datetime
    status: str = "publish"
    slug: str = ""
    sale_price: str = ""
    catalog_visibility: str = "visible"
    description: str = ""
    short_description: str = ""
    manage_stock: bool = False
    stock_quantity: int | None = None
    stock_status: str = "instock"
    backorders: str = "no"
    low_stock_amount: int | None = None
    weight: str = ""
    images: list[Media] = field(default_factory=list)
    total_sales: int = 0
    virtual: bool = False

    @property
    def on_sale(self) -> bool:
        """A sale price counts only when it is set and below the regular price."""
        regular, sale = as_decimal(self.regular_price), as_decimal(self.sale_price)
        return regular is not None and sale is not None and sale < regular

    @property
    def price_text(self) -> str:
        """The active price as WooCommerce stores it in `_price`."""
        return self.sale_price if self.on_sale else self.regular_price

    @property
    def price(self) -> Decimal:
        """The active gross price; a product without a price sells for 0."""
        return as_decimal(self.price_text) or Decimal(0)

    @property
    def stock(self) -> int | None:
        return self.stock_quantity if self.manage_stock else None

    @property
    def category(self) -> tuple[int, str, str]:
        """The first category, which POT copies into order line meta."""
        return self.categories[0].ref if self.categories else (0, "", "")

    def meta_value(self, key: str) -> str:
        for _mid, mkey, value in self.meta:
            if mkey == key:
                return str(value)
        return ""

    def clone(self) -> Product:
        """A copy to change freely: a failed save must leave the original as it was."""
        return replace(
            self,
            categories=list(self.categories),
            meta=[list(row) for row in self.meta],
            images=list(self.images),
        )


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
