"""Booking entries in a coop's credit ledger: double-entry, append-only, once.

Every entry is one cause (a top-up, an order, a refund, a wallet row, a manual
correction) named by an idempotency key such as `order:131:paid`; booking the
same key again returns the first entry, so a job may repeat a step after a crash
without booking twice. An entry's postings sum to zero. Amounts are signed from
the credit side: + credits an account, − debits it, so a member's credit and the
coop's income count positive and money the coop holds at the bank negative.

Entries and postings are never changed or deleted; a mistake is taken back by
`reverse`, which books the mirror image under a key of its own. Each account's
balance is kept in its row and moved in the same transaction as its postings,
so it is current at once; `pot_bridge.ledger.balance.check` proves it still
equals the sum of the postings. The cost: every booking writes one row per
posting account, and on PostgreSQL two bookings on the same account wait for
each other until the first commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from pot_bridge.errors import PotBridgeError, SkipItemError
from pot_bridge.ledger.accounts import check_code, open_account
from pot_bridge.money import format_chf, from_rappen, parse_decimal, to_rappen
from pot_bridge.store.schema import JournalEntry, LedgerAccount, Posting

log = structlog.get_logger(__name__)

# The plugin and the coops keep Swiss wall-clock days; a caller that knows the
# coop's configured zone passes `effective` itself.
DEFAULT_ZONE = ZoneInfo("Europe/Zurich")

KEY_LENGTH = 200
REVERSAL_PREFIX = "reversal:"


class EntryKind(StrEnum):
    """What caused an entry."""

    TOP_UP = "top_up"
    ORDER = "order"
    REFUND = "refund"
    FEE = "fee"
    PAYOUT = "payout"
    WALLET_ROW = "wallet_row"
    CORRECTION = "correction"
    REVERSAL = "reversal"


class EntryRefused(SkipItemError):
    """The ledger will not book this entry: report it and go on with the others."""

    def __init__(self, message: str, *, coop: str, key: str) -> None:
        self.key = key
        super().__init__(f"entry {key!r}: {message}", coop=coop)


class KeyReused(EntryRefused):
    """The key was booked before with other postings: two causes share one name."""


class Unbalanced(EntryRefused):
    """The postings do not sum to zero."""


class AppendOnlyViolation(PotBridgeError):
    """Code tried to change or delete a booked entry or posting (a bug)."""


Lines = list[tuple[str, int]]


def book(
    session: Session,
    coop: str,
    key: str,
    kind: EntryKind,
    text: str,
    postings: Sequence[tuple[str, Decimal]],
    when: datetime,
    *,
    effective: date | None = None,
) -> JournalEntry:
    """Book `postings` (account code, CHF) once under `key`, in the session's
    transaction; the caller commits.

    A key booked before returns that entry unchanged; if its kind or postings
    differ, `KeyReused` is raised. `effective` defaults to the day of `when` in
    Zurich.
    """
    entry, _ = _book(session, coop, key, kind, text, postings, when, effective, None)

    return entry


def reverse(
    session: Session, entry: JournalEntry, reason: str, when: datetime
) -> JournalEntry:
    """Take `entry` back with its mirror image; reversing it again returns the same."""
    mirrored = [(p.account.code, -p.amount) for p in entry.postings]
    reversal, new = _book(
        session,
        entry.coop,
        REVERSAL_PREFIX + entry.key,
        EntryKind.REVERSAL,
        reason,
        mirrored,
        when,
        None,
        entry.id,
    )
    if new:
        log.info("ledger.entry.reversed", coop=entry.coop, key=entry.key, reason=reason)

    return reversal


def find_entry(session: Session, coop: str, key: str) -> JournalEntry | None:
    return session.scalars(
        select(JournalEntry).where(JournalEntry.coop == coop, JournalEntry.key == key)
    ).one_or_none()


def _book(
    session: Session,
    coop: str,
    key: str,
    kind: EntryKind,
    text: str,
    postings: Sequence[tuple[str, Decimal]],
    when: datetime,
    effective: date | None,
    reversal_of: int | None,
) -> tuple[JournalEntry, bool]:
    """The entry booked under `key`, and whether this call booked it."""
    lines = _lines(coop, key, postings)
    existing = find_entry(session, coop, key)
    if existing is not None:
        return _same_or_refuse(session, existing, kind, lines), False

    # The unique (coop, key) decides between two sessions booking the same
    # cause at once: the second one's insert fails and it takes the first's.
    entry = JournalEntry(
        coop=coop,
        key=key,
        kind=str(kind),
        text=text,
        booked_at=when,
        effective=effective or when.astimezone(DEFAULT_ZONE).date(),
        reversal_of=reversal_of,
    )
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:
        existing = find_entry(session, coop, key)
        if existing is None:
            raise
        log.debug("ledger.entry.raced", coop=coop, key=key)
        return _same_or_refuse(session, existing, kind, lines), False

    # `lines` is in code order, so two bookings lock shared rows in one order.
    for code, rappen in lines:
        account = open_account(session, coop, code, when)
        amount = from_rappen(rappen)
        session.add(Posting(entry=entry, account_pk=account.id, amount=amount))
        session.execute(
            update(LedgerAccount)
            .where(LedgerAccount.id == account.id)
            .values(balance=LedgerAccount.balance + amount)
            .execution_options(synchronize_session=False)
        )
        session.expire(account, ["balance"])
    session.flush()
    log.debug("ledger.entry.booked", coop=coop, key=key, kind=str(kind))

    return entry, True


def _lines(coop: str, key: str, postings: Sequence[tuple[str, Decimal]]) -> Lines:
    """The postings as (code, Rappen), checked: known accounts, each once, sum 0."""
    if not key or len(key) > KEY_LENGTH:
        raise EntryRefused(
            f"a key must have 1 to {KEY_LENGTH} characters", coop=coop, key=key
        )
    if len(postings) < 2:
        raise Unbalanced("an entry needs at least two postings", coop=coop, key=key)

    lines: Lines = []
    for code, amount in postings:
        try:
            rappen = to_rappen(parse_decimal(amount))
            check_code(code)
        except (TypeError, ValueError) as exc:
            raise EntryRefused(str(exc), coop=coop, key=key) from exc
        if rappen == 0:
            raise EntryRefused(f"posting of 0.00 to {code}", coop=coop, key=key)
        lines.append((code, rappen))

    codes = [code for code, _ in lines]
    if len(set(codes)) != len(codes):
        raise EntryRefused(f"an account appears twice: {codes}", coop=coop, key=key)
    total = sum(rappen for _, rappen in lines)
    if total != 0:
        raise Unbalanced(
            f"postings sum to {format_chf(from_rappen(total))} CHF, not 0.00",
            coop=coop,
            key=key,
        )

    return sorted(lines)


def _same_or_refuse(
    session: Session, entry: JournalEntry, kind: EntryKind, lines: Lines
) -> JournalEntry:
    booked = sorted(
        (code, to_rappen(amount))
        for code, amount in session.execute(
            select(LedgerAccount.code, Posting.amount)
            .join(Posting, Posting.account_pk == LedgerAccount.id)
            .where(Posting.entry_pk == entry.id)
        ).tuples()
    )
    if entry.kind != str(kind) or booked != lines:
        raise KeyReused(
            f"booked before as {entry.kind} {_show(booked)}, "
            f"now asked as {kind} {_show(lines)}",
            coop=entry.coop,
            key=entry.key,
        )

    return entry


def _show(lines: Lines) -> str:
    return ", ".join(f"{code} {format_chf(from_rappen(r))}" for code, r in lines)


@event.listens_for(JournalEntry, "before_update")
@event.listens_for(Posting, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: Any) -> None:
    # Adding a posting marks its entry dirty too; only a changed column counts.
    session = object_session(target)
    if session is not None and session.is_modified(target, include_collections=False):
        _refuse(target)


@event.listens_for(JournalEntry, "before_delete")
@event.listens_for(Posting, "before_delete")
def _refuse_delete(_mapper: Any, _connection: Any, target: Any) -> None:
    _refuse(target)


def _refuse(target: JournalEntry | Posting) -> None:
    raise AppendOnlyViolation(
        f"{type(target).__name__} {target.id} is booked; reverse it instead"
    )
