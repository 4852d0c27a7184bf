"""wc/v3 products, categories and customers, and the POT plugin's rounds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from pot_bridge.sandbox import wire
from pot_bridge.sandbox.formatting import (
    php_int,
    remove_accents,
    sanitize_title,
    term_name,
)
from pot_bridge.sandbox.model import Category, Customer, Product
from pot_bridge.sandbox.product_writes import (
    SaveError,
    check_batch,
    check_fields,
    is_integer,
    remove_product,
    save_product,
)
from pot_bridge.sandbox.query import (
    CUSTOMER_ORDERBY,
    PRODUCT_ORDERBY,
    PRODUCT_STATUS_ENUM,
    TRUE,
    InvalidParams,
    enum_text,
    flat,
    in_windows,
    page_of,
    parse_list,
)
from pot_bridge.sandbox.reply import Reply, Request
from pot_bridge.sandbox.state import ShopState

BATCH_LIMIT = 100  # the woocommerce_rest_batch_items_limit default
TERM_ORDERBY = ("id", "include", "name", "slug", "term_group", "description", "count")
DISPLAY_TYPES = ("default", "products", "subcategories", "both")


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
    sku_text = flat(req.params, "sku") or ""
    skus = {s.casefold() for s in sku_text.split(",") if s}
    if len(skus) > 1:  # WooCommerce also looks for the whole string
        skus.add(sku_text.casefold())

    rows = [
        p
        for p in req.state.products.values()
        if (p.status in wanted or ("any" in wanted and p.status != "trash"))
        and (not include or p.id in include)
        and (not skus or p.sku.casefold() in skus)
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


def _body(req: Request) -> dict[str, Any]:
    return req.body if isinstance(req.body, dict) else {}


def _created(state: ShopState, body: dict[str, Any]) -> Product:
    if body.get("id"):
        raise SaveError(
            "woocommerce_rest_product_exists", "Cannot create existing product."
        )
    return save_product(state, body, None)


def _updated(state: ShopState, product_id: int, body: dict[str, Any]) -> Product:
    existing = state.products.get(product_id)
    if existing is None:
        raise SaveError("woocommerce_rest_product_invalid_id", "Invalid ID.")
    return save_product(state, body, existing)


def create_product(req: Request) -> Reply:
    body = _body(req)
    check_fields(body)
    try:
        product = _created(req.state, body)
    except SaveError as refused:
        return Reply(refused.status, refused.body())
    href = f"{req.base}/wp-json/wc/v3/products/{product.id}"

    return Reply(
        201, wire.product_json(product, req.base, edit=True), headers={"Location": href}
    )


def update_product(req: Request, product_id: int) -> Reply:
    """PUT is partial: what the body leaves out stays as it was."""
    body = _body(req)
    check_fields(body)
    try:
        product = _updated(req.state, product_id, body)
    except SaveError as refused:
        return Reply(refused.status, refused.body())

    return Reply(200, wire.product_json(product, req.base, edit=True))


def delete_product(req: Request, product_id: int) -> Reply:
    """Trash by default; `force=true` deletes for good."""
    force = (flat(req.params, "force") or "") in TRUE
    try:
        before = remove_product(req.state, product_id, force=force)
    except SaveError as refused:
        return Reply(refused.status, refused.body())

    return Reply(200, wire.product_json(before, req.base, edit=True))


def batch_products(req: Request) -> Reply:
    """Creates, then updates, then deletes, one after another; HTTP 200 even when
    items fail, each failure answered in place of its product (T-15)."""
    body = _body(req)
    check_batch(body)
    # WooCommerce drops empty lists before counting and answering
    lists: dict[str, list[Any]] = {
        name: body[name] for name in ("create", "update", "delete") if body.get(name)
    }
    if sum(len(rows) for rows in lists.values()) > BATCH_LIMIT:
        return Reply(
            413,
            wire.error(
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {BATCH_LIMIT} items for this request.",
                413,
            ),
        )

    state, base = req.state, req.base
    answer: dict[str, list[dict[str, Any]]] = {}

    def run(name: str, item_id: object, save: Callable[[], Product]) -> None:
        try:
            entry = wire.product_json(save(), base, edit=True)
        except SaveError as refused:
            entry = refused.item(item_id)
        answer.setdefault(name, []).append(entry)

    for item in lists.get("create", []):
        run("create", 0, partial(_created, state, item))
    for item in lists.get("update", []):
        run(
            "update",
            item.get("id"),
            partial(_updated, state, php_int(item.get("id")), item),
        )
    for raw_id in lists.get("delete", []):
        product_id = php_int(raw_id)
        if product_id:  # an id of 0 is skipped without an entry
            run(
                "delete",
                product_id,
                partial(remove_product, state, product_id, force=True),
            )

    return Reply(200, answer or [])


# -- categories -----------------------------------------------------------------


def _published_counts(state: ShopState) -> dict[int, int]:
    counts: dict[int, int] = {}
    for product in state.products.values():
        if product.status == "publish":
            for category in product.categories:
                counts[category.id] = counts.get(category.id, 0) + 1
    return counts


def list_categories(req: Request) -> Reply:
    """Sorted by name ascending by default, like get_terms."""
    query = parse_list(
        req.params,
        orderby_enum=TERM_ORDERBY,
        status_enum=None,
        default_orderby="name",
        default_order="asc",
    )
    params, state = req.params, req.state
    counts = _published_counts(state)
    include = set(query.include)
    parent = flat(params, "parent")
    slugs = set(filter(None, (flat(params, "slug") or "").split(",")))
    search = (flat(params, "search") or "").casefold()
    product_id = php_int(flat(params, "product") or 0)
    product = state.products.get(product_id)
    hide_empty = (flat(params, "hide_empty") or "") in TRUE

    rows = [
        c
        for c in state.categories.values()
        if (not include or c.id in include)
        and (parent in (None, "") or c.parent == php_int(parent))
        and (not slugs or c.slug in slugs)
        and (not search or search in c.name.casefold() or search in c.slug)
        and (not product_id or (product is not None and c in product.categories))
        and (not hide_empty or counts.get(c.id, 0) > 0)
    ]
    _sort_terms(rows, query.orderby, query.order == "desc", query.include, counts)
    page, total, pages = page_of(rows, query)
    body = [wire.category_json(c, req.base, counts.get(c.id, 0)) for c in page]

    return Reply(200, body, total=total, pages=pages, page=query.page)


def _sort_terms(
    rows: list[Category],
    orderby: str,
    desc: bool,
    include: list[int],
    counts: dict[int, int],
) -> None:
    if orderby == "include" and include:
        rank = {tid: i for i, tid in enumerate(include)}
        rows.sort(key=lambda c: rank.get(c.id, len(rank)))
    elif orderby in ("id", "term_group"):
        rows.sort(key=lambda c: c.id, reverse=desc)
    elif orderby == "slug":
        rows.sort(key=lambda c: (c.slug, c.id), reverse=desc)
    elif orderby == "count":
        rows.sort(key=lambda c: (counts.get(c.id, 0), c.id), reverse=desc)
    elif orderby == "description":
        rows.sort(key=lambda c: (c.description, c.id), reverse=desc)
    else:  # MySQL's collation ignores case and accents
        rows.sort(key=lambda c: (remove_accents(c.name).casefold(), c.id), reverse=desc)


def create_category(req: Request) -> Reply:
    """wp_insert_term: one name per parent; the existing term's id comes back."""
    body = _body(req)
    if body.get("name") is None:
        return Reply(
            400,
            wire.error(
                "rest_missing_callback_param",
                "Missing parameter(s): name",
                400,
                params=["name"],
            ),
        )
    _check_category(body)
    state = req.state
    name = term_name(body["name"])
    parent = php_int(body.get("parent") or 0)
    if not name:
        return Reply(
            400, wire.error("empty_term_name", "A name is required for this term.", 400)
        )
    if parent and parent not in state.categories:
        return Reply(
            400, wire.error("missing_parent", "Parent term does not exist.", 400)
        )
    twin = next(
        (c for c in state.categories.values() if c.parent == parent and c.name == name),
        None,
    )
    if twin is not None:
        return Reply(
            400,
            wire.error(
                "term_exists",
                "A term with the name provided already exists with this parent.",
                400,
                resource_id=twin.id,
            ),
        )

    term_id = state._term_id()
    slug = sanitize_title(str(body.get("slug") or name)) or str(term_id)
    taken = {c.slug for c in state.categories.values()}
    unique, index = slug, 2
    while unique in taken:
        unique, index = f"{slug}-{index}", index + 1
    category = state.add_category(term_id, name, unique, parent)
    category.description = str(body.get("description") or "")
    category.display = str(body.get("display") or "default")
    category.menu_order = php_int(body.get("menu_order") or 0)
    href = f"{req.base}/wp-json/wc/v3/products/categories/{term_id}"

    return Reply(
        201, wire.category_json(category, req.base, 0), headers={"Location": href}
    )


