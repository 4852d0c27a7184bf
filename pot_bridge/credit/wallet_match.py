"""What each wallet row is to the ledger: matched, booked from itself, or neither.

The rules are told in `pot_bridge.credit.wallet`, which links the rows; here
each row is decided on, against the entries its cause may have, read for all
rows in a few queries (`RowMatcher.load`) rather than one per row.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge.config import CoopConfig
from pot_bridge.credit.marker import key_in
from pot_bridge.credit.orders import paid_key, replaced_key
from pot_bridge.credit.reorders import replaced_orders
from pot_bridge.ledger import EntryKind
from pot_bridge.ledger.accounts import (
    BANK,
    CORRECTIONS,
    FEES,
    MEMBER_PREFIX,
    SALES,
    member,
)
from pot_bridge.ledger.bulk import Booking
from pot_bridge.ledger.wallet_rows import NO_DATE, Classified, RowKind, WalletRow
from pot_bridge.store.schema import JournalEntry, LedgerAccount, Posting, Refund

MATCHED, UNMATCHED, BOOKED = "matched", "unmatched", "booked"
DUPLICATE, UNKNOWN = "duplicate", "unknown"
# a row whose date MariaDB stored as zeros (row dates are wall times, zone unknown)
# rows booked from themselves: the coop's account and the kind of entry
FROM_ROW = {
    RowKind.DEPOSIT: (BANK, EntryKind.TOP_UP),
    RowKind.INSTANT_TOP_UP: (BANK, EntryKind.TOP_UP),
    RowKind.YEARLY_FEE: (FEES, EntryKind.FEE),
    RowKind.MANUAL: (CORRECTIONS, EntryKind.WALLET_ROW),
    RowKind.OWNER_SALE: (SALES, EntryKind.PAYOUT),
    RowKind.OWNER_DELIVERY: (SALES, EntryKind.PAYOUT),
    RowKind.MISSING_PAYOUT: (SALES, EntryKind.PAYOUT),
    RowKind.PRICE_ADJUSTMENT: (SALES, EntryKind.WALLET_ROW),
    RowKind.UNKNOWN: (CORRECTIONS, EntryKind.WALLET_ROW),
}
ORDER_ROWS = frozenset({RowKind.ORDER_NEW, RowKind.POS_ORDER, RowKind.ORDER_ADJUSTMENT})
# keys per IN (...) query: well below SQLite's limit of bound parameters
CHUNK = 500
# above this many order keys, all order entries are read in one pass
SCAN_ABOVE = 5000


@dataclass
class Decision:
    """A row's link status, the entry it names and what to book for it."""

    row: WalletRow
    kind: RowKind
    status: str
    entry_key: str | None = None
    booking: Booking | None = None


