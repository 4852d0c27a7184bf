"""Planning a coop's catalog: shop products in, steps out, no socket, no store.

Shop products are written as WooCommerce's JSON shows them; the central
catalog as its feed; what the bridge pushed before as `CatalogItem` values.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from pot_bridge.catalog.feed import read_feed
from pot_bridge.catalog.item import ItemState
from pot_bridge.catalog.model import Catalog
from pot_bridge.catalog.plan import Plan, Step, plan
from pot_bridge.catalog.shelf import Shelf, ShelfProduct
from pot_bridge.config import CoopCatalog, CoopConfig

PAGE = "https://db.pot.ch/?id={pot_id}"
CENTRAL = """
{
  "version": 1,
  "producers": [{"pot_id": "P17", "name": "Hof Sonnenberg"}],
  "products": [
    {"pot_id": "10452", "producer_id": "P17", "name": "Bergkäse mild",
     "unit": "kg", "price": "24.80", "vat": "reduced", "category": "Käse",
     "description": "Aus Rohmilch", "sku": "SON-KAE-1",
     "image_url": "https://cdn.example.net/bilder/bergkaese.jpg"}
  ]
}
"""
# what the bridge wrote for it last time, and the shop shows it as (view)
PUSHED = {
    "name": "Bergkäse mild",
    "price": "24.80",
    "unit": "kg",
    "producer": {"_lieferant": "Hof Sonnenberg", "_produzent": "Hof Sonnenberg"},
    "category": "Käse",
    "description": "Aus Rohmilch",
    "availability": {"stock_status": "instock", "catalog_visibility": "visible"},
    "tax_class": "reduced-rate",
    "_shown": {"description": "<p>Aus Rohmilch</p>\n"},
}


def central(**changes: Any) -> Catalog:
    document = json.loads(CENTRAL)
    document["products"][0].update(changes)
    catalog, problems = read_feed(document, "test")
    assert [] == problems

    return catalog


def coop(**carry: Any) -> CoopConfig:
    return CoopConfig(
        slug="nord",
        name="Foodcoop Nord",
        shop_url="https://shop.foodcoop-nord.example.org",
        wp_user="bridge",
        catalog=CoopCatalog(**{"producers": ["P17"], **carry}),
    )


def shop_product(product_id: int = 60, **fields: Any) -> ShelfProduct:
    """The cheese as the shop lists it after the last push."""
    meta = {
        "_lieferant": "Hof Sonnenberg",
        "_produzent": "Hof Sonnenberg",
        "_einheit": "kg",
        "_loonity_id": "10452",
        "_pot_url": "https://db.pot.ch/?id=10452",
    }
    meta.update(fields.pop("meta", {}))
    product = {
        "id": product_id,
        "name": "Bergkäse mild",
        "sku": "SON-KAE-1",
        "type": "simple",
        "status": "publish",
        "regular_price": "24.80",
        "description": "<p>Aus Rohmilch</p>\n",
        "tax_class": "reduced-rate",
        "stock_status": "instock",
        "catalog_visibility": "visible",
        "manage_stock": False,
        "categories": [{"id": 19, "name": "Käse", "slug": "kaese"}],
        "images": [{"id": 71, "src": "https://shop.example.org/k.jpg"}],
        "meta_data": [
            {"id": i, "key": k, "value": v}
            for i, (k, v) in enumerate(meta.items(), 1)
            if v is not None
        ],
    }
    product.update(fields)

    return ShelfProduct.model_validate(product)


def pushed_item(**changes: Any) -> ItemState:
    values: dict[str, Any] = {
        "pot_id": "10452",
        "product_id": 60,
        "sku": "SON-KAE-1",
        "pushed": PUSHED,
        "image_src": "https://cdn.example.net/bilder/bergkaese.jpg",
        "image_id": 71,
    }
    values.update(changes)

    return ItemState(**values)


def plan_of(
    products: list[ShelfProduct],
    item: ItemState | None = None,
    catalog: Catalog | None = None,
    in_rounds: dict[int, str] | None = None,
    **carry: Any,
) -> Plan:
    shelf = Shelf(products, {"Käse": 19})
    items = {item.pot_id: item} if item else {}
    return plan(
        coop(**carry),
        catalog or central(),
        shelf,
        items,
        in_rounds or {},
        product_page=PAGE,
    )


def only(planned: Plan) -> Step:
    [step] = planned.steps
    return step


def changes(step: Step) -> dict[str, tuple[object, object]]:
    return {c.field: (c.old, c.new) for c in step.changes}


def test_unchanged_product_has_no_step() -> None:
    assert [] == plan_of([shop_product()], pushed_item()).steps


def test_matched_by_pot_id_before_sku_and_its_sku_kept() -> None:
    """The coop's own SKU stays: labels with it are printed."""
    step = only(plan_of([shop_product(sku="EIGENE-7")], pushed_item()))

    assert ("keep", "EIGENE-7", {}) == (step.action, step.sku, changes(step))


