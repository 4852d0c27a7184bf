"""Pushing the central catalog into a coop's shop, over the sandbox's socket.

Every test runs on SQLite and on PostgreSQL. The central catalog is written
as the feed a producer network publishes; the shop starts empty unless a test
puts something in it first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bridge_helpers import FAST_CLIENT
from sqlalchemy import select
from structlog.testing import capture_logs

from pot_bridge.bridge import Bridge
from pot_bridge.catalog.feed import read_feed
from pot_bridge.catalog.model import Catalog
from pot_bridge.catalog.push import push
from pot_bridge.catalog.table import plan_table
from pot_bridge.config import CatalogSource, CoopCatalog
from pot_bridge.demo import sandbox_settings
from pot_bridge.mailcatcher import MailCatcher
from pot_bridge.problems import open_problems
from pot_bridge.sandbox import Fault, SandboxShop, ShopState
from pot_bridge.sandbox.model import Product
from pot_bridge.store.schema import CatalogItem, Order, OrderLine, Problem, Round

from . import FeedServer

BATCH = "POST /wc/v3/products/batch"
PRODUCT_WRITE = "POST /wc/v3/products/<id>"
CATEGORY_WRITE = "POST /wc/v3/products/categories"
PAGE = "https://db.pot.example.org/produkt/{pot_id}"
NOW = datetime.now(UTC)

# The central catalog in the feed's own notation (see catalog/feed.py).
CENTRAL = """
{
  "version": 1,
  "producers": [
    {"pot_id": "P17", "name": "Hof Sonnenberg"},
    {"pot_id": "P23", "name": "Mühle Eschenz"},
    {"pot_id": "P40", "name": "Imkerei Waldrand"}
  ],
  "products": [
    {"pot_id": "10452", "producer_id": "P17", "name": "Bergkäse mild",
     "unit": "kg", "pack_size": "2.5", "price": "24.80", "vat": "reduced",
     "category": "Käse", "origin": "CH", "short_description": "6 Monate",
     "description": "Aus Rohmilch", "sku": "SON-KAE-1",
     "image_url": "https://cdn.example.net/bilder/bergkaese.jpg"},
    {"pot_id": "10453", "producer_id": "P17", "name": "Alpbutter",
     "unit": "250 g", "pack_size": "10", "price": "5.60", "vat": "reduced",
     "category": "Käse", "sku": "SON-BUT-1"},
    {"pot_id": "10454", "producer_id": "P17", "name": "Rahm",
     "unit": "2 dl", "price": "2.10", "vat": "reduced", "available": false},
    {"pot_id": "20001", "producer_id": "P23", "name": "Dinkelmehl",
     "unit": "kg", "price": "3.95", "vat": "zero", "category": "Mehl & Getreide"},
    {"pot_id": "30001", "producer_id": "P40", "name": "Waldhonig",
     "unit": "500 g", "price": "14.00", "vat": "reduced"}
  ]
}
"""
CARRY = CoopCatalog(
    producers=["P17", "Mühle Eschenz"],
    margin_percent=Decimal(10),
    category_map={"Käse": "Milchprodukte"},
    batch_size=2,
)


def central(**changes: dict[str, Any]) -> Catalog:
    """The catalog above, with fields of products (by POT ID) changed."""
    document = json.loads(CENTRAL)
    for product in document["products"]:
        product.update(changes.get(product["pot_id"], {}))
    catalog, problems = read_feed(document, "test")
    assert [] == problems

    return catalog


@pytest.fixture
def shop() -> Iterator[SandboxShop]:
    """An empty shop with WordPress's default category and one of its own."""
    state = ShopState()
    state.add_category(15, "Uncategorized", "uncategorized")
    state.add_category(16, "Milchprodukte", "milchprodukte")
    with SandboxShop(state) as running:
        yield running


def make_bridge(
    shop: SandboxShop,
    db_url: str,
    tmp_path: Path,
    mail: MailCatcher,
    carry: CoopCatalog = CARRY,
    feed_url: str = "http://127.0.0.1:9/feed.json",
) -> Bridge:
    settings = sandbox_settings(tmp_path, shop, mail.port)
    coop = settings.coops[0].model_copy(update={"catalog": carry})
    source = CatalogSource(feed_url=feed_url, product_page=PAGE)
    settings = settings.model_copy(
        update={"database_url": db_url, "coops": [coop], "catalog": source}
    )
    return Bridge(settings, client_options=FAST_CLIENT)


