"""Product and category writes, answered as the recorded WooCommerce 9.9.5 shop does."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
import requests
from sandbox_helpers import NOW, WC, fixture, signed_url, wc_get, wc_send

from pot_bridge.sandbox import Fault, SandboxShop

BATCH = "POST /wc/v3/products/batch"
KAROTTEN = 11  # POT-000101, regular price 3.20, not stock-managed
BUTTER = 22  # POT-000114, stock-managed, 40 in stock
DRAFT = 34  # Kürbiskernöl
# The recording's ids that differ in the sandbox: the stock-managed product
# and the draft it deleted.
RECORDED_TO_SANDBOX = {24: BUTTER, 39: DRAFT}


def _keys(obj: dict[str, Any]) -> list[str]:
    return list(obj)


def _recorded_batch() -> dict[str, Any]:
    return fixture(WC / "products_batch_create_update_delete_mixed.json")


def _sandbox_request(recorded: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(recorded["request"]["body"])
    for item in body["update"]:
        item["id"] = RECORDED_TO_SANDBOX.get(item["id"], item["id"])
    body["delete"] = [RECORDED_TO_SANDBOX.get(i, i) for i in body["delete"]]
    return body


def _meta(product: dict[str, Any]) -> dict[str, Any]:
    return {m["key"]: m["value"] for m in product["meta_data"]}


def _put(shop: SandboxShop, product_id: int, body: dict[str, Any]) -> requests.Response:
    return wc_send(shop, "PUT", f"products/{product_id}", body)


# -- batch ------------------------------------------------------------------------


def test_recorded_mixed_batch_gets_the_recorded_answer(shop: SandboxShop) -> None:
    """200 with the created product, the SKU error, both updates, the unknown
    update (400), the deleted draft and the unknown delete (404)."""
    recorded = _recorded_batch()
    want = recorded["body"]

    response = wc_send(shop, "POST", "products/batch", _sandbox_request(recorded))
    got = response.json()

    assert recorded["status"] == response.status_code
    assert [h for h in recorded["headers"] if h not in ("Date", "X-Powered-By")] == [
        h for h in response.headers if h not in ("Date", "Server", "Content-Length")
    ]
    assert "POST, PUT, PATCH" == response.headers["Allow"]
    assert _keys(want) == _keys(got)
    created, duplicate = got["create"]
    assert _keys(want["create"][0]) == _keys(created)
    assert (145, "POT-000171", "3.80", "reduced-rate") == (
        created["id"],
        created["sku"],
        created["price"],
        created["tax_class"],
    )
    assert [{"id": 16, "name": "Gemüse &amp; Früchte", "slug": "gemuese-fruechte"}] == (
        created["categories"]
    )
    assert _meta(want["create"][0]) == _meta(created)
    assert want["create"][0]["average_rating"] == created["average_rating"]
    assert want["create"][1] == duplicate
    karotten, butter, unknown = got["update"]
    assert _keys(want["update"][0]) == _keys(karotten)
    assert ("3.45", "Schweiz, FR", "2026-12-04T15:00:00") == (
        karotten["regular_price"],
        _meta(karotten)["_herkunft"],
        karotten["date_modified_gmt"],
    )
    assert (24, "instock") == (butter["stock_quantity"], butter["stock_status"])
    assert want["update"][2] == unknown
    deleted, missing = got["delete"]
    assert _keys(want["delete"][0]) == _keys(deleted)
    assert (DRAFT, "draft", "", f"{shop.url}/?post_type=product&p={DRAFT}") == (
        deleted["id"],
        deleted["status"],
        deleted["slug"],
        deleted["permalink"],
    )
    assert want["delete"][1] == missing


def test_batch_update_keeps_the_meta_row(shop: SandboxShop) -> None:
    """A key sent without an id updates the existing row in place."""
    before = wc_get(shop, f"products/{KAROTTEN}").json()
    row_id = next(m["id"] for m in before["meta_data"] if m["key"] == "_herkunft")

    wc_send(shop, "POST", "products/batch", _sandbox_request(_recorded_batch()))
    after = wc_get(shop, f"products/{KAROTTEN}").json()

    assert [(row_id, "Schweiz, FR")] == [
        (m["id"], m["value"]) for m in after["meta_data"] if m["key"] == "_herkunft"
    ]
    assert len(before["meta_data"]) == len(after["meta_data"])


def test_batch_deletes_are_permanent(shop: SandboxShop) -> None:
    wc_send(shop, "POST", "products/batch", {"delete": [DRAFT]})

    response = wc_get(shop, f"products/{DRAFT}")
    listed = wc_get(shop, "products", "status=any&per_page=100").json()

    assert 404 == response.status_code
    assert DRAFT not in [p["id"] for p in listed]


def test_single_delete_moves_to_the_trash(shop: SandboxShop) -> None:
    url = signed_url(shop, f"products/{DRAFT}", method="DELETE")
    first = requests.delete(url, timeout=5)
    again = requests.delete(
        signed_url(shop, f"products/{DRAFT}", method="DELETE"), timeout=5
    )

    assert (200, "draft") == (first.status_code, first.json()["status"])
    assert "trash" == wc_get(shop, f"products/{DRAFT}").json()["status"]
    assert (410, "woocommerce_rest_already_trashed") == (
        again.status_code,
        again.json()["code"],
    )


@pytest.mark.parametrize(
    ("creates", "updates", "deletes"),
    [
        pytest.param(50, 60, 0, id="t14-input"),
        pytest.param(0, 100, 1, id="deletes-count-too"),
        pytest.param(101, 0, 0, id="creates-alone"),
    ],
)
def test_more_than_100_items_are_refused_whole(
    shop: SandboxShop, creates: int, updates: int, deletes: int
) -> None:
    """T-14: counted across create, update and delete; nothing is applied."""
    body = {
        "create": [{"name": f"Neu {i}", "sku": f"NEU-{i}"} for i in range(creates)],
        "update": [{"id": KAROTTEN, "regular_price": "9.99"}] * updates,
        "delete": [DRAFT] * deletes,
    }
    before = len(shop.state.products)

    response = wc_send(shop, "POST", "products/batch", body)

    assert 413 == response.status_code
    assert {
        "code": "woocommerce_rest_request_entity_too_large",
        "message": "Unable to accept more than 100 items for this request.",
        "data": {"status": 413},
    } == response.json()
    assert before == len(shop.state.products)
    assert "3.20" == wc_get(shop, f"products/{KAROTTEN}").json()["regular_price"]


def test_exactly_100_items_are_accepted(shop: SandboxShop) -> None:
    body = {"update": [{"id": KAROTTEN, "regular_price": "3.30"}] * 100}

    response = wc_send(shop, "POST", "products/batch", body)

    assert 200 == response.status_code
    assert 100 == len(response.json()["update"])


def test_empty_batch_answers_an_empty_list(shop: SandboxShop) -> None:
    response = wc_send(shop, "POST", "products/batch", {"create": [], "delete": []})

    assert (200, []) == (response.status_code, response.json())


# -- images ---------------------------------------------------------------------


def test_image_type_error_aborts_the_price_change(shop: SandboxShop) -> None:
    """T-16: the recorded body, and nothing of the update is applied."""
    before = wc_get(shop, f"products/{KAROTTEN}").json()
    shop.state.clock = lambda: NOW + timedelta(minutes=5)

    response = _put(
        shop,
        KAROTTEN,
        {
            "regular_price": "2.20",
            "images": [{"src": "https://cdn.example.net/img?id=42"}],
        },
    )
    after = wc_get(shop, f"products/{KAROTTEN}").json()

    assert 400 == response.status_code
    assert {
        "code": "woocommerce_product_image_upload_error",
        "message": "Invalid image: Sorry, this file type is not permitted for "
        "security reasons.",
        "data": {"status": 400},
    } == response.json()
    assert before == after
    assert 0 == shop.state.media_created


@pytest.mark.parametrize(
    "src",
    [
        pytest.param("https://unreachable.invalid/karotten.jpg", id="no-such-host"),
        pytest.param("http://127.0.0.1:9/karotten.jpg", id="loopback"),
        pytest.param("https://cdn.example.net:8443/karotten.jpg", id="unsafe-port"),
    ],
)
def test_unreachable_image_fails_without_a_request(shop: SandboxShop, src: str) -> None:
    """The download is simulated: the sandbox never contacts the host."""
    response = _put(shop, KAROTTEN, {"regular_price": "2.20", "images": [{"src": src}]})

    assert 400 == response.status_code
    assert {
        "code": "woocommerce_product_image_upload_error",
        "message": f"Error getting remote image {src}. "
        "Error: A valid URL was not provided.",
        "data": {"status": 400},
    } == response.json()
    assert "3.20" == wc_get(shop, f"products/{KAROTTEN}").json()["regular_price"]


def test_images_before_the_bad_one_stay_in_the_library(shop: SandboxShop) -> None:
    response = _put(
        shop,
        KAROTTEN,
        {
            "images": [
                {"src": "https://cdn.example.net/karotten.jpg"},
                {"src": "https://cdn.example.net/karotten.pdf"},
            ]
        },
    )

    assert 400 == response.status_code
    assert 1 == shop.state.media_created
    assert [] == wc_get(shop, f"products/{KAROTTEN}").json()["images"]


def test_same_src_twice_makes_two_media(shop: SandboxShop) -> None:
    """The duplicate-media trap: every save downloads `src` again."""
    image = {"src": "https://cdn.example.net/bilder/karotten.jpg?v=3", "alt": "Rüebli"}

    first = _put(shop, KAROTTEN, {"images": [image]}).json()["images"]
    second = _put(shop, KAROTTEN, {"images": [image]}).json()["images"]

    assert 2 == shop.state.media_created
    assert first[0]["id"] != second[0]["id"]
    assert first[0]["src"].endswith("/wp-content/uploads/2026/12/karotten.jpg")
    assert second[0]["src"].endswith("/wp-content/uploads/2026/12/karotten-1.jpg")
    assert ("karotten.jpg", "Rüebli") == (first[0]["name"], first[0]["alt"])


def test_image_id_reuses_the_media(shop: SandboxShop) -> None:
    uploaded = _put(
        shop, KAROTTEN, {"images": [{"src": "https://cdn.example.net/k.png"}]}
    ).json()["images"][0]

    reused = _put(
        shop,
        KAROTTEN,
        {"regular_price": "3.40", "images": [{"id": uploaded["id"]}]},
    ).json()

    assert 1 == shop.state.media_created
    assert [uploaded["id"]] == [i["id"] for i in reused["images"]]
    assert "3.40" == reused["price"]


def test_unknown_image_id_is_refused(shop: SandboxShop) -> None:
    response = _put(shop, KAROTTEN, {"images": [{"id": KAROTTEN}]})

    assert (
        400,
        "woocommerce_product_invalid_image_id",
        "#11 is an invalid image ID.",
    ) == (
        response.status_code,
        response.json()["code"],
        response.json()["message"],
    )


def test_image_error_in_a_batch_fails_that_item_only(shop: SandboxShop) -> None:
    body = {
        "update": [
            {"id": KAROTTEN, "regular_price": "2.20", "images": [{"src": "x.invalid"}]},
            {"id": BUTTER, "regular_price": "4.70"},
        ]
    }

    failed, butter = wc_send(shop, "POST", "products/batch", body).json()["update"]

    assert (KAROTTEN, "woocommerce_product_image_upload_error") == (
        failed["id"],
        failed["error"]["code"],
    )
    assert "4.70" == butter["regular_price"]
    assert "3.20" == wc_get(shop, f"products/{KAROTTEN}").json()["regular_price"]


# -- fields -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        pytest.param("3,50", "350", id="comma-on-a-dot-shop"),
        pytest.param("1'234.50", "1234.50", id="thousands-separator"),
        pytest.param(" 4.20 ", "4.20", id="spaces"),
        pytest.param("3.50.1", "350.1", id="two-dots"),
        pytest.param("gratis", "", id="no-digits"),
    ],
)
def test_prices_pass_wc_format_decimal(
    shop: SandboxShop, sent: str, stored: str
) -> None:
    product = _put(shop, KAROTTEN, {"regular_price": sent}).json()

    assert (stored, stored) == (product["regular_price"], product["price"])


def test_price_html_shows_the_stored_price(shop: SandboxShop) -> None:
    product = _put(shop, KAROTTEN, {"regular_price": "3,50"}).json()

    assert "&nbsp;350.00</bdi>" in product["price_html"]


def test_sale_price_below_regular_puts_the_product_on_sale(shop: SandboxShop) -> None:
    recorded = fixture(WC / "product_get_simple_on_sale.json")["body"]

    on_sale = _put(shop, KAROTTEN, {"regular_price": "3.45", "sale_price": "2.95"})
    above = _put(shop, KAROTTEN, {"sale_price": "3.95"}).json()

    assert recorded["price_html"] == on_sale.json()["price_html"]
    assert (True, "2.95") == (on_sale.json()["on_sale"], on_sale.json()["price"])
    assert (False, "3.45") == (above["on_sale"], above["price"])


def test_single_request_refuses_a_number_price(shop: SandboxShop) -> None:
    response = _put(shop, KAROTTEN, {"regular_price": 3.5, "status": "sold"})

    assert 400 == response.status_code
    assert "rest_invalid_param" == response.json()["code"]
    assert {
        "regular_price": "regular_price is not of type string.",
        "status": "status is not one of draft, pending, private, publish, future, "
        "auto-draft, and trash.",
    } == response.json()["data"]["params"]


def test_batch_items_skip_the_schema(shop: SandboxShop) -> None:
    """WooCommerce's batch calls the controller directly: no type checks."""
    body = {"update": [{"id": KAROTTEN, "regular_price": 3.5, "status": "sold"}]}

    [product] = wc_send(shop, "POST", "products/batch", body).json()["update"]

    assert ("3.5", "draft") == (product["regular_price"], product["status"])


