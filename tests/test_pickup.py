"""Where a member picks up an order: the coop's meta key, else a pickup line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bridge_helpers import make_bridge
from sqlalchemy import select

from pot_bridge.bridge import Bridge
from pot_bridge.mailcatcher import MailCatcher
from pot_bridge.sandbox import SEED, SandboxShop
from pot_bridge.shop.wire import parse_order
from pot_bridge.store.schema import Order

DEPOT = {
    "id": 95,
    "method_title": "Abholung im Depot",
    "method_id": "local_pickup",
    "instance_id": "",
    "total": "0.00",
    "total_tax": "0.00",
    "taxes": [],
}
COURIER = {**DEPOT, "id": 96, "method_title": "Velokurier", "method_id": "flat_rate"}
BLOCK_PICKUP = {
    **DEPOT,
    "id": 97,
    "method_title": "Hofladen Sonnenberg",
    "method_id": "pickup_location",
}


def order(
    shipping_lines: list[dict[str, Any]] | None, **meta: object
) -> dict[str, Any]:
    """A member's order as GET /wc/v3/orders/{id} answers it, cut to what counts."""
    raw: dict[str, Any] = {
        "id": 131,
        "status": "processing",
        "total": "12.40",
        "meta_data": [
            {"id": 900 + i, "key": key, "value": value}
            for i, (key, value) in enumerate(meta.items())
        ],
    }
    if shipping_lines is not None:
        raw["shipping_lines"] = shipping_lines
    return raw


def pickup(raw: dict[str, Any], meta_key: str | None = "abholort") -> str:
    return parse_order(raw, "sandbox").pickup_place(meta_key)


def test_meta_key_wins_over_the_pickup_line() -> None:
    assert "Hub Nord" == pickup(order([DEPOT], abholort=" Hub Nord "))


def test_local_pickup_line_names_the_place() -> None:
    assert "Abholung im Depot" == pickup(order([COURIER, DEPOT]))


def test_block_checkout_pickup_location_names_the_place() -> None:
    assert "Hofladen Sonnenberg" == pickup(order([BLOCK_PICKUP]))


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("  ", id="blank"),
        pytest.param(["Hub Nord"], id="list"),
        pytest.param({"name": "Hub Nord"}, id="object"),
    ],
)
def test_meta_without_a_name_falls_back_to_the_pickup_line(value: object) -> None:
    assert "Abholung im Depot" == pickup(order([DEPOT], abholort=value))


def test_meta_is_ignored_without_a_configured_key() -> None:
    assert "Abholung im Depot" == pickup(order([DEPOT], abholort="Hub Nord"), None)


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(None, id="no-shipping-lines"),
        pytest.param([], id="empty-list"),
        pytest.param([COURIER], id="delivery-only"),
    ],
)
def test_nothing_names_a_place(lines: list[dict[str, Any]] | None) -> None:
    assert "" == pickup(order(lines))


def test_null_shipping_lines_are_tolerated() -> None:
    raw = {**order(None), "shipping_lines": None}

    assert "" == pickup(raw)


@pytest.fixture
def bridge(
    shop: SandboxShop, db_url: str, mail: MailCatcher, tmp_path: Path
) -> Iterator[Bridge]:
    bridge = make_bridge(shop, db_url, mail.port, tmp_path)
    yield bridge
    bridge.dispose()


def with_pickup_key(bridge: Bridge, key: str) -> None:
    coop = bridge.settings.coop("sandbox").model_copy(update={"pickup_meta_key": key})
    bridge.settings = bridge.settings.model_copy(update={"coops": [coop]})


def pickup_places(bridge: Bridge) -> dict[int, str]:
    with bridge.sessions() as session:
        rows = session.execute(select(Order.order_id, Order.pickup_place))
        return {row.order_id: row.pickup_place for row in rows}


def test_sync_stores_the_pickup_place(bridge: Bridge, shop: SandboxShop) -> None:
    with_pickup_key(bridge, "abholort")
    shop.state.set_meta(SEED["classic"], "abholort", "Hub Nord")

    bridge.sync("sandbox")

    places = pickup_places(bridge)
    assert "Hub Nord" == places.pop(SEED["classic"])
    assert {"Abholung im Depot"} == set(places.values())


def test_pickup_key_set_later_is_read_without_counting_a_change(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """Trap T-01: an order only touched is not changed, even if read anew."""
    shop.state.set_meta(SEED["classic"], "abholort", "Hub Nord")
    bridge.sync("sandbox")
    with_pickup_key(bridge, "abholort")
    shop.state.touch(SEED["classic"])

    again = bridge.sync("sandbox")

    assert 0 == again.orders_changed
    assert "Hub Nord" == pickup_places(bridge)[SEED["classic"]]
