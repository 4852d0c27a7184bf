"""What happens to a closed round: minimums, corrections, short deliveries."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pot_bridge.config import CoopConfig, ProducerConfig
from pot_bridge.correction import correct, decide_held, resend
from pot_bridge.delivery import DeliveryError, enter
from pot_bridge.store.schema import Refund

from .domain import AFTER, RoundBook

PRODUCTS = """
id | name       | producer       | unit | pack | price
11 | Dinkelbrot | Bäckerei Korn  | Stk  | 6    | 4.80
12 | Zopf       | Bäckerei Korn  | Stk  |      | 6.50
21 | Karotten   | Hof Sonnenberg | Bund |      | 3.20
"""

ORDERS = """
order | member | at    | product | qty | item
201   | Lea    | 09:00 | 11      | 4   | 1
202   | Noah   | 09:05 | 11      | 3   | 2
203   | Mia    | 09:10 | 11      | 3   | 3
203   | Mia    | 09:10 | 12      | 2   | 4
204   | Lea    | 09:20 | 21      | 5   | 5
"""


def coop(**settings: object) -> CoopConfig:
    korn = {"name": "Bäckerei Korn", "email": "korn@example.org", "language": "de"}
    korn.update(settings.pop("korn", {}))  # type: ignore[arg-type]
    return CoopConfig(
        slug="nord",
        name="Foodcoop Nord",
        shop_url="http://127.0.0.1:1",
        wp_user="bridge",
        admin_email="admin@nord.example.org",
        producer=[
            ProducerConfig(**korn),  # type: ignore[arg-type]
            ProducerConfig(name="Hof Sonnenberg", email="hof@example.org"),
        ],
        **settings,  # type: ignore[arg-type]
    )


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def closed(session: Session, config: CoopConfig) -> RoundBook:
    b = RoundBook(session, config)
    b.products(PRODUCTS)
    b.orders(ORDERS)
    b.close()
    return b


def distribution_text(b: RoundBook) -> str:
    (mail,) = [m for m in b.mails() if m.key.startswith("distribution:")]
    reader = PdfReader(io.BytesIO(mail.attachments[0].content))
    return "\n".join(page.extract_text() for page in reader.pages)


def subjects(b: RoundBook) -> list[tuple[str, str]]:
    return [(m.recipient, m.subject) for m in b.mails()]


# -- the producer's minimum -----------------------------------------------------


def test_below_minimum_is_held_and_the_admin_told(session: Session) -> None:
    b = closed(session, coop(korn={"minimum_value": Decimal("100.00")}))

    assert b.group_order("Bäckerei Korn").status == "held"
    recipients = [r for r, _s in subjects(b)]
    assert "korn@example.org" not in recipients
    notice = next(m for m in b.mails() if m.key.startswith("minimum:"))
    assert notice.recipient == "admin@nord.example.org"
    assert "group-order release" in notice.body
    assert "group-order cancel" in notice.body
    assert b.refunds_asked() == {}  # nothing decided yet
    # the other producer goes out as usual
    assert b.group_order("Hof Sonnenberg").status == "sent"
    # the people handing out are not promised the held goods
    listed = distribution_text(b)
    assert "Karotten" in listed
    assert "Dinkelbrot" not in listed


def test_held_order_released_by_the_admin_goes_to_the_producer(
    session: Session,
) -> None:
    config = coop(korn={"minimum_quantity": Decimal(20)})
    b = closed(session, config)

    decide_held(session, config, b.round_, "Bäckerei Korn", "release", AFTER)

    assert b.group_order("Bäckerei Korn").status == "sent"
    assert [m.recipient for m in b.mails()].count("korn@example.org") == 1


def test_held_order_cancelled_refunds_every_member(session: Session) -> None:
    config = coop(korn={"minimum_value": Decimal("100.00")})
    b = closed(session, config)

    decide_held(session, config, b.round_, "Bäckerei Korn", "cancel", AFTER)

    assert b.group_order("Bäckerei Korn").status == "cancelled"
    assert b.members_get("Bäckerei Korn", 12)["Mia"] == ("2", "0", "below-minimum")
    # Lea's Karotten are Hof Sonnenberg's and stay
    assert b.refunds_asked() == {201: "4", 202: "3", 203: "5"}
    with pytest.raises(LookupError, match="cancelled, not held"):
        decide_held(session, config, b.round_, "Bäckerei Korn", "release", AFTER)


def test_cancel_policy_cancels_at_once(session: Session) -> None:
    config = coop(below_minimum="cancel", korn={"minimum_value": Decimal(100)})
    b = closed(session, config)

    assert b.group_order("Bäckerei Korn").status == "cancelled"
    assert "korn@example.org" not in [r for r, _s in subjects(b)]
    assert b.refunds_asked() == {201: "4", 202: "3", 203: "5"}


def test_minimum_met_sends_as_usual(session: Session) -> None:
    b = closed(session, coop(korn={"minimum_value": Decimal("50.00")}))

    # 10 × 4.80 + 2 × 6.50 = 61.00
    assert b.group_order("Bäckerei Korn").total == Decimal("61.00")
    assert b.group_order("Bäckerei Korn").status == "sent"


# -- corrections -----------------------------------------------------------


def test_late_refund_sends_one_correction(session: Session) -> None:
    config = coop()
    b = closed(session, config)
    later = AFTER + timedelta(hours=2)

    b.refund(901, 202, 2, "3", at=later)  # Noah cancels his three loaves
    first = correct(session, config, later)
    again = correct(session, config, later + timedelta(minutes=5))

    assert first.corrections == 1
    assert again.corrections == 0
    corrections = [m for m in b.mails() if m.key.endswith(":v2")]
    assert len(corrections) == 1
    mail = corrections[0]
    assert mail.recipient == "korn@example.org"
    assert "Dinkelbrot" in mail.body
    assert "Zopf" not in mail.body.split("Total")[0].split("Dinkelbrot")[0]
    row = b.group_order("Bäckerei Korn")
    assert row.version == 2
    assert b.producer_gets("Bäckerei Korn")["Dinkelbrot"] == ("7", None)
    assert row.total == Decimal("46.60")  # 7 × 4.80 + 2 × 6.50
    # Hof Sonnenberg's order did not change: no mail for it
    assert not [m for m in b.mails() if m.recipient == "hof@example.org"][1:]


def test_unchanged_round_sends_nothing_more(session: Session) -> None:
    config = coop()
    b = closed(session, config)
    before = len(b.mails())

    result = correct(session, config, AFTER + timedelta(hours=1))

    assert result.corrections == 0
    assert len(b.mails()) == before


def test_bridge_own_refunds_are_no_change_for_the_producer(session: Session) -> None:
    config = coop(pack_policy="round-down")
    b = closed(session, config)
    # the shop now holds the bridge's refund of Lea's two missing loaves
    b.refund(950, 201, 1, "2", at=AFTER)
    refund = session.scalars(select(Refund).where(Refund.refund_id == 950)).one()
    refund.reason = "Mutation: Produkt nicht geliefert (Dinkelbrot) [pot-bridge ab12]"
    session.flush()

    result = correct(session, config, AFTER + timedelta(hours=1))

    assert result.corrections == 0
    assert b.producer_gets("Bäckerei Korn")["Dinkelbrot"] == ("6", "1")


def test_admin_resends_the_current_order(session: Session) -> None:
    config = coop()
    b = closed(session, config)

    first = resend(session, config, b.round_, "Bäckerei Korn", AFTER)
    second = resend(session, config, b.round_, "Bäckerei Korn", AFTER)

    assert (first, second) == (1, 2)
    to_korn = [m for m in b.mails() if m.recipient == "korn@example.org"]
    assert len(to_korn) == 3
    assert len({m.key for m in to_korn}) == 3


# -- short deliveries ---------------------------------------------------------


def test_short_delivery_is_shared_and_refunded_without_mail(session: Session) -> None:
    config = coop()
    b = closed(session, config)
    mails_before = len(b.mails())

    entered = enter(
        session, config, b.round_, "Bäckerei Korn", {"SKU-11": Decimal(7)}, AFTER
    )

    assert entered.corrected.corrections == 0
    # no mail to the producer; the coop's distribution list, updated
    new = b.mails()[mails_before:]
    assert [m.recipient for m in new] == ["admin@nord.example.org"]
    assert new[0].key.startswith("distribution:")
    # 7 of 10: quotas 2.8, 2.1, 2.1 → floors 2, 2, 2; one left to Lea's .8
    assert b.members_get("Bäckerei Korn", 11)["Lea"] == ("4", "3", "short-delivery")
    assert b.members_get("Bäckerei Korn", 11)["Noah"] == ("3", "2", "short-delivery")
    assert b.refunds_asked() == {201: "1", 202: "1", 203: "1"}

    # entering the same again asks for nothing more; a worse figure, the rest
    enter(session, config, b.round_, "Bäckerei Korn", {"SKU-11": Decimal(7)}, AFTER)
    assert b.refunds_asked() == {201: "1", 202: "1", 203: "1"}
    assert len(b.mails()) == mails_before + 1
    enter(session, config, b.round_, "Bäckerei Korn", {"SKU-11": Decimal(4)}, AFTER)
    # 4 of 10: quotas 1.6, 1.2, 1.2 → 1, 1, 1 and one to Lea: 2, 1, 1
    assert b.refunds_asked() == {201: "2", 202: "2", 203: "2"}


def test_delivery_of_an_unknown_product_is_refused(session: Session) -> None:
    config = coop()
    b = closed(session, config)

    with pytest.raises(DeliveryError, match="no product 'NOPE'"):
        enter(session, config, b.round_, "Bäckerei Korn", {"NOPE": Decimal(1)}, AFTER)