def test_create_answers_201_with_location(shop: SandboxShop) -> None:
    response = wc_send(
        shop,
        "POST",
        "products",
        {
            "name": "Birnen Williams",
            "sku": "POT-000109",
            "regular_price": "4.60",
            "status": "private",
            "catalog_visibility": "hidden",
            "short_description": "Birnen (kg)",
            "tax_class": "reduced-rate",
            "weight": "1,0",
        },
    )
    product = response.json()

    assert 201 == response.status_code
    assert response.headers["Location"].endswith(f"/wc/v3/products/{product['id']}")
    assert (
        "birnen-williams",
        "private",
        "hidden",
        "Birnen (kg)",
        "10",
        [15],
    ) == (
        product["slug"],
        product["status"],
        product["catalog_visibility"],
        product["short_description"],
        product["weight"],
        [c["id"] for c in product["categories"]],
    )
    shown = wc_get(shop, f"products/{product['id']}").json()
    assert "<p>Birnen (kg)</p>\n" == shown["short_description"]
    assert "generated_slug" not in shown


def test_duplicate_sku_is_refused_with_its_owner(shop: SandboxShop) -> None:
    """MySQL compares SKUs without case, so "pot-000101" is taken too."""
    response = wc_send(
        shop, "POST", "products", {"name": "Karotten bio", "sku": "pot-000101"}
    )

    assert 400 == response.status_code
    assert {
        "code": "product_invalid_sku",
        "message": "Invalid or duplicated SKU.",
        "data": {"status": 400, "resource_id": 11, "unique_sku": "pot-000101-1"},
    } == response.json()


