"""Orders and refunds paid from members' credit, booked in the ledger from the store.

The store holds what the last sync saw of the shop; this books what the shop did
with members' credit, each cause once under its key:

- `order:<id>:paid` debits the member for an order paid with one of the coop's
  credit payment methods (matched by id, never by the translated title);
- `order:<old>:replaced` credits back the net of an order the POT plugin
  replaced by the member's re-order in the same round (pot-plugin.md §4.2): the
  plugin charges only the difference, so the two entries together net exactly as
  its "(Anpassung)" wallet row;
- `refund:<refund_id>` credits a refund the shop paid back to the wallet.

What counts as paid: processing, on-hold, completed and refunded orders, and
cancelled ones (the plugin credits nothing on a cancellation, an admin refund
does). A trashed order is debited only if it was replaced, or if its debit was
booked before it went to the trash: the store keeps no trace of the status it
had, and a failed order that an admin trashed was never paid. Limit: a pending
order that WooCommerce cancelled unpaid is debited all the same; reconciliation
then finds a debit without a wallet row.

A total that changes after its debit (the plugin's price adjustment, an edit
in wp-admin) is booked as `order:<id>:paid:2`, `:3`… only in ledger mode, where
the ledger is the book. In plugin mode it is listed in `Booked.total_changed`
and not booked: the price adjustment writes a wallet row of its own, which
`pot_bridge.credit.wallet.take_rows` books, so booking it here would count it
twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Protocol, cast

import structlog
from sqlalchemy import BigInteger, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from pot_bridge import problems
from pot_bridge.config import CoopConfig
from pot_bridge.ledger import EntryKind
from pot_bridge.ledger.accounts import (
    MEMBER_PREFIX,
    REFUNDS,
    SALES,
    check_code,
    member,
)
from pot_bridge.money import ZERO, format_chf, to_rappen
from pot_bridge.store.schema import (
    Base,
    JournalEntry,
    LedgerAccount,
    Order,
    Posting,
    Refund,
)

log = structlog.get_logger(__name__)

PAID = frozenset({"processing", "on-hold", "completed", "refunded"})
CANCELLED = "cancelled"
TRASH = "trash"
# the statuses a replaced order ends in: the plugin cancels it, then trashes it
ENDED = frozenset({CANCELLED, TRASH})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_TEXTS = {
    "de": {
        "paid": "Bestellung #{order}",
        "change": "Bestellung #{order}, Änderung {n}",
        "replaced": "Bestellung #{order} ersetzt durch #{new}",
        "refund": "Rückerstattung {refund} zu Bestellung #{order}",
    },
    "fr": {
        "paid": "Commande n° {order}",
        "change": "Commande n° {order}, modification {n}",
        "replaced": "Commande n° {order} remplacée par n° {new}",
        "refund": "Remboursement {refund} de la commande n° {order}",
    },
    "en": {
        "paid": "Order #{order}",
        "change": "Order #{order}, change {n}",
        "replaced": "Order #{order} replaced by #{new}",
        "refund": "Refund {refund} of order #{order}",
    },
}


@dataclass
class Booked:
    """What one `book_orders` run booked, and what it could not."""

    coop: str
    debited: int = 0  # order:<id>:paid and its later changes
    replaced: int = 0
    refunded: int = 0
    # refunds seen only in an order's summary: whether the shop paid them
    # back to the wallet is not known yet
    waiting: int = 0
    # plugin mode: orders whose total differs from their booked debit
    total_changed: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def paid_key(order_id: int, change: int = 1) -> str:
    """The key of an order's debit; later changes (ledger mode) count from 2."""
    return (
        f"order:{order_id}:paid" if change == 1 else f"order:{order_id}:paid:{change}"
    )


def replaced_key(order_id: int) -> str:
    return f"order:{order_id}:replaced"


def refund_key(refund_id: int) -> str:
    return f"refund:{refund_id}"


def credit_orders(session: Session, coop: CoopConfig) -> list[Order]:
    """The coop's orders paid with one of its credit payment methods, by id."""
    return list(
        session.scalars(
            select(Order)
            .where(
                Order.coop == coop.slug,
                Order.payment_method.in_(coop.credit.payment_methods),
            )
            .order_by(Order.order_id)
        )
    )


class OrderFacts(Protocol):
    """What telling a re-order needs of an order (a stored `Order` has it)."""

    @property
    def order_id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def customer_id(self) -> int: ...
    @property
    def plugin_round_id(self) -> int | None: ...
    @property
    def created_gmt(self) -> datetime | None: ...
    @property
    def modified_gmt(self) -> datetime | None: ...


@dataclass(frozen=True)
class _Facts:
    order_id: int
    status: str
    customer_id: int
    plugin_round_id: int | None
    created_gmt: datetime | None
    modified_gmt: datetime | None


