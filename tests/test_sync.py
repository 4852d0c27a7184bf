"""Pulling the sandbox shop over a real socket: first, incremental, and changes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from bridge_helpers import make_bridge
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from pot_bridge.bridge import Bridge
from pot_bridge.errors import AbortError
from pot_bridge.mailcatcher import MailCatcher
from pot_bridge.sandbox import SEED, SandboxShop
from pot_bridge.store.schema import Order, OrderLine, Problem, Refund, SyncCursor

ROUND_A, ROUND_B = f"plugin:{SEED['round_a']}", f"plugin:{SEED['round_b']}"


@pytest.fixture
def bridge(
    shop: SandboxShop, db_url: str, mail: MailCatcher, tmp_path: Path
) -> Iterator[Bridge]:
    bridge = make_bridge(shop, db_url, mail.port, tmp_path)
    yield bridge
    bridge.dispose()


def orders(bridge: Bridge) -> dict[int, Order]:
    with bridge.sessions() as session:
        query = select(Order).options(selectinload(Order.lines))
        return {o.order_id: o for o in session.scalars(query)}


def test_first_sync_mirrors_every_order_in_its_round(
    bridge: Bridge, shop: SandboxShop
) -> None:
    result = bridge.sync("sandbox")

    pulled = orders(bridge)
    assert set(shop.state.orders) == set(pulled)
    assert [] == result.skipped
    assert {ROUND_A} == {pulled[o].round_key for o in SEED["a_orders"]}
    # The block checkout saved no round: the creation time places it, when only
    # one round's window holds it; rounds A and B overlap by two days.
    assert pulled[SEED["block_checkout_second"]].plugin_round_id is None
    assert ROUND_B == pulled[SEED["block_checkout_second"]].round_key
    assert pulled[SEED["block_checkout"]].round_key is None
    assert "trash" == pulled[SEED["reorder_old"]].status
    assert Decimal("0.352") == pulled[SEED["decimal_qty"]].lines[0].quantity


def test_second_sync_changes_nothing_and_asks_little(
    bridge: Bridge, shop: SandboxShop
) -> None:
    bridge.sync("sandbox")
    first = len(shop.requests)

    again = bridge.sync("sandbox")

    assert 0 == again.orders_changed
    with bridge.sessions() as session:
        lines = session.scalar(select(func.count()).select_from(OrderLine))
    assert sum(len(o.lines) for o in shop.state.orders.values()) == lines
    assert len(shop.requests) - first <= 8


def test_query_is_naive_gmt_in_id_order(bridge: Bridge, shop: SandboxShop) -> None:
    """Trap T-04: with dates_are_gmt a `Z` or offset would shift the window."""
    bridge.sync("sandbox")

    listed = [
        r.query
        for r in shop.requests
        if r.method == "GET" and r.path.endswith("/wc/v3/orders")
    ]
    assert listed
    for query in listed:
        assert "true" == query["dates_are_gmt"]
        assert "Z" not in query["modified_after"]
        assert "+" not in query["modified_after"]
        assert "id" == query["orderby"]
    assert {"any", "trash"} <= {q["status"] for q in listed}


def test_touched_order_is_not_a_change(bridge: Bridge, shop: SandboxShop) -> None:
    """Trap T-01: HPOS moves date_modified when an admin merely opens an order."""
    bridge.sync("sandbox")
    shop.state.touch(SEED["classic"])

    again = bridge.sync("sandbox")

    assert 1 <= again.orders_seen
    assert 0 == again.orders_changed


def test_changes_after_a_sync_are_reflected(bridge: Bridge, shop: SandboxShop) -> None:
    bridge.sync("sandbox")
    shop.state.set_status(SEED["classic"], "cancelled")
    shop.state.refund(SEED["decimal_qty"], amount=Decimal("2.00"), reason="Rabatt")
    new = shop.state.reorder(SEED["reorder_new"], [(11, 3)])

    bridge.sync("sandbox")

    pulled = orders(bridge)
    assert "cancelled" == pulled[SEED["classic"]].status
    assert "trash" == pulled[SEED["reorder_new"]].status
    assert ROUND_B == pulled[int(new["id"])].round_key
    with bridge.sessions() as session:
        refunds = session.scalars(
            select(Refund).where(Refund.order_id == SEED["decimal_qty"])
        ).all()
    assert [Decimal("2.00")] == [r.amount for r in refunds]


def test_refund_that_does_not_touch_its_order_is_pulled(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """Trap T-06: some gateways refund without bumping the order's date."""
    bridge.sync("sandbox")
    order = shop.state.orders[SEED["classic"]]
    shop.state.refund(SEED["classic"], {order.lines[0].id: 1}, bump_modified=False)

    bridge.sync("sandbox")

    with bridge.sessions() as session:
        refund = session.scalars(
            select(Refund)
            .where(Refund.order_id == SEED["classic"])
            .options(selectinload(Refund.lines))
        ).one()
    assert [order.lines[0].id] == [line.item_id for line in refund.lines]


def test_cursor_stays_when_the_pass_fails(bridge: Bridge, shop: SandboxShop) -> None:
    from pot_bridge.sandbox import Fault

    bridge.sync("sandbox")
    with bridge.sessions() as session:
        before = session.get(SyncCursor, ("sandbox", "orders"))
    shop.faults.add(Fault(method="GET", path=r"/wc/v3/orders$", times=50, kind="html"))

    result = bridge.poll("sandbox")

    assert result.error is not None
    assert "sandbox" in result.error
    with bridge.sessions() as session:
        after = session.get(SyncCursor, ("sandbox", "orders"))
    assert before is not None
    assert after is not None
    assert before.cursor_gmt == after.cursor_gmt


def test_shop_without_modified_after_is_refused(
    db_url: str, mail: MailCatcher, tmp_path: Path
) -> None:
    """Trap T-05: an old shop would answer every poll with its whole history."""
    from datetime import UTC, datetime

    from pot_bridge.sandbox import seed_coop

    with SandboxShop(
        seed_coop(datetime.now(UTC)), supports_modified_after=False
    ) as old_shop:
        bridge = make_bridge(old_shop, db_url, mail.port, tmp_path)
        with pytest.raises(AbortError, match="modified_after"):
            bridge.sync("sandbox")
        bridge.dispose()


def test_line_without_producer_is_reported_by_name(bridge: Bridge) -> None:
    bridge.sync("sandbox")

    with bridge.sessions() as session:
        reported = session.scalars(
            select(Problem).where(Problem.kind == "line.producer_unknown")
        ).all()
    assert reported
    assert all("has no producer" in p.message for p in reported)