def test_trashed_products_free_their_sku(shop: SandboxShop) -> None:
    requests.delete(signed_url(shop, f"products/{DRAFT}", method="DELETE"), timeout=5)

    response = wc_send(shop, "POST", "products", {"name": "Öl", "sku": "POT-000135"})

    assert 201 == response.status_code


def test_unknown_category_is_dropped_without_error(shop: SandboxShop) -> None:
    """wp_set_object_terms skips term ids that do not exist; no 400."""
    response = _put(shop, KAROTTEN, {"categories": [{"id": 9999}]})

    assert (200, []) == (response.status_code, response.json()["categories"])


def test_categories_replace_the_set(shop: SandboxShop) -> None:
    product = _put(shop, KAROTTEN, {"categories": [{"id": 19}, {"id": 16}]}).json()

    assert [19, 16] == [c["id"] for c in product["categories"]]


def test_unknown_tax_class_becomes_standard(shop: SandboxShop) -> None:
    zero = _put(shop, KAROTTEN, {"tax_class": "zero-rate"}).json()
    bogus = _put(shop, KAROTTEN, {"tax_class": "lebensmittel"}).json()

    assert ("zero-rate", "") == (zero["tax_class"], bogus["tax_class"])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {"stock_quantity": 12},
            (False, None, "instock"),
            id="quantity-ignored-without-manage-stock",
        ),
        pytest.param(
            {"manage_stock": True, "stock_quantity": 12},
            (True, 12, "instock"),
            id="managed-with-quantity",
        ),
        pytest.param(
            {"manage_stock": True, "stock_quantity": 0, "stock_status": "instock"},
            (True, 0, "outofstock"),
            id="status-follows-quantity",
        ),
        pytest.param(
            {"manage_stock": True, "stock_quantity": -2, "backorders": "notify"},
            (True, -2, "onbackorder"),
            id="backorders",
        ),
        pytest.param(
            {"stock_status": "outofstock"},
            (False, None, "outofstock"),
            id="status-set-when-unmanaged",
        ),
    ],
)
def test_stock_rules(
    shop: SandboxShop, body: dict[str, Any], expected: tuple[object, ...]
) -> None:
    product = _put(shop, KAROTTEN, body).json()

    assert expected == (
        product["manage_stock"],
        product["stock_quantity"],
        product["stock_status"],
    )


