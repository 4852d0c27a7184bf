"""Saving a product as WooCommerce 9.9.5 does, one request body at a time.

`save_product` follows the REST controller's `prepare_object_for_database`
and then `WC_Product::save`: fields are set in WooCommerce's order and the
first one that throws (a taken SKU, an image that cannot be fetched, a bad
image id) aborts the whole save. Nothing of that product changes then, but
images downloaded before the failure stay in the media library, as they do
on a real shop.

Single requests are checked against the REST schema first (`check_fields`);
batch items are not, because WooCommerce's batch handler calls the
controller directly: there `"regular_price": 3.5` is taken and a bad status
quietly becomes "draft".

Image downloads are simulated and never leave the machine: a `src` succeeds
unless its host could not be reached from a shop (see `unreachable`), and
the file type comes from the URL's basename before `?`.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from pot_bridge.sandbox import wire
from pot_bridge.sandbox.formatting import (
    php_int,
    sanitize_title,
    wc_clean,
    wc_format_decimal,
    wc_string_to_bool,
)
from pot_bridge.sandbox.model import (
    BACKORDERS,
    CATALOG_VISIBILITIES,
    DEFAULT_CATEGORY,
    PRODUCT_STATUSES,
    STOCK_STATUSES,
    TAX_CLASSES,
    Media,
    Product,
)
from pot_bridge.sandbox.query import InvalidParams, enum_text
from pot_bridge.sandbox.state import ShopState

IMAGE_TYPES = frozenset(
    {"jpg", "jpeg", "jpe", "gif", "png", "bmp", "tif", "tiff", "ico", "webp"}
)
UPLOAD_ERROR = "woocommerce_product_image_upload_error"
# The text T-16 quotes; WordPress 6.x core words the same refusal
# "Sorry, you are not allowed to upload this file type." (no recording yet).
NOT_PERMITTED = "Sorry, this file type is not permitted for security reasons."
NO_URL = "A valid URL was not provided."
# wp_safe_remote_get only fetches from these ports
SAFE_PORTS = frozenset({80, 443, 8080})
PRODUCT_TYPES = ("simple", "grouped", "external", "variable")
# Core fields written through meta_data go to their setter, as WC_Data does.
META_SETTERS = {
    "_sku": "sku",
    "_regular_price": "regular_price",
    "_sale_price": "sale_price",
    "_tax_class": "tax_class",
    "_weight": "weight",
    "_stock_status": "stock_status",
    "_manage_stock": "manage_stock",
    "_backorders": "backorders",
}
# Internal keys the sandbox does not model are dropped; WooCommerce would
# write some of them (`_price`, `_stock`) straight into post meta.
META_DROPPED = frozenset(
    {
        "_price",
        "_stock",
        "_low_stock_amount",
        "_visibility",
        "_featured",
        "_thumbnail_id",
        "_product_image_gallery",
        "_tax_status",
        "_virtual",
        "_downloadable",
        "_sold_individually",
        "total_sales",
        "_product_version",
        "_edit_lock",
        "_edit_last",
    }
)


class SaveError(Exception):
    """WooCommerce refused to save: what its WP_Error would say."""

    def __init__(self, code: str, message: str, status: int = 400, **data: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.data = data

    def body(self) -> dict[str, Any]:
        return wire.error(self.code, self.message, self.status, **self.data)

    def item(self, item_id: object) -> dict[str, Any]:
        """The entry a batch answer carries in place of the product."""
        return {"id": item_id, "error": self.body()}


def _given(body: dict[str, Any], key: str) -> bool:
    """PHP's isset: present and not null."""
    return body.get(key) is not None


# -- SKUs ---------------------------------------------------------------------


def sku_owner(state: ShopState, sku: str, exclude: int = 0) -> int | None:
    """The product holding `sku`, compared as MySQL's collation does (any case);
    trashed products free their SKU."""
    wanted = sku.casefold()
    for product in state.products.values():
        if (
            product.id != exclude
            and product.status != "trash"
            and product.sku.casefold() == wanted
        ):
            return product.id
    return None


