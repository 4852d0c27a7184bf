"""What a coop carries of the central catalog, and how each product should read.

A coop picks producers (by POT ID or name) and single products, minus the
ones it excludes; every field then gets the value the coop's shop should show,
in the form the bridge compares and writes: plain text, or a small mapping
where one field spans two shop values (producer, availability).

A field whose central value is empty is left out: the central database has
nothing to say about it, so whatever the shop holds stays. The limit: clearing
a description centrally does not clear it in the shops.
"""

from __future__ import annotations

from collections.abc import Mapping

from pot_bridge.catalog.model import Catalog, CentralProducer, CentralProduct
from pot_bridge.catalog.price import coop_price
from pot_bridge.config import CoopCatalog
from pot_bridge.money import format_quantity

Value = str | dict[str, str]

# The POT plugin's own products: never written, listed or adopted.
SPECIAL_SKUS = frozenset({"fcplugin_instant_topup_product", "fcplugin_pos_product"})
# Fields left out when the central value is empty (see the module docstring).
OPTIONAL = frozenset(
    {
        "unit",
        "pack_size",
        "origin",
        "category",
        "short_description",
        "description",
        "image",
    }
)
LISTED = {"stock_status": "instock", "catalog_visibility": "visible"}
OUTLISTED = {"stock_status": "outofstock", "catalog_visibility": "hidden"}


def carried(catalog: Catalog, carry: CoopCatalog) -> dict[str, CentralProduct]:
    """The central products the coop carries, by POT ID, available or not."""
    named = set(carry.producers)
    producers = {
        pot_id
        for pot_id, producer in catalog.producers.items()
        if pot_id in named or producer.name in named
    }
    singles = set(carry.products)
    excluded = set(carry.exclude)

    return {
        pot_id: product
        for pot_id, product in catalog.products.items()
        if (product.producer_id in producers or pot_id in singles)
        and pot_id not in excluded
    }


def unknown(catalog: Catalog, carry: CoopCatalog) -> list[str]:
    """Producers and products the coop names that the catalog does not hold."""
    names = {p.name for p in catalog.producers.values()}
    producers = [
        f"producer {name}"
        for name in carry.producers
        if name not in catalog.producers and name not in names
    ]
    products = [
        f"product {pot_id}"
        for pot_id in carry.products
        if pot_id not in catalog.products
    ]

    return producers + products


def sku_for(product: CentralProduct) -> str:
    """The central SKU, else one made from the POT ID, which never changes."""
    return product.sku or f"POT-{product.pot_id}"


def availability(listed: bool, manages_stock: bool) -> dict[str, str]:
    """Listed: in stock and visible; out-listed: out of stock and hidden.

    Where the shop counts stock itself it sets the stock status from the
    quantity, so only the visibility is the bridge's there.
    """
    wanted = LISTED if listed else OUTLISTED
    if manages_stock:
        return {"catalog_visibility": wanted["catalog_visibility"]}

    return dict(wanted)


def wanted(
    product: CentralProduct,
    producer: CentralProducer,
    carry: CoopCatalog,
    *,
    listed: bool,
    manages_stock: bool,
) -> dict[str, Value]:
    """The value of each field the bridge writes for this coop."""
    pack = "" if product.pack_size is None else format_quantity(product.pack_size)
    category = carry.category_map.get(product.category, product.category)
    values: Mapping[str, Value | None] = {
        "name": product.name,
        "price": format(coop_price(product.price, carry), ".2f"),
        "unit": product.unit,
        "pack_size": pack,
        "producer": {
            "_lieferant": producer.name,
            "_produzent": product.grower or producer.name,
        },
        "origin": product.origin,
        "category": category,
        "short_description": product.short_description,
        "description": product.description,
        "image": product.image_url or "",
        "availability": availability(listed, manages_stock),
        "tax_class": carry.tax_classes.get(product.vat),
    }

    return {
        field: value
        for field, value in values.items()
        if field in carry.fields
        and value is not None
        and not (field in OPTIONAL and value == "")
    }
