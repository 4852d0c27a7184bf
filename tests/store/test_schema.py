"""The migrations and the models agree, and exact values survive the round trip."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from pot_bridge.store.schema import Base, Order, OrderLine

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


def test_migrations_match_models(engine: Engine) -> None:
    """A model change without a migration fails here."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    assert diff == []


def test_money_and_quantities_round_trip_exactly(engine: Engine) -> None:
    order = Order(
        coop="nord",
        order_id=131,
        status="processing",
        total=Decimal("16.60"),
        content_hash="x",
        synced_at=NOW,
        created_gmt=NOW,
    )
    order.lines.append(
        OrderLine(
            item_id=1,
            name="Bergkäse",
            quantity=Decimal("0.375"),
            amount=Decimal("9.30"),
        )
    )
    with Session(engine) as session:
        session.add(order)
        session.commit()

    with Session(engine) as session:
        line = session.scalars(select(OrderLine)).one()
        stored = session.scalars(select(Order)).one()

    assert Decimal("0.375") == line.quantity
    assert Decimal("9.30") == line.amount
    assert Decimal("16.60") == stored.total
    assert stored.created_gmt == NOW


def test_sub_rappen_amount_is_refused(engine: Engine) -> None:
    order = Order(
        coop="nord",
        order_id=1,
        status="processing",
        total=Decimal("0.005"),
        content_hash="x",
        synced_at=NOW,
    )
    with Session(engine) as session:
        session.add(order)
        with pytest.raises(StatementError, match="Rappen"):
            session.commit()
