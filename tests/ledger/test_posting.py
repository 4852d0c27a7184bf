"""Booking a coop's credit ledger: entries in, balances and findings out."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session
from structlog.testing import capture_logs

from pot_bridge.ledger import (
    EntryKind,
    EntryRefused,
    Finding,
    KeyReused,
    Unbalanced,
    balance,
    balances,
    book,
    check,
    reverse,
)
from pot_bridge.ledger.posting import AppendOnlyViolation, find_entry
from pot_bridge.store.schema import JournalEntry, LedgerAccount, Posting

from .notation import NOW, book_all

TOP_UP_AND_ORDER = """
2026-12-01 top_up bank:camt:2026-12-01:1 "Einzahlung Bank 01.12.2026"
  bank      -80.00
  member:5   80.00
2026-12-04 order order:136:paid "Bestellung #136"
  member:5  -33.00
  sales      33.00
"""

REFUND = """
2026-12-04 refund refund:137 "Mutation: Produkt nicht geliefert (Butterzopf)"
  sales      -6.80
  member:5    6.80
"""


def test_top_up_order_and_refund(engine: Engine) -> None:
    """The member's credit is what came in, less the order, plus the refund."""
    with Session(engine) as session:
        book_all(session, "nord", TOP_UP_AND_ORDER + REFUND)
        session.commit()

    with Session(engine) as session:
        kept = balances(session, "nord")
        member = balance(session, "nord", "member:5")
        findings = check(session, "nord")

    assert {
        "bank": Decimal("-80.00"),
        "member:5": Decimal("53.80"),
        "sales": Decimal("26.20"),
    } == kept
    assert Decimal("53.80") == member
    assert [] == findings


def test_unused_account_has_nothing(engine: Engine) -> None:
    with Session(engine) as session:
        assert Decimal("0.00") == balance(session, "nord", "member:99")


def test_reversal_mirrors_the_entry_once(engine: Engine) -> None:
    """A refund booked by mistake is taken back by a new entry, not edited."""
    with Session(engine) as session:
        book_all(session, "nord", TOP_UP_AND_ORDER)
        (refund,) = book_all(session, "nord", REFUND)
        first = reverse(session, refund, "refund booked twice in the shop", NOW)
        again = reverse(session, refund, "asked again", NOW)
        session.commit()
        refund_id, first_id, again_id = refund.id, first.id, again.id

    with Session(engine) as session:
        reversal = find_entry(session, "nord", "reversal:refund:137")
        assert reversal is not None
        postings = sorted((p.account.code, p.amount) for p in reversal.postings)
        member = balance(session, "nord", "member:5")
        entries = session.scalar(select(func.count()).select_from(JournalEntry))
        findings = check(session, "nord")

    assert first_id == again_id == reversal.id
    assert refund_id == reversal.reversal_of
    assert "reversal" == reversal.kind
    assert "refund booked twice in the shop" == reversal.text
    assert [("member:5", Decimal("-6.80")), ("sales", Decimal("6.80"))] == postings
    assert Decimal("47.00") == member
    assert 4 == entries
    assert [] == findings


def test_same_key_twice_books_once(engine: Engine) -> None:
    with Session(engine) as session:
        (first,) = book_all(session, "nord", REFUND)
        (second,) = book_all(session, "nord", REFUND)
        session.commit()
        first_id, second_id = first.id, second.id

    with Session(engine) as session:
        entries = session.scalar(select(func.count()).select_from(JournalEntry))
        member = balance(session, "nord", "member:5")

    assert first_id == second_id
    assert 1 == entries
    assert Decimal("6.80") == member


def test_same_key_in_another_coop_is_another_cause(engine: Engine) -> None:
    with Session(engine) as session:
        book_all(session, "nord", REFUND)
        book_all(session, "sued", REFUND)
        session.commit()

        assert Decimal("6.80") == balance(session, "sued", "member:5")
        assert Decimal("6.80") == balance(session, "nord", "member:5")


def test_same_key_with_other_postings_is_refused(engine: Engine) -> None:
    other = """
2026-12-04 refund refund:137 "Mutation: Produkt nicht geliefert (Butterzopf)"
  sales      -6.00
  member:5    6.00
"""
    with Session(engine) as session:
        book_all(session, "nord", REFUND)
        with pytest.raises(KeyReused) as refused:
            book_all(session, "nord", other)

    assert (
        "coop nord: entry 'refund:137': booked before as refund member:5 6.80, "
        "sales -6.80, now asked as refund member:5 6.00, sales -6.00"
    ) == str(refused.value)


@pytest.mark.parametrize(
    ("postings", "message"),
    [
        pytest.param(
            [("bank", Decimal("-80.00")), ("member:5", Decimal("79.95"))],
            "postings sum to -0.05 CHF, not 0.00",
            id="unbalanced",
        ),
        pytest.param(
            [("bank", Decimal("-80.00"))],
            "an entry needs at least two postings",
            id="one-posting",
        ),
        pytest.param(
            [("bank", Decimal("-0.005")), ("member:5", Decimal("0.005"))],
            "-0.005 CHF is not a whole number of Rappen",
            id="sub-rappen",
        ),
        pytest.param(
            [("bank", -80.0), ("member:5", 80.0)],
            "refusing float as a decimal: -80.0",
            id="float",
        ),
        pytest.param(
            [("bank", Decimal("-80.00")), ("member:05", Decimal("80.00"))],
            "unknown ledger account 'member:05'",
            id="unknown-account",
        ),
        pytest.param(
            [("bank", Decimal("0.00")), ("member:5", Decimal("0.00"))],
            "posting of 0.00 to bank",
            id="zero",
        ),
    ],
)
def test_wrong_entries_are_refused(
    engine: Engine, postings: list[tuple[str, Decimal]], message: str
) -> None:
    with Session(engine) as session:
        with pytest.raises(EntryRefused) as refused:
            book(session, "nord", "top-up:1", EntryKind.TOP_UP, "", postings, NOW)
        entries = session.scalar(select(func.count()).select_from(JournalEntry))

    assert f"coop nord: entry 'top-up:1': {message}" == str(refused.value)
    assert 0 == entries


