"""A coop's shop as the catalog push sees it: its products, categories and fields.

Every product is read, whatever its status (drafts and private ones hold SKUs
too), in pages of 100, together with the categories. Each catalog field is then
read off a product in the same form the bridge writes it, so "the shop shows
what the bridge last wrote" is a plain comparison; `write` is the way back,
from a field's value into a request body.

The POT plugin's own products (top-up, POS) are left out at the door: nothing
further on can match, adopt or write them.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import Field

from pot_bridge.catalog.carry import SPECIAL_SKUS, Value
from pot_bridge.money import CENT, format_quantity
from pot_bridge.shop.client import ShopClient
from pot_bridge.shop.wire import (
    MetaList,
    ShopItemInvalid,
    Text,
    Wire,
    meta_value,
    parse_many,
)

# catalog fields kept in product meta, by their plugin key
META_KEYS = {
    "unit": "_einheit",
    "pack_size": "_gebinde",
    "origin": "_herkunft",
    "pot_id": "_loonity_id",
    "pot_url": "_pot_url",
}
# catalog fields that are a product field of the same name
PLAIN = ("name", "short_description", "description", "tax_class")
PRODUCTS_QUERY = {
    "status": "any",
    "per_page": 100,
    "orderby": "id",
    "order": "asc",
    # raw texts where the shop honours it (a view read renders descriptions)
    "context": "edit",
}


class ShelfImage(Wire):
    id: int = 0
    src: Text = ""


class ShelfCategory(Wire):
    id: int
    name: Text = ""


class ShelfProduct(Wire):
    """A shop product with the fields the catalog push reads."""

    id: int
    name: Text = ""
    sku: Text = ""
    type: Text = ""
    status: Text = ""
    regular_price: Text = ""
    short_description: Text = ""
    description: Text = ""
    tax_class: Text = ""
    stock_status: Text = ""
    catalog_visibility: Text = ""
    # bool, or "parent" on variations (T-17)
    manage_stock: bool | str = False
    categories: list[ShelfCategory] = Field(default_factory=list)
    images: list[ShelfImage] = Field(default_factory=list)
    meta_data: MetaList = Field(default_factory=list)

    def meta(self, key: str) -> str:
        value = meta_value(self.meta_data, key)
        return "" if value is None else str(value)

    @property
    def pot_id(self) -> str | None:
        return self.meta("_loonity_id").strip() or None

    @property
    def manages_stock(self) -> bool:
        return self.manage_stock is True

    @property
    def image_id(self) -> int | None:
        return self.images[0].id if self.images else None


@dataclass(frozen=True)
class Shelf:
    """What one read of the shop found; `categories` maps plain names to ids."""

    products: list[ShelfProduct]
    categories: dict[str, int]
    problems: list[ShopItemInvalid] = field(default_factory=list)


def read_shelf(client: ShopClient) -> Shelf:
    """Every product and category of the shop (reads only)."""
    raw = client.iter_all("products", PRODUCTS_QUERY)
    products, problems = parse_many(raw, parse_product, client.coop)
    kept = [
        p
        for p in products
        if p.sku.casefold() not in SPECIAL_SKUS and p.type != "variation"
    ]

    return Shelf(kept, read_categories(client), problems)


def read_products(client: ShopClient, ids: list[int]) -> list[ShelfProduct]:
    """The products with these ids, as `read_shelf` shows them (100 a request)."""
    found: list[ShelfProduct] = []
    for start in range(0, len(ids), 100):
        chunk = ids[start : start + 100]
        query = {**PRODUCTS_QUERY, "include": ",".join(map(str, chunk))}
        page = client.get("products", query)
        rows, _bad = parse_many(
            page if isinstance(page, list) else [], parse_product, client.coop
        )
        found += rows

    return found


def read_categories(client: ShopClient) -> dict[str, int]:
    """Category names (unescaped: the shop answers `&amp;`) to ids; first id wins."""
    names: dict[str, int] = {}
    query = {"per_page": 100, "orderby": "id", "order": "asc"}
    for row in client.iter_all("products/categories", query):
        if isinstance(row, dict) and isinstance(row.get("id"), int):
            names.setdefault(html.unescape(str(row.get("name") or "")), row["id"])

    return names


def parse_product(raw: object, coop: str) -> ShelfProduct:
    if not isinstance(raw, Mapping):
        raise ShopItemInvalid(f"product is {type(raw).__name__}", coop=coop)
    try:
        return ShelfProduct.model_validate(raw)
    except ValueError as exc:
        raise ShopItemInvalid(
            f"product {raw.get('id', '?')}: {type(exc).__name__}", coop=coop
        ) from None


def shown(product: ShelfProduct, name: str) -> Value:
    """A field's value as the shop shows it, in the bridge's form."""
    if name in PLAIN:
        return str(getattr(product, name))
    if name in META_KEYS:
        value = product.meta(META_KEYS[name])
        return _plain_number(value) if name == "pack_size" else value
    if name == "price":
        return _money(product.regular_price)
    if name == "producer":
        return {
            "_lieferant": product.meta("_lieferant"),
            "_produzent": product.meta("_produzent"),
        }
    if name == "category":
        return html.unescape(product.categories[0].name) if product.categories else ""
    if name == "availability":
        seen = {"catalog_visibility": product.catalog_visibility}
        if not product.manages_stock:
            seen["stock_status"] = product.stock_status
        return seen
    raise ValueError(f"no such catalog field: {name}")


def write(
    body: dict[str, Any], name: str, value: Value, categories: Mapping[str, int]
) -> None:
    """Put one field's value into a create or update body."""
    if isinstance(value, dict):
        if name == "producer":
            for key, text in value.items():
                _meta(body, key, text)
        else:
            body.update(value)
    elif name in PLAIN:
        body[name] = value
    elif name in META_KEYS:
        _meta(body, META_KEYS[name], value)
    elif name == "price":
        body["regular_price"] = value
    elif name == "category":
        body["categories"] = [{"id": categories[value]}]
    else:
        raise ValueError(f"no such catalog field: {name}")


def _meta(body: dict[str, Any], key: str, value: str) -> None:
    # Without a meta id the shop updates the first row of the key and drops
    # its duplicates: the bridge never sends rows it does not own.
    body.setdefault("meta_data", []).append({"key": key, "value": value})


def _money(text: str) -> str:
    try:
        return format(Decimal(text.strip()).quantize(CENT), ".2f")
    except (InvalidOperation, ValueError):
        return text


def _plain_number(text: str) -> str:
    try:
        return format_quantity(Decimal(text.strip()))
    except (InvalidOperation, ValueError):
        return text