def test_unmanaging_stock_clears_the_quantity(shop: SandboxShop) -> None:
    product = _put(shop, BUTTER, {"manage_stock": False}).json()

    assert (False, None, "no") == (
        product["manage_stock"],
        product["stock_quantity"],
        product["backorders"],
    )


# -- meta -------------------------------------------------------------------------


def test_meta_by_key_updates_the_first_row_and_drops_duplicates(
    shop: SandboxShop,
) -> None:
    with shop.state.lock:
        shop.state.products[KAROTTEN].meta.append([9001, "_einheit", "Bund"])
    first_id = next(
        m["id"]
        for m in wc_get(shop, f"products/{KAROTTEN}").json()["meta_data"]
        if m["key"] == "_einheit"
    )

    product = _put(
        shop, KAROTTEN, {"meta_data": [{"key": "_einheit", "value": "500 g"}]}
    ).json()

    assert [(first_id, "500 g")] == [
        (m["id"], m["value"]) for m in product["meta_data"] if m["key"] == "_einheit"
    ]


def test_meta_by_id_updates_that_row(shop: SandboxShop) -> None:
    with shop.state.lock:
        shop.state.products[KAROTTEN].meta.append([9001, "_einheit", "Bund"])

    product = _put(
        shop,
        KAROTTEN,
        {"meta_data": [{"id": 9001, "key": "_einheit", "value": "Kiste"}]},
    ).json()

    assert ["kg", "Kiste"] == [
        m["value"] for m in product["meta_data"] if m["key"] == "_einheit"
    ]


