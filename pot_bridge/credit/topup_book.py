"""One bank credit: kept once, matched to its member, then booked or queued for review.

`keep_credit` stores a credit of a bank file under its IBAN and bank reference,
so a credit read before is only `known`, and books it at once when
`topup_match` finds its member without doubt. `book_credit` is the one way a
credit is booked, whether by the import or by an admin's review
(`pot_bridge.credit.review`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge import ledger, problems
from pot_bridge.config import CoopConfig
from pot_bridge.credit import wallet_write
from pot_bridge.credit.topup_match import HOME_CURRENCY, Match, ReadCredit, match_credit
from pot_bridge.errors import SkipItemError
from pot_bridge.ledger import accounts
from pot_bridge.money import format_chf
from pot_bridge.store.schema import BankCredit

log = structlog.get_logger(__name__)

# what became of a `BankCredit`
REVIEW, BOOKED, IGNORED = "review", "booked", "ignored"
REVIEW_PROBLEM = "topup.review"
DEPOSIT_TEXT = "Einzahlung {day:%d.%m.%Y} Ref. {ref}"
RETURN_TEXT = "Rückbuchung {day:%d.%m.%Y} Ref. {ref}"
# a bank reference goes into a ledger key and a wallet row's mark
_KEYABLE = re.compile(r"[^\s\]]+")


@dataclass(frozen=True)
class Outcome:
    """What became of one credit of a file."""

    credit_id: int
    bank_ref: str
    amount: Decimal
    currency: str
    status: str  # booked, review, or known (read before)
    member: int | None
    reason: str = ""


def keep_credit(
    sessions: sessionmaker[Session],
    coop: CoopConfig,
    iban: str,
    fields: ReadCredit,
    now: datetime,
) -> Outcome:
    """Store one credit once, match it and book it, in one transaction."""
    with sessions.begin() as session:
        known = _find(session, coop.slug, iban, fields.bank_ref)
        if known is not None:
            return _outcome(known, "known")

        credit = BankCredit(
            coop=coop.slug,
            iban=iban,
            bank_ref=fields.bank_ref,
            amount=fields.amount,
            currency=fields.currency,
            booked_on=fields.booked_on,
            value_on=fields.value_on,
            reference=(fields.reference or None) and fields.reference[:40],
            message=fields.message,
            debtor=fields.debtor[:200],
            source=fields.source[:400],
            status=REVIEW,
            read_at=now,
        )
        try:
            with session.begin_nested():
                session.add(credit)
        except IntegrityError:  # another import of the same file got there first
            known = _find(session, coop.slug, iban, fields.bank_ref)
            if known is None:
                raise
            return _outcome(known, "known")

        match = match_credit(session, coop, fields)
        credit.member = match.member
        credit.matched_by = match.matched_by
        if not match.doubt and match.member is not None:
            try:
                with session.begin_nested():
                    book_credit(
                        session, coop, credit, match.member, match.matched_by, now
                    )
            except (SkipItemError, ValueError) as exc:
                said = exc.message if isinstance(exc, SkipItemError) else str(exc)
                match = Match(match.member, match.matched_by, f"not booked: {said}")
        if credit.status == REVIEW:
            credit.reason = match.doubt or "no member found"
            session.flush()
            _report_review(session, coop, credit, now)

        return _outcome(credit, credit.status)


def entry_key(iban: str, bank_ref: str) -> str:
    """The ledger key of a bank top-up."""
    return f"bank:{iban}:{bank_ref}"


def book_credit(
    session: Session,
    coop: CoopConfig,
    credit: BankCredit,
    member: int,
    matched_by: str,
    now: datetime,
) -> None:
    """Book a CHF credit to `member`: the ledger entry and, on a plugin coop, the
    wallet row to write, in the caller's transaction; the credit is `booked`."""
    if credit.currency != HOME_CURRENCY:
        raise SkipItemError(
            f"bank credit {credit.id} is in {credit.currency}: the ledger keeps "
            "CHF only; ignore it and book what the bank credited in CHF by hand",
            coop=coop.slug,
        )
    if not _KEYABLE.fullmatch(credit.bank_ref):
        raise SkipItemError(
            f"bank credit {credit.id}: bank reference {credit.bank_ref!r} cannot "
            "name a booking (spaces or ']')",
            coop=coop.slug,
        )

    key = entry_key(credit.iban, credit.bank_ref)
    day = credit.booked_on or now.astimezone(coop.zone).date()
    text = (DEPOSIT_TEXT if credit.amount > 0 else RETURN_TEXT).format(
        day=day, ref=credit.bank_ref
    )
    ledger.book(
        session,
        coop.slug,
        key,
        ledger.EntryKind.TOP_UP,
        text,
        [(accounts.member(member), credit.amount), (accounts.BANK, -credit.amount)],
        now,
        effective=day,
    )
    if coop.credit.mode == "plugin":
        kind = "deposit" if credit.amount > 0 else "manual_transaction"
        wallet_write.plan(
            session, coop.slug, key, member, credit.amount, text, kind, now
        )

    credit.member = member
    credit.matched_by = matched_by
    credit.entry_key = key
    credit.status = BOOKED
    log.info(
        "topup.booked",
        coop=coop.slug,
        key=key,
        member=member,
        amount=str(credit.amount),
        matched_by=matched_by,
    )


def review_subject(credit: BankCredit) -> str:
    """The subject of a credit's `topup.review` problem, shown in `status`."""
    return f"bank credit {credit.id}"


def _find(session: Session, coop: str, iban: str, bank_ref: str) -> BankCredit | None:
    return session.scalars(
        select(BankCredit).where(
            BankCredit.coop == coop,
            BankCredit.iban == iban,
            BankCredit.bank_ref == bank_ref,
        )
    ).one_or_none()


def _outcome(credit: BankCredit, status: str) -> Outcome:
    return Outcome(
        credit_id=credit.id,
        bank_ref=credit.bank_ref,
        amount=credit.amount,
        currency=credit.currency,
        status=status,
        member=credit.member,
        reason=credit.reason if status == REVIEW else "",
    )


def _report_review(
    session: Session, coop: CoopConfig, credit: BankCredit, now: datetime
) -> None:
    day = f"{credit.booked_on:%d.%m.%Y}" if credit.booked_on else "?"
    payer = f" from {credit.debtor}" if credit.debtor else ""
    problems.report(
        session,
        coop=coop.slug,
        kind=REVIEW_PROBLEM,
        subject=review_subject(credit),
        message=(
            f"bank credit {credit.id} of {format_chf(credit.amount)} "
            f"{credit.currency} on {day}{payer} waits for review: {credit.reason} "
            f"(`pot-bridge topup review {coop.slug}`)"
        ),
        now=now,
        details={"bank_ref": credit.bank_ref, "amount": str(credit.amount)},
    )
    log.info(
        "topup.review",
        coop=coop.slug,
        credit=credit.id,
        bank_ref=credit.bank_ref,
        reason=credit.reason,
    )