def test_same_sku_without_pot_id_is_adopted() -> None:
    product = shop_product(meta={"_loonity_id": None, "_pot_url": None})

    step = only(plan_of([product]))

    assert "adopt" == step.action
    assert (None, "10452") == changes(step)["pot_id"]
    assert (None, "https://db.pot.ch/?id=10452") == changes(step)["pot_url"]


def test_same_sku_with_another_pot_id_is_a_conflict() -> None:
    product = shop_product(meta={"_loonity_id": "777"})

    step = only(plan_of([product]))

    assert ("conflict", 60, []) == (step.action, step.product_id, step.changes)
    assert ["SKU SON-KAE-1 is taken by product #60 with POT ID 777"] == step.notes


@pytest.mark.parametrize(
    "sku", ["fcplugin_pos_product", "FCPLUGIN_INSTANT_TOPUP_PRODUCT"]
)
def test_plugin_skus_are_never_created(sku: str) -> None:
    step = only(plan_of([], catalog=central(sku=sku)))

    assert ("conflict", []) == (step.action, step.changes)


def test_unavailable_product_is_not_created() -> None:
    assert [] == plan_of([], catalog=central(available=False)).steps


def test_new_product_carries_every_field_and_its_identity() -> None:
    step = only(plan_of([], margin_percent=Decimal(10)))

    assert {
        "name": (None, "Bergkäse mild"),
        "price": (None, "27.30"),
        "unit": (None, "kg"),
        "producer": (
            None,
            {"_lieferant": "Hof Sonnenberg", "_produzent": "Hof Sonnenberg"},
        ),
        "category": (None, "Käse"),
        "description": (None, "Aus Rohmilch"),
        "availability": (
            None,
            {"stock_status": "instock", "catalog_visibility": "visible"},
        ),
        "tax_class": (None, "reduced-rate"),
        "pot_id": (None, "10452"),
        "pot_url": (None, "https://db.pot.ch/?id=10452"),
    } == changes(step)
    assert ("create", "SON-KAE-1") == (step.action, step.sku)
    assert "https://cdn.example.net/bilder/bergkaese.jpg" == step.image


def test_empty_central_fields_are_not_written() -> None:
    """No origin, pack size or short description centrally: the shop keeps its own."""
    step = only(plan_of([]))

    assert set() == {"origin", "pack_size", "short_description"} & set(changes(step))


def test_only_the_fields_the_bridge_owns() -> None:
    catalog = central(price="26.00", name="Bergkäse rezent")

    step = only(plan_of([shop_product()], pushed_item(), catalog, fields=["price"]))

    assert {"price": ("24.80", "26.00")} == changes(step)


def test_rendered_description_is_not_an_edit() -> None:
    catalog = central(description="Aus Heumilch")

    step = only(plan_of([shop_product()], pushed_item(), catalog))

    assert [] == step.taken_over
    assert {"description": ("Aus Rohmilch", "Aus Heumilch")} == changes(step)


def test_coop_edit_takes_the_field_over() -> None:
    edited = shop_product(description="<p>Unser Lieblingskäse</p>\n")
    catalog = central(description="Aus Heumilch", price="26.00")

    step = only(plan_of([edited], pushed_item(), catalog))

    assert (["description"], ["description"]) == (step.taken_over, step.owned)
    assert {"price": ("24.80", "26.00")} == changes(step)


def test_owned_field_is_not_looked_at_again() -> None:
    item = pushed_item(owned=("description",))
    edited = shop_product(description="<p>Unser Lieblingskäse</p>\n")

    assert [] == plan_of([edited], item, central(description="Neu")).steps


def test_shop_read_back_unknown_takes_what_the_shop_shows() -> None:
    """After a write that could not be read back, nothing counts as an edit."""
    item = pushed_item(pushed={**PUSHED, "_shown": None})
    edited = shop_product(description="<p>Aus Rohmilch!</p>")

    step = only(plan_of([edited], item))

    assert ([], "keep") == (step.taken_over, step.action)
    assert {"description": "<p>Aus Rohmilch!</p>"} == step.shown


