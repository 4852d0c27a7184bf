"""JSON shapes of the sandbox shop, key for key as WooCommerce 9.9.5 sends them.

Every function here turns a record from `model` into the dict a real shop
would answer (see the recorded fixtures); nothing here changes state.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pot_bridge.sandbox.formatting import sanitize_title, wpautop
from pot_bridge.sandbox.model import (
    MICRO,
    TAX_RATES,
    Category,
    Customer,
    LineItem,
    Media,
    Order,
    Product,
    Refund,
    Round,
    as_decimal,
)

SITE_TZ = ZoneInfo("Europe/Zurich")
UTC = ZoneInfo("UTC")
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
UNPUBLISHED = frozenset({"draft", "pending", "auto-draft"})


def dumps(obj: object) -> str:
    """Encode like PHP's json_encode: compact, `\\u` escapes and `\\/`."""
    return json.dumps(obj, separators=(",", ":")).replace("/", "\\/")


def money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):.2f}"


def trimmed(amount: Decimal) -> str:
    """wc_format_decimal without dp: at most 6 places, trailing zeros cut."""
    text = f"{amount.quantize(MICRO, rounding=ROUND_HALF_UP):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")

    return "0" if text in ("-0", "") else text


def number(qty: Decimal) -> int | float:
    """Quantities are JSON numbers: ints when whole, floats when weighed."""
    return int(qty) if qty == qty.to_integral_value() else float(qty)


