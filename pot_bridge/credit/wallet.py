"""The POT plugin's wallet rows taken into the ledger: each matched or booked once.

Every row gets one `WalletLink`. A row whose cause the bridge books from the
shop (an order, a refund, a row the bridge wrote itself) is `matched` to that
entry when the amounts agree; else it stays `unmatched`, is looked at again on
the next call (the order may come with the next sync) and is never booked from
the row: the difference is a reconciliation finding. A row that is the only
record of its event (a deposit, a fee, a manual entry, an instant top-up, an
owner payout, a price adjustment) is `booked` from itself as `wallet:<row_id>`;
an unknown one too, against corrections, as `unknown`. The second and later
rows of one order's cause are booked against corrections as `duplicate`, so the
ledger follows the shop's balance and reconciliation proposes the refund.

Reconciling a million rows must not cost a query per row: the coop's links
and the entries the rows name are read in a few queries, and links, entries
and postings are inserted in bulk (`pot_bridge.credit.orders.book_many`). The
cost of that: two calls for one coop must not run at once (the second one's
inserts fail on the unique keys and its transaction rolls back).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import cast

import structlog
from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from pot_bridge import problems
from pot_bridge.config import CoopConfig
from pot_bridge.credit.marker import key_in
from pot_bridge.credit.orders import (
    Booking,
    book_many,
    paid_key,
    replaced_key,
    replaced_orders,
)
from pot_bridge.ledger import EntryKind
from pot_bridge.ledger.accounts import (
    BANK,
    CORRECTIONS,
    FEES,
    MEMBER_PREFIX,
    SALES,
    member,
)
from pot_bridge.ledger.wallet_rows import (
    Classified,
    RowKind,
    WalletRow,
    classify,
    duplicates,
)
from pot_bridge.shop import plugin
from pot_bridge.store.schema import (
    JournalEntry,
    LedgerAccount,
    Posting,
    Refund,
    WalletLink,
)

log = structlog.get_logger(__name__)

MATCHED, UNMATCHED, BOOKED = "matched", "unmatched", "booked"
DUPLICATE, UNKNOWN = "duplicate", "unknown"
# a row whose date MariaDB stored as zeros (row dates are wall times, zone unknown)
NO_DATE = datetime.min  # noqa: DTZ901
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
REPEATED = frozenset({"repeated_order_row", "repeated_sale_payout"})
# keys per IN (...) query: well below SQLite's limit of bound parameters
CHUNK = 500
# above this many order keys, all order entries are read in one pass
SCAN_ABOVE = 5000


@dataclass
class Taken:
    """What one `take_rows` call did with the rows not taken before."""

    coop: str
    matched: int = 0
    booked: int = 0
    duplicate: int = 0
    unknown: int = 0
    unmatched: int = 0
    retried: int = 0  # rows left unmatched before and looked at again
    problems: list[str] = field(default_factory=list)


def to_ledger_row(row: plugin.WalletRow) -> WalletRow:
    """A row as `PluginClient` reads it, for the ledger's pure row logic.

    The date becomes the naive wall time it was stored as (Zurich for the
    plugin's own rows); a zero date becomes `NO_DATE`.
    """
    return WalletRow(
        id=row.id,
        user_id=row.user_id,
        amount=row.amount,
        balance=row.balance,
        details=row.details,
        created_by=row.created_by,
        date=row.date.replace(tzinfo=None) if row.date is not None else NO_DATE,
        type=row.type,
    )


@dataclass(frozen=True)
class _Link:
    pk: int
    status: str
    entry_key: str | None


@dataclass
class _Decision:
    row: WalletRow
    kind: RowKind
    status: str
    entry_key: str | None = None
    booking: Booking | None = None


def take_rows(
    session: Session, coop: CoopConfig, rows: Sequence[WalletRow], now: datetime
) -> Taken:
    """Link every row of `rows` not linked yet, and retry the unmatched ones.

    `rows` should be the whole wallet (as `getAllTransactions` answers it):
    repeated rows are told from the first of their cause among them. Runs in
    the caller's transaction; the caller commits.
    """
    taken = Taken(coop=coop.slug)
    links = _links(session, coop.slug)
    todo = [r for r in rows if r.id not in links or links[r.id].status == UNMATCHED]
    if not todo:
        return taken

    taken.retried = sum(r.id in links for r in todo)
    items = [classify(r) for r in todo]
    members = {r.user_id for r in todo}
    repeated = _repeated([r for r in rows if r.user_id in members])
    context = _Context.load(session, coop, items, links, now)

    decisions = [context.decide(item, item.row.id in repeated) for item in items]
    book_many(session, coop.slug, [d.booking for d in decisions if d.booking], now)
    _write_links(session, coop.slug, decisions, links, now)

    for decision in decisions:
        setattr(taken, decision.status, getattr(taken, decision.status) + 1)
    for subject, message in context.problems:
        problems.report(
            session,
            coop=coop.slug,
            kind="credit.wallet_row_unreadable",
            subject=subject,
            message=message,
            now=now,
        )
        taken.problems.append(message)
    log.info(
        "credit.wallet.taken",
        coop=coop.slug,
        rows=len(todo),
        matched=taken.matched,
        booked=taken.booked,
        duplicate=taken.duplicate,
        unknown=taken.unknown,
        unmatched=taken.unmatched,
        retried=taken.retried,
    )
    return taken


def _links(session: Session, coop: str) -> dict[int, _Link]:
    rows = session.execute(
        select(
            WalletLink.row_id, WalletLink.id, WalletLink.status, WalletLink.entry_key
        ).where(WalletLink.coop == coop)
    ).tuples()

    return {row_id: _Link(pk, status, key) for row_id, pk, status, key in rows}


def _repeated(rows: Iterable[WalletRow]) -> set[int]:
    """The 2nd and later rows of one order's cause (the first counts as genuine)."""
    return {
        row_id
        for found in duplicates(rows)
        if found.kind in REPEATED
        for row_id in found.row_ids[1:]
    }


@dataclass
class _Context:
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
        links: dict[int, _Link],
        now: datetime,
    ) -> _Context:
        taken = {
            link.entry_key
            for link in links.values()
            if link.status == MATCHED and link.entry_key
        }
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

    def decide(self, item: Classified, repeated: bool) -> _Decision:
        row = item.row
        if row.user_id <= 0:
            message = (
                f"coop {self.coop.slug}: wallet row {row.id} names no member "
                f"(user_id {row.user_id}); it is left unmatched"
            )
            self.problems.append((f"wallet row {row.id}", message))
            return _Decision(row, item.kind, UNMATCHED)

        decision = self._decide(item, repeated)
        if decision.status == UNMATCHED and row.amount == 0:
            return _Decision(row, item.kind, BOOKED)  # nothing to match or book

        return decision

    def _decide(self, item: Classified, repeated: bool) -> _Decision:
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

    def _order(self, item: Classified) -> _Decision:
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

    def _refund(self, item: Classified) -> _Decision:
        row = item.row
        waiting = self.refunds.get((member(row.user_id), row.amount, row.details))
        if not waiting:
            return _Decision(row, item.kind, UNMATCHED)

        key = waiting.popleft()
        self.taken.add(key)
        return _Decision(row, item.kind, MATCHED, key)

    def _match(self, item: Classified, key: str, expected: Decimal | None) -> _Decision:
        if expected != item.row.amount or key in self.taken:
            return _Decision(item.row, item.kind, UNMATCHED)

        self.taken.add(key)
        return _Decision(item.row, item.kind, MATCHED, key)

    def _amount(self, key: str, row: WalletRow) -> Decimal | None:
        return self.amounts.get(key, {}).get(member(row.user_id))

    def _from_row(
        self, item: Classified, other: str, kind: EntryKind, status: str
    ) -> _Decision:
        """Book the row itself; a 0.00 row cannot be booked and is linked bare."""
        row = item.row
        if row.amount == 0:
            return _Decision(row, item.kind, status)

        key = f"wallet:{row.id}"
        effective = row.date.date() if row.date != NO_DATE else self.today
        text = row.details or str(item.kind)
        booking = Booking(
            key, kind, text, member(row.user_id), row.amount, other, effective
        )
        return _Decision(row, item.kind, status, key, booking)


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


def _write_links(
    session: Session,
    coop: str,
    decisions: list[_Decision],
    links: dict[int, _Link],
    now: datetime,
) -> None:
    fresh = []
    changed = []
    for d in decisions:
        link = links.get(d.row.id)
        if link is None:
            fresh.append(
                {
                    "coop": coop,
                    "row_id": d.row.id,
                    "member": d.row.user_id,
                    "amount": d.row.amount,
                    "kind": str(d.kind),
                    "status": d.status,
                    "entry_key": d.entry_key,
                    "seen_at": now,
                }
            )
        elif d.status != link.status:
            changed.append(
                {
                    "id": link.pk,
                    "kind": str(d.kind),
                    "status": d.status,
                    "entry_key": d.entry_key,
                }
            )
    if fresh:
        session.execute(insert(cast(Table, WalletLink.__table__)), fresh)
    if changed:
        session.execute(update(WalletLink), changed)