def replaced_orders(session: Session, coop: CoopConfig) -> dict[int, int]:
    """`replacements` of the coop's credit orders, read without loading them
    whole (for many rows at once)."""
    rows = session.execute(
        select(
            Order.order_id,
            Order.status,
            Order.customer_id,
            Order.plugin_round_id,
            Order.created_gmt,
            Order.modified_gmt,
        ).where(
            Order.coop == coop.slug,
            Order.payment_method.in_(coop.credit.payment_methods),
            Order.plugin_round_id.is_not(None),
        )
    ).tuples()

    return replacements(_Facts(*row) for row in rows)


def replacements(orders: Iterable[OrderFacts]) -> dict[int, int]:
    """Old order id → the id of the member's re-order that replaced it.

    The plugin replaces a member's order of a round (its `bestellrunde_id`, so
    never a block-checkout order, which loses the round) when the member checks
    out again with the wallet: the old order is cancelled and trashed in that
    checkout. So an ended order is replaced by the member's next order in the
    same round, if it ended no earlier than that order was created; an order an
    admin cancelled before the member ordered again was charged in full.
    """
    rounds: dict[tuple[int, int], list[OrderFacts]] = defaultdict(list)
    for order in orders:
        if order.plugin_round_id is None or not order.customer_id:
            continue
        if order.status in PAID or order.status in ENDED:
            rounds[(order.customer_id, order.plugin_round_id)].append(order)

    replaced = {}
    for round_orders in rounds.values():
        round_orders.sort(key=lambda o: (o.created_gmt or _EPOCH, o.order_id))
        for old, new in pairwise(round_orders):
            if old.status in ENDED and _ended_at_checkout(old, new):
                replaced[old.order_id] = new.order_id

    return replaced


def _ended_at_checkout(old: OrderFacts, new: OrderFacts) -> bool:
    if old.modified_gmt is None or new.created_gmt is None:
        return True

    return old.modified_gmt >= new.created_gmt


def double_charges(orders: Iterable[Order]) -> dict[tuple[int, str], list[int]]:
    """(member, round key) → ids of two or more paid orders of one member in one
    round: the block checkout loses the round, so the plugin charged each in
    full (pot-plugin.md §17). Reconciliation reports them; both are debited."""
    rounds: dict[tuple[int, str], list[int]] = defaultdict(list)
    for order in orders:
        if order.customer_id and order.round_key and order.status in PAID:
            rounds[(order.customer_id, order.round_key)].append(order.order_id)

    return {key: sorted(ids) for key, ids in rounds.items() if len(ids) > 1}


def booked_member_amounts(session: Session, coop: str) -> dict[str, Decimal]:
    """Entry key → what it moved on its member's account, for the coop's order
    and refund entries (one member per such entry)."""
    rows = session.execute(
        select(JournalEntry.key, Posting.amount)
        .join(Posting, Posting.entry_pk == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_pk)
        .where(
            JournalEntry.coop == coop,
            JournalEntry.kind.in_([str(EntryKind.ORDER), str(EntryKind.REFUND)]),
            LedgerAccount.code.startswith(MEMBER_PREFIX),
        )
    ).tuples()

    return dict(rows.all())


def book_orders(session: Session, coop: CoopConfig, now: datetime) -> Booked:
    """Book every credit-paid order and refund of the store not booked yet.

    Runs in the caller's transaction (the caller commits); safe to repeat: a
    cause booked before is skipped, so a second run books nothing new. The
    entries are inserted in bulk (`book_many`): two runs for one coop must not
    overlap.
    """
    orders = credit_orders(session, coop)
    run = _Run(
        session,
        coop,
        now,
        Booked(coop=coop.slug),
        booked_member_amounts(session, coop.slug),
        _refunds_of(session, coop.slug, {o.order_id for o in orders}),
    )
    replaced = replacements(orders)

    for order in orders:
        if order.customer_id:
            run.order(order, replaced.get(order.order_id))
        else:
            run.guest(order)

    by_id = {o.order_id: o for o in orders if o.customer_id}
    for order_refunds in run.refunds.values():
        for refund in order_refunds:
            run.refund(refund, by_id.get(refund.order_id))

    book_many(session, coop.slug, run.bookings, now)
    booked = run.booked
    log.info(
        "credit.orders.booked",
        coop=coop.slug,
        debited=booked.debited,
        replaced=booked.replaced,
        refunded=booked.refunded,
        waiting=booked.waiting,
        total_changed=len(booked.total_changed),
        problems=len(booked.problems),
    )
    return booked


def _refunds_of(
    session: Session, coop: str, order_ids: set[int]
) -> dict[int, list[Refund]]:
    found: dict[int, list[Refund]] = defaultdict(list)
    for refund in session.scalars(
        select(Refund).where(Refund.coop == coop).order_by(Refund.refund_id)
    ):
        if refund.order_id in order_ids:
            found[refund.order_id].append(refund)

    return found


