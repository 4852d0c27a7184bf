"""The routes the sandbox serves, and what an anonymous caller is told on each."""

from __future__ import annotations

import re
from collections.abc import Callable

from pot_bridge.sandbox import catalog_api, orders_api, wallet_api
from pot_bridge.sandbox.reply import Reply

ITEM_ALLOW = "GET, POST, PUT, PATCH, DELETE"
ANON = {
    ("list", "GET"): (
        "woocommerce_rest_cannot_view",
        "Sorry, you cannot list resources.",
    ),
    ("item", "GET"): (
        "woocommerce_rest_cannot_view",
        "Sorry, you cannot view this resource.",
    ),
    ("list", "POST"): (
        "woocommerce_rest_cannot_create",
        "Sorry, you are not allowed to create resources.",
    ),
    ("item", "PUT"): (
        "woocommerce_rest_cannot_edit",
        "Sorry, you are not allowed to edit this resource.",
    ),
    ("item", "DELETE"): (
        "woocommerce_rest_cannot_delete",
        "Sorry, you are not allowed to delete this resource.",
    ),
}
for _method in ("POST", "PATCH"):
    ANON[("item", _method)] = ANON[("item", "PUT")]
for _method in ("POST", "PUT", "PATCH"):
    ANON[("batch", _method)] = (
        "woocommerce_rest_cannot_batch",
        "Sorry, you are not allowed to batch manipulate this resource.",
    )
Handler = Callable[..., Reply]
_ROUTE_TABLE: list[tuple[str, str, dict[str, Handler], str]] = [
    (
        r"/wc/v3/orders",
        "list",
        {
            "GET": orders_api.list_orders,
            "POST": orders_api.create_order,
            "OPTIONS": orders_api.options_orders,
        },
        "GET, POST",
    ),
    (
        r"/wc/v3/orders/(\d+)",
        "item",
        {
            "GET": orders_api.get_order,
            "PUT": orders_api.update_order,
            "PATCH": orders_api.update_order,
        },
        ITEM_ALLOW,
    ),
    (
        r"/wc/v3/orders/(\d+)/refunds",
        "list",
        {"GET": orders_api.list_order_refunds, "POST": orders_api.create_refund},
        "GET, POST",
    ),
    (r"/wc/v3/refunds", "list", {"GET": orders_api.list_refunds}, "GET"),
    (
        r"/wc/v3/products",
        "list",
        {"GET": catalog_api.list_products, "POST": catalog_api.create_product},
        "GET, POST",
    ),
    (
        r"/wc/v3/products/batch",
        "batch",
        dict.fromkeys(("POST", "PUT", "PATCH"), catalog_api.batch_products),
        "POST, PUT, PATCH",
    ),
    (
        r"/wc/v3/products/categories",
        "list",
        {"GET": catalog_api.list_categories, "POST": catalog_api.create_category},
        "GET, POST",
    ),
    (
        r"/wc/v3/products/(\d+)",
        "item",
        {
            "GET": catalog_api.get_product,
            **dict.fromkeys(("POST", "PUT", "PATCH"), catalog_api.update_product),
            "DELETE": catalog_api.delete_product,
        },
        ITEM_ALLOW,
    ),
    (r"/wc/v3/customers", "list", {"GET": catalog_api.list_customers}, "GET, POST"),
    (
        r"/wc/v3/customers/(\d+)",
        "item",
        {
            "GET": catalog_api.get_customer,
            **dict.fromkeys(("POST", "PUT", "PATCH"), catalog_api.update_customer),
        },
        ITEM_ALLOW,
    ),
    (
        r"/foodcoop/v1/getBestellrunden",
        "rpc",
        {"GET": catalog_api.get_bestellrunden},
        "GET",
    ),
    # "mgr": edit_others_posts needed (401 anonymous, 403 other users);
    # "public": the plugin checks nothing (§12)
    (
        r"/foodcoop/v1/getAllTransactions",
        "mgr",
        {"GET": wallet_api.get_all_transactions},
        "GET",
    ),
    (
        r"/foodcoop/v1/getTransactions",
        "mgr",
        {"POST": wallet_api.get_transactions},
        "POST",
    ),
    (
        r"/foodcoop/v1/postAddTransaction",
        "mgr",
        {"POST": wallet_api.post_add_transaction},
        "POST",
    ),
    (r"/foodcoop/v1/getUsers", "mgr", {"GET": wallet_api.get_users}, "GET"),
    (r"/foodcoop/v1/getBalance", "public", {"POST": wallet_api.get_balance}, "POST"),
]
# handlers that take the shop lock themselves, around their own steps
UNLOCKED: frozenset[Handler] = frozenset({wallet_api.post_add_transaction})
MANAGER_ROLES = frozenset({"administrator", "shop_manager", "foodcoop_manager"})
ROUTES = [
    (re.compile(pattern, re.IGNORECASE), kind, handlers, allow)
    for pattern, kind, handlers, allow in _ROUTE_TABLE
]
