"""The review queue: an admin assigns or ignores what did not match, once.

The day's statement of coop "holz" (camt053_v08_scor_topups.xml) leaves five
credits waiting:

    ZKB-T-20261208-0003   20.00 CHF  reference member 7, message member 8
    ZKB-20261208-0004#1   35.00 CHF  a producer's refund, no member
    ZKB-20261208-0005#1   12.00 CHF  RF reference with wrong check digits
    ZKB-20261208-0006#1   30.00 EUR  member 5, in euros
    ZKB-20261208-0007    -15.00 CHF  a reversal
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge.credit import review, topup
from pot_bridge.errors import SkipItemError
from pot_bridge.ledger import balances
from pot_bridge.problems import open_problems
from pot_bridge.store import session_factory
from pot_bridge.store.schema import BankCredit

from .test_topup import (
    SCOR_COOP,
    SCOR_FILE,
    add_members,
    coop_config,
    journal,
    sample,
    wallet_writes,
)

LATER = datetime(2026, 12, 9, 18, 30, tzinfo=UTC)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    made = session_factory(engine)
    add_members(made)
    topup.import_file(made, SCOR_COOP, sample(SCOR_FILE), SCOR_FILE, LATER)
    return made


def credit_id(session: Session, bank_ref: str) -> int:
    return session.scalars(
        select(BankCredit.id).where(BankCredit.bank_ref == bank_ref)
    ).one()


def waiting_refs(session: Session) -> list[str]:
    return [c.bank_ref for c in review.pending(session, SCOR_COOP)]


def test_pending_lists_what_waits(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        assert [
            "ZKB-T-20261208-0003",
            "ZKB-20261208-0004#1",
            "ZKB-20261208-0005#1",
            "ZKB-20261208-0006#1",
            "ZKB-20261208-0007",
        ] == waiting_refs(session)


def test_assigned_by_hand_is_booked_like_a_match(
    sessions: sessionmaker[Session],
) -> None:
    """The admin asked: the 20.00 were Sofia's (member 8)."""
    with sessions.begin() as session:
        number = credit_id(session, "ZKB-T-20261208-0003")
        review.assign(session, SCOR_COOP, number, 8, "Sofia paid for Luca", LATER)

    with sessions() as session:
        assert journal(session).endswith(
            """\
2026-12-08 top_up bank:CH4700700110000654321:ZKB-T-20261208-0003
  "Einzahlung 08.12.2026 Ref. ZKB-T-20261208-0003"
  bank        -20.00
  member:8     20.00"""
        )
        assert (
            8,
            Decimal("20.00"),
            "deposit",
            "pending",
            (
                "Einzahlung 08.12.2026 Ref. ZKB-T-20261208-0003 "
                "[pot-bridge bank:CH4700700110000654321:ZKB-T-20261208-0003]"
            ),
        ) == wallet_writes(session)[-1]
        credit = session.get(BankCredit, number)
        assert credit is not None
        assert ("booked", 8, "hand", "Sofia paid for Luca", LATER) == (
            credit.status,
            credit.member,
            credit.matched_by,
            credit.resolved_note,
            credit.resolved_at,
        )
        assert f"bank credit {number}" not in {
            p.subject for p in open_problems(session, "holz")
        }


def test_a_credit_is_resolved_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        number = credit_id(session, "ZKB-20261208-0005#1")
        review.assign(session, SCOR_COOP, number, 4, "", LATER)
    with sessions() as session:
        booked = journal(session)

    with sessions.begin() as session, pytest.raises(review.NotInReview) as again:
        review.assign(session, SCOR_COOP, number, 4, "", LATER)
    with sessions.begin() as session, pytest.raises(review.NotInReview):
        review.ignore(session, SCOR_COOP, number, "oops", LATER)

    assert (
        f"coop holz: bank credit {number} is booked on 2026-12-09 18:30 UTC, not "
        "waiting for review: it is resolved once"
    ) == str(again.value)
    with sessions() as session:
        assert booked == journal(session)


def test_ignored_credit_books_nothing(sessions: sessionmaker[Session]) -> None:
    """The producer paid back a crate deposit: no member's money."""
    with sessions() as session:
        before = (journal(session), wallet_writes(session))

    with sessions.begin() as session:
        number = credit_id(session, "ZKB-20261208-0004#1")
        review.ignore(session, SCOR_COOP, number, "Leergut Hof Sonnenberg", LATER)

    with sessions() as session:
        assert before == (journal(session), wallet_writes(session))
        assert "ZKB-20261208-0004#1" not in waiting_refs(session)
        credit = session.get(BankCredit, number)
        assert credit is not None
        assert ("ignored", "Leergut Hof Sonnenberg") == (
            credit.status,
            credit.resolved_note,
        )
    with sessions.begin() as session, pytest.raises(review.NotInReview):
        review.assign(session, SCOR_COOP, number, 3, "", LATER)