def unique_sku(state: ShopState, sku: str, exclude: int = 0) -> str:
    """The suggestion WooCommerce sends back: the SKU with -1, -2, ... appended."""
    index = 1
    while sku_owner(state, f"{sku}-{index}", exclude) is not None:
        index += 1

    return f"{sku}-{index}"


def _set_sku(state: ShopState, draft: Product, value: object) -> None:
    sku = wc_clean(value)
    owner = sku_owner(state, sku, draft.id) if sku else None
    if owner is not None:
        raise SaveError(
            "product_invalid_sku",
            "Invalid or duplicated SKU.",
            resource_id=owner,
            unique_sku=unique_sku(state, sku, draft.id),
        )
    draft.sku = sku


# -- images -------------------------------------------------------------------


def unreachable(state: ShopState, url: str) -> bool:
    """Whether a shop's download of `url` fails before any byte arrives.

    WordPress fetches images with wp_safe_remote_get, which refuses hosts that
    do not resolve, private and loopback addresses and ports other than 80,
    443 and 8080. Reserved names (.invalid, .test, .localhost, ...) stand in
    for hosts that do not resolve; `state.unreachable_hosts` stages a dead CDN.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return True
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return True
    if host in state.unreachable_hosts or (port is not None and port not in SAFE_PORTS):
        return True
    if host == "localhost" or host.endswith(
        (".invalid", ".test", ".localhost", ".local", ".internal", ".example")
    ):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return "." not in host


def _file_name(state: ShopState, name: str, folder: str) -> str:
    """wp_unique_filename: "apfel.jpg", then "apfel-1.jpg", "apfel-2.jpg", ..."""
    name = re.sub(r"[^A-Za-z0-9._-]", "", name.replace(" ", "-")) or "image"
    stem, _dot, ext = name.rpartition(".")
    taken = {m.src for m in state.media.values()}
    candidate, index = name, 1
    while f"{folder}/{candidate}" in taken:
        candidate = f"{stem}-{index}.{ext}"
        index += 1

    return candidate


def _download(state: ShopState, src: str, parent_id: int) -> Media:
    """Store the image at `src` as a new attachment, as every save with a `src` does."""
    url = src.strip()
    if unreachable(state, url):
        raise SaveError(
            UPLOAD_ERROR, f"Error getting remote image {url}. Error: {NO_URL}"
        )
    # the file name, and with it the type, is the basename before `?`
    name = posixpath.basename(url.split("?", 1)[0].rstrip("/"))
    _stem, dot, ext = name.rpartition(".")
    if not dot or ext.lower() not in IMAGE_TYPES:
        raise SaveError(UPLOAD_ERROR, f"Invalid image: {NOT_PERMITTED}")

    now = state.now()
    month = now.astimezone(wire.SITE_TZ).strftime("%Y/%m")
    folder = f"{state.base_url}/wp-content/uploads/{month}"
    file_name = _file_name(state, name, folder)
    media = Media(
        id=state._post_id(),
        src=f"{folder}/{file_name}",
        source=url,
        name=file_name,
        created=now,
        parent_id=parent_id,
    )
    state.media[media.id] = media

    return media


def _set_images(state: ShopState, draft: Product, images: object) -> None:
    """Replace the gallery; the first image is the featured one."""
    rows = images if isinstance(images, list) else []
    kept = [(index, row) for index, row in enumerate(rows) if row]
    featured: list[Media] = []
    gallery: list[Media] = []
    for index, row in kept:
        image = row if isinstance(row, dict) else {}
        attachment = abs(php_int(image.get("id") or 0))
        if attachment == 0 and _given(image, "src"):
            attachment = _download(state, str(image["src"]), draft.id).id
        media = state.media.get(attachment)
        if media is None:
            raise SaveError(
                "woocommerce_product_invalid_image_id",
                f"#{attachment} is an invalid image ID.",
            )
        (featured if index == 0 else gallery).append(media)
        if image.get("alt"):
            media.alt = wc_clean(image["alt"])
        if image.get("name"):
            media.name = str(image["name"])
    draft.images = featured + gallery


# -- meta ---------------------------------------------------------------------


def _stored(value: object) -> object:
    """A meta value as it reads back: scalars come back as strings."""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value if isinstance(value, str) else str(value)


def _plain(value: object) -> object:
    """Inside arrays PHP keeps the types; only our Decimals need to become floats."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _update_meta(
    state: ShopState, draft: Product, key: str, value: object, meta_id: int
) -> None:
    """WC_Data::update_meta_data: by id, else the first row of the key (the
    others go), else a new row; a null value deletes on save."""
    if key in META_SETTERS:
        _set_field(state, draft, META_SETTERS[key], value)
        return
    if key in META_DROPPED:
        return
    rows = draft.meta
    if meta_id:
        target = next((row for row in rows if row[0] == meta_id), None)
    else:
        matches = [row for row in rows if row[1] == key]
        for row in matches:
            row[2] = None
        target = matches[0] if matches else None
    if target is not None:
        target[1], target[2] = key, value
        return
    for row in rows:  # an unknown id adds the key as unique: the old rows go
        if row[1] == key:
            row[2] = None
    rows.append([None, key, value])


