"""One producer, two coops, one delivery day: one e-mail with both and the total."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pot_bridge.config import CoopConfig, ProducerConfig, Settings
from pot_bridge.consolidate import consolidate
from pot_bridge.correction import correct
from pot_bridge.store.schema import OutboxMessage

from .domain import AFTER, RoundBook


def coop(slug: str, name: str, place: str, *, consolidate: bool = True) -> CoopConfig:
    return CoopConfig(
        slug=slug,
        name=name,
        shop_url="http://127.0.0.1:1",
        wp_user="bridge",
        admin_email=f"admin@{slug}.example.org",
        address=[f"{place} 1", "8000 Zürich"],
        pickup_place=place,
        producer=[
            ProducerConfig(
                name="Käserei Talgrund" if slug == "nord" else "Talgrund AG",
                email="kaese@talgrund.example.org",
                language="fr",
                identity="talgrund",
                consolidate=consolidate,
            )
        ],
    )


NORD = coop("nord", "Foodcoop Nord", "Hohlstrasse")
SUED = coop("sued", "Foodcoop Süd", "Binz")
SETTINGS = Settings(coop=[NORD, SUED])


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def round_of(
    session: Session, config: CoopConfig, producer: str, qty: str
) -> RoundBook:
    b = RoundBook(session, config, key=f"plugin:{config.slug}")
    b.products(
        f"""
        id | name      | producer   | unit  | pack | price | pot
        31 | Tomme     | {producer} | Stk   |      | 9.50  | 40777
        """
    )
    b.orders(
        f"""
        order | member | at    | product | qty
        {700 if config.slug == "nord" else 800} | Lea | 09:00 | 31 | {qty}
        """
    )
    return b


def to_producer(session: Session) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == "kaese@talgrund.example.org")
            .order_by(OutboxMessage.id)
        )
    )


def test_one_mail_for_both_coops_once_both_closed(session: Session) -> None:
    nord = round_of(session, NORD, "Käserei Talgrund", "3")
    sued = round_of(session, SUED, "Talgrund AG", "4")

    nord.close()
    assert nord.group_order("Käserei Talgrund").status == "pooled"
    assert consolidate(SETTINGS, session, AFTER) == 0  # Süd still takes orders
    assert to_producer(session) == []

    sued.close()
    assert consolidate(SETTINGS, session, AFTER) == 1
    assert consolidate(SETTINGS, session, AFTER) == 0  # once

    [mail] = to_producer(session)
    assert "Foodcoop Nord" in mail.body
    assert "Foodcoop Süd" in mail.body
    assert "Hohlstrasse" in mail.body
    assert "Binz" in mail.body
    assert "66.50" in mail.body  # 7 × 9.50 over both coops
    assert sorted(a.content_type for a in mail.attachments) == [
        "application/pdf",
        "text/csv; charset=utf-8",
    ]
    # each coop keeps its own distribution list
    admins = session.scalars(
        select(OutboxMessage.recipient).where(OutboxMessage.key.startswith("distri"))
    ).all()
    assert sorted(admins) == ["admin@nord.example.org", "admin@sued.example.org"]


def test_a_change_in_one_coop_sends_one_correction(session: Session) -> None:
    nord = round_of(session, NORD, "Käserei Talgrund", "3")
    sued = round_of(session, SUED, "Talgrund AG", "4")
    nord.close()
    sued.close()
    consolidate(SETTINGS, session, AFTER)

    later = AFTER + timedelta(hours=3)
    line = nord.group_order("Käserei Talgrund")
    assert line.total == Decimal("28.50")
    nord.refund(990, 700, nord.next_item, "1", at=later)
    correct(session, NORD, later)
    assert consolidate(SETTINGS, session, later) == 1
    assert consolidate(SETTINGS, session, later) == 0

    mails = to_producer(session)
    assert len(mails) == 2
    assert mails[1].key.endswith(":v2")
    assert "Tomme" in mails[1].body
    # the mail names the files it really carries
    names = [a.filename for a in mails[1].attachments]
    assert len(names) == 2
    for name in names:
        assert name in mails[1].body


def test_without_consolidate_each_coop_mails_its_own(session: Session) -> None:
    nord_cfg = coop("nord", "Foodcoop Nord", "Hohlstrasse", consolidate=False)
    nord = round_of(session, nord_cfg, "Käserei Talgrund", "3")
    nord.close()

    assert nord.group_order("Käserei Talgrund").status == "sent"
    assert len(to_producer(session)) == 1
