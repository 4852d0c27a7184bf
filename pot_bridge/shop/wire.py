"""The shop's JSON as typed values: money and quantities become `Decimal` here.

Only the fields the bridge uses are modelled; everything else is ignored, and
meta values stay raw JSON of any shape (T-12), so nothing is lost by reading.
Line `price` is left out on purpose: it is a float quotient, not money (T-11).
Each `parse_*` turns a validation failure into `ShopItemInvalid`, naming the coop
and the object, so one bad object is skipped and reported, not fatal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from pot_bridge.errors import ShopError, SkipItemError
from pot_bridge.money import parse_decimal

T = TypeVar("T")


class ShopItemInvalid(ShopError, SkipItemError):
    """One object from the shop does not have the shape expected."""


def _decimal(value: object) -> Decimal:
    """Floats are refused: one here slipped past `parse_float=Decimal`."""
    try:
        return parse_decimal(value)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def _optional_decimal(value: object) -> Decimal | None:
    return None if value is None or value == "" else _decimal(value)


def _id(value: object) -> object:
    """Deleted products show as `""` or null: 0, as WooCommerce means it."""
    return 0 if value is None or value == "" else value


def _text(value: object) -> object:
    return "" if value is None else value


def _gmt(value: object) -> datetime | None:
    """`*_gmt` values come without zone: they are UTC."""
    if value is None or value == "":
        return None
    moment = (
        value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    )
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _metas(value: object) -> object:
    """Very old shops sent meta as an object keyed by id (#14184)."""
    return list(value.values()) if isinstance(value, Mapping) else _list(value)


def _list(value: object) -> object:
    return [] if value is None else value


Money = Annotated[Decimal, BeforeValidator(_decimal)]
Quantity = Annotated[Decimal, BeforeValidator(_decimal)]
ObjectId = Annotated[int, BeforeValidator(_id)]
Text = Annotated[str, BeforeValidator(_text)]
Gmt = Annotated[datetime | None, BeforeValidator(_gmt)]


class Wire(BaseModel):
    """Base of the wire models: unknown fields ignored, values frozen."""

    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class Meta(Wire):
    id: int | None = None
    key: str | None = None
    value: Any = None


MetaList = Annotated[list[Meta], BeforeValidator(_metas)]


def meta_value(metas: Iterable[Meta], key: str) -> Any | None:
    """The value of the last entry with this key (WordPress keeps the last)."""
    found = None
    for meta in metas:
        if meta.key == key:
            found = meta.value
    return found


def _meta_text(metas: Iterable[Meta], key: str) -> str | None:
    value = meta_value(metas, key)
    return None if value is None or value == "" else str(value)


def _meta_int(metas: Iterable[Meta], key: str) -> int | None:
    value = _meta_text(metas, key)
    return int(value) if value is not None and value.strip().isdigit() else None


class Address(Wire):
    first_name: Text = ""
    last_name: Text = ""
    company: Text = ""
    address_1: Text = ""
    address_2: Text = ""
    city: Text = ""
    state: Text = ""
    postcode: Text = ""
    country: Text = ""
    email: str | None = ""
    phone: Text = ""


class LineItem(Wire):
    id: int
    name: Text = ""
    product_id: ObjectId = 0
    variation_id: ObjectId = 0
    quantity: Quantity
    tax_class: Text = ""
    subtotal: Money = Decimal(0)
    subtotal_tax: Money = Decimal(0)
    total: Money
    total_tax: Money = Decimal(0)
    sku: str | None = None
    meta_data: MetaList = []

    @property
    def lieferant(self) -> str | None:
        return _meta_text(self.meta_data, "_lieferant")

    @property
    def einheit(self) -> str | None:
        return _meta_text(self.meta_data, "_einheit")

    @property
    def gross(self) -> Decimal:
        """Lines are net when prices include tax: the member paid total + tax."""
        return self.total + self.total_tax


class FeeLine(Wire):
    id: int
    name: Text = ""
    total: Money
    total_tax: Money = Decimal(0)


# Shipping methods where the member collects the order: WooCommerce's classic
# local pickup, and the pickup locations of the block checkout.
PICKUP_METHODS = frozenset({"local_pickup", "pickup_location"})


class ShippingLine(Wire):
    id: int
    method_id: Text = ""
    method_title: Text = ""
    total: Money
    total_tax: Money = Decimal(0)


class RefundSummary(Wire):
    """A refund as listed inside its order: `total` is negative."""

    id: int
    reason: Text = ""
    total: Money


class Order(Wire):
    id: int
    parent_id: ObjectId = 0
    number: Text = ""
    status: str
    currency: Text = ""
    customer_id: ObjectId = 0
    billing: Address = Address()
    payment_method: Text = ""
    created_via: str | None = None
    date_created_gmt: Gmt = None
    date_modified_gmt: Gmt = None
    total: Money
    total_tax: Money = Decimal(0)
    line_items: Annotated[list[LineItem], BeforeValidator(_list)] = []
    fee_lines: Annotated[list[FeeLine], BeforeValidator(_list)] = []
    shipping_lines: Annotated[list[ShippingLine], BeforeValidator(_list)] = []
    refunds: Annotated[list[RefundSummary], BeforeValidator(_list)] = []
    meta_data: MetaList = []

    @property
    def round_id(self) -> int | None:
        """The POT round (`bestellrunde_id`); empty means "no round"."""
        return _meta_int(self.meta_data, "bestellrunde_id")

    @property
    def order_type(self) -> str | None:
        return _meta_text(self.meta_data, "order_type")

    def pickup_place(self, meta_key: str | None) -> str:
        """Where the member collects the order: the coop's own order meta key
        first, then the title of the first pickup shipping line; "" if neither."""
        if meta_key:
            value = meta_value(self.meta_data, meta_key)
            # a list or an object (T-12) names no place
            if isinstance(value, str | int) and not isinstance(value, bool):
                text = str(value).strip()
                if text:
                    return text

        for line in self.shipping_lines:
            if line.method_id in PICKUP_METHODS:
                return line.method_title.strip()

        return ""


class RefundLine(Wire):
    """A refunded line: quantity and money are negative."""

    id: int
    product_id: ObjectId = 0
    quantity: Quantity
    total: Money
    total_tax: Money = Decimal(0)
    meta_data: MetaList = []

    @property
    def refunded_item_id(self) -> int | None:
        """The order line this refund line reverses."""
        return _meta_int(self.meta_data, "_refunded_item_id")


class Refund(Wire):
    id: int
    parent_id: int | None = None
    date_created_gmt: Gmt = None
    amount: Money
    reason: Text = ""
    refunded_payment: bool = False
    line_items: Annotated[list[RefundLine], BeforeValidator(_list)] = []


class Customer(Wire):
    id: int
    email: Text = ""
    first_name: Text = ""
    last_name: Text = ""
    username: Text = ""
    role: Text = ""
    billing: Address = Address()
    date_created_gmt: Gmt = None
    date_modified_gmt: Gmt = None
    meta_data: MetaList = []


class Product(Wire):
    id: int
    name: Text = ""
    sku: Text = ""
    type: Text = ""
    status: Text = ""
    parent_id: ObjectId = 0
    regular_price: Annotated[Decimal | None, BeforeValidator(_optional_decimal)] = None
    meta_data: MetaList = []

    @property
    def lieferant(self) -> str | None:
        return _meta_text(self.meta_data, "_lieferant")

    @property
    def gebinde(self) -> str | None:
        """Lot size as the shop keeps it: text, numeric on import."""
        return _meta_text(self.meta_data, "_gebinde")

    @property
    def einheit(self) -> str | None:
        return _meta_text(self.meta_data, "_einheit")

    @property
    def pot_id(self) -> str | None:
        """The POT database id, kept under the legacy key `_loonity_id`."""
        return _meta_text(self.meta_data, "_loonity_id")


def _product_ids(value: object) -> object:
    """`bestellrunde_products` is a JSON string of id strings."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = json.loads(value)
    return value


def _optional_date(value: object) -> object:
    return None if value is None or value == "" else value


class PluginRound(Wire):
    """A POT ordering round from `getBestellrunden`; `end` is inclusive."""

    id: int
    name: str
    start: date
    end: date
    distribution: Annotated[date | None, BeforeValidator(_optional_date)] = None
    products: Annotated[list[int], BeforeValidator(_product_ids)] = []
    complete: bool = False


def round_from_plugin(raw: Mapping[str, Any]) -> PluginRound:
    """Map the plugin's post meta names onto `PluginRound` and validate."""
    name = str(raw.get("bestellrunde_name") or "").strip()

    return PluginRound.model_validate(
        {
            "id": raw.get("id"),
            "name": name or f"Bestellrunde {raw.get('id')}",
            "start": raw.get("bestellrunde_start"),
            "end": raw.get("bestellrunde_ende"),
            "distribution": raw.get("bestellrunde_verteiltag"),
            "products": raw.get("bestellrunde_products"),
            "complete": str(raw.get("bestellrunde_complete") or "") == "1",
        }
    )


def _parse(
    kind: str, build: Callable[[Mapping[str, Any]], T], raw: object, coop: str
) -> T:
    if not isinstance(raw, Mapping):
        raise ShopItemInvalid(
            f"{kind} is {type(raw).__name__}, not an object", coop=coop
        )
    try:
        return build(raw)
    except (ValidationError, ValueError, TypeError) as exc:
        raise ShopItemInvalid(
            f"{kind} {raw.get('id', '?')}: {_problem(exc)}", coop=coop
        ) from None


def _problem(exc: Exception) -> str:
    """The failing fields without their values (they may hold personal data)."""
    if not isinstance(exc, ValidationError):
        return type(exc).__name__
    fields = [
        ".".join(str(part) for part in error["loc"]) + f" ({error['type']})"
        for error in exc.errors()[:3]
    ]

    return "invalid " + ", ".join(fields)


def parse_order(raw: object, coop: str) -> Order:
    return _parse("order", Order.model_validate, raw, coop)


def parse_refund(raw: object, coop: str, order_id: int | None = None) -> Refund:
    """A refund; `order_id` fills `parent_id`, which only `/wc/v3/refunds` sends."""

    def build(data: Mapping[str, Any]) -> Refund:
        if order_id is not None and not data.get("parent_id"):
            data = {**data, "parent_id": order_id}
        return Refund.model_validate(data)

    return _parse("refund", build, raw, coop)


def parse_customer(raw: object, coop: str) -> Customer:
    return _parse("customer", Customer.model_validate, raw, coop)


def parse_product(raw: object, coop: str) -> Product:
    return _parse("product", Product.model_validate, raw, coop)


def parse_round(raw: object, coop: str) -> PluginRound:
    return _parse("round", round_from_plugin, raw, coop)


def parse_many(
    raws: Iterable[object], parse: Callable[[object, str], T], coop: str
) -> tuple[list[T], list[ShopItemInvalid]]:
    """Parse a list, returning the bad objects as problems next to the good ones."""
    items: list[T] = []
    problems: list[ShopItemInvalid] = []
    for raw in raws:
        try:
            items.append(parse(raw, coop))
        except ShopItemInvalid as problem:
            problems.append(problem)

    return items, problems