def _save_meta(state: ShopState, draft: Product) -> None:
    kept = []
    for meta_id, key, value in draft.meta:
        if value is None:
            continue
        kept.append([meta_id or state._meta_id(), key, _stored(value)])
    draft.meta = kept


# -- fields -------------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value)


def _set_field(state: ShopState, draft: Product, name: str, value: object) -> None:
    """One WC_Product setter."""
    if name == "sku":
        _set_sku(state, draft, value)
    elif name in ("regular_price", "sale_price", "weight"):
        setattr(draft, name, wc_format_decimal(value))
    elif name == "tax_class":
        tax_class = sanitize_title(_text(value))
        tax_class = "" if tax_class == "standard" else tax_class
        draft.tax_class = tax_class if tax_class in TAX_CLASSES else ""
    elif name == "stock_status":
        status = _text(value)
        draft.stock_status = status if status in STOCK_STATUSES else "instock"
    elif name == "manage_stock":
        draft.manage_stock = wc_string_to_bool(value)
    elif name == "backorders":
        draft.backorders = _text(value)
    elif name == "catalog_visibility":
        if value not in CATALOG_VISIBILITIES:
            raise SaveError(
                "product_invalid_catalog_visibility",
                "Invalid catalog visibility option.",
            )
        draft.catalog_visibility = str(value)


def _set_stock(draft: Product, body: dict[str, Any]) -> None:
    """The REST controller's stock block, stock management being on shop-wide."""
    wanted = (
        body["stock_status"] if _given(body, "stock_status") else draft.stock_status
    )
    if _given(body, "manage_stock"):
        draft.manage_stock = wc_string_to_bool(body["manage_stock"])
    if _given(body, "backorders"):
        draft.backorders = _text(body["backorders"])
    draft.stock_status = wanted if wanted in STOCK_STATUSES else "instock"
    if not draft.manage_stock:
        draft.stock_quantity = None
        draft.low_stock_amount = None
        return
    if _given(body, "stock_quantity"):
        draft.stock_quantity = php_int(body["stock_quantity"])
    elif _given(body, "inventory_delta"):
        draft.stock_quantity = (draft.stock_quantity or 0) + php_int(
            body["inventory_delta"]
        )
    if "low_stock_amount" in body:
        amount = body["low_stock_amount"]
        draft.low_stock_amount = None if amount is None else php_int(amount)