def _check_category(body: dict[str, Any]) -> None:
    bad = InvalidParams()
    for name in ("name", "slug", "description"):
        if name in body and not isinstance(body[name], str):
            bad.add(name, "rest_invalid_type", f"{name} is not of type string.")
    for name in ("parent", "menu_order"):
        if name in body and not is_integer(body[name]):
            bad.add(name, "rest_invalid_type", f"{name} is not of type integer.")
    if "display" in body and body["display"] not in DISPLAY_TYPES:
        message = f"display is not one of {enum_text(DISPLAY_TYPES)}."
        bad.add("display", "rest_not_in_enum", message)
    if bad.params:
        raise bad


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


def update_customer(req: Request, customer_id: int) -> Reply:
    """PUT/POST/PATCH customers/<id>: writes `meta_data` as WC_Data does (the
    sandbox keeps the other fields as they are) and stamps the modified date."""
    customer = req.state.customers.get(customer_id)
    if customer is None:
        return Reply(
            404, wire.error("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
        )
    body = _body(req)
    _check_customer(body)

    for row in body.get("meta_data") or []:
        if "key" in row and row["key"] is not None:
            meta_id = php_int(row.get("id") or 0)
            _update_customer_meta(customer, str(row["key"]), row.get("value"), meta_id)
    customer.meta = [
        [meta_id or req.state._meta_id(), key, _meta_stored(value)]
        for meta_id, key, value in customer.meta
        if value is not None
    ]
    customer.modified = req.state.now()

    return Reply(200, wire.customer_json(customer, req.base))


def _check_customer(body: dict[str, Any]) -> None:
    if "meta_data" not in body:
        return
    bad = InvalidParams()
    rows = body["meta_data"]
    if not isinstance(rows, list):
        bad.add("meta_data", "rest_invalid_type", "meta_data is not of type array.")
    else:
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                message = f"meta_data[{index}] is not of type object."
                bad.add("meta_data", "rest_invalid_type", message)
                break
    if bad.params:
        raise bad


def _update_customer_meta(
    customer: Customer, key: str, value: object, meta_id: int
) -> None:
    """WC_Data::update_meta_data: the row of `meta_id`, else the first row of
    the key (its other rows go), else a new row; a null value deletes."""
    rows = customer.meta
    if meta_id:
        target = next((row for row in rows if row[0] == meta_id), None)
    else:
        matches = [row for row in rows if row[1] == key]
        for row in matches[1:]:
            row[2] = None
        target = matches[0] if matches else None
    if target is not None:
        target[1], target[2] = key, value
        return

    for row in rows:  # an unknown id adds the key anew: its old rows go
        if row[1] == key:
            row[2] = None
    rows.append([None, key, value])


def _meta_stored(value: object) -> object:
    """User meta reads back scalars as strings (true as "1", false as "")."""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, int | Decimal):
        return str(value)
    return value


def get_bestellrunden(req: Request) -> Reply:
    """All rounds, newest first, double-encoded as the plugin's json_encode does."""
    rounds = sorted(req.state.rounds.values(), key=lambda r: r.id, reverse=True)
    inner = wire.dumps([wire.round_json(r) for r in rounds])
    return Reply(200, text=wire.dumps(inner))
