"""Which producer an order line goes to.

The POT plugin copies the supplier (`_lieferant`) onto every line at checkout;
older lines, POS orders and shops without the plugin lack it. Then the product's
own meta decides, then the coop's configured SKU mapping. A line none of them
answers is reported by name, never dropped in silence.
"""

from __future__ import annotations

from pot_bridge.config import CoopConfig
from pot_bridge.store.schema import Product

# The plugin's own products (wallet top-up, POS free position) go to no producer.
PLUGIN_SKUS = frozenset({"fcplugin_instant_topup_product", "fcplugin_pos_product"})


def producer_of_line(
    coop: CoopConfig,
    *,
    line_producer: str | None,
    sku: str,
    product: Product | None,
) -> str | None:
    """The producer's name, or None when nothing tells it."""
    if line_producer and line_producer.strip():
        return line_producer.strip()

    if product is not None and product.producer:
        return product.producer

    return configured_producer(coop, sku)


def configured_producer(coop: CoopConfig, sku: str) -> str | None:
    """The producer whose configured SKUs or SKU prefixes cover this SKU."""
    if not sku:
        return None
    for producer in coop.producers:
        if sku in producer.skus:
            return producer.name
    for producer in coop.producers:
        if any(sku.startswith(prefix) for prefix in producer.sku_prefixes):
            return producer.name
    return None


def is_plugin_product(sku: str) -> bool:
    return sku in PLUGIN_SKUS