def test_price_held_in_an_open_round() -> None:
    step = only(
        plan_of(
            [shop_product()], pushed_item(), central(price="26.00"), {60: "plugin:130"}
        )
    )

    assert {} == changes(step)
    assert {"price": "26.00", "round": "plugin:130"} == step.held
    assert ["price 26.00 held until round plugin:130 closes"] == step.notes
    assert "24.80" == step.settled["price"]


def test_price_applied_in_an_open_round_when_the_coop_says_so() -> None:
    step = only(
        plan_of(
            [shop_product()],
            pushed_item(),
            central(price="26.00"),
            {60: "plugin:130"},
            open_round_prices="apply",
        )
    )

    assert {"price": ("24.80", "26.00")} == changes(step)
    assert ["price 26.00 applied although round plugin:130 is open"] == step.notes


def test_held_price_released_once_the_round_is_over() -> None:
    item = pushed_item(held={"price": "26.00", "round": "plugin:130"})

    step = only(plan_of([shop_product()], item, central(price="26.00")))

    assert ({"price": ("24.80", "26.00")}, {}) == (changes(step), step.held)


def test_product_no_longer_carried_is_out_listed_only() -> None:
    catalog = central(price="26.00")

    step = only(plan_of([shop_product()], pushed_item(), catalog, producers=[]))

    assert "outlist" == step.action
    assert {
        "availability": (
            {"stock_status": "instock", "catalog_visibility": "visible"},
            {"stock_status": "outofstock", "catalog_visibility": "hidden"},
        )
    } == changes(step)


def test_product_leaving_the_catalog_is_out_listed_though_the_coop_owned_stock() -> (
    None
):
    """The coop took availability over while it sold the product; gone is gone."""
    item = pushed_item(owned=("availability",))

    step = only(plan_of([shop_product()], item, central(price="26.00"), producers=[]))

    assert "outlist" == step.action
    assert {
        "availability": (
            {"stock_status": "instock", "catalog_visibility": "visible"},
            {"stock_status": "outofstock", "catalog_visibility": "hidden"},
        )
    } == changes(step)


def test_stock_counted_by_the_shop_leaves_the_stock_status_alone() -> None:
    managed = shop_product(manage_stock=True, stock_status="outofstock")

    step = only(plan_of([managed], pushed_item(), central(available=False)))

    assert {
        "availability": (
            {"catalog_visibility": "visible"},
            {"catalog_visibility": "hidden"},
        )
    } == changes(step)


def test_grower_is_the_produzent() -> None:
    catalog = central()
    product = catalog.products["10452"].model_copy(update={"grower": "Alp Sässa"})
    catalog = catalog.model_copy(update={"products": {"10452": product}})

    step = only(plan_of([shop_product()], pushed_item(), catalog))

    assert {
        "producer": (
            {"_lieferant": "Hof Sonnenberg", "_produzent": "Hof Sonnenberg"},
            {"_lieferant": "Hof Sonnenberg", "_produzent": "Alp Sässa"},
        )
    } == changes(step)


def test_category_by_the_coops_name_unescaped() -> None:
    product = shop_product(
        categories=[{"id": 20, "name": "Milch &amp; Käse", "slug": "milch-kaese"}]
    )
    item = pushed_item(pushed={**PUSHED, "category": "Milch & Käse"})

    planned = plan_of([product], item, central(), category_map={"Käse": "Milch & Käse"})

    assert [] == planned.steps


def test_changed_image_is_sent_and_nothing_else() -> None:
    url = "https://cdn.example.net/bilder/bergkaese-2.jpg"

    step = only(plan_of([shop_product()], pushed_item(), central(image_url=url)))

    assert ([], url) == (step.changes, step.image)


def test_image_the_coop_replaced_is_theirs() -> None:
    url = "https://cdn.example.net/bilder/bergkaese-2.jpg"
    replaced = shop_product(
        images=[{"id": 88, "src": "https://shop.example.org/x.jpg"}]
    )

    step = only(plan_of([replaced], pushed_item(), central(image_url=url)))

    assert (None, ["image"]) == (step.image, step.taken_over)


def test_image_of_an_unanswered_send_is_found_not_sent_again() -> None:
    url = "https://cdn.example.net/bilder/bergkaese-2.jpg"
    item = pushed_item(pushed={**PUSHED, "_image_pending": url})
    arrived = shop_product(images=[{"id": 90, "src": "https://shop.example.org/y.jpg"}])

    step = only(plan_of([arrived], item, central(image_url=url)))

    assert (None, 90) == (step.image, step.image_found)


def test_variable_product_is_left_alone() -> None:
    """T-17: its price and stock live on the variations."""
    step = only(
        plan_of([shop_product(type="variable")], pushed_item(), central(price="26.00"))
    )

    assert ("skip", []) == (step.action, step.changes)
