"""The review queue: bank credits an admin must decide on by hand.

A credit waits here when no member was found or something is doubtful (see
`topup`). `assign` books it to a member exactly as a matched credit is booked;
`ignore` sets it aside as no top-up (a return, a producer's refund). Either is
done once: a resolved credit is refused, so a second admin or a repeated
command cannot book it twice.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge import problems
from pot_bridge.config import CoopConfig
from pot_bridge.credit import topup
from pot_bridge.errors import SkipItemError
from pot_bridge.store.schema import BankCredit, Member

log = structlog.get_logger(__name__)

CREDIT_ID_MAX = 2**31 - 1  # BankCredit.id is a 32-bit integer on PostgreSQL


class NotInReview(SkipItemError):
    """The credit does not exist in this coop, or was resolved before."""


def pending(session: Session, coop: CoopConfig) -> list[BankCredit]:
    """The coop's credits waiting for a decision, oldest booking first."""
    return list(
        session.scalars(
            select(BankCredit)
            .where(BankCredit.coop == coop.slug, BankCredit.status == topup.REVIEW)
            .order_by(BankCredit.booked_on, BankCredit.id)
        )
    )


def assign(
    session: Session,
    coop: CoopConfig,
    credit_id: int,
    member: int,
    note: str,
    now: datetime,
) -> BankCredit:
    """Book a waiting credit to `member`, in the caller's transaction."""
    credit = _waiting(session, coop, credit_id)
    if not 0 < member <= topup.MEMBER_MAX:
        raise SkipItemError(
            f"{member} is not a member number (1 to {topup.MEMBER_MAX}): bank "
            f"credit {credit_id} not assigned",
            coop=coop.slug,
        )
    known = session.scalar(
        select(Member.id).where(Member.coop == coop.slug, Member.customer_id == member)
    )
    if known is None:
        raise SkipItemError(
            f"member {member} is not a customer of the shop (not in the store; "
            "`pot-bridge sync` pulls new members): bank credit "
            f"{credit_id} not assigned",
            coop=coop.slug,
        )

    topup.book_credit(session, coop, credit, member, "hand", now)
    _resolved(session, coop, credit, note, now)
    log.info(
        "topup.assigned",
        coop=coop.slug,
        credit=credit.id,
        member=member,
        amount=str(credit.amount),
    )
    return credit


def ignore(
    session: Session, coop: CoopConfig, credit_id: int, note: str, now: datetime
) -> BankCredit:
    """Set a waiting credit aside as no top-up; the note says why."""
    if not note.strip():
        raise SkipItemError(
            f"bank credit {credit_id}: say why it is no top-up (a note)",
            coop=coop.slug,
        )
    credit = _waiting(session, coop, credit_id)

    credit.status = topup.IGNORED
    _resolved(session, coop, credit, note, now)
    log.info("topup.ignored", coop=coop.slug, credit=credit.id, note=note)
    return credit


def _waiting(session: Session, coop: CoopConfig, credit_id: int) -> BankCredit:
    """The credit, locked for this transaction, if it still waits."""
    if not 0 < credit_id <= CREDIT_ID_MAX:  # no such id; the query would fail
        raise NotInReview(f"no bank credit {credit_id}", coop=coop.slug)
    credit = session.scalars(
        select(BankCredit)
        .where(BankCredit.coop == coop.slug, BankCredit.id == credit_id)
        .with_for_update()
    ).one_or_none()
    if credit is None:
        raise NotInReview(f"no bank credit {credit_id}", coop=coop.slug)
    if credit.status != topup.REVIEW:
        when = (
            f" on {credit.resolved_at:%Y-%m-%d %H:%M} UTC" if credit.resolved_at else ""
        )
        raise NotInReview(
            f"bank credit {credit_id} is {credit.status}{when}, not waiting for "
            "review: it is resolved once",
            coop=coop.slug,
        )

    return credit


def _resolved(
    session: Session, coop: CoopConfig, credit: BankCredit, note: str, now: datetime
) -> None:
    credit.resolved_at = now
    credit.resolved_note = note.strip()
    problems.resolve(
        session,
        coop=coop.slug,
        kind=topup.REVIEW_PROBLEM,
        subject=topup.review_subject(credit),
        now=now,
    )
