"""Orders and refunds paid from members' credit, booked in the ledger from the store.

The store holds what the last sync saw of the shop; this books what the shop did
with members' credit, each cause once under its key:

- `order:<id>:paid` debits the member for an order paid with one of the coop's
  credit payment methods (matched by id, never by the translated title);
- `order:<old>:replaced` credits back the net of an order the POT plugin
  replaced by the member's re-order in the same round (pot-plugin.md §4.2): the
  plugin charges only the difference, so the two entries together net exactly as
  its "(Anpassung)" wallet row;
- `refund:<refund_id>` credits a refund the shop paid back to the wallet;
- `order:<id>:cancelled` (ledger mode only, where the ledger is the book)
  credits what a cancelled order still cost the member: its debits less the
  refunds credited on it. A refund arriving after that is a problem, not a
  second credit.

What counts as paid in plugin mode: processing, on-hold, completed and refunded
orders, and cancelled ones (the plugin credits nothing on a cancellation, an admin refund
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
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge import problems
from pot_bridge.config import CoopConfig
from pot_bridge.credit.reorders import (
    CANCELLED,
    ENDED,
    PAID,
    TRASH,
    OrderFacts,
    double_charges,
    replaced_orders,
    replacements,
)
from pot_bridge.ledger import EntryKind
from pot_bridge.ledger.accounts import MEMBER_PREFIX, REFUNDS, SALES, member
from pot_bridge.ledger.bulk import Booking, book_many
from pot_bridge.money import ZERO, format_chf
from pot_bridge.store.schema import JournalEntry, LedgerAccount, Order, Posting, Refund

# Public names, including those now kept in `reorders` and `ledger.bulk`.
__all__ = [
    "CANCELLED",
    "ENDED",
    "PAID",
    "TRASH",
    "Booked",
    "Booking",
    "OrderFacts",
    "book_many",
    "book_orders",
    "booked_member_amounts",
    "cancelled_key",
    "credit_orders",
    "double_charges",
    "paid_key",
    "refund_key",
    "replaced_key",
    "replaced_orders",
    "replacements",
]

log = structlog.get_logger(__name__)

_TEXTS = {
    "de": {
        "paid": "Bestellung #{order}",
        "change": "Bestellung #{order}, Änderung {n}",
        "replaced": "Bestellung #{order} ersetzt durch #{new}",
        "refund": "Rückerstattung {refund} zu Bestellung #{order}",
        "cancelled": "Bestellung #{order} storniert",
    },
    "fr": {
        "paid": "Commande n° {order}",
        "change": "Commande n° {order}, modification {n}",
        "replaced": "Commande n° {order} remplacée par n° {new}",
        "refund": "Remboursement {refund} de la commande n° {order}",
        "cancelled": "Commande n° {order} annulée",
    },
    "en": {
        "paid": "Order #{order}",
        "change": "Order #{order}, change {n}",
        "replaced": "Order #{order} replaced by #{new}",
        "refund": "Refund {refund} of order #{order}",
        "cancelled": "Order #{order} cancelled",
    },
}


@dataclass
class Booked:
    """What one `book_orders` run booked, and what it could not."""

    coop: str
    debited: int = 0  # order:<id>:paid and its later changes
    replaced: int = 0
    refunded: int = 0
    cancelled: int = 0  # ledger mode: order:<id>:cancelled
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


def cancelled_key(order_id: int) -> str:
    """Ledger mode: the credit of a debited order that was cancelled."""
    return f"order:{order_id}:cancelled"


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

    if coop.credit.mode == "ledger":  # after the refunds it must not repeat
        for order in by_id.values():
            if order.status in ENDED:
                run.cancelled(order)

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
        if self.coop.credit.mode == "ledger":
            # the ledger is the book: only what stands is owed; a cancelled
            # order gets its debit back (`cancelled`), one first seen
            # cancelled never cost the member anything
            if order.status in PAID:
                self._debit(order)
            return

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

    def cancelled(self, order: Order) -> None:
        """Ledger mode: give back what a cancelled order still costs the
        member (its debits less the refunds credited on it), once."""
        key = cancelled_key(order.order_id)
        if key in self.amounts:
            return
        debited = ZERO
        change = 1
        while paid_key(order.order_id, change) in self.amounts:
            debited -= self.amounts[paid_key(order.order_id, change)]
            change += 1
        credited = sum(
            (
                self.amounts.get(refund_key(r.refund_id), ZERO)
                for r in self.refunds[order.order_id]
            ),
            ZERO,
        )
        net = debited - credited
        if net <= 0:
            return

        text = self._text("cancelled", order=order.order_id)
        self._add(
            key,
            EntryKind.ORDER,
            text,
            order.customer_id,
            net,
            SALES,
            order.modified_gmt,
        )
        self.booked.cancelled += 1

    def refund(self, refund: Refund, order: Order | None) -> None:
        key = refund_key(refund.refund_id)
        if order is None or key in self.amounts or refund.amount <= 0:
            return
        if cancelled_key(order.order_id) in self.amounts:
            self._problem(
                "credit.refund_after_cancel",
                f"refund {refund.refund_id}",
                f"refund {refund.refund_id} of {format_chf(refund.amount)} CHF on "
                f"order {order.order_id} (member {order.customer_id}) came after "
                "the cancelled order was credited in full: not credited again; "
                "an admin decides",
            )
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
