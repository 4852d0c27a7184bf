"""The sandbox answers in the recorded WooCommerce 9.9.5 shapes and headers."""

from __future__ import annotations

import json
from decimal import Decimal

import requests
from sandbox_helpers import POT, WC, fixture, signed_url, wc_get

from pot_bridge.sandbox import SandboxShop


def _keys(obj: dict[str, object]) -> list[str]:
    return list(obj)


def test_order_keys_match_the_recording(shop: SandboxShop) -> None:
    """Order, line item and meta keys equal the recorded order's, in order."""
    recorded = fixture(WC / "order_get_completed_wallet_multi_items.json")["body"]

    got = wc_get(shop, "orders/131").json()

    assert _keys(recorded) == _keys(got)
    assert _keys(recorded["line_items"][0]) == _keys(got["line_items"][0])
    assert _keys(recorded["line_items"][0]["meta_data"][0]) == _keys(
        got["line_items"][0]["meta_data"][0]
    )
    assert _keys(recorded["tax_lines"][0]) == _keys(got["tax_lines"][0])
    assert _keys(recorded["shipping_lines"][0]) == _keys(got["shipping_lines"][0])
    assert _keys(recorded["billing"]) == _keys(got["billing"])


def test_product_and_customer_keys_match_the_recording(shop: SandboxShop) -> None:
    product = fixture(WC / "product_get_simple_stock_managed.json")["body"]
    customer = fixture(WC / "customer_get.json")["body"]

    got_product = wc_get(shop, "products/19").json()
    got_customer = wc_get(shop, "customers/3").json()

    assert _keys(product) == _keys(got_product)
    assert _keys(customer) == _keys(got_customer)
    assert _keys(customer["billing"]) == _keys(got_customer["billing"])
    assert _keys(customer["shipping"]) == _keys(got_customer["shipping"])


def test_refund_keys_match_the_recording(shop: SandboxShop) -> None:
    recorded = fixture(POT / "order_refund_create_wallet_api_refund.json")["body"]

    got = wc_get(shop, "orders/137/refunds").json()[0]

    assert _keys(recorded) == _keys(got)
    assert _keys(recorded["line_items"][0]) == _keys(got["line_items"][0])


def test_list_headers_match_the_recording(shop: SandboxShop) -> None:
    """Same header names, in the same order, as a recorded first page."""
    recorded = fixture(WC / "orders_list_per_page20_page1.json")["headers"]
    wanted = [h for h in recorded if h not in ("Date", "X-Powered-By")]

    response = wc_get(shop, "orders", "per_page=5&page=1")
    got = [h for h in response.headers if h not in ("Date", "Server", "Content-Length")]

    assert wanted == got
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert response.headers["X-WP-Total"] == "12"
    assert response.headers["X-WP-TotalPages"] == "3"


def test_link_header_echoes_the_query_with_oauth(shop: SandboxShop) -> None:
    response = wc_get(shop, "orders", "per_page=5&page=2")
    link = response.headers["Link"]

    assert "per_page=5&page=1&oauth_consumer_key=" in link
    assert 'rel="prev"' in link
    assert "per_page=5&page=3&oauth_consumer_key=" in link
    assert link.endswith('&status%5B0%5D=any&dp=2&context=view>; rel="next"')


def test_orders_past_the_last_page_report_zero_totals(shop: SandboxShop) -> None:
    """HPOS quirk: 200 [] with X-WP-Total 0 and a prev link to page 0."""
    response = wc_get(shop, "orders", "per_page=20&page=7")

    assert response.status_code == 200
    assert response.json() == []
    assert response.headers["X-WP-Total"] == "0"
    assert response.headers["X-WP-TotalPages"] == "0"
    assert "page=0&" in response.headers["Link"]


def test_products_past_the_last_page_keep_true_totals(shop: SandboxShop) -> None:
    response = wc_get(shop, "products", "per_page=10&page=9")

    assert response.status_code == 200
    assert response.json() == []
    assert response.headers["X-WP-Total"] == "27"
    assert response.headers["X-WP-TotalPages"] == "3"
    assert "page=3&" in response.headers["Link"]


def test_money_is_strings_and_price_a_float(shop: SandboxShop) -> None:
    """Prices include tax: net rounded to the Rappen, tax is the rest."""
    order = wc_get(shop, "orders/137").json()
    butterzopf = order["line_items"][3]

    assert order["total"] == "33.00"
    assert butterzopf["total"] == "6.63"
    assert butterzopf["total_tax"] == "0.17"
    assert butterzopf["taxes"] == [{"id": 2, "total": "0.17232", "subtotal": "0.17232"}]
    assert butterzopf["price"] == 6.62768
    assert order["refunds"] == [
        {
            "id": 141,
            "reason": "Mutation: Produkt nicht geliefert (Butterzopf)",
            "total": "-6.80",
        }
    ]
    lines = sum(
        Decimal(li["total"]) + Decimal(li["total_tax"]) for li in order["line_items"]
    )
    assert Decimal(order["total"]) == lines


def test_weighed_quantity_is_a_json_float(shop: SandboxShop) -> None:
    raw = requests.get(signed_url(shop, "orders/142"), timeout=5).text

    assert '"quantity":0.352' in raw
    assert "\\/wp-json\\/" in raw  # PHP escapes slashes on the wire
    line = json.loads(raw)["line_items"][0]
    assert line["total"] == "13.21"
    assert line["total_tax"] == "0.34"


def test_dates_are_site_local_and_gmt_without_suffix(shop: SandboxShop) -> None:
    order = wc_get(shop, "orders/143").json()

    assert order["date_created_gmt"] == "2026-12-04T12:00:00"
    assert order["date_created"] == "2026-12-04T13:00:00"
    assert order["date_paid_gmt"] == "2026-12-04T12:00:00"
    assert order["date_completed"] is None


def test_error_bodies_equal_the_recording(shop: SandboxShop) -> None:
    cases = [
        ("error_400_per_page_500.json", "orders", "per_page=500"),
        ("error_400_invalid_status.json", "orders", "status=shipped"),
        (
            "orders_modified_after_date_only_invalid.json",
            "orders",
            "modified_after=2026-11-15&dates_are_gmt=true",
        ),
        ("error_404_unknown_order.json", "orders/999999", ""),
        ("error_404_unknown_route.json", "ordres", ""),
        ("product_get_unknown_404.json", "products/99999", ""),
        ("customer_get_unknown_404.json", "customers/99999", ""),
    ]
    for name, path, query in cases:
        recorded = fixture(WC / name)

        response = wc_get(shop, path, query)

        assert (recorded["status"], recorded["body"]) == (
            response.status_code,
            response.json(),
        ), name


def test_site_local_customer_order_is_by_name(shop: SandboxShop) -> None:
    """Customers default to role=customer and display-name order."""
    names = [c["first_name"] for c in wc_get(shop, "customers", "per_page=100").json()]
    everyone = wc_get(shop, "customers", "role=all&orderby=id&per_page=100").json()

    assert names == sorted(names)
    assert len(names) == 10
    assert [c["id"] for c in everyone] == [1, *range(2, 12), 12, 14]