@dataclass
class _Run:
    """One `book_orders` run: what is booked already and what it will book."""

    session: Session
    coop: CoopConfig
    now: datetime
    booked: Booked
    # entry key → its member's amount, for entries booked before or now
    amounts: dict[str, Decimal]
    refunds: dict[int, list[Refund]]
    bookings: list[Booking] = field(default_factory=list)

    def order(self, order: Order, replaced_by: int | None) -> None:
        if order.status in PAID or order.status == CANCELLED or replaced_by:
            self._debit(order)
        # A trashed order that was not replaced keeps a debit booked before and
        # gets none now: the status it had before the trash is not known.

        if replaced_by is not None:
            refunded = sum((r.amount for r in self.refunds[order.order_id]), ZERO)
            self._credit_replaced(order, replaced_by, order.total - refunded)

    def _debit(self, order: Order) -> None:
        """The first debit, or (ledger mode) a change of the order's total."""
        changes = []
        change = 1
        while paid_key(order.order_id, change) in self.amounts:
            changes.append(self.amounts[paid_key(order.order_id, change)])
            change += 1
        difference = -order.total - sum(changes, ZERO)
        if difference == 0:
            return

        if changes and self.coop.credit.mode == "plugin":
            self.booked.total_changed.append(order.order_id)
            log.debug(
                "credit.order.total_changed",
                coop=self.coop.slug,
                order_id=order.order_id,
                booked=str(-sum(changes, ZERO)),
                total=str(order.total),
            )
            return

        if change == 1:
            text = self._text("paid", order=order.order_id)
        else:
            text = self._text("change", order=order.order_id, n=change)
        self._add(
            paid_key(order.order_id, change),
            EntryKind.ORDER,
            text,
            order.customer_id,
            difference,
            SALES,
            order.created_gmt,
        )
        self.booked.debited += 1

    def _credit_replaced(self, order: Order, new: int, net: Decimal) -> None:
        """Give back the replaced order's net, as the plugin nets the re-order."""
        key = replaced_key(order.order_id)
        if net <= 0:
            return
        if key not in self.amounts:
            text = self._text("replaced", order=order.order_id, new=new)
            self._add(
                key,
                EntryKind.ORDER,
                text,
                order.customer_id,
                net,
                SALES,
                order.modified_gmt,
            )
            self.booked.replaced += 1
            return

        if self.amounts[key] != net:
            self._problem(
                "credit.replaced_net_changed",
                f"order {order.order_id}",
                f"order {order.order_id} (member {order.customer_id}) was "
                f"credited {format_chf(self.amounts[key])} CHF when order {new} "
                f"replaced it, but its net is now {format_chf(net)} CHF (a refund "
                "after the re-order?); reconciliation proposes the correction",
            )

    def refund(self, refund: Refund, order: Order | None) -> None:
        key = refund_key(refund.refund_id)
        if order is None or key in self.amounts or refund.amount <= 0:
            return
        if self.coop.credit.mode == "plugin":
            if refund.refunded_payment is None:
                self.booked.waiting += 1
                return
            if not refund.refunded_payment:
                return  # paid back some other way: the wallet was not credited

        text = self._text("refund", refund=refund.refund_id, order=order.order_id)
        if refund.reason:
            text = f"{text}: {refund.reason}"
        self._add(
            key,
            EntryKind.REFUND,
            text,
            order.customer_id,
            refund.amount,
            REFUNDS,
            refund.created_gmt,
        )
        self.booked.refunded += 1

    def guest(self, order: Order) -> None:
        if order.status in PAID or order.status == CANCELLED:
            self._problem(
                "credit.order_without_member",
                f"order {order.order_id}",
                f"order {order.order_id} of {format_chf(order.total)} CHF is paid "
                f"with {order.payment_method!r} but has no customer: no member's "
                "credit can be debited; an admin books it by hand",
            )

    def _add(
        self,
        key: str,
        kind: EntryKind,
        text: str,
        member_no: int,
        amount: Decimal,
        other: str,
        when: datetime | None,
    ) -> None:
        """Credit the member `amount` (negative: debit) against `other`."""
        effective = (when or self.now).astimezone(self.coop.zone).date()
        self.bookings.append(
            Booking(key, kind, text, member(member_no), amount, other, effective)
        )
        self.amounts[key] = amount

    def _text(self, name: str, **values: object) -> str:
        return _TEXTS.get(self.coop.language, _TEXTS["de"])[name].format(**values)

    def _problem(self, kind: str, subject: str, text: str) -> None:
        message = f"coop {self.coop.slug}: {text}"
        problems.report(
            self.session,
            coop=self.coop.slug,
            kind=kind,
            subject=subject,
            message=message,
            now=self.now,
        )
        self.booked.problems.append(message)


# -- booking many entries at once ----------------------------------------------


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
