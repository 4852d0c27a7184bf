"""Group orders in the coop's own terms: member lines in, producer totals out."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pot_bridge.config import CoopConfig
from pot_bridge.group_order import build
from pot_bridge.store.schema import Order, OrderLine, Refund, RefundLine, Round

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
COOP = CoopConfig(
    slug="nord", name="Nord", shop_url="http://127.0.0.1:1", wp_user="bridge"
)

# order, member, status, [(item, product, name, producer, quantity, paid)]
ORDERS = [
    (
        131,
        "Lea",
        "processing",
        [
            (1, 11, "Karotten", "Hof Sonnenberg", "2", "7.00"),
            (2, 20, "Bergkäse", "Käserei Talgrund", "0.5", "12.40"),
        ],
    ),
    (
        143,
        "Jonas",
        "processing",
        [
            (3, 11, "Karotten", "Hof Sonnenberg", "1", "3.50"),
            (4, 20, "Bergkäse", "Käserei Talgrund", "1.25", "31.00"),
            (5, 0, "Eier (Restposten)", None, "6", "4.20"),
        ],
    ),
    (
        133,
        "Jonas",
        "trash",
        [  # replaced by 143: never counted
            (6, 11, "Karotten", "Hof Sonnenberg", "4", "14.00"),
        ],
    ),
    (
        136,
        "Noah",
        "processing",
        [
            (7, 11, "Karotten", "Hof Sonnenberg", "3", "10.50"),
            (8, 30, "Butterzopf", "Bäckerei Kornblume", "1", "6.80"),
        ],
    ),
    (
        138,
        "Elena",
        "failed",
        [
            (9, 30, "Butterzopf", "Bäckerei Kornblume", "2", "13.60"),
        ],
    ),
]
# refund 137 on order 136: the Butterzopf back, and one of the three Karotten
REFUNDS = [(137, 136, [(8, "-1", "-6.80"), (7, "-1", "-3.50")])]


def seed(session: Session) -> Round:
    round_ = Round(
        coop="nord",
        key="plugin:130",
        name="KW 50",
        opens_at=NOW,
        closes_at=NOW,
        distribution_day=None,
    )
    session.add(round_)
    for order_id, member, status, lines in ORDERS:
        order = Order(
            coop="nord",
            order_id=order_id,
            status=status,
            member_name=member,
            round_key="plugin:130",
            total=D(0),
            content_hash="x",
            synced_at=NOW,
        )
        for item, product, name, producer, quantity, paid in lines:
            order.lines.append(
                OrderLine(
                    item_id=item,
                    product_id=product,
                    name=name,
                    producer=producer,
                    sku=f"POT-{product:06d}" if product else "",
                    unit="kg",
                    quantity=D(quantity),
                    amount=D(paid),
                )
            )
        session.add(order)
    for refund_id, order_id, lines in REFUNDS:
        refund = Refund(
            coop="nord",
            refund_id=refund_id,
            order_id=order_id,
            amount=-sum(D(a) for _, _, a in lines),
            synced_at=NOW,
        )
        for n, (item, quantity, amount) in enumerate(lines):
            refund.lines.append(
                RefundLine(
                    line_id=1000 + n,
                    item_id=item,
                    quantity=D(quantity),
                    amount=D(amount),
                )
            )
        session.add(refund)
    session.flush()
    return round_


def test_totals_per_producer_net_of_refunds_and_replaced_orders(engine: Engine) -> None:
    with Session(engine) as session:
        built = build(session, COOP, seed(session))

    totals = {
        view.producer: [(p.name, p.quantity, p.amount) for p in view.lines]
        for view in built.views
    }
    assert {
        "Hof Sonnenberg": [("Karotten", D(5), D("17.50"))],
        "Käserei Talgrund": [("Bergkäse", D("1.75"), D("43.40"))],
    } == totals
    assert [D("17.50"), D("43.40")] == [v.total for v in built.views]


def test_line_without_producer_is_reported_not_dropped(engine: Engine) -> None:
    with Session(engine) as session:
        built = build(session, COOP, seed(session))

    assert [(143, "Eier (Restposten)")] == [(u.order_id, u.name) for u in built.unknown]


def test_producer_total_is_the_exact_sum_of_member_lines(engine: Engine) -> None:
    with Session(engine) as session:
        built = build(session, COOP, seed(session))

    for view in built.views:
        assert sum((p.amount for p in view.lines), D(0)) == view.total
        for line in view.lines:
            assert D("0.01") <= line.unit_price
