"""wc/v3 orders and refunds, answered as an HPOS WooCommerce 9.9.5 shop does."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from pot_bridge.sandbox import wire
from pot_bridge.sandbox.model import (
    HIDDEN_STATUSES,
    ORDER_STATUSES,
    WALLET,
    LineItem,
    Order,
)
from pot_bridge.sandbox.query import (
    ORDER_STATUS_ENUM,
    POST_ORDERBY,
    InvalidParams,
    ListQuery,
    flat,
    in_windows,
    page_of,
    parse_list,
)
from pot_bridge.sandbox.reply import Reply, Request

INVALID_ORDER = ("woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
REFUND_GATEWAYS = frozenset({WALLET})


def _sort(rows: list[Any], query: ListQuery, created: str, modified: str) -> None:
    if query.orderby == "include" and query.include:
        rank = {oid: i for i, oid in enumerate(query.include)}
        rows.sort(key=lambda r: rank.get(r.id, len(rank)))
        return
    attr = {"date": created, "modified": modified}.get(query.orderby)
    if attr is None:
        rows.sort(key=lambda r: r.id, reverse=query.order == "desc")
    else:
        rows.sort(key=lambda r: (getattr(r, attr), r.id), reverse=query.order == "desc")


def _fields(req: Request) -> list[str] | None:
    text = flat(req.params, "_fields")
    return [f.strip() for f in text.split(",")] if text else None


def _encode(req: Request, orders: list[Order]) -> tuple[str | None, Any]:
    """Cached JSON text for whole orders, dicts when `_fields` trims them."""
    fields = _fields(req)
    if fields is None:
        return "[" + ",".join(req.state.order_wire(o) for o in orders) + "]", None
    rows = [wire.order_json(o, req.base) for o in orders]
    return None, [{k: v for k, v in row.items() if k in fields} for row in rows]


def list_orders(req: Request) -> Reply:
    dates: tuple[str, ...] = ("after", "before")
    if req.supports_modified_after:
        dates += ("modified_after", "modified_before")
    query = parse_list(
        req.params,
        orderby_enum=POST_ORDERBY,
        status_enum=ORDER_STATUS_ENUM,
        date_params=dates,
    )
    wanted = set(query.statuses)
    include = set(query.include)

    rows = [
        o
        for o in req.state.orders.values()
        if (o.status in wanted or ("any" in wanted and o.status not in HIDDEN_STATUSES))
        and (not include or o.id in include)
        and (query.customer is None or o.customer_id == query.customer)
        and in_windows(query, o.created, o.modified)
    ]
    _sort(rows, query, "created", "modified")
    page, total, pages = page_of(rows, query)

    extras = [] if "status" in req.params else [("status[0]", "any")]
    if not page and query.page > pages:
        # HPOS answers a page past the end with zero totals (unlike products)
        total = pages = 0
    else:
        extras += [("dp", "2"), ("context", "view")]
    text, body = _encode(req, page)
    return Reply(
        200,
        body=body,
        text=text,
        total=total,
        pages=pages,
        page=query.page,
        link_extras=extras,
    )


def _order(req: Request, order_id: int) -> Order | None:
    return req.state.orders.get(order_id)


def get_order(req: Request, order_id: int) -> Reply:
    order = _order(req, order_id)
    if order is None:
        return Reply(404, wire.error(*INVALID_ORDER, 404))
    return Reply(200, text=req.state.order_wire(order))


def update_order(req: Request, order_id: int) -> Reply:
    """PUT: the bridge writes only status and its own meta, so only those apply."""
    order = _order(req, order_id)
    if order is None:
        return Reply(404, wire.error(*INVALID_ORDER, 404))
    body = req.body if isinstance(req.body, dict) else {}
    status = body.get("status")
    if status is not None and status not in ORDER_STATUSES:
        bad = InvalidParams()
        enum = ", ".join(ORDER_STATUSES[:-1]) + f", and {ORDER_STATUSES[-1]}"
        bad.add("status", "rest_not_in_enum", f"status is not one of {enum}.")
        return Reply(400, bad.body())

    state = req.state
    for row in body.get("meta_data") or []:
        if isinstance(row, dict) and "key" in row:
            state.set_meta(
                order_id, str(row["key"]), row.get("value"), meta_id=row.get("id")
            )
    if status is not None and status != order.status:
        state.set_status(order_id, status)
    elif not body.get("meta_data"):
        state.touch(order_id)  # HPOS stamps every save
    return Reply(200, text=state.order_wire(order))


def create_order(req: Request) -> Reply:
    body = req.body if isinstance(req.body, dict) else {}
    state = req.state
    items = []
    for row in body.get("line_items") or []:
        pid = int(row.get("product_id") or 0)
        if pid not in state.products:
            return Reply(
                400,
                wire.error(
                    "woocommerce_rest_invalid_product_id", "Invalid product ID.", 400
                ),
            )
        items.append((pid, Decimal(str(row.get("quantity", 1)))))
    status = str(body.get("status") or "pending")
    if body.get("set_paid"):
        status = "processing"
    order = state._add_order(
        int(body.get("customer_id") or 0),
        items,
        round_id=None,
        payment_method=str(body.get("payment_method") or ""),
        via="rest-api",
        status=status,
        created=None,
    )
    if body.get("payment_method_title"):
        order.payment_method_title = str(body["payment_method_title"])
    for row in body.get("meta_data") or []:
        if isinstance(row, dict) and "key" in row:
            order.meta.append(state._meta(str(row["key"]), row.get("value")))
    href = f"{req.base}/wp-json/wc/v3/orders/{order.id}"
    return Reply(201, text=state.order_wire(order), headers={"Location": href})


def options_orders(req: Request) -> Reply:
    """The route description a client reads to learn which filters exist (T-05)."""

    def arg(description: str, kind: str, **extra: Any) -> dict[str, Any]:
        return {"description": description, "type": kind, "required": False, **extra}

    args = {
        "context": arg(
            "Scope under which the request is made.",
            "string",
            enum=["view", "edit"],
            default="view",
        ),
        "page": arg("Current page of the collection.", "integer", default=1, minimum=1),
        "per_page": arg(
            "Maximum number of items to be returned in result set.",
            "integer",
            default=10,
            minimum=1,
            maximum=100,
        ),
        "search": arg("Limit results to those matching a string.", "string"),
        "after": arg(
            "Limit response to resources published after a given "
            "ISO8601 compliant date.",
            "string",
            format="date-time",
        ),
        "before": arg(
            "Limit response to resources published before a given "
            "ISO8601 compliant date.",
            "string",
            format="date-time",
        ),
        "modified_after": arg(
            "Limit response to resources modified after a "
            "given ISO8601 compliant date.",
            "string",
            format="date-time",
        ),
        "modified_before": arg(
            "Limit response to resources modified before a "
            "given ISO8601 compliant date.",
            "string",
            format="date-time",
        ),
        "dates_are_gmt": arg(
            "Whether to consider GMT post dates when limiting "
            "response by published or modified date.",
            "boolean",
            default=False,
        ),
        "exclude": arg(
            "Ensure result set excludes specific IDs.",
            "array",
            items={"type": "integer"},
            default=[],
        ),
        "include": arg(
            "Limit result set to specific ids.",
            "array",
            items={"type": "integer"},
            default=[],
        ),
        "offset": arg(
            "Offset the result set by a specific number of items.", "integer"
        ),
        "order": arg(
            "Order sort attribute ascending or descending.",
            "string",
            default="desc",
            enum=["asc", "desc"],
        ),
        "orderby": arg(
            "Sort collection by object attribute.",
            "string",
            default="date",
            enum=list(POST_ORDERBY),
        ),
        "status": arg(
            "Limit result set to orders assigned one or more statuses.",
            "array",
            default="any",
            items={"type": "string", "enum": list(ORDER_STATUS_ENUM)},
        ),
        "customer": arg(
            "Limit result set to orders assigned a specific customer.", "integer"
        ),
        "product": arg(
            "Limit result set to orders assigned a specific product.", "integer"
        ),
        "dp": arg(
            "Number of decimal points to use in each resource.", "integer", default=2
        ),
    }
    if not req.supports_modified_after:
        for name in ("modified_after", "modified_before", "dates_are_gmt"):
            del args[name]
    body = {
        "namespace": "wc/v3",
        "methods": ["GET", "POST"],
        "endpoints": [
            {"methods": ["GET"], "allow_batch": False, "args": args},
            {"methods": ["POST"], "allow_batch": False, "args": {}},
        ],
        "_links": {"self": [{"href": f"{req.base}/wp-json/wc/v3/orders"}]},
    }
    return Reply(200, body)


# -- refunds --------------------------------------------------------------


def list_order_refunds(req: Request, order_id: int) -> Reply:
    order = _order(req, order_id)
    if order is None:
        return Reply(
            404,
            wire.error("woocommerce_rest_invalid_order_id", "Invalid order ID.", 404),
        )
    query = parse_list(req.params, orderby_enum=POST_ORDERBY, status_enum=None)
    rows = [] if req.state.hides_order_refunds else list(order.refunds)
    _sort(rows, query, "created", "created")
    page, total, pages = page_of(rows, query)
    body = [wire.refund_json(r, req.base, with_parent=False) for r in page]
    return Reply(200, body, total=total, pages=pages, page=query.page)


def list_refunds(req: Request) -> Reply:
    """WC >= 9.0 lists refunds across orders, each with its parent_id."""
    query = parse_list(
        req.params,
        orderby_enum=POST_ORDERBY,
        status_enum=None,
        date_params=("after", "before"),
    )
    include = set(query.include)
    parent = flat(req.params, "parent")
    rows = [
        r
        for r in req.state.refunds.values()
        if (not include or r.id in include)
        and (not parent or str(r.order_id) in parent.split(","))
        and in_windows(query, r.created, r.created)
    ]
    _sort(rows, query, "created", "created")
    page, total, pages = page_of(rows, query)
    body = [wire.refund_json(r, req.base, with_parent=True) for r in page]
    return Reply(200, body, total=total, pages=pages, page=query.page)


def _refund_specs(
    order: Order, raw: Any
) -> list[tuple[LineItem, Decimal, Decimal, Decimal]]:
    """The lines a refund request really refunds, as WooCommerce 9.9.5 reads them.

    Two shapes work: the keyed one (`{"<item id>": {qty, refund_total,
    refund_tax: {rate id: amount}}}`) and the list the REST API normalises
    (`[{id, quantity, refund_total, refund_tax: [{id, refund_total}]}]`). The
    documented list with negative `quantity` and `total` carries no
    `refund_total`, so its rows refund nothing: the refund is amount-only (T-09).
    """
    rows: list[tuple[Any, Any, dict[str, Any]]] = []
    if isinstance(raw, dict):
        rows = [(key, row.get("qty"), row) for key, row in raw.items() if _is(row)]
    elif isinstance(raw, list):
        rows = [(row.get("id"), row.get("quantity"), row) for row in raw if _is(row)]
    by_id = {line.id: line for line in order.lines}
    specs = []
    for item_id, qty_raw, row in rows:
        item = by_id.get(_int(item_id))
        if item is None or "refund_total" not in row:
            continue
        qty, total = _number(qty_raw), _number(row.get("refund_total"))
        taxes = row.get("refund_tax") or {}
        values = (
            taxes.values()
            if isinstance(taxes, dict)
            else [t.get("refund_total") for t in taxes if _is(t)]
        )
        tax = sum((_number(v) for v in values), Decimal(0))
        if qty or total or tax:
            specs.append((item, qty, total, tax))
    return specs


def _is(row: object) -> bool:
    return isinstance(row, dict)


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _number(value: object) -> Decimal:
    """PHP reads "", null and junk as 0; JSON numbers arrive as Decimal."""
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _meta_rows(raw: Any) -> list[tuple[str, object]]:
    """`meta_data` of a request: the `{key, value}` rows, others skipped."""
    if not isinstance(raw, list):
        return []
    return [
        (str(row["key"]), row.get("value"))
        for row in raw
        if _is(row) and row.get("key")
    ]


def create_refund(req: Request, order_id: int) -> Reply:
    order = _order(req, order_id)
    if order is None:
        return Reply(
            404,
            wire.error("woocommerce_rest_invalid_order_id", "Invalid order ID.", 404),
        )
    body = req.body if isinstance(req.body, dict) else {}
    specs = _refund_specs(order, body.get("line_items"))
    try:
        amount = (
            Decimal(str(body.get("amount")))
            if body.get("amount") not in (None, "")
            else sum((t + x for _i, _q, t, x in specs), Decimal(0))
        )
    except InvalidOperation:
        amount = Decimal(0)
    if amount <= 0:
        return Reply(
            400,
            wire.error(
                "woocommerce_rest_invalid_order_refund",
                "Refund amount must be greater than zero.",
                400,
            ),
        )
    api_refund = body.get("api_refund", True) not in (False, "false", "0", 0)

    def failed(message: str) -> Reply:
        # WooCommerce passes the bare status as `data` here, not an object
        return Reply(
            500,
            {
                "code": "woocommerce_rest_cannot_create_order_refund",
                "message": message,
                "data": 500,
            },
        )

    if api_refund and order.payment_method not in REFUND_GATEWAYS:
        return failed(
            "The payment gateway for this order does not support automatic refunds."
        )
    try:
        refund = req.state.create_refund(
            order,
            specs,
            amount,
            str(body.get("reason") or ""),
            refunded_payment=api_refund,
            meta=_meta_rows(body.get("meta_data")),
        )
    except ValueError as exc:
        return failed(str(exc))
    location = (
        f"{req.base}/wp-json/wc/v3/orders/(?P<order_id>[\\d]+)/refunds/{refund.id}"
    )
    return Reply(
        201,
        wire.refund_json(refund, req.base, with_parent=False),
        headers={"Location": location},
    )