@dataclass
class RowMatcher:
    """What the rows are matched against, read once per call."""

    coop: CoopConfig
    # entry key → member account code → amount on it
    amounts: dict[str, dict[str, Decimal]]
    # new order id → the order it replaced
    replaced_of: dict[int, int]
    # (member code, amount, reason) → refund entry keys not matched yet
    refunds: dict[tuple[str, Decimal, str], deque[str]]
    taken: set[str]
    today: date
    # (subject, message) of rows that cannot be taken
    problems: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def load(
        cls,
        session: Session,
        coop: CoopConfig,
        items: list[Classified],
        matched: set[str],
        now: datetime,
    ) -> RowMatcher:
        """Read what `items` may match; `matched` are the keys rows matched before."""
        taken = set(matched)
        replaced_of = {new: old for old, new in replaced_orders(session, coop).items()}
        keys: set[str] = set()
        for item in items:
            marked = _marked_key(item.row)
            if marked is not None:
                keys.add(marked)
            elif item.kind in ORDER_ROWS and item.order_id is not None:
                keys.add(paid_key(item.order_id))
                if item.order_id in replaced_of:
                    keys.add(replaced_key(replaced_of[item.order_id]))
        refunds = any(i.kind is RowKind.GATEWAY_REFUND for i in items)

        return cls(
            coop=coop,
            amounts=_member_amounts(session, coop.slug, keys),
            replaced_of=replaced_of,
            refunds=_refund_entries(session, coop.slug, taken) if refunds else {},
            taken=taken,
            today=now.astimezone(coop.zone).date(),
        )

    def decide(self, item: Classified, repeated: bool) -> Decision:
        row = item.row
        if row.user_id <= 0:
            message = (
                f"coop {self.coop.slug}: wallet row {row.id} names no member "
                f"(user_id {row.user_id}); it is left unmatched"
            )
            self.problems.append((f"wallet row {row.id}", message))
            return Decision(row, item.kind, UNMATCHED)

        decision = self._decide(item, repeated)
        if decision.status == UNMATCHED and row.amount == 0:
            return Decision(row, item.kind, BOOKED)  # nothing to match or book

        return decision

    def _decide(self, item: Classified, repeated: bool) -> Decision:
        row = item.row
        marked = _marked_key(row)
        if marked is not None:
            return self._match(item, marked, self._amount(marked, row))
        if repeated:
            return self._from_row(item, CORRECTIONS, EntryKind.WALLET_ROW, DUPLICATE)
        if item.kind in ORDER_ROWS:
            return self._order(item)
        if item.kind is RowKind.GATEWAY_REFUND:
            return self._refund(item)

        coop_account, kind = FROM_ROW[item.kind]
        status = UNKNOWN if item.kind is RowKind.UNKNOWN else BOOKED
        return self._from_row(item, coop_account, kind, status)

    def _order(self, item: Classified) -> Decision:
        assert item.order_id is not None
        key = paid_key(item.order_id)
        if key in self.taken:  # a repeat the rows given did not show
            return self._from_row(item, CORRECTIONS, EntryKind.WALLET_ROW, DUPLICATE)

        expected = self._amount(key, item.row)
        if item.kind is RowKind.ORDER_ADJUSTMENT and expected is not None:
            old = self.replaced_of.get(item.order_id)
            back = self._amount(replaced_key(old), item.row) if old else None
            expected = None if back is None else expected + back
        return self._match(item, key, expected)

    def _refund(self, item: Classified) -> Decision:
        row = item.row
        waiting = self.refunds.get((member(row.user_id), row.amount, row.details))
        if not waiting:
            return Decision(row, item.kind, UNMATCHED)

        key = waiting.popleft()
        self.taken.add(key)
        return Decision(row, item.kind, MATCHED, key)

    def _match(self, item: Classified, key: str, expected: Decimal | None) -> Decision:
        if expected != item.row.amount or key in self.taken:
            return Decision(item.row, item.kind, UNMATCHED)

        self.taken.add(key)
        return Decision(item.row, item.kind, MATCHED, key)

    def _amount(self, key: str, row: WalletRow) -> Decimal | None:
        return self.amounts.get(key, {}).get(member(row.user_id))

    def _from_row(
        self, item: Classified, other: str, kind: EntryKind, status: str
    ) -> Decision:
        """Book the row itself; a 0.00 row cannot be booked and is linked bare."""
        row = item.row
        if row.amount == 0:
            return Decision(row, item.kind, status)

        key = f"wallet:{row.id}"
        effective = row.date.date() if row.date != NO_DATE else self.today
        text = row.details or str(item.kind)
        booking = Booking(
            key, kind, text, member(row.user_id), row.amount, other, effective
        )
        return Decision(row, item.kind, status, key, booking)


def _marked_key(row: WalletRow) -> str | None:
    """The ledger key a row of the bridge's carries; a refund's reason tag
    (twelve hex digits, no colon) names no entry and does not count."""
    key = key_in(row.details)

    return key if key is not None and ":" in key else None


def _member_amounts(
    session: Session, coop: str, keys: set[str]
) -> dict[str, dict[str, Decimal]]:
    """Entry key → member account → amount, for the entries of `keys` that
    exist. Many order keys (a first take of a whole wallet) are read in one
    pass over the coop's order entries rather than in thousands of lookups."""
    found: dict[str, dict[str, Decimal]] = defaultdict(dict)
    member_postings = (
        select(JournalEntry.key, LedgerAccount.code, Posting.amount)
        .join(Posting, Posting.entry_pk == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_pk)
        .where(
            JournalEntry.coop == coop,
            LedgerAccount.code.startswith(MEMBER_PREFIX),
        )
    )

    lookups = keys
    if len(keys) > SCAN_ABOVE:
        lookups = {k for k in keys if not k.startswith("order:")}
        scan = member_postings.where(JournalEntry.kind == str(EntryKind.ORDER))
        for key, code, amount in session.execute(scan).tuples():
            if key in keys:
                found[key][code] = amount

    ordered = sorted(lookups)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        query = member_postings.where(JournalEntry.key.in_(chunk))
        for key, code, amount in session.execute(query).tuples():
            found[key][code] = amount

    return found


def _refund_entries(
    session: Session, coop: str, taken: set[str]
) -> dict[tuple[str, Decimal, str], deque[str]]:
    """Refund entries not matched yet, by member, amount and the shop's reason
    (which the plugin copies into the row), oldest refund first."""
    reasons = dict(
        session.execute(
            select(Refund.refund_id, Refund.reason).where(Refund.coop == coop)
        )
        .tuples()
        .all()
    )
    rows = session.execute(
        select(JournalEntry.key, LedgerAccount.code, Posting.amount)
        .join(Posting, Posting.entry_pk == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_pk)
        .where(
            JournalEntry.coop == coop,
            JournalEntry.kind == str(EntryKind.REFUND),
            JournalEntry.key.startswith("refund:"),
            LedgerAccount.code.startswith(MEMBER_PREFIX),
        )
    ).tuples()

    found: dict[tuple[str, Decimal, str], list[tuple[int, str]]] = defaultdict(list)
    for key, code, amount in rows:
        refund_id = int(key.removeprefix("refund:"))
        if key not in taken and refund_id in reasons:
            found[(code, amount, reasons[refund_id])].append((refund_id, key))

    return {cause: deque(k for _, k in sorted(keys)) for cause, keys in found.items()}
