"""The products stream: the catalog mirrored for pack sizes and POT IDs."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest
from bridge_helpers import make_bridge
from sqlalchemy import select

from pot_bridge.bridge import Bridge
from pot_bridge.mailcatcher import MailCatcher
from pot_bridge.producer import PLUGIN_SKUS
from pot_bridge.sandbox import SEED, Fault, RequestRecord, SandboxShop
from pot_bridge.store.schema import Order, OrderLine, Problem, Product, SyncCursor

CHEESE = SEED["weighed_product"]


@pytest.fixture
def bridge(
    shop: SandboxShop, db_url: str, mail: MailCatcher, tmp_path: Path
) -> Iterator[Bridge]:
    bridge = make_bridge(shop, db_url, mail.port, tmp_path)
    yield bridge
    bridge.dispose()


def products(bridge: Bridge) -> dict[int, Product]:
    with bridge.sessions() as session:
        return {p.product_id: p for p in session.scalars(select(Product))}


def product_lists(shop: SandboxShop, since: int = 0) -> list[RequestRecord]:
    return [
        r
        for r in shop.requests[since:]
        if r.method == "GET" and r.path.endswith("/wc/v3/products")
    ]


def products_cursor(bridge: Bridge) -> SyncCursor | None:
    with bridge.sessions() as session:
        return session.get(SyncCursor, ("sandbox", "products"))


def pull_problem(bridge: Bridge) -> Problem | None:
    with bridge.sessions() as session:
        return session.scalars(
            select(Problem).where(Problem.kind == "products.pull_failed")
        ).one_or_none()


def change_pack_size(shop: SandboxShop, product_id: int, pack_size: str) -> None:
    """What saving `_gebinde` in the shop's admin does: meta and modified date."""
    with shop.state.lock:
        product = shop.state.products[product_id]
        for meta in product.meta:
            if meta[1] == "_gebinde":
                meta[2] = pack_size
        product.modified = shop.state.now()


def test_first_sync_stores_every_product_with_pack_size_and_pot_id(
    bridge: Bridge, shop: SandboxShop
) -> None:
    result = bridge.sync("sandbox")

    stored = products(bridge)
    catalog = {
        p.id: p for p in shop.state.products.values() if p.sku not in PLUGIN_SKUS
    }
    assert set(catalog) == set(stored)
    assert len(catalog) == result.products_seen
    for product_id, product in catalog.items():
        row = stored[product_id]
        assert product.meta_value("_gebinde") == row.pack_size
        assert product.meta_value("_loonity_id") == row.pot_id
        assert product.meta_value("_einheit") == row.unit
        assert product.sku == row.sku
    assert stored[SEED["product_no_supplier"]].producer is None
    assert stored[SEED["product_draft"]].pot_id


def test_first_pull_reads_the_whole_catalog_in_id_order(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """No `modified_after` the first time: not history_since, the beginning."""
    bridge.sync("sandbox")

    [query] = [r.query for r in product_lists(shop)]
    assert "modified_after" not in query
    assert "true" == query["dates_are_gmt"]
    assert "Z" not in query["modified_before"]
    assert "+" not in query["modified_before"]
    assert ("id", "asc", "any") == (query["orderby"], query["order"], query["status"])


def test_plugin_products_are_not_stored(bridge: Bridge) -> None:
    bridge.sync("sandbox")

    stored = products(bridge)
    assert set() == {p.sku for p in stored.values()} & PLUGIN_SKUS
    assert SEED["topup_product"] not in stored
    assert SEED["pos_product"] not in stored


def test_unchanged_catalog_costs_one_request(bridge: Bridge, shop: SandboxShop) -> None:
    bridge.sync("sandbox")
    before = len(shop.requests)

    again = bridge.sync("sandbox")

    [query] = [r.query for r in product_lists(shop, before)]
    assert 0 == again.products_seen
    assert "Z" not in query["modified_after"]
    assert [] == [r for r in shop.requests[before:] if "/products/" in r.path]


def test_changed_product_is_updated_in_place(bridge: Bridge, shop: SandboxShop) -> None:
    bridge.sync("sandbox")
    first = products(bridge)
    change_pack_size(shop, CHEESE, "12")

    again = bridge.sync("sandbox")

    stored = products(bridge)
    assert 1 == again.products_seen
    assert "12" == stored[CHEESE].pack_size
    assert first[CHEESE].id == stored[CHEESE].id
    assert len(first) == len(stored)


def test_failed_products_pull_leaves_orders_synced(
    bridge: Bridge, shop: SandboxShop
) -> None:
    shop.faults.add(Fault(method="GET", path=r"/wc/v3/products$", times=50))

    bridge.sync("sandbox")

    with bridge.sessions() as session:
        pulled = set(session.scalars(select(Order.order_id)))
    problem = pull_problem(bridge)
    assert set(shop.state.orders) == pulled
    assert problem is not None
    assert problem.resolved_at is None
    assert products_cursor(bridge) is None


def test_failed_products_pull_keeps_the_cursor_until_it_passes(
    bridge: Bridge, shop: SandboxShop
) -> None:
    bridge.sync("sandbox")
    before = products_cursor(bridge)
    change_pack_size(shop, CHEESE, "12")
    shop.faults.add(Fault(method="GET", path=r"/wc/v3/products$", times=50))

    bridge.sync("sandbox")
    stuck = products_cursor(bridge)
    shop.faults.clear()
    bridge.sync("sandbox")

    problem = pull_problem(bridge)
    assert before is not None
    assert stuck is not None
    assert before.cursor_gmt == stuck.cursor_gmt
    assert "12" == products(bridge)[CHEESE].pack_size
    assert problem is not None
    assert problem.resolved_at is not None


def test_single_fetch_updates_the_stored_product(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """A line without `_lieferant` fetches its product: one row, not two."""
    from pot_bridge.product import product_for

    bridge.sync("sandbox")
    change_pack_size(shop, CHEESE, "24")
    coop = bridge.settings.coop("sandbox")

    with bridge.sessions.begin() as session:
        row = product_for(session, coop, bridge.client(coop), CHEESE, bridge.clock())

    stored = products(bridge)
    assert row is not None
    assert "24" == stored[CHEESE].pack_size
    assert len(shop.state.products) - len(PLUGIN_SKUS) == len(stored)


def test_overlong_shop_text_is_cut_to_its_column(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """A name longer than its column must not stop the coop's sync (PostgreSQL)."""
    long_name = "Sehr langer Produktname " * 30
    added = shop.state.add_product(
        long_name,
        "LANG-" + "9" * 120,
        D("2.50"),
        meta={"_lieferant": "Hof " + "Sonnenberg " * 30, "_einheit": "Stk " * 40},
    )
    shop.state.add_order(SEED["members"][0], [(added["id"], 1)], round_id=None)

    bridge.sync("sandbox")

    with bridge.sessions() as session:
        line = session.scalars(
            select(OrderLine).where(OrderLine.product_id == added["id"])
        ).one()
    assert long_name[:400] == line.name
    assert 100 == len(line.sku)
    assert line.producer is not None
    assert 200 == len(line.producer)
