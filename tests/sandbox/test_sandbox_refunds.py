"""Creating refunds over the wire, against what WooCommerce 9.9.5 answered.

The recorded refund is order 60's Dinkelbrot line: 4 x 4.90 with prices
including 2.6 % tax, so net 19.10 and tax 0.496686. The sandbox sells the same
bread at the same price, so the answers can be compared value for value.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
import requests
from sandbox_helpers import WC, fixture, wc_get, wc_send

from pot_bridge.sandbox import Fault, SandboxShop

DINKELBROT = 25
# `refunded_by` is the user of the key: the recording's admin (1), the bridge (14)
VOLATILE = {"id", "date_created", "date_created_gmt", "refunded_by", "_links"}


def bread_order(shop: SandboxShop, payment_method: str = "bacs") -> tuple[int, int]:
    """An order of 4 Dinkelbrot, as recorded; its id and the line's id."""
    order = shop.state.add_order(
        7, [(DINKELBROT, 4)], round_id=None, payment_method=payment_method
    )
    return order["id"], order["line_items"][0]["id"]


def recorded_request(name: str, item_id: int) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(fixture(WC / name)["request"]["body"])
    body["line_items"][0]["id"] = item_id
    return body


def stable(refund: dict[str, Any]) -> dict[str, Any]:
    """A refund without the values that differ between shops (ids, dates, URLs)."""
    kept = {k: v for k, v in refund.items() if k not in VOLATILE}
    kept["line_items"] = [
        {
            k: v
            for k, v in line.items()
            if k not in ("id", "product_id", "sku", "meta_data")
        }
        for line in refund["line_items"]
    ]
    kept["tax_lines"] = [
        {k: v for k, v in row.items() if k != "id"} for row in refund["tax_lines"]
    ]
    return kept


def test_recorded_partial_refund_is_answered_as_recorded(shop: SandboxShop) -> None:
    recorded = fixture(WC / "order_refund_create_partial.json")
    order_id, item_id = bread_order(shop)

    response = wc_send(
        shop,
        "POST",
        f"orders/{order_id}/refunds",
        recorded_request("order_refund_create_partial.json", item_id),
    )

    assert recorded["status"] == response.status_code
    assert stable(recorded["body"]) == stable(response.json())
    line = response.json()["line_items"][0]
    assert [-4, "-19.10", "-0.50"] == [
        line["quantity"],
        line["total"],
        line["total_tax"],
    ]
    meta = line["meta_data"]
    assert [("_refunded_item_id", str(item_id))] == [
        (m["key"], m["value"]) for m in meta
    ]
    assert list(recorded["body"]["line_items"][0]["meta_data"][0]) == list(meta[0])


def test_created_refund_has_the_recorded_headers(shop: SandboxShop) -> None:
    recorded = fixture(WC / "order_refund_create_partial.json")["headers"]
    order_id, item_id = bread_order(shop)

    response = wc_send(
        shop,
        "POST",
        f"orders/{order_id}/refunds",
        recorded_request("order_refund_create_partial.json", item_id),
    )

    refund_id = response.json()["id"]
    wanted = recorded["Location"].replace("http://127.0.0.1:8080", shop.url)
    wanted = wanted.replace("/refunds/113", f"/refunds/{refund_id}")
    assert wanted == response.headers["Location"]
    assert "(?P<order_id>[\\d]+)" in response.headers["Location"]
    ignored = ("Date", "X-Powered-By", "Server", "Content-Length")
    assert [h for h in recorded if h not in ignored] == [
        h for h in response.headers if h not in ignored
    ]


def test_refund_reads_back_as_recorded_and_leaves_the_line(shop: SandboxShop) -> None:
    got_back = fixture(WC / "order_refund_get_partial.json")["body"]
    after = fixture(WC / "order_get_after_partial_refund.json")["body"]
    order_id, item_id = bread_order(shop)
    created = wc_send(
        shop,
        "POST",
        f"orders/{order_id}/refunds",
        recorded_request("order_refund_create_partial.json", item_id),
    ).json()

    listed = wc_get(shop, f"orders/{order_id}/refunds").json()
    order = wc_get(shop, f"orders/{order_id}").json()

    assert [created] == listed
    assert stable(got_back) == stable(listed[0])
    assert after["line_items"][0]["quantity"] == order["line_items"][0]["quantity"]
    assert [{"id": created["id"], "reason": got_back["reason"], "total": "-19.60"}] == (
        order["refunds"]
    )