def test_unbalanced_is_an_entry_refused() -> None:
    assert issubclass(Unbalanced, EntryRefused)


def test_check_finds_a_tampered_balance(engine: Engine) -> None:
    """A balance row changed behind the ledger's back is found, to the Rappen."""
    with Session(engine) as session:
        book_all(session, "nord", TOP_UP_AND_ORDER)
        session.commit()
    with Session(engine) as session:
        session.execute(
            update(LedgerAccount)
            .where(LedgerAccount.code == "member:5")
            .values(balance=Decimal("57.10"))
        )
        session.commit()

    with Session(engine) as session:
        findings = check(session, "nord")

    assert [
        Finding(
            kind="balance_differs",
            subject="member:5",
            expected=Decimal("47.00"),
            kept=Decimal("57.10"),
            message=(
                "member:5 keeps 57.10 CHF, its postings sum to 47.00 CHF "
                "(difference 10.10)"
            ),
        )
    ] == findings


def test_check_finds_a_posting_slipped_in(engine: Engine) -> None:
    """A posting added without the ledger unbalances its entry and its account."""
    with Session(engine) as session:
        (top_up, _) = book_all(session, "nord", TOP_UP_AND_ORDER)
        session.commit()
        bank = session.scalars(
            select(LedgerAccount).where(LedgerAccount.code == "bank")
        ).one()
        session.execute(
            insert(Posting).values(
                entry_pk=top_up.id, account_pk=bank.id, amount=Decimal("-5.00")
            )
        )
        session.commit()

    with Session(engine) as session:
        findings = [
            (f.kind, f.subject, f.expected, f.kept) for f in check(session, "nord")
        ]

    assert [
        ("balance_differs", "bank", Decimal("-85.00"), Decimal("-80.00")),
        (
            "entry_unbalanced",
            "bank:camt:2026-12-01:1",
            Decimal("0.00"),
            Decimal("-5.00"),
        ),
    ] == findings


def test_booked_entries_cannot_be_changed_or_deleted(engine: Engine) -> None:
    with Session(engine) as session:
        (refund,) = book_all(session, "nord", REFUND)
        session.commit()

        refund.text = "something else"
        with pytest.raises(AppendOnlyViolation):
            session.flush()
        session.rollback()

        session.delete(refund.postings[0])
        with pytest.raises(AppendOnlyViolation):
            session.flush()


def test_effective_day_defaults_to_zurich(engine: Engine) -> None:
    """23:30 UTC on 4 December is already the 5th in Zurich."""
    late = NOW.replace(hour=23, minute=30)
    with Session(engine) as session:
        entry = book(
            session,
            "nord",
            "fee:2027:5",
            EntryKind.FEE,
            "Jahresbeitrag 2027",
            [("member:5", Decimal("-50.00")), ("fees", Decimal("50.00"))],
            late,
        )

    assert date(2026, 12, 5) == entry.effective


def test_two_sessions_booking_one_key_book_it_once(engine: Engine) -> None:
    """The second session waits for the first and returns its entry.

    On PostgreSQL the second one's insert hits the unique key (the first has
    not committed when it looked); on SQLite it waits for the write lock.
    """
    first_booked = threading.Event()

    def first() -> int:
        with Session(engine) as session:
            (entry,) = book_all(session, "nord", REFUND)
            first_booked.set()
            time.sleep(0.5)  # let the second one run into the key
            session.commit()
            return entry.id

    def second() -> int:
        first_booked.wait(5)
        with Session(engine) as session:
            (entry,) = book_all(session, "nord", REFUND)
            session.commit()
            return entry.id

    with capture_logs() as logs, ThreadPoolExecutor(2) as pool:
        ids = [pool.submit(first), pool.submit(second)]
        first_id, second_id = (future.result(timeout=30) for future in ids)

    with Session(engine) as session:
        entries = session.scalar(select(func.count()).select_from(JournalEntry))
        member = balance(session, "nord", "member:5")
        findings = check(session, "nord")

    assert first_id == second_id
    assert 1 == entries
    assert Decimal("6.80") == member
    assert [] == findings
    if engine.dialect.name == "postgresql":
        assert "ledger.entry.raced" in [log["event"] for log in logs]


def test_parallel_bookings_on_one_member_add_up(engine: Engine) -> None:
    """Eight sessions top up one member at once; no Rappen is lost."""

    def top_up(n: int) -> None:
        with Session(engine) as session:
            for i in range(5):
                book(
                    session,
                    "nord",
                    f"bank:race:{n}:{i}",
                    EntryKind.TOP_UP,
                    "Einzahlung",
                    [("bank", Decimal("-10.05")), ("member:8", Decimal("10.05"))],
                    NOW,
                )
                session.commit()

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(top_up, n) for n in range(8)]:
            future.result(timeout=60)

    with Session(engine) as session:
        kept = balances(session, "nord")
        findings = check(session, "nord")

    assert {"bank": Decimal("-402.00"), "member:8": Decimal("402.00")} == kept
    assert [] == findings