def _validate_props(draft: Product) -> None:
    """WC_Product::validate_props on save: stock fields follow manage_stock."""
    if not draft.manage_stock:
        draft.stock_quantity = None
        draft.backorders = "no"
        draft.low_stock_amount = None
        return
    if (draft.stock_quantity or 0) > 0:
        draft.stock_status = "instock"
    elif draft.backorders != "no":
        draft.stock_status = "onbackorder"
    else:
        draft.stock_status = "outofstock"


def _unique_slug(state: ShopState, slug: str, product_id: int) -> str:
    taken = {p.slug for p in state.products.values() if p.id != product_id}
    candidate, index = slug, 2
    while candidate in taken:
        candidate = f"{slug}-{index}"
        index += 1

    return candidate


def save_product(
    state: ShopState, body: dict[str, Any], existing: Product | None
) -> Product:
    """Apply one create (`existing` None) or update body; raise SaveError to abort."""
    now = state.now()
    draft = existing.clone() if existing else _blank(now)

    kind = body.get("type")
    if kind is not None and kind in PRODUCT_TYPES and kind != "simple":
        raise SaveError(
            "sandbox_unsupported_product_type",
            "The sandbox shop models simple products only.",
        )
    if _given(body, "name"):
        draft.name = _text(body["name"])
    for name in ("description", "short_description"):
        if _given(body, name):
            setattr(draft, name, _text(body[name]))
    if _given(body, "status"):
        status = _text(body["status"])
        draft.status = status if status in PRODUCT_STATUSES else "draft"
    if _given(body, "slug"):
        draft.slug = sanitize_title(_text(body["slug"]))
    for name in ("tax_class", "catalog_visibility", "weight", "sku"):
        if _given(body, name):
            _set_field(state, draft, name, body[name])
    for name in ("regular_price", "sale_price"):
        if _given(body, name):
            _set_field(state, draft, name, body[name])
    _set_stock(draft, body)

    _set_categories(state, draft, body.get("categories"), existing is None)
    if _given(body, "images"):
        _set_images(state, draft, body["images"])
    meta = body.get("meta_data")
    if isinstance(meta, list):
        for row in meta:
            if isinstance(row, dict) and _given(row, "key"):
                meta_id = php_int(row.get("id") or 0)
                _update_meta(state, draft, _text(row["key"]), row.get("value"), meta_id)

    return _commit(state, draft, existing is None)


def _set_categories(
    state: ShopState, draft: Product, rows: object, creating: bool
) -> None:
    """The list replaces the set. Ids that name no category are skipped without
    a word (wp_set_object_terms); an empty list means the default category."""
    if not isinstance(rows, list):
        if creating and DEFAULT_CATEGORY in state.categories:
            draft.categories = [state.categories[DEFAULT_CATEGORY]]
        return
    ids = [
        php_int(row["id"])
        for row in rows
        if isinstance(row, dict) and _given(row, "id")
    ]
    wanted = list(dict.fromkeys(ids)) or [DEFAULT_CATEGORY]
    draft.categories = [state.categories[i] for i in wanted if i in state.categories]


def _blank(now: datetime) -> Product:
    return Product(
        id=0,
        name="",
        sku="",
        regular_price="",
        tax_class="",
        categories=[],
        meta=[],
        created=now,
        modified=now,
    )


def _commit(state: ShopState, draft: Product, creating: bool) -> Product:
    """WC_Product::save: stock rules, ids, dates, slug; every save stamps the date."""
    _validate_props(draft)
    if creating:
        draft.id = state._post_id()
        draft.name = draft.name or "Product"
    draft.modified = state.now()
    if creating:
        draft.created = draft.modified
    _save_meta(state, draft)
    if draft.status not in wire.UNPUBLISHED and not draft.slug:
        draft.slug = sanitize_title(draft.name) or str(draft.id)
    if draft.slug:
        draft.slug = _unique_slug(state, draft.slug, draft.id)
    state.products[draft.id] = draft

    return draft