def local(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(SITE_TZ).strftime("%Y-%m-%dT%H:%M:%S")


def gmt(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def error(code: str, message: str, status: int, **data: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "data": {"status": status, **data}}


def _self_links(href: str, collection: str, allow: list[str]) -> dict[str, Any]:
    return {
        "self": [{"href": href, "targetHints": {"allow": allow}}],
        "collection": [{"href": collection}],
    }


def _item_meta(meta: list[list[object]]) -> list[dict[str, object]]:
    return [
        {
            "id": mid,
            "key": key,
            "value": value,
            "display_key": key,
            "display_value": value,
        }
        for mid, key, value in meta
    ]


def _order_meta(meta: list[list[object]]) -> list[dict[str, object]]:
    # HPOS hands order meta back sorted by key
    ordered = sorted(meta, key=lambda row: str(row[1]))
    return [{"id": mid, "key": key, "value": value} for mid, key, value in ordered]


def line_json(line: LineItem) -> dict[str, Any]:
    exact_net, net, tax = line.totals
    rate_id = TAX_RATES[line.tax_class][0]
    per_rate = trimmed(line.gross - exact_net)
    exact6 = exact_net.quantize(MICRO, rounding=ROUND_HALF_UP)

    return {
        "id": line.id,
        "name": line.name,
        "product_id": line.product_id,
        "variation_id": 0,
        "quantity": number(line.quantity),
        "tax_class": line.tax_class,
        "subtotal": money(net),
        "subtotal_tax": money(tax),
        "total": money(net),
        "total_tax": money(tax),
        "taxes": [{"id": rate_id, "total": per_rate, "subtotal": per_rate}],
        "meta_data": _item_meta(line.meta),
        "sku": line.sku,
        "price": float(exact6) / float(line.quantity) if line.quantity else 0,
        "image": {"id": "", "src": ""},
        "parent_name": None,
    }


def _tax_lines(order: Order) -> list[dict[str, Any]]:
    sums: dict[str, Decimal] = {}
    for line in order.lines:
        sums[line.tax_class] = sums.get(line.tax_class, Decimal(0)) + line.totals[2]
    rows = []
    for tax_class, total in sums.items():
        rate_id, rate, code, label = TAX_RATES[tax_class]
        rows.append(
            {
                "id": order.tax_line_ids.get(tax_class, 0),
                "rate_code": code,
                "rate_id": rate_id,
                "label": label,
                "compound": False,
                "tax_total": money(total),
                "shipping_tax_total": "0.00",
                "rate_percent": float(rate),
                "meta_data": [],
            }
        )
    return rows


def order_json(order: Order, base: str) -> dict[str, Any]:
    tax = sum((line.totals[2] for line in order.lines), Decimal(0))
    href = f"{base}/wp-json/wc/v3/orders/{order.id}"
    links = _self_links(href, f"{base}/wp-json/wc/v3/orders", ALL_METHODS)
    links["email_templates"] = [
        {"embeddable": True, "href": f"{href}/actions/email_templates"}
    ]
    if order.customer_id:
        links["customer"] = [
            {"href": f"{base}/wp-json/wc/v3/customers/{order.customer_id}"}
        ]
    from_checkout = order.created_via in ("checkout", "store-api")

    return {
        "id": order.id,
        "parent_id": 0,
        "status": order.status,
        "currency": "CHF",
        "version": "9.9.5",
        "prices_include_tax": True,
        "date_created": local(order.created),
        "date_modified": local(order.modified),
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": "0.00",
        "shipping_tax": "0.00",
        "cart_tax": money(tax),
        "total": money(order.total),
        "total_tax": money(tax),
        "customer_id": order.customer_id,
        "order_key": order.order_key,
        "billing": dict(order.billing),
        "shipping": dict(order.shipping),
        "payment_method": order.payment_method,
        "payment_method_title": order.payment_method_title,
        "transaction_id": "",
        "customer_ip_address": "127.0.0.1" if from_checkout else "",
        "customer_user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
        if from_checkout
        else "",
        "created_via": order.created_via,
        "customer_note": "",
        "date_completed": local(order.date_completed),
        "date_paid": local(order.date_paid),
        "cart_hash": order.order_key[-12:].encode().hex() if from_checkout else "",
        "number": str(order.id),
        "meta_data": _order_meta(order.meta),
        "line_items": [line_json(line) for line in order.lines],
        "tax_lines": _tax_lines(order),
        "shipping_lines": [
            {
                "id": order.shipping_line_id,
                "method_title": "Abholung im Depot",
                "method_id": "local_pickup",
                "instance_id": "1" if from_checkout else "",
                "total": "0.00",
                "total_tax": "0.00",
                "taxes": [],
                "tax_status": "taxable",
                "meta_data": [],
            }
        ],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [
            {"id": r.id, "reason": r.reason, "total": money(-r.amount)}
            for r in reversed(order.refunds)
        ],
        "payment_url": f"{base}/checkout/order-pay/{order.id}/"
        f"?pay_for_order=true&key={order.order_key}",
        "is_editable": order.status in ("pending", "on-hold", "auto-draft"),
        "needs_payment": order.status in ("pending", "failed"),
        "needs_processing": True,
        "date_created_gmt": gmt(order.created),
        "date_modified_gmt": gmt(order.modified),
        "date_completed_gmt": gmt(order.date_completed),
        "date_paid_gmt": gmt(order.date_paid),
        "currency_symbol": "CHF",
        "_links": links,
    }


def refund_json(refund: Refund, base: str, *, with_parent: bool) -> dict[str, Any]:
    href = f"{base}/wp-json/wc/v3/orders/{refund.order_id}/refunds"
    links = _self_links(f"{href}/{refund.id}", href, ["GET", "DELETE"])
    links["up"] = [{"href": f"{base}/wp-json/wc/v3/orders/{refund.order_id}"}]
    lines = []
    tax_sum = Decimal(0)
    for rl in refund.lines:
        tax_sum += rl.tax
        lines.append(
            {
                "id": rl.id,
                "name": rl.item.name,
                "product_id": rl.item.product_id,
                "variation_id": 0,
                "quantity": number(rl.quantity),
                "tax_class": rl.item.tax_class,
                "subtotal": money(rl.total),
                "subtotal_tax": money(rl.tax),
                "total": money(rl.total),
                "total_tax": money(rl.tax),
                "taxes": [
                    {
                        "id": TAX_RATES[rl.item.tax_class][0],
                        "total": trimmed(rl.tax),
                        "subtotal": trimmed(rl.tax),
                    }
                ],
                "meta_data": _item_meta(
                    [[rl.meta_id, "_refunded_item_id", str(rl.item.id)]]
                ),
                "sku": rl.item.sku,
                "price": float(rl.total) / float(rl.quantity) if rl.quantity else 0,
                "image": {"id": "", "src": ""},
                "parent_name": None,
            }
        )
    tax_lines = []
    if refund.lines:
        tax_class = refund.lines[0].item.tax_class
        rate_id, rate, code, label = TAX_RATES[tax_class]
        tax_lines.append(
            {
                "id": refund.tax_line_id,
                "rate_code": code,
                "rate_id": rate_id,
                "label": label,
                "compound": False,
                "tax_total": money(tax_sum),
                "shipping_tax_total": "0.00",
                "rate_percent": float(rate),
                "meta_data": [],
            }
        )
    body: dict[str, Any] = {"id": refund.id}
    if with_parent:
        body["parent_id"] = refund.order_id
    body.update(
        {
            "date_created": local(refund.created),
            "date_created_gmt": gmt(refund.created),
            "amount": money(refund.amount),
            "reason": refund.reason,
            "refunded_by": refund.refunded_by,
            "refunded_payment": refund.refunded_payment,
            "meta_data": [{"id": m, "key": k, "value": v} for m, k, v in refund.meta],
            "line_items": lines,
            "shipping_lines": [],
            "tax_lines": tax_lines,
            "fee_lines": [],
            "_links": links,
        }
    )
    return body


def _amount_html(text: str) -> str:
    amount = Decimal(text).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    shown = f"{amount:,.2f}".replace(",", "'")  # the shop's thousand separator
    return (
        '<span class="woocommerce-Price-amount amount"><bdi>'
        '<span class="woocommerce-Price-currencySymbol">&#67;&#72;&#70;</span>'
        f"&nbsp;{shown}</bdi></span>"
    )


def price_html(product: Product) -> str:
    if as_decimal(product.price_text) is None:
        return ""
    if not product.on_sale:
        return _amount_html(product.price_text)
    regular, sale = product.regular_price, product.sale_price
    chf = "&#067;&#072;&#070;&nbsp;"

    return (
        f'<del aria-hidden="true">{_amount_html(regular)}</del> '
        f'<span class="screen-reader-text">Original price was: {chf}{regular}.</span>'
        f'<ins aria-hidden="true">{_amount_html(sale)}</ins>'
        f'<span class="screen-reader-text">Current price is: {chf}{sale}.</span>'
    )


def image_json(media: Media) -> dict[str, Any]:
    return {
        "id": media.id,
        "date_created": local(media.created),
        "date_created_gmt": gmt(media.created),
        "date_modified": local(media.created),
        "date_modified_gmt": gmt(media.created),
        "src": media.src,
        "name": media.name,
        "alt": media.alt,
    }


def product_permalink(product: Product, base: str) -> str:
    """Drafts have no slug yet, so WordPress links them by id."""
    if product.slug and product.status not in UNPUBLISHED:
        return f"{base}/product/{product.slug}/"
    return f"{base}/?post_type=product&p={product.id}"


def product_json(product: Product, base: str, *, edit: bool = False) -> dict[str, Any]:
    """A product as GET shows it, or with `edit` as a write answers (raw texts)."""
    href = f"{base}/wp-json/wc/v3/products/{product.id}"
    managed = product.manage_stock
    allowed = managed and product.backorders != "no"
    quantity = product.stock_quantity if managed else None

    def text(raw: str) -> str:  # `view` renders, `edit` shows what is stored
        return raw if edit else wpautop(raw)

    body: dict[str, Any] = {
        "id": product.id,
        "name": product.name,
        "slug": product.slug,
        "permalink": product_permalink(product, base),
        "date_created": local(product.created),
        "date_created_gmt": gmt(product.created),
        "date_modified": local(product.modified),
        "date_modified_gmt": gmt(product.modified),
        "type": "simple",
        "status": product.status,
        "featured": False,
        "catalog_visibility": product.catalog_visibility,
        "description": text(product.description),
        "short_description": text(product.short_description),
        "sku": product.sku,
        "price": product.price_text,
        "regular_price": product.regular_price,
        "sale_price": product.sale_price,
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "on_sale": product.on_sale,
        # the API user may edit every post, so drafts are purchasable too
        "purchasable": product.price_text != "",
        "total_sales": product.total_sales,
        "virtual": product.virtual,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "external_url": "",
        "button_text": "",
        "tax_status": "taxable",
        "tax_class": product.tax_class,
        "manage_stock": managed,
        "stock_quantity": quantity,
        "backorders": product.backorders,
        "backorders_allowed": allowed,
        "backordered": product.stock_status == "onbackorder"
        or (allowed and (quantity or 0) < 0),
        "low_stock_amount": product.low_stock_amount if managed else None,
        "sold_individually": False,
        "weight": product.weight,
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_required": not product.virtual,
        "shipping_taxable": not product.virtual,
        "shipping_class": "",
        "shipping_class_id": 0,
        "reviews_allowed": True,
        "average_rating": "0" if edit else "0.00",  # `view` formats 2 places
        "rating_count": 0,
        "upsell_ids": [],
        "cross_sell_ids": [],
        "parent_id": 0,
        "purchase_note": "",
        "categories": [
            {"id": c.id, "name": c.name, "slug": c.slug} for c in product.categories
        ],
        "brands": [],
        "tags": [],
        "images": [image_json(m) for m in product.images],
        "attributes": [],
        "default_attributes": [],
        "variations": [],
        "grouped_products": [],
        "menu_order": 0,
        "price_html": price_html(product),
        "related_ids": [],
        "meta_data": [{"id": m, "key": k, "value": v} for m, k, v in product.meta],
        "stock_status": product.stock_status,
        "has_options": False,
        "post_password": "",
        "global_unique_id": "",
    }
    if edit:
        body["permalink_template"] = f"{base}/product/%pagename%/"
        body["generated_slug"] = product.slug or sanitize_title(product.name)
    body["_links"] = _self_links(href, f"{base}/wp-json/wc/v3/products", ALL_METHODS)

    return body


def category_json(category: Category, base: str, count: int) -> dict[str, Any]:
    collection = f"{base}/wp-json/wc/v3/products/categories"
    links = _self_links(f"{collection}/{category.id}", collection, ALL_METHODS)
    if category.parent:
        links["up"] = [{"href": f"{collection}/{category.parent}"}]

    return {
        "id": category.id,
        "name": category.name,
        "slug": category.slug,
        "parent": category.parent,
        "description": category.description,
        "display": category.display,
        "image": None,
        "menu_order": category.menu_order,
        "count": count,
        "_links": links,
    }


def customer_json(customer: Customer, base: str) -> dict[str, Any]:
    street, postcode, city = customer.address
    address = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "company": "",
        "address_1": street,
        "address_2": "",
        "city": city,
        "postcode": postcode,
        "country": "CH" if street else "",
        "state": "ZH" if street else "",
    }
    href = f"{base}/wp-json/wc/v3/customers/{customer.id}"

    return {
        "id": customer.id,
        "date_created": local(customer.created),
        "date_created_gmt": gmt(customer.created),
        "date_modified": local(customer.modified),
        "date_modified_gmt": gmt(customer.modified),
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "role": customer.role,
        "username": customer.username,
        "billing": {**address, "email": customer.email, "phone": customer.phone},
        "shipping": {**address, "phone": ""},
        "is_paying_customer": customer.role == "customer",
        "avatar_url": "https://secure.gravatar.com/avatar/?s=96&d=mm&r=g",
        "meta_data": [{"id": m, "key": k, "value": v} for m, k, v in customer.meta],
        "_links": _self_links(href, f"{base}/wp-json/wc/v3/customers", ALL_METHODS),
    }


def round_json(rnd: Round) -> dict[str, Any]:
    """One round as getBestellrunden lists it: post fields plus string meta."""
    body: dict[str, Any] = {
        "id": rnd.id,
        "author": str(rnd.author),
        "date_created": rnd.created.astimezone(SITE_TZ).strftime("%Y-%m-%d %H:%M:%S"),
        "bestellrunde_bild": False,
        "bestellrunde_start": rnd.start.isoformat(),
        "bestellrunde_ende": rnd.end.isoformat(),
        "bestellrunde_verteiltag": rnd.distribution.isoformat(),
        "bestellrunde_name": rnd.name,
        "bestellrunde_products": dumps([str(pid) for pid in rnd.products]),
    }
    if rnd.complete:
        body["bestellrunde_complete"] = "1"
    return body
