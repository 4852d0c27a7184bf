"""Talking to one coop's shop: HTTP client, signing, and the wire models.

Knows nothing of the store: it answers typed values and raises the errors of
`pot_bridge.errors`, grouped by what the caller should do.
"""

from __future__ import annotations

from pot_bridge.shop.client import Answer, Page, ShopClient
from pot_bridge.shop.plugin import PluginClient
from pot_bridge.shop.reply import ShopRedirected
from pot_bridge.shop.wire import (
    Address,
    Customer,
    FeeLine,
    LineItem,
    Meta,
    Order,
    PluginRound,
    Product,
    Refund,
    RefundLine,
    RefundSummary,
    ShippingLine,
    ShopItemInvalid,
    meta_value,
    parse_customer,
    parse_many,
    parse_order,
    parse_product,
    parse_refund,
    parse_round,
)

__all__ = [
    "Address",
    "Answer",
    "Customer",
    "FeeLine",
    "LineItem",
    "Meta",
    "Order",
    "Page",
    "PluginClient",
    "PluginRound",
    "Product",
    "Refund",
    "RefundLine",
    "RefundSummary",
    "ShippingLine",
    "ShopClient",
    "ShopItemInvalid",
    "ShopRedirected",
    "meta_value",
    "parse_customer",
    "parse_many",
    "parse_order",
    "parse_product",
    "parse_refund",
    "parse_round",
]