def test_meta_new_key_is_added_and_null_deletes(shop: SandboxShop) -> None:
    product = _put(
        shop,
        KAROTTEN,
        {
            "meta_data": [
                {"key": "pot_bridge_synced", "value": 1},
                {"key": "_herkunft", "value": None},
            ]
        },
    ).json()
    meta = _meta(product)

    assert "1" == meta["pot_bridge_synced"]  # stored values read back as text
    assert "_herkunft" not in meta


def test_meta_arrays_round_trip(shop: SandboxShop) -> None:
    value = {"preise": ["3.20", "3.40"], "gebinde": 10}

    product = _put(
        shop, KAROTTEN, {"meta_data": [{"key": "pot_zusatz", "value": value}]}
    ).json()

    assert value == _meta(product)["pot_zusatz"]


def test_sku_through_meta_goes_to_the_setter(shop: SandboxShop) -> None:
    response = _put(
        shop, KAROTTEN, {"meta_data": [{"key": "_sku", "value": "POT-000102"}]}
    )

    assert (400, 12) == (
        response.status_code,
        response.json()["data"]["resource_id"],
    )


# -- list consistency -------------------------------------------------------------


def test_a_write_shows_up_in_modified_after(shop: SandboxShop) -> None:
    shop.state.clock = lambda: NOW + timedelta(minutes=5)
    query = "modified_after=2026-12-04T15:00:00&dates_are_gmt=true&orderby=id&order=asc"

    before = [p["id"] for p in wc_get(shop, "products", query).json()]
    _put(shop, BUTTER, {"regular_price": "4.70"})
    after = wc_get(shop, "products", query).json()

    assert [] == before
    assert [(BUTTER, "2026-12-04T15:05:00", "4.70")] == [
        (p["id"], p["date_modified_gmt"], p["price"]) for p in after
    ]