def test_gateway_without_refunds_fails_as_recorded(shop: SandboxShop) -> None:
    recorded = fixture(WC / "order_refund_create_error_gateway_api_refund.json")
    order_id, item_id = bread_order(shop)

    response = wc_send(
        shop,
        "POST",
        f"orders/{order_id}/refunds",
        recorded_request("order_refund_create_error_gateway_api_refund.json", item_id),
    )

    assert recorded["status"] == response.status_code
    assert recorded["body"] == response.json()
    assert 500 == response.json()["data"]
    assert [] == shop.state.orders[order_id].refunds


def test_wallet_gateway_refunds_the_payment_by_default(shop: SandboxShop) -> None:
    order_id, item_id = bread_order(shop, payment_method="foodcoop_guthaben")
    body = recorded_request(
        "order_refund_create_error_gateway_api_refund.json", item_id
    )

    response = wc_send(shop, "POST", f"orders/{order_id}/refunds", body)

    assert 201 == response.status_code
    assert True is response.json()["refunded_payment"]


def test_documented_shape_creates_an_amount_only_refund(shop: SandboxShop) -> None:
    """T-09: negative `quantity` and `total` are not read; the lines are lost."""
    order_id, item_id = bread_order(shop)

    response = wc_send(
        shop,
        "POST",
        f"orders/{order_id}/refunds",
        {
            "amount": "4.90",
            "api_refund": False,
            "line_items": [{"id": item_id, "quantity": -1, "total": "-4.78"}],
        },
    )

    assert 201 == response.status_code
    assert ("4.90", []) == (response.json()["amount"], response.json()["line_items"])


def test_keyed_shape_refunds_the_line(shop: SandboxShop) -> None:
    order_id, item_id = bread_order(shop)

    response = wc_send(
        shop,
        "POST",
        f"orders/{order_id}/refunds",
        {
            "amount": "4.90",
            "api_refund": False,
            "line_items": {
                str(item_id): {
                    "qty": 1,
                    "refund_total": "4.78",
                    "refund_tax": {"2": "0.12"},
                }
            },
        },
    )

    line = response.json()["line_items"][0]
    assert (-1, "-4.78", "-0.12") == (
        line["quantity"],
        line["total"],
        line["total_tax"],
    )


def test_refund_meta_is_kept_with_ids(shop: SandboxShop) -> None:
    order_id, item_id = bread_order(shop)
    body = recorded_request("order_refund_create_partial.json", item_id)
    body["meta_data"] = [{"key": "_pot_bridge_refund", "value": "shortfall:x:1"}]

    created = wc_send(shop, "POST", f"orders/{order_id}/refunds", body).json()
    listed = wc_get(shop, f"orders/{order_id}/refunds").json()

    assert [("_pot_bridge_refund", "shortfall:x:1")] == [
        (m["key"], m["value"]) for m in created["meta_data"]
    ]
    assert ["id", "key", "value"] == list(created["meta_data"][0])
    assert created["meta_data"] == listed[0]["meta_data"]


def test_shop_that_drops_meta_and_lines_keeps_the_amount(shop: SandboxShop) -> None:
    shop.state.drops_refund_meta = True
    shop.state.ignores_refund_lines = True
    order_id, item_id = bread_order(shop)
    body = recorded_request("order_refund_create_partial.json", item_id)
    body["meta_data"] = [{"key": "_pot_bridge_refund", "value": "k"}]

    created = wc_send(shop, "POST", f"orders/{order_id}/refunds", body).json()

    assert ("19.60", [], []) == (
        created["amount"],
        created["meta_data"],
        created["line_items"],
    )


def test_hidden_refunds_still_show_in_the_order(shop: SandboxShop) -> None:
    """T-07: the refunds route answers [] while the order lists the refund."""
    shop.state.hides_order_refunds = True
    order_id, item_id = bread_order(shop)
    wc_send(
        shop,
        "POST",
        f"orders/{order_id}/refunds",
        recorded_request("order_refund_create_partial.json", item_id),
    )

    assert [] == wc_get(shop, f"orders/{order_id}/refunds").json()
    assert "-19.60" == wc_get(shop, f"orders/{order_id}").json()["refunds"][0]["total"]


def test_lost_answer_still_creates_the_refund(shop: SandboxShop) -> None:
    order_id, item_id = bread_order(shop)
    shop.faults.add(Fault(method="POST", path=r"/refunds$", kind="lost"))

    with pytest.raises(requests.ConnectionError):
        wc_send(
            shop,
            "POST",
            f"orders/{order_id}/refunds",
            recorded_request("order_refund_create_partial.json", item_id),
        )

    assert [Decimal("19.60")] == [r.amount for r in shop.state.orders[order_id].refunds]
    assert 0 == shop.requests[-1].status
    assert 1 == len(wc_get(shop, f"orders/{order_id}/refunds").json())
