"""wc/v3 products and customers, and the POT plugin's foodcoop/v1 rounds."""

from __future__ import annotations

from datetime import datetime

from pot_bridge.sandbox import wire
from pot_bridge.sandbox.query import (
    CUSTOMER_ORDERBY,
    PRODUCT_ORDERBY,
    PRODUCT_STATUS_ENUM,
    flat,
    in_windows,
    page_of,
    parse_list,
)
from pot_bridge.sandbox.reply import Reply, Request


def list_products(req: Request) -> Reply:
    dates: tuple[str, ...] = ("after", "before")
    if req.supports_modified_after:
        dates += ("modified_after", "modified_before")
    query = parse_list(
        req.params,
        orderby_enum=PRODUCT_ORDERBY,
        status_enum=PRODUCT_STATUS_ENUM,
        date_params=dates,
    )
    wanted = set(query.statuses)
    include = set(query.include)
    skus = set(filter(None, (flat(req.params, "sku") or "").split(",")))

    rows = [
        p
        for p in req.state.products.values()
        if (p.status in wanted or ("any" in wanted and p.status != "trash"))
        and (not include or p.id in include)
        and (not skus or p.sku in skus)
        and in_windows(query, _second(p.created), _second(p.modified))
    ]
    desc = query.order == "desc"
    if query.orderby == "include" and query.include:
        rank = {pid: i for i, pid in enumerate(query.include)}
        rows.sort(key=lambda p: rank.get(p.id, len(rank)))
    elif query.orderby in ("title", "slug"):
        rows.sort(key=lambda p: (p.name.lower(), p.id), reverse=desc)
    elif query.orderby == "modified":
        rows.sort(key=lambda p: (p.modified, p.id), reverse=desc)
    elif query.orderby == "price":
        rows.sort(key=lambda p: (p.price, p.id), reverse=desc)
    elif query.orderby == "id":
        rows.sort(key=lambda p: p.id, reverse=desc)
    else:
        rows.sort(key=lambda p: (p.created, p.id), reverse=desc)

    page, total, pages = page_of(rows, query)
    body = [wire.product_json(p, req.base) for p in page]
    return Reply(200, body, total=total, pages=pages, page=query.page)


def _second(moment: datetime) -> datetime:
    """WordPress keeps post dates to the second: a product created with a finer
    time must not pass `modified_after` set to the date it shows."""
    return moment.replace(microsecond=0)


def get_product(req: Request, product_id: int) -> Reply:
    product = req.state.products.get(product_id)
    if product is None:
        return Reply(
            404, wire.error("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        )
    return Reply(200, wire.product_json(product, req.base))


def list_customers(req: Request) -> Reply:
    """Customers default to role=customer, sorted by display name ascending."""
    query = parse_list(
        req.params,
        orderby_enum=CUSTOMER_ORDERBY,
        status_enum=None,
        default_orderby="name",
        default_order="asc",
    )
    role = flat(req.params, "role") or "customer"
    email = (flat(req.params, "email") or "").lower()
    include = set(query.include)

    rows = [
        c
        for c in req.state.customers.values()
        if (role == "all" or c.role == role)
        and (not email or c.email.lower() == email)
        and (not include or c.id in include)
    ]
    desc = query.order == "desc"
    if query.orderby == "include" and query.include:
        rank = {cid: i for i, cid in enumerate(query.include)}
        rows.sort(key=lambda c: rank.get(c.id, len(rank)))
    elif query.orderby == "id":
        rows.sort(key=lambda c: c.id, reverse=desc)
    elif query.orderby == "registered_date":
        rows.sort(key=lambda c: (c.created, c.id), reverse=desc)
    else:
        rows.sort(key=lambda c: (c.display_name.lower(), c.id), reverse=desc)

    page, total, pages = page_of(rows, query)
    body = [wire.customer_json(c, req.base) for c in page]
    return Reply(200, body, total=total, pages=pages, page=query.page)


def get_customer(req: Request, customer_id: int) -> Reply:
    customer = req.state.customers.get(customer_id)
    if customer is None:
        return Reply(
            404, wire.error("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
        )
    return Reply(200, wire.customer_json(customer, req.base))


def get_bestellrunden(req: Request) -> Reply:
    """All rounds, newest first, double-encoded as the plugin's json_encode does."""
    rounds = sorted(req.state.rounds.values(), key=lambda r: r.id, reverse=True)
    inner = wire.dumps([wire.round_json(r) for r in rounds])
    return Reply(200, text=wire.dumps(inner))