def test_created_product_is_found_by_sku_include_and_status(shop: SandboxShop) -> None:
    created = wc_send(
        shop,
        "POST",
        "products",
        {
            "name": "Birnen",
            "sku": "POT-000109",
            "regular_price": "4.60",
            "status": "draft",
        },
    ).json()

    by_sku = wc_get(shop, "products", "sku=pot-000109").json()
    by_include = wc_get(shop, "products", f"include={created['id']},{KAROTTEN}").json()
    drafts = wc_get(shop, "products", "status=draft&orderby=id&order=asc").json()
    cheapest = wc_get(shop, "products", "orderby=price&order=desc&per_page=1").json()

    assert [created["id"]] == [p["id"] for p in by_sku]
    assert {created["id"], KAROTTEN} == {p["id"] for p in by_include}
    assert [DRAFT, created["id"]] == [p["id"] for p in drafts]
    assert "" == created["slug"]
    assert 21 == cheapest[0]["id"]  # Bergkäse 38.50 stays the dearest


# -- categories -------------------------------------------------------------------


def test_categories_list_is_paged_by_name(shop: SandboxShop) -> None:
    first = wc_get(shop, "products/categories", "per_page=3")
    past = wc_get(shop, "products/categories", "per_page=3&page=9")

    assert ("7", "3") == (first.headers["X-WP-Total"], first.headers["X-WP-TotalPages"])
    assert ["Brot", "Gemüse &amp; Früchte", "Getränke"] == [
        c["name"] for c in first.json()
    ]
    assert 'rel="next"' in first.headers["Link"]
    assert (200, [], "7") == (
        past.status_code,
        past.json(),
        past.headers["X-WP-Total"],
    )
    assert {
        "id": 16,
        "name": "Gemüse &amp; Früchte",
        "slug": "gemuese-fruechte",
        "parent": 0,
        "description": "",
        "display": "default",
        "image": None,
        "menu_order": 0,
        "count": 7,
    } == {k: v for k, v in first.json()[1].items() if k != "_links"}


def test_create_category_escapes_and_refuses_a_twin(shop: SandboxShop) -> None:
    created = wc_send(shop, "POST", "products/categories", {"name": "Obst & Beeren"})
    twin = wc_send(shop, "POST", "products/categories", {"name": "Obst & Beeren"})
    listed = wc_get(shop, "products/categories", "search=beeren").json()

    assert 201 == created.status_code
    assert ("Obst &amp; Beeren", "obst-beeren", 22) == (
        created.json()["name"],
        created.json()["slug"],
        created.json()["id"],
    )
    assert {
        "code": "term_exists",
        "message": "A term with the name provided already exists with this parent.",
        "data": {"status": 400, "resource_id": 22},
    } == twin.json()
    assert [22] == [c["id"] for c in listed]


