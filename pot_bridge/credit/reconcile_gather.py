"""What a reconciliation reads from the store: the ledger's member balances,
the wallet links left unmatched, every order with what the ledger and the shop
did about it, and the ledger's own check.

All of it in a few queries per run, never one per row or member, and in one
transaction, so the checks see one moment of the store.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge.config import CoopConfig
from pot_bridge.credit.found import Kind, ShopOrder
from pot_bridge.credit.wallet_findings import UNMATCHED_LINKS
from pot_bridge.ledger import Finding as LedgerFinding
from pot_bridge.ledger import balances, check
from pot_bridge.ledger.accounts import member_id
from pot_bridge.money import ZERO
from pot_bridge.store.schema import (
    JournalEntry,
    Order,
    Reconciliation,
    ReconciliationFinding,
    Refund,
    WalletLink,
)


@dataclass(frozen=True)
class Facts:
    """What the store holds for the checks, read at one moment."""

    ledger: dict[int, Decimal]
    links: dict[int, str]
    orders: dict[int, ShopOrder]
    checked: list[LedgerFinding]


def gather(session: Session, coop: CoopConfig) -> Facts:
    """Balances, the links left unmatched, the orders and the ledger's check."""
    return Facts(
        ledger=member_balances(session, coop.slug),
        links=unmatched_links(session, coop.slug),
        orders=shop_orders(session, coop),
        checked=check(session, coop.slug),
    )


def member_balances(session: Session, coop: str) -> dict[int, Decimal]:
    """Each member's ledger balance by member number."""
    found = {}
    for code, balance in balances(session, coop).items():
        number = member_id(code)
        if number is not None:
            found[number] = balance

    return found


def unmatched_links(session: Session, coop: str) -> dict[int, str]:
    """The links findings report on (not the million that are fine)."""
    return dict(
        session.execute(
            select(WalletLink.row_id, WalletLink.status).where(
                WalletLink.coop == coop,
                WalletLink.status.in_(UNMATCHED_LINKS),
            )
        )
        .tuples()
        .all()
    )


def shop_orders(session: Session, coop: CoopConfig) -> dict[int, ShopOrder]:
    """Every order of the store, with its debit, replacement and wallet refunds."""
    debited = debited_orders(session, coop.slug)
    replaced = replaced_orders(session, coop.slug)
    refunded: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for order_id, amount, paid_back in session.execute(
        select(Refund.order_id, Refund.amount, Refund.refunded_payment).where(
            Refund.coop == coop.slug
        )
    ).tuples():
        if paid_back is not False:  # unknown counts as given back: no proposal
            refunded[order_id] += amount

    corrected = applied_corrections(session, coop.slug)

    orders = session.execute(
        select(
            Order.order_id,
            Order.customer_id,
            Order.status,
            Order.payment_method,
            Order.round_key,
            Order.total,
        ).where(Order.coop == coop.slug)
    ).tuples()

    return {
        order_id: ShopOrder(
            order_id=order_id,
            member=customer,
            status=status,
            payment_method=method,
            round_key=round_key,
            total=total,
            debited=order_id in debited,
            replaced=order_id in replaced,
            refunded=refunded.get(order_id, ZERO),
            corrected=corrected.get(order_id, ZERO),
        )
        for order_id, customer, status, method, round_key, total in orders
    }


def applied_corrections(session: Session, coop: str) -> dict[int, Decimal]:
    """Per order, the charge an admin gave back with `--apply` for a
    cancelled order (`cancelled_still_charged`)."""
    rows = session.execute(
        select(ReconciliationFinding.order_id, ReconciliationFinding.correction)
        .join(Reconciliation, Reconciliation.id == ReconciliationFinding.run_pk)
        .where(
            Reconciliation.coop == coop,
            ReconciliationFinding.kind == str(Kind.CANCELLED_STILL_CHARGED),
            ReconciliationFinding.status == "applied",
        )
    ).tuples()
    corrected: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for order_id, correction in rows:
        if order_id is not None and correction is not None:
            corrected[order_id] += correction

    return corrected


def debited_orders(session: Session, coop: str) -> set[int]:
    """Orders whose debit the ledger holds (`order:<id>:paid`)."""
    return _order_keys(session, coop, ":paid")


def replaced_orders(session: Session, coop: str) -> set[int]:
    """Orders the ledger credited back as replaced by the member's re-order
    (`order:<id>:replaced`, booked by `book_orders` just before)."""
    return _order_keys(session, coop, ":replaced")


def _order_keys(session: Session, coop: str, suffix: str) -> set[int]:
    keys = session.scalars(
        select(JournalEntry.key).where(
            JournalEntry.coop == coop,
            JournalEntry.key.startswith("order:"),
            JournalEntry.key.endswith(suffix),
        )
    )

    return {int(key.split(":")[1]) for key in keys}