def remove_product(state: ShopState, product_id: int, *, force: bool) -> Product:
    """Delete for good (`force`, as batch deletes do) or move to the trash.

    Returns the product as it was before, which is what WooCommerce answers.
    """
    product = state.products.get(product_id)
    if product is None:
        raise SaveError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
    before = product.clone()
    if force:
        del state.products[product_id]
        return before
    if product.status == "trash":
        raise SaveError(
            "woocommerce_rest_already_trashed",
            "The product has already been deleted.",
            410,
        )
    product.status = "trash"
    product.modified = state.now()

    return before


# -- schema of single requests ------------------------------------------------

STRINGS = (
    "name",
    "slug",
    "description",
    "short_description",
    "sku",
    "regular_price",
    "sale_price",
    "tax_class",
    "weight",
)
ENUMS = {
    "type": PRODUCT_TYPES,
    "status": PRODUCT_STATUSES,
    "catalog_visibility": CATALOG_VISIBILITIES,
    "stock_status": STOCK_STATUSES,
    "backorders": BACKORDERS,
}
INTEGERS = ("stock_quantity", "low_stock_amount", "menu_order")
BOOLEANS = ("manage_stock", "featured", "virtual")
OBJECT_LISTS = ("categories", "images", "meta_data")


def is_integer(value: object) -> bool:
    """rest_is_integer: numbers and numeric strings without a fraction."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return False
    return number.is_finite() and number == number.to_integral_value()


def is_boolean(value: object) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, str):
        return value.lower() in ("true", "false", "1", "0")
    return isinstance(value, int) and value in (0, 1)


def check_fields(body: dict[str, Any]) -> None:
    """Validate a single POST/PUT body against the products schema, as WordPress
    does before the controller runs; raise InvalidParams listing every problem."""
    bad = InvalidParams()
    for name in STRINGS:
        if name in body and not isinstance(body[name], str):
            bad.add(name, "rest_invalid_type", f"{name} is not of type string.")
    for name, enum in ENUMS.items():
        if name not in body:
            continue
        if not isinstance(body[name], str):
            bad.add(name, "rest_invalid_type", f"{name} is not of type string.")
        elif body[name] not in enum:
            bad.add(
                name, "rest_not_in_enum", f"{name} is not one of {enum_text(enum)}."
            )
    for name in INTEGERS:
        value = body.get(name, 0)
        if value is None and name == "low_stock_amount":
            continue
        if not is_integer(value):
            bad.add(name, "rest_invalid_type", f"{name} is not of type integer.")
    for name in BOOLEANS:
        if name in body and not is_boolean(body[name]):
            bad.add(name, "rest_invalid_type", f"{name} is not of type boolean.")
    for name in OBJECT_LISTS:
        if name not in body:
            continue
        rows = body[name]
        if not isinstance(rows, list):
            bad.add(name, "rest_invalid_type", f"{name} is not of type array.")
            continue
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                message = f"{name}[{index}] is not of type object."
                bad.add(name, "rest_invalid_type", message)
                break
            if name == "categories" and "id" in row and not is_integer(row["id"]):
                message = f"{name}[{index}][id] is not of type integer."
                bad.add(name, "rest_invalid_type", message)
                break
    if bad.params:
        raise bad


def check_batch(body: dict[str, Any]) -> None:
    """The batch route's own schema: three lists, objects or integer ids."""
    bad = InvalidParams()
    for name, kind in (("create", "object"), ("update", "object"), ("delete", "int")):
        rows = body.get(name)
        if rows is None:
            continue
        if not isinstance(rows, list):
            bad.add(name, "rest_invalid_type", f"{name} is not of type array.")
            continue
        for index, row in enumerate(rows):
            ok = isinstance(row, dict) if kind == "object" else is_integer(row)
            if not ok:
                typename = "object" if kind == "object" else "integer"
                message = f"{name}[{index}] is not of type {typename}."
                bad.add(name, "rest_invalid_type", message)
                break
    if bad.params:
        raise bad
