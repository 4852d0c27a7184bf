"""List filters: WordPress date semantics, statuses, ordering, and T-05."""

from __future__ import annotations

import pytest
import requests
from sandbox_helpers import NOW, signed_url, wc_get

from pot_bridge.sandbox import SandboxShop, seed_coop


def _ids(shop: SandboxShop, path: str, query: str) -> list[int]:
    response = wc_get(shop, path, query)
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            "modified_after=2026-12-04T12:00:00&dates_are_gmt=true",
            [144],
            id="strictly-after-boundary",
        ),
        pytest.param(
            "modified_after=2026-12-04T11:59:59&dates_are_gmt=true",
            [143, 144],
            id="one-second-earlier",
        ),
        pytest.param(
            "modified_after=2026-12-04T12:00:00.999&dates_are_gmt=true",
            [144],
            id="fraction-cut-to-second",
        ),
        pytest.param(
            "modified_after=2026-12-04T12:30:00", [143, 144], id="naive-is-site-local"
        ),
        pytest.param(
            "modified_after=2026-12-04T12:30:00&dates_are_gmt=true",
            [144],
            id="naive-with-flag-is-utc",
        ),
        pytest.param("modified_after=2026-12-04T12:00:00Z", [144], id="z-honoured"),
        pytest.param(
            "modified_after=2026-12-04T12:00:00Z&dates_are_gmt=true",
            [144],
            id="z-with-flag",
        ),
        pytest.param(
            "modified_after=2026-12-04T17:00:00%2B05:00", [144], id="offset-honoured"
        ),
        pytest.param(
            "modified_before=2026-11-28T13:30:00&dates_are_gmt=true",
            [131],
            id="strictly-before",
        ),
        pytest.param(
            "after=2026-12-04T07:00:00&dates_are_gmt=true",
            [143, 144],
            id="after-is-creation",
        ),
    ],
)
def test_date_filters(shop: SandboxShop, query: str, expected: list[int]) -> None:
    got = _ids(shop, "orders", f"{query}&orderby=id&order=asc&per_page=100")

    assert expected == got


def test_modified_order_ascending_breaks_ties_by_id(shop: SandboxShop) -> None:
    shop.state.touch(131)
    shop.state.touch(132)

    got = _ids(shop, "orders", "orderby=modified&order=asc&per_page=100")

    assert got[-2:] == [131, 132]
    assert got[0] == 133


def test_old_shop_ignores_modified_after() -> None:
    """T-05: without support the filter is silently ignored and not advertised."""
    state = seed_coop(NOW)
    state.clock = lambda: NOW
    with SandboxShop(state, supports_modified_after=False) as old:
        got = _ids(old, "orders", "modified_after=2026-12-04T12:00:00&per_page=100")
        options = requests.options(
            signed_url(old, "orders", method="OPTIONS"), timeout=5
        ).json()

    assert len(got) == 12
    assert "modified_after" not in options["endpoints"][0]["args"]


def test_options_lists_modified_after(shop: SandboxShop) -> None:
    response = requests.options(signed_url(shop, "orders", method="OPTIONS"), timeout=5)
    args = response.json()["endpoints"][0]["args"]

    assert {"modified_after", "modified_before", "dates_are_gmt"} <= set(args)
    assert response.headers["Allow"] == "GET, POST"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("status=trash", [136], id="trash-only-on-request"),
        pytest.param("status=cancelled", [138], id="cancelled"),
        pytest.param("status=processing,cancelled&customer=6", [138], id="comma-list"),
        pytest.param("status[0]=trash&status[1]=cancelled", [136, 138], id="php-array"),
        pytest.param("customer=3", [139], id="reorder-hides-the-old-order"),
        pytest.param("customer=0", [140], id="guest"),
        pytest.param("include=140,131&orderby=include", [140, 131], id="include"),
    ],
)
def test_order_filters(shop: SandboxShop, query: str, expected: list[int]) -> None:
    order = "" if "orderby" in query else "&orderby=id&order=asc"

    assert expected == _ids(shop, "orders", f"{query}{order}")


def test_default_listing_is_newest_first_without_trash(shop: SandboxShop) -> None:
    got = _ids(shop, "orders", "per_page=100")

    assert got == [144, 143, 142, 140, 139, 138, 137, 135, 134, 133, 132, 131]


def test_products_default_to_any_status_and_filter_by_sku(shop: SandboxShop) -> None:
    every = _ids(shop, "products", "per_page=100&orderby=id&order=asc")
    published = _ids(shop, "products", "status=publish&per_page=100")
    by_sku = _ids(shop, "products", "sku=POT-000101,POT-000113,POT-999999")

    assert every == list(range(11, 38))
    assert 34 not in published
    assert len(published) == 26
    assert sorted(by_sku) == [11, 21]
    assert _ids(shop, "products", "sku=nope") == []


def test_product_carries_pot_meta(shop: SandboxShop) -> None:
    cheese = wc_get(shop, "products/21").json()
    honey = wc_get(shop, "products/35").json()

    keys = [m["key"] for m in cheese["meta_data"]]
    assert keys == [
        "_einheit",
        "_gebinde",
        "_lieferant",
        "_produzent",
        "_herkunft",
        "_loonity_id",
    ]
    assert {m["key"]: m["value"] for m in cheese["meta_data"]}["_einheit"] == "kg"
    assert "_lieferant" not in {m["key"] for m in honey["meta_data"]}


def test_customer_filters(shop: SandboxShop) -> None:
    assert _ids(shop, "customers", "email=Jonas.Keller@example.org") == [3]
    assert _ids(shop, "customers", "role=foodcoop_manager&orderby=id") == [12, 14]
    assert _ids(shop, "customers", "orderby=id&order=desc&per_page=3") == [11, 10, 9]


def test_refunds_list_across_orders(shop: SandboxShop) -> None:
    rows = wc_get(shop, "refunds").json()
    later = _ids(shop, "refunds", "after=2026-12-03T19:00:00&dates_are_gmt=true")

    assert [(r["id"], r["parent_id"]) for r in rows] == [(141, 137)]
    assert later == []


@pytest.mark.parametrize(
    ("query", "param"),
    [
        pytest.param("per_page=0", "per_page", id="per-page-zero"),
        pytest.param("per_page=abc", "per_page", id="per-page-text"),
        pytest.param("page=0", "page", id="page-zero"),
        pytest.param("orderby=price", "orderby", id="orderby"),
        pytest.param("after=yesterday", "after", id="after"),
    ],
)
def test_bad_parameters_are_rest_invalid_param(
    shop: SandboxShop, query: str, param: str
) -> None:
    response = wc_get(shop, "orders", query)
    body = response.json()

    assert response.status_code == 400
    assert body["code"] == "rest_invalid_param"
    assert list(body["data"]["params"]) == [param]
