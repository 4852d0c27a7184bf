"""A member's statement: opening balance, the period's postings, closing balance.

Runs on SQLite and PostgreSQL. The ledger is written in the bookkeeper's
notation (tests/ledger/notation.py).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pypdf
import pytest
from ledger.notation import NOW, book_all
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pot_bridge.config import CoopConfig
from pot_bridge.credit.statement import (
    statement,
    statement_csv,
    statement_pdf,
)
from pot_bridge.errors import SkipItemError
from pot_bridge.ledger import EntryKind, balance, book
from pot_bridge.store.schema import Member

COOP = CoopConfig(
    slug="nord",
    name="Foodcoop Nord",
    shop_url="http://127.0.0.1:8080",
    wp_user="bridge",
    address=["Foodcoop Nord", "Lagerstrasse 12a", "8400 Winterthur"],
)
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))

LEDGER = """
2026-10-28 top_up bank:CH9300762011623852957:A1 "Einzahlung Bank"
  bank      -100.00
  member:5   100.00
2026-11-01 order order:131:paid "Bestellung #131"
  member:5   -42.50
  sales       42.50
2026-11-10 order order:135:paid "Bestellung #135"
  member:6   -10.00
  sales       10.00
2026-11-15 refund refund:77 "=Rückerstattung #131"
  refunds     -7.25
  member:5     7.25
2026-11-30 order order:140:paid "Bestellung #140"
  member:5   -30.00
  sales       30.00
2026-12-01 fee wallet:9001 "Jahresbeitrag"
  member:5   -20.00
  fees        20.00
"""


def add_members(
    session: Session, coop: str, *people: tuple[int, str, str, str]
) -> None:
    """Members as the shop sync leaves them: (number, first, last, e-mail)."""
    for number, first, last, email in people:
        session.add(
            Member(
                coop=coop,
                customer_id=number,
                first_name=first,
                last_name=last,
                email=email,
                synced_at=NOW,
            )
        )
    session.flush()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session, session.begin():
        book_all(session, "nord", LEDGER)
        add_members(session, "nord", (5, "Anna", "Muster", "anna@example.org"))
    with Session(engine) as session:
        yield session


def test_opening_postings_running_balance_closing(session: Session) -> None:
    """October's top-up opens November; the first and last day are in, the
    other member's order and December's fee are not."""
    item = statement(session, COOP, 5, *NOVEMBER)

    assert Decimal("100.00") == item.opening
    assert [
        (date(2026, 11, 1), "order:131:paid", Decimal("-42.50"), Decimal("57.50")),
        (date(2026, 11, 15), "refund:77", Decimal("7.25"), Decimal("64.75")),
        (date(2026, 11, 30), "order:140:paid", Decimal("-30.00"), Decimal("34.75")),
    ] == [(line.day, line.key, line.amount, line.balance) for line in item.lines]
    assert Decimal("34.75") == item.closing
    assert "Anna Muster" == item.name


def test_closing_is_the_ledger_balance_at_the_end(session: Session) -> None:
    item = statement(session, COOP, 5, date(2026, 11, 1), date(2026, 12, 31))

    assert balance(session, "nord", "member:5") == item.closing
    assert item.opening + sum(line.amount for line in item.lines) == item.closing


def test_days_are_the_coops_days(engine: Engine) -> None:
    """An order paid at 23:30 UTC on 30 November is 1 December in Zurich."""
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        add_members(session, "nord", (5, "Anna", "Muster", ""))
        postings = [("member:5", Decimal("-9.00")), ("sales", Decimal("9.00"))]
        book(session, "nord", "order:141:paid", EntryKind.ORDER, "B", postings, late)

    with Session(engine) as session:
        november = statement(session, COOP, 5, *NOVEMBER)
        december = statement(session, COOP, 5, date(2026, 12, 1), date(2026, 12, 1))

    assert [] == list(november.lines)
    assert [date(2026, 12, 1)] == [line.day for line in december.lines]


def test_a_member_without_postings_gets_an_empty_statement(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        add_members(session, "nord", (9, "Jo", "Neu", "jo@example.org"))

    with Session(engine) as session:
        item = statement(session, COOP, 9, *NOVEMBER)
    text = "\n".join(
        page.extract_text()
        for page in pypdf.PdfReader(io.BytesIO(statement_pdf(item, COOP))).pages
    )

    assert (Decimal("0.00"), (), Decimal("0.00")) == (
        item.opening,
        item.lines,
        item.closing,
    )
    assert "Keine Buchungen in diesem Zeitraum." in text


def test_unknown_member_and_reversed_period_are_refused(session: Session) -> None:
    with pytest.raises(SkipItemError, match="coop nord: no member 77"):
        statement(session, COOP, 77, *NOVEMBER)
    with pytest.raises(SkipItemError, match=r"ends .* before it starts"):
        statement(session, COOP, 5, date(2026, 11, 30), date(2026, 11, 1))


def test_csv_with_bom_semicolons_and_the_formula_guard(session: Session) -> None:
    data = statement_csv(statement(session, COOP, 5, *NOVEMBER), "de")
    rows = [line.split(";") for line in data.decode("utf-8-sig").splitlines()]

    assert data.startswith(b"\xef\xbb\xbf")
    assert [
        ["Datum", "Text", "Referenz", "Betrag CHF", "Saldo CHF"],
        ["2026-11-01", "Anfangssaldo", "", "", "100.00"],
        ["2026-11-01", "Bestellung #131", "order:131:paid", "-42.50", "57.50"],
        ["2026-11-15", "'=Rückerstattung #131", "refund:77", "7.25", "64.75"],
        ["2026-11-30", "Bestellung #140", "order:140:paid", "-30.00", "34.75"],
        ["2026-11-30", "Schlusssaldo", "", "", "34.75"],
    ] == rows


def test_csv_in_french(session: Session) -> None:
    data = statement_csv(statement(session, COOP, 5, *NOVEMBER), "fr")
    head = data.decode("utf-8-sig").splitlines()[0]

    assert "Date;Libellé;Référence;Montant CHF;Solde CHF" == head


def test_pdf_shows_the_same_numbers(session: Session) -> None:
    item = statement(session, COOP, 5, *NOVEMBER)
    pdf = statement_pdf(item, COOP)
    text = "\n".join(
        page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages
    )

    for expected in [
        "Kontoauszug",
        "Anna Muster (Nr. 5)",
        "01.11.2026 – 30.11.2026",
        "Anfangssaldo",
        "-42.50",
        "57.50",
        "=Rückerstattung #131",
        "refund:77",
        "Schlusssaldo",
        "34.75 CHF",
    ]:
        assert expected in text
    assert pdf == statement_pdf(item, COOP)
