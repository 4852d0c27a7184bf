"""The seeded coops: stable ids for tests, and a bulk shop that stays fast."""

from __future__ import annotations

import time
from decimal import Decimal

from sandbox_helpers import NOW, wc_get

from pot_bridge.sandbox import SEED, SandboxShop, seed_bulk, seed_coop


def test_seed_is_stable_and_covers_the_scenarios() -> None:
    first, second = seed_coop(NOW), seed_coop(NOW)
    orders = first.orders

    assert sorted(first.orders) == sorted(second.orders)
    assert sorted(first.rounds) == [SEED["round_a"], SEED["round_b"]]
    assert orders[SEED["reorder_old"]].status == "trash"
    assert orders[SEED["block_checkout"]].meta_value("bestellrunde_id") == ""
    assert orders[SEED["guest_cod"]].customer_id == 0
    assert orders[SEED["cancelled"]].status == "cancelled"
    assert orders[SEED["decimal_qty"]].lines[0].quantity == Decimal("0.352")
    assert orders[SEED["refunded_order"]].refunds[0].id == SEED["refund"]
    assert all(
        orders[o].meta_value("bestellrunde_id") == "129" for o in SEED["a_orders"]
    )
    assert first.products[SEED["product_no_supplier"]].meta_value("_lieferant") == ""
    assert first.products[SEED["product_draft"]].status == "draft"


def test_all_seeded_dates_lie_in_the_past() -> None:
    state = seed_coop(NOW)

    assert all(o.created <= o.modified <= NOW for o in state.orders.values())
    assert not state.rounds[129].complete


def test_bulk_shop_builds_and_pages_fast() -> None:
    started = time.monotonic()
    state = seed_bulk(NOW, orders=3_000, members=500)
    built = time.monotonic() - started
    state.clock = lambda: NOW

    with SandboxShop(state) as shop:
        started = time.monotonic()
        response = wc_get(shop, "orders", "per_page=100&page=3&orderby=id&order=asc")
        served = time.monotonic() - started

    assert len(state.orders) == 3_000
    assert response.headers["X-WP-Total"] == str(
        sum(o.status not in ("trash", "checkout-draft") for o in state.orders.values())
    )
    assert len(response.json()) == 100
    assert built < 3
    assert served < 1