@pytest.fixture
def bridge(
    shop: SandboxShop, db_url: str, tmp_path: Path, mail: MailCatcher
) -> Iterator[Bridge]:
    bridge = make_bridge(shop, db_url, tmp_path, mail)
    yield bridge
    bridge.dispose()


def by_sku(shop: SandboxShop, sku: str) -> Product:
    with shop.state.lock:
        return next(p for p in shop.state.products.values() if p.sku == sku)


def meta(product: Product) -> dict[str, object]:
    return {key: value for _id, key, value in product.meta}


def with_carry(bridge: Bridge, **changes: Any) -> None:
    coop = bridge.settings.coops[0]
    carry = coop.catalog.model_copy(update=changes) if coop.catalog else None
    coop = coop.model_copy(update={"catalog": carry})
    bridge.settings = bridge.settings.model_copy(update={"coops": [coop]})


def item(bridge: Bridge, pot_id: str) -> CatalogItem:
    with bridge.sessions() as session:
        return session.scalars(
            select(CatalogItem).where(CatalogItem.pot_id == pot_id)
        ).one()


def problems_of(bridge: Bridge, kind: str) -> list[Problem]:
    with bridge.sessions() as session:
        return [p for p in open_problems(session, "sandbox") if p.kind == kind]


# -- first push, and the one after ------------------------------------------------


