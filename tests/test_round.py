"""Rounds: deadlines in the coop's time zone, and orders placed in their round."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pot_bridge.config import CoopConfig, ScheduleConfig
from pot_bridge.round import assign_orders, deadline_after, upsert_plugin_rounds
from pot_bridge.shop.wire import PluginRound
from pot_bridge.store.schema import Order, Problem, Round

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
COOP = CoopConfig(
    slug="nord", name="Nord", shop_url="http://127.0.0.1:1", wp_user="bridge"
)
TUESDAY_8PM = ScheduleConfig(weekday="tuesday", time=time(20, 0))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Friday 4 Dec 2026 → Tuesday 8 Dec, 20:00 Zurich = 19:00 UTC (winter).
        (
            datetime(2026, 12, 4, 15, 0, tzinfo=UTC),
            datetime(2026, 12, 8, 19, 0, tzinfo=UTC),
        ),
        # Exactly at the deadline: the next one.
        (
            datetime(2026, 12, 8, 19, 0, tzinfo=UTC),
            datetime(2026, 12, 15, 19, 0, tzinfo=UTC),
        ),
        # One second before it: this one.
        (
            datetime(2026, 12, 8, 18, 59, 59, tzinfo=UTC),
            datetime(2026, 12, 8, 19, 0, tzinfo=UTC),
        ),
        # Summer time: 20:00 Zurich = 18:00 UTC.
        (
            datetime(2026, 6, 1, 8, 0, tzinfo=UTC),
            datetime(2026, 6, 2, 18, 0, tzinfo=UTC),
        ),
    ],
    ids=["friday", "at-deadline", "second-before", "summer"],
)
def test_weekly_deadline_in_local_time(moment: datetime, expected: datetime) -> None:
    assert expected == deadline_after(moment, TUESDAY_8PM, COOP.zone)


def plugin_round(id_: int, start: str, end: str) -> PluginRound:
    return PluginRound(
        id=id_,
        name=f"Runde {id_}",
        start=date.fromisoformat(start),
        end=date.fromisoformat(end),
        distribution=None,
        products=[],
        complete=False,
    )


def order(order_id: int, created: datetime, plugin_round: int | None) -> Order:
    return Order(
        coop="nord",
        order_id=order_id,
        status="processing",
        total=Decimal("10.00"),
        content_hash="x",
        synced_at=NOW,
        created_gmt=created,
        plugin_round_id=plugin_round,
    )


def test_plugin_round_ends_at_midnight_after_its_last_day(engine: Engine) -> None:
    with Session(engine) as session:
        upsert_plugin_rounds(
            session, COOP, [plugin_round(130, "2026-12-01", "2026-12-08")]
        )
        row = session.scalars(select(Round)).one()

    assert datetime(2026, 11, 30, 23, 0, tzinfo=UTC) == row.opens_at
    assert datetime(2026, 12, 8, 23, 0, tzinfo=UTC) == row.closes_at


def test_orders_without_round_meta_go_to_the_one_fitting_window(engine: Engine) -> None:
    """The block checkout drops bestellrunde_id: the creation time decides."""
    with Session(engine) as session:
        upsert_plugin_rounds(
            session,
            COOP,
            [
                plugin_round(129, "2026-11-23", "2026-11-26"),
                plugin_round(130, "2026-12-01", "2026-12-08"),
                plugin_round(131, "2026-12-05", "2026-12-12"),
            ],
        )
        session.add_all(
            [
                order(1, datetime(2026, 12, 2, 9, 0, tzinfo=UTC), None),  # only 130
                order(2, datetime(2026, 12, 6, 9, 0, tzinfo=UTC), None),  # 130 and 131
                order(3, datetime(2026, 11, 28, 9, 0, tzinfo=UTC), None),  # none
                order(4, datetime(2026, 12, 6, 9, 0, tzinfo=UTC), 131),  # meta wins
            ]
        )
        session.flush()

        assignment = assign_orders(session, COOP, NOW)
        keys = {o.order_id: o.round_key for o in session.scalars(select(Order))}
        reported = {p.subject for p in session.scalars(select(Problem))}

    assert {1: "plugin:130", 2: None, 3: None, 4: "plugin:131"} == keys
    assert 2 == assignment.unassigned
    assert {"order 2", "order 3"} == reported
