"""WooCommerce traps (shared/woocommerce-traps.md) that need the whole bridge."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from bridge_helpers import make_bridge
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pot_bridge.bridge import Bridge
from pot_bridge.close import close_round
from pot_bridge.mailcatcher import MailCatcher
from pot_bridge.sandbox import SEED, Fault, SandboxShop
from pot_bridge.store.schema import OutboxMessage, Problem, Refund, Round, SyncCursor


@pytest.fixture
def bridge(
    shop: SandboxShop, db_url: str, mail: MailCatcher, tmp_path: Path
) -> Iterator[Bridge]:
    bridge = make_bridge(shop, db_url, mail.port, tmp_path)
    yield bridge
    bridge.dispose()


def test_t07_refund_listed_on_the_order_but_without_detail(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """HPOS once answered [] on /orders/{id}/refunds for an order with refunds."""
    order_id = SEED["classic"]
    shop.state.refund(order_id, amount=Decimal("2.50"), reason="")
    for path in (rf"/orders/{order_id}/refunds$", r"/wc/v3/refunds$"):
        shop.faults.add(
            Fault(method="GET", path=path, times=1, kind="status", status=200, body=[])
        )

    bridge.sync("sandbox")

    with bridge.sessions() as session:
        refund = session.scalars(
            select(Refund)
            .where(Refund.order_id == order_id)
            .options(selectinload(Refund.lines))
        ).one()
        problem = session.scalars(
            select(Problem).where(Problem.kind == "refund.without_detail")
        ).one()
    assert Decimal("2.50") == refund.amount
    assert [] == refund.lines
    assert problem.resolved_at is None

    shop.state.touch(order_id)
    bridge.sync("sandbox")

    with bridge.sessions() as session:
        refunds = session.scalars(
            select(Refund).where(Refund.order_id == order_id)
        ).all()
        problem = session.scalars(
            select(Problem).where(Problem.kind == "refund.without_detail")
        ).one()
    assert 1 == len(refunds)
    assert problem.resolved_at is not None


def test_round_closed_long_ago_is_closed_without_mail(bridge: Bridge) -> None:
    """A first start must not send producers the orders of old rounds."""
    bridge.sync("sandbox")
    coop = bridge.settings.coop("sandbox")
    now = bridge.clock()
    with bridge.sessions.begin() as session:
        old = session.scalars(
            select(Round).where(Round.key == f"plugin:{SEED['round_a']}")
        ).one()
        old.closes_at = now - timedelta(days=30)
        closed = close_round(session, coop, old, now)

    with bridge.sessions() as session:
        queued = session.scalars(select(OutboxMessage)).all()
    assert closed.historic
    assert [] == queued


def test_round_waits_until_the_pull_has_passed_its_deadline(bridge: Bridge) -> None:
    """An order placed seconds before the deadline may not be pulled yet."""
    bridge.sync("sandbox")
    with bridge.sessions.begin() as session:
        deadline = session.scalars(
            select(Round.closes_at).where(Round.key == f"plugin:{SEED['round_a']}")
        ).one()
        cursor = session.get(SyncCursor, ("sandbox", "orders"))
        assert cursor is not None
        cursor.cursor_gmt = deadline - timedelta(seconds=10)

    early = bridge.close("sandbox")
    with bridge.sessions.begin() as session:
        cursor = session.get(SyncCursor, ("sandbox", "orders"))
        assert cursor is not None
        cursor.cursor_gmt = deadline
    on_time = bridge.close("sandbox")

    assert [] == early
    assert [f"plugin:{SEED['round_a']}"] == [c.round_key for c in on_time]