def test_create_category_needs_a_name(shop: SandboxShop) -> None:
    response = wc_send(shop, "POST", "products/categories", {"slug": "leer"})

    assert (400, "rest_missing_callback_param") == (
        response.status_code,
        response.json()["code"],
    )


def test_product_uses_a_new_category(shop: SandboxShop) -> None:
    term = wc_send(shop, "POST", "products/categories", {"name": "Saisonales"}).json()

    product = _put(shop, KAROTTEN, {"categories": [{"id": term["id"]}]}).json()
    listed = wc_get(shop, "products/categories", f"include={term['id']}").json()

    assert [term["id"]] == [c["id"] for c in product["categories"]]
    assert 1 == listed[0]["count"]


# -- counters and faults ----------------------------------------------------------


def test_write_counters_by_route(shop: SandboxShop) -> None:
    wc_send(shop, "POST", "products/batch", {"update": [{"id": KAROTTEN}]})
    _put(shop, KAROTTEN, {"regular_price": "3.30"})
    _put(shop, BUTTER, {"regular_price": "4.70"})
    wc_send(shop, "POST", "products/categories", {"name": "Neu"})
    wc_get(shop, "products")

    assert {
        BATCH: 1,
        "PUT /wc/v3/products/<id>": 2,
        "POST /wc/v3/products/categories": 1,
    } == dict(shop.writes)


def test_500_on_batch_applies_nothing(shop: SandboxShop) -> None:
    shop.faults.add(Fault(method="POST", path=r"/products/batch$", kind="status"))

    response = wc_send(
        shop, "POST", "products/batch", _sandbox_request(_recorded_batch())
    )

    assert (500, "internal_server_error") == (
        response.status_code,
        response.json()["code"],
    )
    assert 0 == shop.writes[BATCH]
    assert 200 == wc_get(shop, f"products/{DRAFT}").status_code


def test_dropped_connection_on_batch_applies_nothing(shop: SandboxShop) -> None:
    shop.faults.add(Fault(method="POST", path=r"/products/batch$", kind="drop"))

    with pytest.raises(requests.ConnectionError):
        wc_send(shop, "POST", "products/batch", {"create": [{"sku": "POT-000109"}]})

    assert 0 == shop.writes[BATCH]
    assert [] == wc_get(shop, "products", "sku=POT-000109").json()


def test_lost_answer_then_retry_meets_its_own_sku(shop: SandboxShop) -> None:
    """The batch ran but the answer never came; a blind retry collides."""
    shop.faults.add(Fault(method="POST", path=r"/products/batch$", kind="lost"))
    body = {"create": [{"name": "Birnen", "sku": "POT-000109"}]}

    with pytest.raises(requests.ConnectionError):
        wc_send(shop, "POST", "products/batch", body)
    retry = wc_send(shop, "POST", "products/batch", body).json()
    [first] = wc_get(shop, "products", "sku=POT-000109").json()

    assert 2 == shop.writes[BATCH]
    assert {
        "id": 0,
        "error": {
            "code": "product_invalid_sku",
            "message": "Invalid or duplicated SKU.",
            "data": {
                "status": 400,
                "resource_id": first["id"],
                "unique_sku": "POT-000109-1",
            },
        },
    } == retry["create"][0]


def test_anonymous_batch_is_refused(shop: SandboxShop) -> None:
    response = requests.post(
        f"{shop.url}/wp-json/wc/v3/products/batch",
        json={"delete": [DRAFT]},
        timeout=5,
    )

    assert (401, "woocommerce_rest_cannot_batch") == (
        response.status_code,
        response.json()["code"],
    )
    assert 0 == shop.writes[BATCH]


def test_read_only_key_cannot_write(shop: SandboxShop) -> None:
    shop.read_only = True

    response = _put(shop, KAROTTEN, {"regular_price": "1.00"})

    assert 401 == response.status_code
    assert 0 == sum(shop.writes.values())
