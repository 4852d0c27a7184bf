"""Changes made through the helpers and the REST API, as WooCommerce stores them."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import requests
from sandbox_helpers import NOW, POT, WC, fixture, wc_get, wc_send

from pot_bridge.sandbox import SandboxShop


def test_seeded_refund_has_the_woocommerce_shape(shop: SandboxShop) -> None:
    refund = wc_get(shop, "orders/137/refunds").json()[0]
    line = refund["line_items"][0]

    assert refund["amount"] == "6.80"
    assert refund["refunded_payment"] is True
    assert (line["quantity"], line["total"], line["total_tax"]) == (
        -1,
        "-6.63",
        "-0.17",
    )
    assert line["meta_data"][0]["key"] == "_refunded_item_id"
    order = wc_get(shop, "orders/137").json()
    assert line["meta_data"][0]["value"] == str(order["line_items"][3]["id"])


def test_rest_refund_on_wallet_order_keyed_shape(shop: SandboxShop) -> None:
    order = wc_get(shop, "orders/143").json()
    item = order["line_items"][0]  # Vollmilch 2 x 1.90

    response = wc_send(
        shop,
        "POST",
        "orders/143/refunds",
        {
            "amount": "1.90",
            "reason": "Milch sauer",
            "line_items": {
                str(item["id"]): {
                    "qty": 1,
                    "refund_total": "1.85",
                    "refund_tax": {"2": "0.05"},
                }
            },
        },
    )
    after = wc_get(shop, "orders/143").json()

    assert response.status_code == 201
    assert "/refunds/" in response.headers["Location"]
    body = response.json()
    assert (body["amount"], body["refunded_payment"]) == ("1.90", True)
    assert body["line_items"][0]["total"] == "-1.85"
    assert after["refunds"][0]["total"] == "-1.90"
    assert after["date_modified_gmt"] == "2026-12-04T15:00:00"


def test_api_refund_on_cod_order_fails_like_the_recording(shop: SandboxShop) -> None:
    recorded = fixture(WC / "order_refund_create_error_gateway_api_refund.json")

    failed = wc_send(
        shop, "POST", "orders/140/refunds", {"amount": "5.40", "reason": "x"}
    )
    booked = wc_send(
        shop,
        "POST",
        "orders/140/refunds",
        {"amount": "5.40", "reason": "x", "api_refund": False},
    )

    assert (recorded["status"], recorded["body"]) == (failed.status_code, failed.json())
    assert booked.status_code == 201
    assert booked.json()["refunded_payment"] is False


def test_refund_beyond_the_total_is_refused(shop: SandboxShop) -> None:
    response = wc_send(shop, "POST", "orders/143/refunds", {"amount": "99.00"})

    assert response.status_code == 500
    assert response.json()["message"] == "Invalid refund amount."


def test_full_refund_marks_the_order_refunded(shop: SandboxShop) -> None:
    shop.state.refund(143, amount=Decimal("12.80"), reason="alles")

    assert wc_get(shop, "orders/143").json()["status"] == "refunded"


def test_refund_without_bump_keeps_date_modified(shop: SandboxShop) -> None:
    """T-06: some gateways refunded without touching the order."""
    before = wc_get(shop, "orders/142").json()["date_modified_gmt"]

    shop.state.refund(142, amount=Decimal("1.00"), bump_modified=False)
    after = wc_get(shop, "orders/142").json()

    assert before == after["date_modified_gmt"]
    assert after["refunds"][0]["total"] == "-1.00"


def test_touch_bumps_only_the_date(shop: SandboxShop) -> None:
    """T-01: a spurious change, content identical."""
    before = wc_get(shop, "orders/131").json()
    shop.state.clock = lambda: NOW + timedelta(minutes=5)

    shop.state.touch(131)
    after = wc_get(shop, "orders/131").json()

    assert after["date_modified_gmt"] == "2026-12-04T15:05:00"
    assert {k: v for k, v in before.items() if not k.startswith("date_modified")} == (
        {k: v for k, v in after.items() if not k.startswith("date_modified")}
    )


def test_reorder_trashes_the_old_order(shop: SandboxShop) -> None:
    new = shop.state.reorder(143, [(19, 1)])

    listed = [o["id"] for o in wc_get(shop, "orders", "per_page=100").json()]
    trash = wc_get(shop, "orders", "status=trash").json()
    old = wc_get(shop, "orders/143").json()

    assert new["id"] == 145
    assert 143 not in listed
    assert [o["id"] for o in trash] == [143, 136]
    assert old["status"] == "trash"
    assert {m["key"]: m["value"] for m in old["meta_data"]}[
        "_wp_trash_meta_status"
    ] == "wc-cancelled"
    assert {m["key"]: m["value"] for m in new["meta_data"]}["bestellrunde_id"] == (
        "130"
    )


def test_block_checkout_orders_lack_round_meta(shop: SandboxShop) -> None:
    recorded = fixture(POT / "order_get_storeapi_checkout_wallet_lea.json")["body"]

    order = wc_get(shop, "orders/135").json()
    classic = wc_get(shop, "orders/139").json()

    assert [m["key"] for m in recorded["meta_data"]] == [
        m["key"] for m in order["meta_data"]
    ]
    assert order["created_via"] == "store-api"
    assert {"bestellrunde_id", "order_type"} <= {m["key"] for m in classic["meta_data"]}
    item_keys = [m["key"] for m in classic["line_items"][0]["meta_data"]]
    assert item_keys == [
        "_lieferant",
        "_einheit",
        "_herkunft",
        "_pid",
        "_category",
        "_sku",
    ]


def test_put_writes_status_and_meta_only(shop: SandboxShop) -> None:
    response = wc_send(
        shop,
        "PUT",
        "orders/131",
        {
            "status": "completed",
            "customer_note": "ignored",
            "meta_data": [{"key": "pot_bridge_synced", "value": "1"}],
        },
    )
    order = response.json()

    assert response.status_code == 200
    assert order["status"] == "completed"
    assert order["date_completed_gmt"] == "2026-12-04T15:00:00"
    assert order["customer_note"] == ""
    assert {"key": "pot_bridge_synced", "value": "1"} in [
        {"key": m["key"], "value": m["value"]} for m in order["meta_data"]
    ]


def test_post_order_is_created_via_rest(shop: SandboxShop) -> None:
    response = wc_send(
        shop,
        "POST",
        "orders",
        {
            "customer_id": 4,
            "payment_method": "foodcoop_guthaben",
            "set_paid": True,
            "line_items": [{"product_id": 11, "quantity": 2}],
            "meta_data": [{"key": "bestellrunde_id", "value": "130"}],
        },
    )
    order = response.json()

    assert response.status_code == 201
    assert (order["id"], order["created_via"], order["status"]) == (
        145,
        "rest-api",
        "processing",
    )
    assert order["total"] == "6.40"


def test_get_bestellrunden_is_double_encoded(shop: SandboxShop) -> None:
    recorded = fixture(POT / "getBestellrunden.json")["body_decoded"]

    response = requests.get(
        f"{shop.url}/wp-json/foodcoop/v1/getbestellrunden",
        auth=("bridge", shop.app_password),
        timeout=5,
    )
    rounds = json.loads(response.json())

    assert response.status_code == 200
    assert response.text.startswith('"[{\\"id\\":130,')
    assert list(recorded[0]) == list(rounds[0])
    assert list(recorded[1]) == [*rounds[1], "bestellrunde_complete"]
    assert [r["id"] for r in rounds] == [130, 129]
    assert "bestellrunde_complete" not in rounds[1]
    assert json.loads(rounds[0]["bestellrunde_products"])[0] == "11"
    assert (
        rounds[1]["bestellrunde_start"],
        rounds[1]["bestellrunde_ende"],
        rounds[1]["bestellrunde_verteiltag"],
    ) == ("2026-11-26", "2026-12-03", "2026-12-05")


def test_completed_round_says_so(shop: SandboxShop) -> None:
    shop.state.add_round(
        "Bestellrunde KW 1", NOW.date(), NOW.date(), NOW.date(), complete=True
    )

    response = requests.get(
        f"{shop.url}/wp-json/foodcoop/v1/getBestellrunden",
        auth=("bridge", shop.app_password),
        timeout=5,
    )
    newest = json.loads(response.json())[0]

    assert newest["bestellrunde_complete"] == "1"
    assert newest["bestellrunde_name"] == "Bestellrunde KW 1"
