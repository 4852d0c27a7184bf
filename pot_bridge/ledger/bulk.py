"""Members' entries booked in bulk: a few statements for thousands of entries.

What `pot_bridge.ledger.book` checks one entry at a time, the caller of
`book_many` guarantees; two bulk runs for one coop must not overlap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import cast

import structlog
from sqlalchemy import BigInteger, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from pot_bridge.ledger.accounts import check_code
from pot_bridge.ledger.posting import EntryKind
from pot_bridge.money import ZERO, to_rappen
from pot_bridge.store.schema import Base, JournalEntry, LedgerAccount, Posting

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Booking:
    """One entry of a member against one of the coop's accounts: the member is
    credited `amount` (negative: debited), `other` the opposite."""

    key: str
    kind: EntryKind
    text: str
    member: str
    amount: Decimal
    other: str
    effective: date


def book_many(
    session: Session, coop: str, bookings: Sequence[Booking], now: datetime
) -> None:
    """Insert entries, their postings and the balance changes in bulk.

    For causes counted in tens of thousands, where `pot_bridge.ledger.book`
    would cost a few queries each. The caller guarantees what `book` checks one
    by one: keys no entry has yet, non-zero amounts in whole Rappen. A key
    booked meanwhile by another session fails the insert on its unique
    constraint, and the caller's transaction rolls back.
    """
    if not bookings:
        return
    for b in bookings:
        if b.amount == 0 or b.member == b.other:
            raise ValueError(f"entry {b.key!r}: not a booking of a member: {b}")

    accounts = _open_accounts(
        session, coop, {b.member for b in bookings} | {b.other for b in bookings}, now
    )
    # Core inserts of the tables: the ORM's bulk path costs as much again.
    entries = _table(JournalEntry)
    entry_ids = session.scalars(
        insert(entries).returning(entries.c.id, sort_by_parameter_order=True),
        [
            {
                "coop": coop,
                "key": b.key,
                "kind": str(b.kind),
                "text": b.text,
                "booked_at": now,
                "effective": b.effective,
                "reversal_of": None,
            }
            for b in bookings
        ],
    ).all()

    postings = []
    deltas: dict[str, int] = defaultdict(int)
    for entry_id, b in zip(entry_ids, bookings, strict=True):
        for code, amount in ((b.member, b.amount), (b.other, -b.amount)):
            postings.append(
                {"entry_pk": entry_id, "account_pk": accounts[code], "amount": amount}
            )
            deltas[code] += to_rappen(amount)
    session.execute(insert(_table(Posting)), postings)

    # In code order, as `ledger.book` locks accounts, so the two never deadlock.
    table = _table(LedgerAccount)
    session.execute(
        update(table)
        .where(table.c.id == bindparam("pk"))
        .values(balance=table.c.balance + bindparam("delta", type_=BigInteger)),
        [{"pk": accounts[code], "delta": deltas[code]} for code in sorted(deltas)],
    )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, LedgerAccount):
            session.expire(obj, ["balance"])
    log.debug("ledger.entries.booked", coop=coop, entries=len(bookings))


def _table(entity: type[Base]) -> Table:
    return cast(Table, entity.__table__)


def _open_accounts(
    session: Session, coop: str, codes: set[str], now: datetime
) -> dict[str, int]:
    """Account code → id, opening the accounts not used before."""
    known = dict(
        session.execute(
            select(LedgerAccount.code, LedgerAccount.id).where(
                LedgerAccount.coop == coop
            )
        )
        .tuples()
        .all()
    )
    missing = sorted(codes - set(known))
    if missing:
        opened = session.execute(
            insert(LedgerAccount).returning(
                LedgerAccount.code, LedgerAccount.id, sort_by_parameter_order=True
            ),
            [
                {
                    "coop": coop,
                    "code": check_code(code),
                    "balance": ZERO,
                    "opened_at": now,
                }
                for code in missing
            ],
        ).tuples()
        known.update(opened.all())

    return known
