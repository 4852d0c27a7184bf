"""Every pack policy through a closing round: orders in, what each side gets out."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pot_bridge import pdf, producer_mail
from pot_bridge.close import prepare
from pot_bridge.config import CoopConfig, ProducerConfig

from .domain import AFTER, RoundBook


def coop(policy: str, **producer: object) -> CoopConfig:
    return CoopConfig(
        slug="nord",
        name="Foodcoop Nord",
        shop_url="http://127.0.0.1:1",
        wp_user="bridge",
        admin_email="admin@nord.example.org",
        address=["Hohlstrasse 1", "8004 Zürich"],
        pickup_place="Depot Hohlstrasse",
        pack_policy=policy,  # type: ignore[arg-type]
        producer=[
            ProducerConfig(
                name="Bäckerei Korn",
                email="korn@example.org",
                **producer,  # type: ignore[arg-type]
            ),
            ProducerConfig(name="Hof Sonnenberg", email="hof@example.org"),
        ],
    )


PRODUCTS = """
id | name       | producer       | unit | pack | price
11 | Dinkelbrot | Bäckerei Korn  | Stk  | 6    | 4.80
12 | Zopf       | Bäckerei Korn  | Stk  |      | 6.50
21 | Karotten   | Hof Sonnenberg | kg   | 5    | 3.20
"""

# Lea 4, Noah 3, Mia 3 Dinkelbrot: 10 in all, packs of 6.
ORDERS = """
order | member | at    | product | qty
201   | Lea    | 09:00 | 11      | 4
202   | Noah   | 09:05 | 11      | 3
203   | Mia    | 09:10 | 11      | 3
203   | Mia    | 09:10 | 12      | 1
204   | Lea    | 09:20 | 21      | 1.25
"""


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def book(session: Session, config: CoopConfig) -> RoundBook:
    round_book = RoundBook(session, config)
    round_book.products(PRODUCTS)
    round_book.orders(ORDERS)
    round_book.close()
    return round_book


def test_as_ordered_sends_the_totals_as_they_are(session: Session) -> None:
    b = book(session, coop("as-ordered"))

    assert b.producer_gets("Bäckerei Korn") == {
        "Dinkelbrot": ("10", None),
        "Zopf": ("1", None),
    }
    assert b.members_get("Bäckerei Korn", 11)["Lea"] == ("4", "4", "full")
    assert b.refunds_asked() == {}


def test_round_up_orders_whole_packs_and_keeps_the_surplus(session: Session) -> None:
    b = book(session, coop("round-up"))

    assert b.producer_gets("Bäckerei Korn")["Dinkelbrot"] == ("12", "2")
    line = next(li for li in b.group_order("Bäckerei Korn").lines if li.sku == "SKU-11")
    assert line.ordered == Decimal(10)
    # 12 loaves at the members' price of 4.80
    assert line.amount == Decimal("57.60")
    assert {
        m: got for m, (_o, got, _r) in b.members_get("Bäckerei Korn", 11).items()
    } == {
        "Lea": "4",
        "Noah": "3",
        "Mia": "3",
    }
    assert b.refunds_asked() == {}


def test_round_down_shares_the_shortfall_by_largest_remainder(session: Session) -> None:
    b = book(session, coop("round-down"))

    assert b.producer_gets("Bäckerei Korn")["Dinkelbrot"] == ("6", "1")
    # quotas 2.4, 1.8, 1.8: floors 2, 1, 1; the two left go to the .8 remainders
    members = b.members_get("Bäckerei Korn", 11)
    assert members["Lea"] == ("4", "2", "packs")
    assert members["Noah"] == ("3", "2", "packs")
    assert members["Mia"] == ("3", "2", "packs")
    # what members do not get is queued for a refund on their line, once
    assert b.refunds_asked() == {201: "2", 202: "1", 203: "1"}


def test_round_down_tie_goes_to_the_earlier_order(session: Session) -> None:
    b = RoundBook(session, coop("round-down"))
    b.products(PRODUCTS)
    b.orders(
        """
        order | member | at    | product | qty
        301   | Lea    | 10:00 | 11      | 4
        302   | Noah   | 09:00 | 11      | 4
        """
    )
    b.close()

    # 8 ordered, one pack of 6: quotas 3 and 3, no remainder: 3 each
    assert b.members_get("Bäckerei Korn", 11) == {
        "Lea": ("4", "3", "packs"),
        "Noah": ("4", "3", "packs"),
    }


def test_round_down_odd_unit_goes_to_the_earlier_order(session: Session) -> None:
    b = RoundBook(session, coop("round-down"))
    b.products(PRODUCTS)
    b.orders(
        """
        order | member | at    | product | qty
        301   | Lea    | 10:00 | 11      | 7
        302   | Noah   | 09:00 | 11      | 7
        """
    )
    b.close()

    # 14 ordered, 2 packs = 12: quotas 6 and 6; and with 13 ordered...
    assert b.members_get("Bäckerei Korn", 11)["Lea"] == ("7", "6", "packs")

    b2 = RoundBook(session, coop("round-down"), key="plugin:131")
    b2.names, b2.prices = b.names, b.prices
    b2.orders(
        """
        order | member | at    | product | qty
        401   | Lea    | 10:00 | 11      | 5
        402   | Noah   | 09:00 | 11      | 5
        403   | Mia    | 11:00 | 11      | 3
        """
    )
    b2.close()
    # 13 → 12: quotas 4.615, 4.615, 2.769: floors 4, 4, 2 = 10; two left:
    # Mia's .769 first, then the tie of .615 goes to Noah, who ordered first
    assert b2.members_get("Bäckerei Korn", 11) == {
        "Lea": ("5", "4", "packs"),
        "Noah": ("5", "5", "full"),
        "Mia": ("3", "3", "full"),
    }


def test_nearest_rounds_to_the_smaller_change(session: Session) -> None:
    b = book(session, coop("nearest"))

    # 10 with packs of 6: 12 is 2 away, 6 is 4 away
    assert b.producer_gets("Bäckerei Korn")["Dinkelbrot"] == ("12", "2")
    assert b.refunds_asked() == {}

    b2 = RoundBook(session, coop("nearest"), key="plugin:131")
    b2.names, b2.prices = b.names, b.prices
    b2.orders(
        """
        order | member | at    | product | qty
        401   | Lea    | 10:00 | 11      | 7
        """
    )
    b2.close()
    # 7: 6 is 1 away, 12 is 5 away: down, and Lea is refunded one
    assert b2.producer_gets("Bäckerei Korn")["Dinkelbrot"] == ("6", "1")
    assert b2.refunds_asked() == {401: "1"}


def test_producer_policy_overrides_the_coops(session: Session) -> None:
    b = book(session, coop("as-ordered", pack_policy="round-up"))

    assert b.producer_gets("Bäckerei Korn")["Dinkelbrot"] == ("12", "2")
    # Hof Sonnenberg follows the coop: as ordered
    assert b.producer_gets("Hof Sonnenberg") == {"Karotten": ("1.25", None)}


def test_products_sold_by_weight_are_never_rounded(session: Session) -> None:
    b = RoundBook(session, coop("round-up"))
    b.products(PRODUCTS)
    b.orders(
        """
        order | member | at    | product | qty
        501   | Lea    | 10:00 | 21      | 1.25
        502   | Noah   | 10:05 | 21      | 2
        """
    )
    b.close()

    assert b.producer_gets("Hof Sonnenberg") == {"Karotten": ("3.25", None)}


def test_pack_size_from_config_wins(session: Session) -> None:
    b = book(session, coop("round-up", pack_sizes={"SKU-12": Decimal(4)}))

    assert b.producer_gets("Bäckerei Korn")["Zopf"] == ("4", "1")


def test_producer_total_is_the_exact_sum_of_its_lines(session: Session) -> None:
    b = book(session, coop("round-up"))

    row = b.group_order("Bäckerei Korn")
    assert row.total == sum((line.amount for line in row.lines), Decimal(0))
    assert row.total == Decimal("64.10")  # 12 × 4.80 + 6.50


def test_the_producer_mail_carries_pdf_and_csv(session: Session) -> None:
    b = book(session, coop("round-up"))

    mails = {m.recipient: m for m in b.mails()}
    korn = mails["korn@example.org"]
    types = sorted(a.content_type for a in korn.attachments)
    assert types == ["application/pdf", "text/csv; charset=utf-8"]
    assert "admin@nord.example.org" in mails  # the distribution list
    admin = mails["admin@nord.example.org"]
    assert [a.content_type for a in admin.attachments] == ["application/pdf"]


def test_documents_are_laid_out_before_the_closing_transaction(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write transaction finds the PDFs ready: ReportLab never runs in it."""
    config = coop("round-up")
    producer_mail._group_order_pdf.cache_clear()
    producer_mail._distribution_pdf.cache_clear()
    b = RoundBook(session, config)
    b.products(PRODUCTS)
    b.orders(ORDERS)

    made = prepare(session, config, b.round_, AFTER)

    def no_layout(*args: object) -> bytes:
        raise AssertionError("a PDF was laid out inside the closing transaction")

    monkeypatch.setattr(pdf, "group_order_pdf", no_layout)
    monkeypatch.setattr(pdf, "distribution_pdf", no_layout)
    b.close()
    assert made == 3  # two producers and the distribution list
    pdfs = [a for m in b.mails() for a in m.attachments if a.filename.endswith(".pdf")]
    assert len(pdfs) == 3
    assert all(a.content.startswith(b"%PDF-") for a in pdfs)
