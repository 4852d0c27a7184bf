"""One bank credit: kept once, matched to its member, then booked or queued for review.

`keep_credit` stores a credit of a bank file under its IBAN and bank reference,
so a credit read before is only `known`, and books it at once when
`topup_match` finds its member without doubt. A different credit under a bank
reference already kept (another amount or member) is a `conflict`: it is not
booked, and the admin is told, since one of the two files is wrong.
`book_credit` is the one way a credit is booked, whether by the import or by
an admin's review (`pot_bridge.credit.review`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge import ledger, problems
from pot_bridge.config import CoopConfig
from pot_bridge.credit import wallet_write
from pot_bridge.credit.topup_match import (
    HOME_CURRENCY,
    Match,
    ReadCredit,
    match_credit,
    named_member,
)
from pot_bridge.errors import SkipItemError
from pot_bridge.ledger import accounts
from pot_bridge.money import format_chf
from pot_bridge.store.schema import BankCredit

log = structlog.get_logger(__name__)

# what became of a `BankCredit`
REVIEW, BOOKED, IGNORED = "review", "booked", "ignored"
# what became of a credit read again: the same as kept, or a different one
KNOWN, CONFLICT = "known", "conflict"
REVIEW_PROBLEM = "topup.review"
CONFLICT_PROBLEM = "topup.bank_ref_conflict"
DEPOSIT_TEXT = "Einzahlung {day:%d.%m.%Y} Ref. {ref}"
RETURN_TEXT = "Rückbuchung {day:%d.%m.%Y} Ref. {ref}"


@dataclass(frozen=True)
class Outcome:
    """What became of one credit of a file."""

    credit_id: int
    bank_ref: str
    amount: Decimal
    currency: str
    status: str  # booked, review, known (read before) or conflict
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
            return _read_again(session, coop, known, fields, now)

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
            return _read_again(session, coop, known, fields, now)

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
    """The ledger key of a bank top-up.

    The key ends a wallet row's mark, which holds no space or ']': those, and
    '%' so that no two references share a key, are written as %XX (UTF-8).
    """
    return f"bank:{iban}:{_keyable(bank_ref)}"


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


def _keyable(bank_ref: str) -> str:
    return "".join(
        quote(c, safe="") if c.isspace() or c in "%]" or not c.isprintable() else c
        for c in bank_ref
    )


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


def _read_again(
    session: Session,
    coop: CoopConfig,
    known: BankCredit,
    fields: ReadCredit,
    now: datetime,
) -> Outcome:
    """A bank reference kept before: the same credit is `known`; a different
    amount, currency or named member is a `conflict`, reported, not booked."""
    was = named_member(coop, known.reference, known.message)
    named = named_member(coop, fields.reference, fields.message)
    same_member = was is None or named is None or was == named
    if (
        known.amount == fields.amount
        and known.currency == fields.currency
        and same_member
    ):
        return _outcome(known, KNOWN)

    before = _described(known.amount, known.currency, was)
    after = _described(fields.amount, fields.currency, named)
    reason = (
        f"bank reference {known.bank_ref} of account {known.iban} was read before "
        f"as {before} (bank credit {known.id}, {known.source}), now as {after} "
        f"({fields.source}); not booked: ask the bank which is right"
    )
    _report_conflict(session, coop, known, fields, named, reason, now)

    return Outcome(
        credit_id=known.id,
        bank_ref=known.bank_ref,
        amount=fields.amount,
        currency=fields.currency,
        status=CONFLICT,
        member=named,
        reason=reason,
    )


def _report_conflict(
    session: Session,
    coop: CoopConfig,
    known: BankCredit,
    fields: ReadCredit,
    named: int | None,
    reason: str,
    now: datetime,
) -> None:
    """One problem per different credit: reading its file again counts up."""
    subject = (
        f"{known.iban}:{known.bank_ref} {fields.amount} {fields.currency} "
        f"{named or '-'}"
    )
    problems.report(
        session,
        coop=coop.slug,
        kind=CONFLICT_PROBLEM,
        subject=subject[:200],
        message=f"coop {coop.slug}: {reason}",
        now=now,
        details={
            "iban": known.iban,
            "bank_ref": known.bank_ref,
            "amount_before": str(known.amount),
            "amount_now": str(fields.amount),
        },
    )
    log.warning(
        "topup.bank_ref_conflict",
        coop=coop.slug,
        iban=known.iban,
        bank_ref=known.bank_ref,
        amount_before=str(known.amount),
        amount_now=str(fields.amount),
        source=fields.source,
    )


def _described(amount: Decimal, currency: str, member: int | None) -> str:
    named = f" for member {member}" if member is not None else ""

    return f"{format_chf(amount)} {currency}{named}"


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
