"""The bookkeeper's journal: ledger entries in, debit/credit rows out.

Runs on SQLite and PostgreSQL; entries in the notation of tests/ledger/notation.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from ledger.notation import book_all, parse
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pot_bridge.config import CoopConfig, JournalAccounts
from pot_bridge.credit.journal import (
    HEAD,
    account_number,
    journal,
    journal_csv,
    pairs,
    totals,
)
from pot_bridge.errors import SkipItemError

COOP = CoopConfig(
    slug="nord",
    name="Foodcoop Nord",
    shop_url="http://127.0.0.1:8080",
    wp_user="bridge",
)
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))

LEDGER = """
2026-10-31 top_up bank:CH9300762011623852957:A0 "Einzahlung Bank"
  bank      -200.00
  member:5   200.00
2026-11-01 top_up bank:CH9300762011623852957:A1 "Einzahlung zwei Mitglieder"
  bank       -50.00
  member:5    30.00
  member:6    20.00
2026-11-03 correction reconcile:1 "Korrektur Runde 12"
  member:5    -5.00
  member:6     3.00
  corrections  2.00
2026-11-05 order order:150:paid "Bestellung #150 mit Gebühr"
  member:6   -25.00
  sales       24.00
  fees         1.00
2026-11-12 correction reconcile:2 "Bar bezahlt, =Kasse"
  member:5   -10.00
  bank        -5.00
  sales       12.00
  fees         3.00
2026-11-20 refund refund:77 "Rückerstattung #150"
  refunds     -7.25
  member:6     7.25
2026-11-25 correction reconcile:3 "Übertrag von 5 an 6"
  member:5    -4.00
  member:6     4.00
2026-11-30 order order:160:paid "Bestellung #160"
  member:5   -12.40
  sales       12.40
2026-12-01 order order:170:paid "Bestellung #170"
  member:6    -8.00
  sales        8.00
"""


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session, session.begin():
        book_all(session, "nord", LEDGER)
    with Session(engine) as session:
        yield session


def test_pairs_split_an_entry_in_account_number_order() -> None:
    """Two debits, two credits: the bank's 5.00 goes to sales first, then
    the member's 10.00 fills sales and pays the fees."""
    postings = [
        ("2030", Decimal("-10.00")),
        ("1020", Decimal("-5.00")),
        ("3200", Decimal("12.00")),
        ("3400", Decimal("3.00")),
    ]

    assert [
        ("1020", "3200", Decimal("5.00")),
        ("2030", "3200", Decimal("7.00")),
        ("2030", "3400", Decimal("3.00")),
    ] == pairs(postings)


def test_pairs_refuse_an_unbalanced_entry() -> None:
    with pytest.raises(ValueError, match="do not balance"):
        pairs([("1020", Decimal("-5.00")), ("2030", Decimal("4.00"))])


def test_default_account_numbers() -> None:
    chart = JournalAccounts()

    assert ["1020", "2030", "2030", "3200", "3290", "3400", "3809"] == [
        account_number(code, chart)
        for code in [
            "bank",
            "member:5",
            "member:1234",
            "sales",
            "refunds",
            "fees",
            "corrections",
        ]
    ]


def test_rows_of_the_period(session: Session) -> None:
    """31 October and 1 December stay out; the members' transfer nets to
    nothing on 2030 and gives no row."""
    rows = journal(session, COOP, *NOVEMBER)

    assert [
        ("2026-11-01", "bank:CH9300762011623852957:A1", "1020", "2030", "50.00"),
        ("2026-11-03", "reconcile:1", "2030", "3809", "2.00"),
        ("2026-11-05", "order:150:paid", "2030", "3200", "24.00"),
        ("2026-11-05", "order:150:paid", "2030", "3400", "1.00"),
        ("2026-11-12", "reconcile:2", "1020", "3200", "5.00"),
        ("2026-11-12", "reconcile:2", "2030", "3200", "7.00"),
        ("2026-11-12", "reconcile:2", "2030", "3400", "3.00"),
        ("2026-11-20", "refund:77", "3290", "2030", "7.25"),
        ("2026-11-30", "order:160:paid", "2030", "3200", "12.40"),
    ] == [
        (r.day.isoformat(), r.key, r.debit, r.credit, f"{r.amount:.2f}") for r in rows
    ]


def test_each_account_moves_as_in_the_ledger(session: Session) -> None:
    """Per account number, credits minus debits of the export equal the sum of
    the period's postings in the notation, and all debits equal all credits."""
    chart = COOP.credit.accounts
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for day, _kind, _key, _text, postings in parse(LEDGER):
        if NOVEMBER[0] <= day <= NOVEMBER[1]:
            for code, amount in postings:
                expected[account_number(code, chart)] += amount

    moved = totals(journal(session, COOP, *NOVEMBER))

    assert {n: a for n, a in expected.items() if a} == {
        number: credit - debit for number, (debit, credit) in moved.items()
    }
    assert sum(d for d, _ in moved.values()) == sum(c for _, c in moved.values())


def test_document_numbers_are_the_entry_ids(session: Session) -> None:
    rows = journal(session, COOP, *NOVEMBER)
    by_key = {row.key: row.document for row in rows}

    assert len(set(by_key.values())) == len(by_key)
    assert by_key["reconcile:1"] < by_key["order:150:paid"] < by_key["refund:77"]


def test_csv_layout(session: Session) -> None:
    """Banana's column names, ISO dates, amounts with a point and two places,
    the coop's own account numbers, text guarded against formulas."""
    chart = JournalAccounts(bank="1021", members="2035")
    coop = COOP.model_copy(
        update={"credit": COOP.credit.model_copy(update={"accounts": chart})}
    )
    rows = journal(session, coop, *NOVEMBER)
    data = journal_csv(rows)
    lines = [line.split(";") for line in data.decode("utf-8-sig").splitlines()]
    doc = {row.key: str(row.document) for row in rows}

    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in data
    assert HEAD == lines[0]
    assert [
        "Date",
        "Doc",
        "Description",
        "AccountDebit",
        "AccountCredit",
        "Amount",
        "Key",
    ] == HEAD
    assert [
        "2026-11-01",
        doc["bank:CH9300762011623852957:A1"],
        "Einzahlung zwei Mitglieder",
        "1021",
        "2035",
        "50.00",
        "bank:CH9300762011623852957:A1",
    ] == lines[1]
    assert [
        "2026-11-12",
        doc["reconcile:2"],
        "Bar bezahlt, =Kasse",
        "1021",
        "3200",
        "5.00",
        "reconcile:2",
    ] == lines[5]
    assert 1 + len(rows) == len(lines)


def test_a_text_that_looks_like_a_formula_is_guarded(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        book_all(
            session,
            "nord",
            """
2026-11-02 correction reconcile:9 "=SUMME(A1:A9)"
  member:5  -1.00
  corrections 1.00
""",
        )
    with Session(engine) as session:
        data = journal_csv(journal(session, COOP, *NOVEMBER))

    assert "'=SUMME(A1:A9)" == data.decode("utf-8-sig").splitlines()[1].split(";")[2]


def test_an_empty_period_has_the_head_only(session: Session) -> None:
    rows = journal(session, COOP, date(2027, 1, 1), date(2027, 1, 31))

    assert [] == rows
    assert ";".join(HEAD) == journal_csv(rows).decode("utf-8-sig").strip()


def test_a_reversed_period_is_refused(session: Session) -> None:
    with pytest.raises(SkipItemError, match="coop nord: journal: the period ends"):
        journal(session, COOP, date(2026, 11, 30), date(2026, 11, 1))