def test_ignoring_needs_a_reason(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        number = credit_id(session, "ZKB-20261208-0004#1")
        with pytest.raises(SkipItemError, match="say why"):
            review.ignore(session, SCOR_COOP, number, "  ", LATER)


def test_a_reversal_assigned_takes_the_top_up_back(
    sessions: sessionmaker[Session],
) -> None:
    """Jonas's bank sent last week's 15.00 back: his credit goes down."""
    with sessions.begin() as session:
        number = credit_id(session, "ZKB-20261208-0007")
        review.assign(session, SCOR_COOP, number, 3, "returned by his bank", LATER)

    with sessions() as session:
        assert Decimal("45.00") == balances(session, "holz")["member:3"]
        assert (
            3,
            Decimal("-15.00"),
            "manual_transaction",
            "pending",
            (
                "Rückbuchung 08.12.2026 Ref. ZKB-20261208-0007 "
                "[pot-bridge bank:CH4700700110000654321:ZKB-20261208-0007]"
            ),
        ) == wallet_writes(session)[-1]


@pytest.mark.parametrize(
    ("bank_ref", "member", "refusal"),
    [
        pytest.param("ZKB-20261208-0006#1", 5, "is in EUR", id="euros"),
        pytest.param(
            "ZKB-20261208-0005#1", 99, "member 99 is not a customer", id="unknown"
        ),
        pytest.param("ZKB-20261208-0005#1", 0, "0 is not a member number", id="zero"),
        pytest.param(
            "ZKB-20261208-0005#1",
            2**53 + 1,
            "9007199254740993 is not a member number",
            id="beyond-user-ids",
        ),
        pytest.param(
            "ZKB-20261208-0005#1",
            2**64,
            "18446744073709551616 is not a member number",
            id="beyond-64-bits",
        ),
    ],
)
def test_refused_assignments_book_nothing(
    sessions: sessionmaker[Session], bank_ref: str, member: int, refusal: str
) -> None:
    with sessions() as session:
        before = journal(session)

    with sessions.begin() as session, pytest.raises(SkipItemError, match=refusal):
        review.assign(
            session, SCOR_COOP, credit_id(session, bank_ref), member, "", LATER
        )

    with sessions() as session:
        assert before == journal(session)
        assert bank_ref in waiting_refs(session)


def test_another_coops_credit_is_not_found(sessions: sessionmaker[Session]) -> None:
    other = coop_config(slug="nord")
    with sessions.begin() as session:
        number = credit_id(session, "ZKB-20261208-0004#1")
        assert [] == review.pending(session, other)
        with pytest.raises(review.NotInReview, match=f"no bank credit {number}"):
            review.ignore(session, other, number, "not ours", LATER)


@pytest.mark.parametrize("number", [2**31, 2**64], ids=["beyond-32-bits", "beyond-64"])
def test_an_id_beyond_the_store_is_not_found(
    sessions: sessionmaker[Session], number: int
) -> None:
    with sessions.begin() as session:
        with pytest.raises(review.NotInReview, match=f"no bank credit {number}"):
            review.assign(session, SCOR_COOP, number, 4, "", LATER)
        with pytest.raises(review.NotInReview, match=f"no bank credit {number}"):
            review.ignore(session, SCOR_COOP, number, "not ours", LATER)


def test_a_bank_reference_with_spaces_is_assigned(
    sessions: sessionmaker[Session],
) -> None:
    """The bank wrote "HZ 20261209 Q 02"; the reference named member 99."""
    spaced = "camt054_v08_spaced_refs.xml"
    coop = coop_config()
    topup.import_file(sessions, coop, sample(spaced), spaced, LATER)

    with sessions.begin() as session:
        number = credit_id(session, "HZ 20261209 Q 02#1")
        review.assign(session, coop, number, 6, "Elena's new account", LATER)

    with sessions() as session:
        assert journal(session).endswith(
            """\
2026-12-09 top_up bank:CH6630808001234567890:HZ%2020261209%20Q%2002#1
  "Einzahlung 09.12.2026 Ref. HZ 20261209 Q 02#1"
  bank        -15.00
  member:6     15.00"""
        )
        assert [(4, Decimal("35.00")), (6, Decimal("15.00"))] == [
            (member, amount) for member, amount, *_ in wallet_writes(session)[-2:]
        ]
        assert "HZ 20261209 Q 02#1" not in waiting_refs(session)