def test_first_push_creates_every_carried_product(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """Three available products of the carried producers, in batches of two;
    the honey's producer is not carried and the cream is unavailable."""
    _plan, pushed = bridge.catalog_push("sandbox", central())
    kaese, butter, mehl = (
        by_sku(shop, s) for s in ("SON-KAE-1", "SON-BUT-1", "POT-20001")
    )

    assert [] == pushed.failed
    assert 3 == pushed.count("create")
    assert 3 == len(shop.state.products)
    assert 2 == shop.writes[BATCH]
    assert 1 == shop.writes[CATEGORY_WRITE]  # "Mehl & Getreide"; Milchprodukte exists
    assert 1 == shop.writes[PRODUCT_WRITE]  # the cheese's image, on its own
    assert 1 == shop.state.media_created
    assert {
        "_lieferant": "Hof Sonnenberg",
        "_produzent": "Hof Sonnenberg",
        "_gebinde": "2.5",
        "_einheit": "kg",
        "_herkunft": "CH",
        "_loonity_id": "10452",
        "_pot_url": "https://db.pot.example.org/produkt/10452",
    } == meta(kaese)
    assert ("27.30", "reduced-rate", "instock", "visible", "publish") == (
        kaese.regular_price,
        kaese.tax_class,
        kaese.stock_status,
        kaese.catalog_visibility,
        kaese.status,
    )
    assert ["Milchprodukte"] == [c.name for c in kaese.categories]
    assert ["Milchprodukte"] == [c.name for c in butter.categories]
    assert ["Mehl &amp; Getreide"] == [c.name for c in mehl.categories]
    assert ("4.35", "zero-rate") == (mehl.regular_price, mehl.tax_class)
    assert "bergkaese.jpg" == kaese.images[0].name
    assert kaese.images[0].id == item(bridge, "10452").image_id


def test_second_push_of_the_same_catalog_writes_nothing(
    bridge: Bridge, shop: SandboxShop
) -> None:
    bridge.catalog_push("sandbox", central())
    before = sum(shop.writes.values())

    plan, pushed = bridge.catalog_push("sandbox", central())

    assert [] == plan.writing
    assert [] == plan.images
    assert 0 == pushed.writes
    assert before == sum(shop.writes.values())
    assert "nothing to write" in plan_table(plan)


def test_the_plan_table_keeps_control_characters_off_the_terminal(
    bridge: Bridge,
) -> None:
    """A name from the feed must not retitle or recolour the admin's terminal."""
    hostile = "Bergkäse \x1b]0;pwned\x07\x1b[31mrot"

    plan = bridge.catalog_plan("sandbox", central(**{"10452": {"name": hostile}}))
    table = plan_table(plan)

    assert "Bergkäse" in table
    assert "\x1b" not in table
    assert "\x07" not in table


# -- changes ----------------------------------------------------------------------


def test_price_change_gets_the_margin_rounded_to_five_rappen(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """24.80 + 10 % = 27.28 → 27.30; 25.10 + 10 % = 27.61 → 27.60."""
    bridge.catalog_push("sandbox", central())

    plan, pushed = bridge.catalog_push(
        "sandbox", central(**{"10452": {"price": "25.10"}})
    )

    assert [("price", "27.30", "27.60")] == [
        (c.field, c.old, c.new) for s in plan.writing for c in s.changes
    ]
    assert "27.60" == by_sku(shop, "SON-KAE-1").regular_price
    assert 1 == pushed.writes
    assert 1 == shop.state.media_created  # the image is not sent again


def test_product_out_listed_and_listed_again(bridge: Bridge, shop: SandboxShop) -> None:
    """Dropping a producer hides its product; unavailable centrally hides too;
    nothing is deleted, and each comes back."""
    bridge.catalog_push("sandbox", central())

    with_carry(bridge, producers=["P17"])
    bridge.catalog_push("sandbox", central(**{"10453": {"available": False}}))
    mehl, butter = by_sku(shop, "POT-20001"), by_sku(shop, "SON-BUT-1")
    hidden = [(p.stock_status, p.catalog_visibility) for p in (mehl, butter)]
    listed_after_drop = (item(bridge, "20001").listed, item(bridge, "10453").listed)

    with_carry(bridge, producers=["P17", "P23"])
    plan, _pushed = bridge.catalog_push("sandbox", central())
    back = [
        (p.stock_status, p.catalog_visibility)
        for p in (by_sku(shop, "POT-20001"), by_sku(shop, "SON-BUT-1"))
    ]

    assert [("outofstock", "hidden")] * 2 == hidden
    assert (False, False) == listed_after_drop
    assert 3 == len(shop.state.products)
    assert ["relist", "relist"] == [s.action for s in plan.writing]
    assert [("instock", "visible")] * 2 == back
    assert "4.35" == mehl.regular_price


def test_field_the_coop_edited_is_left_alone(bridge: Bridge, shop: SandboxShop) -> None:
    """The coop rewrote the cheese's description in the shop; a central change
    of it is not written, the price change is, and this is reported once."""
    bridge.catalog_push("sandbox", central())
    with shop.state.lock:
        by_sku(shop, "SON-KAE-1").description = "Unser Lieblingskäse"
    changed = central(**{"10452": {"description": "Neu: Heumilch", "price": "26.00"}})

    plan, _pushed = bridge.catalog_push("sandbox", changed)
    bridge.catalog_push("sandbox", changed)
    kaese = by_sku(shop, "SON-KAE-1")
    [reported] = problems_of(bridge, "catalog.field_taken_over")

    assert ["description"] == plan.writing[0].taken_over
    assert ("Unser Lieblingskäse", "28.60") == (kaese.description, kaese.regular_price)
    assert ["description"] == item(bridge, "10452").owned
    assert 1 == reported.times_seen
    assert "Bergkäse mild (POT ID 10452)" in reported.message


def test_description_rendered_by_the_shop_is_no_edit(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """A `view` read wraps descriptions in <p>; that is not the coop's doing."""
    bridge.catalog_push("sandbox", central())

    plan, _pushed = bridge.catalog_push(
        "sandbox", central(**{"10452": {"description": "Aus Heumilch"}})
    )

    assert [] == plan.writing[0].taken_over
    assert "Aus Heumilch" == by_sku(shop, "SON-KAE-1").description


# -- SKUs already in the shop -----------------------------------------------------


def test_product_with_the_sku_and_no_pot_id_is_adopted(
    bridge: Bridge, shop: SandboxShop
) -> None:
    old = shop.state.add_product("Bergkäse", "SON-KAE-1", Decimal("26.00"))

    plan, pushed = bridge.catalog_push("sandbox", central())
    adopted = shop.state.products[old["id"]]

    assert "adopt" == next(s.action for s in plan.steps if s.pot_id == "10452")
    assert 3 == len(shop.state.products)
    assert [] == pushed.failed
    assert ("Bergkäse mild", "27.30", "10452") == (
        adopted.name,
        adopted.regular_price,
        meta(adopted)["_loonity_id"],
    )
    assert old["id"] == item(bridge, "10452").product_id


def test_product_with_the_sku_and_another_pot_id_is_a_conflict(
    bridge: Bridge, shop: SandboxShop
) -> None:
    other = shop.state.add_product(
        "Käse vom Nachbarn", "SON-KAE-1", Decimal("19.00"), meta={"_loonity_id": "777"}
    )

    _plan, pushed = bridge.catalog_push("sandbox", central())
    [conflict] = problems_of(bridge, "catalog.sku_conflict")
    untouched = shop.state.products[other["id"]]

    assert ["10452"] == [o.pot_id for o in pushed.failed]
    assert f"product #{other['id']} with POT ID 777" in conflict.message
    assert ("SON-KAE-1", "19.00") == (untouched.sku, untouched.regular_price)
    assert 2 == pushed.count("create")


# -- failures ---------------------------------------------------------------------


def test_failing_item_is_reported_the_rest_applied_and_retried_next_push(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """Between planning and pushing, the butter is deleted in the shop and a
    neighbour's product takes the honey's SKU: two item errors in HTTP 200."""
    bridge.catalog_push("sandbox", central())
    with_carry(bridge, producers=["P17", "P23", "P40"])
    changed = central(**{"10452": {"price": "30.00"}, "10453": {"price": "6.00"}})
    plan = bridge.catalog_plan("sandbox", changed)
    with shop.state.lock:
        del shop.state.products[by_sku(shop, "SON-BUT-1").id]
    shop.state.add_product("Honig", "POT-30001", Decimal(9), meta={"_loonity_id": "9"})

    pushed = push(plan, bridge.client(bridge.settings.coops[0]), bridge.sessions, NOW)
    failed = {o.pot_id: o.message for o in pushed.failed}
    reported = {p.subject for p in problems_of(bridge, "catalog.push_failed")}
    conflicts = {p.subject for p in problems_of(bridge, "catalog.sku_conflict")}
    again, _ = bridge.catalog_push("sandbox", changed)

    assert "33.00" == by_sku(shop, "SON-KAE-1").regular_price
    assert {"10453", "30001"} == set(failed)
    assert "woocommerce_rest_product_invalid_id" in failed["10453"]
    assert "taken by product" in failed["30001"]
    assert ({"10453"}, {"30001"}) == (reported, conflicts)
    assert [("10453", "create")] == [(s.pot_id, s.action) for s in again.writing]
    assert "6.60" == by_sku(shop, "SON-BUT-1").regular_price
    assert [] == problems_of(bridge, "catalog.push_failed")


def test_lost_answer_to_a_batch_create_adopts_what_it_created(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """The batch ran but its answer never came: sent once more, each create
    meets its own SKU, and the product holding it carries our POT ID."""
    shop.faults.add(Fault(method="POST", path=r"/products/batch$", kind="lost"))

    _plan, pushed = bridge.catalog_push("sandbox", central())
    ids = {p.id for p in shop.state.products.values()}

    assert [] == pushed.failed
    assert 3 == len(shop.state.products)
    assert 3 == shop.writes[BATCH]  # lost, sent again, the second chunk
    assert {item(bridge, p).product_id for p in ("10452", "10453", "20001")} == ids
    assert 1 == shop.state.media_created
    assert 0 == bridge.catalog_push("sandbox", central())[1].writes


def test_413_halves_the_batch(bridge: Bridge, shop: SandboxShop) -> None:
    too_large = {
        "code": "woocommerce_rest_request_entity_too_large",
        "message": "Unable to accept more than 100 items for this request.",
        "data": {"status": 413},
    }
    shop.faults.add(
        Fault(method="POST", path=r"/products/batch$", status=413, body=too_large)
    )

    with capture_logs() as logs:
        _plan, pushed = bridge.catalog_push("sandbox", central())

    assert [] == pushed.failed
    assert 3 == len(shop.state.products)
    assert [1] == [e["size"] for e in logs if e["event"] == "catalog.batch.too_large"]
    assert 3 == shop.writes[BATCH]  # one item a request after the 413


def test_shop_down_mid_push_stops_it_and_the_next_push_catches_up(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """503 to the batch and to its one repeat: nothing more is sent, nothing is
    recorded as pushed, and the next push does it all once."""
    shop.faults.add(Fault(method="POST", path=r"/products/batch$", status=503, times=2))

    _plan, stopped = bridge.catalog_push("sandbox", central())
    with bridge.sessions() as session:
        waiting = session.scalars(select(CatalogItem.last_error)).all()
    _plan, caught_up = bridge.catalog_push("sandbox", central())

    assert "failed with 503" in str(stopped.error)
    assert 3 == len(stopped.failed)
    assert all(e.startswith("not sent: ") for e in waiting)
    assert 3 == caught_up.count("create")
    assert ([], 3) == (caught_up.failed, len(shop.state.products))


def test_the_plugins_own_products_are_never_touched(
    bridge: Bridge, shop: SandboxShop
) -> None:
    for sku in ("fcplugin_instant_topup_product", "fcplugin_pos_product"):
        shop.state.add_product(
            "Foodcoop", sku, Decimal("1.00"), meta={"_loonity_id": "10452"}
        )

    plan, _pushed = bridge.catalog_push("sandbox", central())

    assert "create" == next(s.action for s in plan.steps if s.pot_id == "10452")
    assert {"1.00"} == {
        p.regular_price for p in shop.state.products.values() if p.sku.startswith("fc")
    }


# -- open rounds ------------------------------------------------------------------


def order_in_open_round(bridge: Bridge, shop: SandboxShop, product_id: int) -> int:
    """A member's order of the product in a round open now, in shop and store."""
    customer = shop.state.add_customer("Lea", "Müller")["id"]
    placed = shop.state.add_order(customer, [(product_id, 2)], round_id=300)
    with bridge.sessions.begin() as session:
        session.add(
            Round(
                coop="sandbox",
                key="plugin:300",
                name="Bestellrunde 300",
                opens_at=NOW - timedelta(days=2),
                closes_at=NOW + timedelta(days=2),
            )
        )
        order = Order(
            coop="sandbox",
            order_id=placed["id"],
            status="processing",
            round_key="plugin:300",
            total=Decimal(placed["total"]),
            content_hash="x",
            synced_at=NOW,
        )
        order.lines.append(
            OrderLine(
                item_id=placed["line_items"][0]["id"],
                product_id=product_id,
                name="Bergkäse mild",
                quantity=Decimal(2),
                amount=Decimal(placed["total"]),
            )
        )
        session.add(order)
    return int(placed["id"])


def close_round(bridge: Bridge) -> None:
    with bridge.sessions.begin() as session:
        session.scalars(select(Round)).one().closed_at = datetime.now(UTC)


def test_price_change_held_while_the_round_is_open(
    bridge: Bridge, shop: SandboxShop
) -> None:
    bridge.catalog_push("sandbox", central())
    kaese = by_sku(shop, "SON-KAE-1")
    order_id = order_in_open_round(bridge, shop, kaese.id)
    paid = shop.state.orders[order_id].lines[0].gross
    dearer = central(**{"10452": {"price": "30.00"}})

    with capture_logs() as logs:
        plan, held = bridge.catalog_push("sandbox", dearer)
    price_while_open = by_sku(shop, "SON-KAE-1").regular_price
    kept = dict(item(bridge, "10452").held)
    close_round(bridge)
    _plan, released = bridge.catalog_push("sandbox", dearer)

    assert "27.30" == price_while_open
    assert 0 == held.writes
    assert {"price": "33.00", "round": "plugin:300"} == kept
    assert "price 33.00 held until round plugin:300 closes" in plan_table(plan)
    assert ["catalog.price.held"] == [
        e["event"] for e in logs if e["event"].startswith("catalog.price")
    ]
    assert "33.00" == by_sku(shop, "SON-KAE-1").regular_price
    assert 1 == released.writes
    assert {} == item(bridge, "10452").held
    assert paid == shop.state.orders[order_id].lines[0].gross
    assert [] == [route for route in shop.writes if "orders" in route]


def test_price_change_applied_in_an_open_round_when_the_coop_says_so(
    bridge: Bridge, shop: SandboxShop
) -> None:
    bridge.catalog_push("sandbox", central())
    kaese = by_sku(shop, "SON-KAE-1")
    order_id = order_in_open_round(bridge, shop, kaese.id)
    paid = shop.state.orders[order_id].lines[0].gross
    with_carry(bridge, open_round_prices="apply")

    with capture_logs() as logs:
        plan, _pushed = bridge.catalog_push(
            "sandbox", central(**{"10452": {"price": "30.00"}})
        )

    assert "33.00" == by_sku(shop, "SON-KAE-1").regular_price
    assert "price 33.00 applied although round plugin:300 is open" in plan_table(plan)
    assert ["catalog.price.applied_in_open_round"] == [
        e["event"] for e in logs if e["event"].startswith("catalog.price")
    ]
    assert paid == shop.state.orders[order_id].lines[0].gross


# -- images -----------------------------------------------------------------------


def test_changed_image_goes_alone_and_is_sent_once(
    bridge: Bridge, shop: SandboxShop
) -> None:
    bridge.catalog_push("sandbox", central())
    new_image = {"image_url": "https://cdn.example.net/bilder/bergkaese-2.webp"}

    plan, pushed = bridge.catalog_push("sandbox", central(**{"10452": new_image}))
    again = bridge.catalog_push("sandbox", central(**{"10452": new_image}))[1]

    assert [] == plan.writing
    assert 1 == pushed.writes
    assert 2 == shop.writes[PRODUCT_WRITE]
    assert 2 == shop.writes[BATCH]
    assert 2 == shop.state.media_created
    assert 0 == again.writes
    assert "bergkaese-2.webp" == by_sku(shop, "SON-KAE-1").images[0].name


def test_product_deleted_in_the_shop_comes_back_with_its_stored_picture(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """Still carried, so made again; the picture goes by its media id."""
    bridge.catalog_push("sandbox", central())
    with shop.state.lock:
        del shop.state.products[by_sku(shop, "SON-KAE-1").id]

    plan, _pushed = bridge.catalog_push("sandbox", central())
    kaese = by_sku(shop, "SON-KAE-1")

    assert ["create"] == [s.action for s in plan.writing]
    assert 1 == shop.state.media_created
    assert 1 == shop.writes["PUT /wc/v3/products/<id>"]
    assert [item(bridge, "10452").image_id] == [i.id for i in kaese.images]


def test_refused_image_does_not_block_the_price(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """T-16: the shop cannot take the image (no image type in its URL); the
    price change still lands, and the image is not tried again until it moves."""
    bridge.catalog_push("sandbox", central())
    changed = central(
        **{
            "10452": {
                "price": "30.00",
                "image_url": "https://cdn.example.net/img?id=42",
            }
        }
    )

    _plan, pushed = bridge.catalog_push("sandbox", changed)
    again = bridge.catalog_push("sandbox", changed)[1]
    [problem] = problems_of(bridge, "catalog.image_failed")

    assert "33.00" == by_sku(shop, "SON-KAE-1").regular_price
    assert ["10452"] == [o.pot_id for o in pushed.failed]
    assert "woocommerce_product_image_upload_error" in problem.message
    assert 0 == again.writes
    assert 1 == shop.state.media_created


# -- the daemon's job ---------------------------------------------------------------


def test_catalog_poll_pushes_after_a_feed_change_only(
    shop: SandboxShop, db_url: str, tmp_path: Path, mail: MailCatcher
) -> None:
    with FeedServer(CENTRAL.encode()) as server:
        bridge = make_bridge(shop, db_url, tmp_path, mail, feed_url=server.url)
        try:
            first = bridge.catalog_poll()
            writes = sum(shop.writes.values())
            quiet = bridge.catalog_poll()
            server.publish(CENTRAL.replace('"24.80"', '"25.10"').encode(), '"v2"')
            changed = bridge.catalog_poll()
        finally:
            bridge.dispose()

    assert {"sandbox": "0 failed"} == first
    assert {"sandbox": "up to date"} == quiet
    assert {"sandbox": "0 failed"} == changed
    assert writes + 1 == sum(shop.writes.values())
    assert "27.60" == by_sku(shop, "SON-KAE-1").regular_price
