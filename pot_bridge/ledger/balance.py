"""Balances of a coop's credit ledger, and the check that they are right.

`balance` reads the kept balance (current at once, see `posting`); `check`
recomputes every balance and every entry from the postings and returns what
differs as findings, with the exact amounts, instead of stopping at the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import BigInteger, func, select, type_coerce
from sqlalchemy.orm import Session

from pot_bridge.money import format_chf, from_rappen
from pot_bridge.store.schema import JournalEntry, LedgerAccount, Posting


@dataclass(frozen=True)
class Finding:
    """Something in the ledger that does not add up.

    `kind` is `balance_differs` (subject: an account code; `kept` is its stored
    balance, `expected` the sum of its postings) or `entry_unbalanced` (subject:
    an entry key; `kept` is the sum of its postings, `expected` zero).
    """

    kind: str
    subject: str
    expected: Decimal
    kept: Decimal
    message: str


def balance(session: Session, coop: str, account: str) -> Decimal:
    """A member's credit or a coop account's balance in CHF; 0.00 if never used."""
    kept = session.scalar(
        select(LedgerAccount.balance).where(
            LedgerAccount.coop == coop, LedgerAccount.code == account
        )
    )

    return from_rappen(0) if kept is None else kept


def balances(session: Session, coop: str) -> dict[str, Decimal]:
    """Every account's kept balance, by code."""
    rows = session.execute(
        select(LedgerAccount.code, LedgerAccount.balance)
        .where(LedgerAccount.coop == coop)
        .order_by(LedgerAccount.code)
    ).tuples()

    return dict(rows.all())


def check(session: Session, coop: str) -> list[Finding]:
    """Prove that each kept balance is the sum of its postings and each entry is 0."""
    return _check_balances(session, coop) + _check_entries(session, coop)


def _check_balances(session: Session, coop: str) -> list[Finding]:
    # Sums in integer Rappen, so the comparison is exact on every database.
    rappen = type_coerce(Posting.amount, BigInteger)
    sums = dict(
        session.execute(
            select(Posting.account_pk, func.sum(rappen))
            .join(LedgerAccount, LedgerAccount.id == Posting.account_pk)
            .where(LedgerAccount.coop == coop)
            .group_by(Posting.account_pk)
        )
        .tuples()
        .all()
    )
    accounts = session.execute(
        select(LedgerAccount.id, LedgerAccount.code, LedgerAccount.balance)
        .where(LedgerAccount.coop == coop)
        .order_by(LedgerAccount.code)
    ).tuples()

    findings = []
    for pk, code, kept in accounts:
        expected = from_rappen(int(sums.get(pk) or 0))
        if kept != expected:
            findings.append(
                Finding(
                    kind="balance_differs",
                    subject=code,
                    expected=expected,
                    kept=kept,
                    message=(
                        f"{code} keeps {format_chf(kept)} CHF, its postings sum "
                        f"to {format_chf(expected)} CHF "
                        f"(difference {format_chf(kept - expected)})"
                    ),
                )
            )

    return findings


def _check_entries(session: Session, coop: str) -> list[Finding]:
    rappen = type_coerce(Posting.amount, BigInteger)
    total = func.coalesce(func.sum(rappen), 0)
    rows = session.execute(
        select(JournalEntry.key, total)
        .outerjoin(Posting, Posting.entry_pk == JournalEntry.id)
        .where(JournalEntry.coop == coop)
        .group_by(JournalEntry.id, JournalEntry.key)
        .having((total != 0) | (func.count(Posting.id) == 0))
        .order_by(JournalEntry.id)
    ).tuples()

    findings = []
    for key, sum_rappen in rows:
        kept = from_rappen(int(sum_rappen))
        message = (
            f"entry {key!r} has no postings"
            if kept == 0
            else f"entry {key!r} postings sum to {format_chf(kept)} CHF, not 0.00"
        )
        findings.append(
            Finding(
                kind="entry_unbalanced",
                subject=key,
                expected=from_rappen(0),
                kept=kept,
                message=message,
            )
        )

    return findings
