"""What one reconciliation finding is: its kind, its record, the order facts the
checks read, and the one order every report lists findings in.

Shared by the families of checks (`wallet_findings`, `order_findings`) and by
`findings`, which runs them; the text helpers keep shop text and amounts
looking the same in every finding. The records are slotted: a run holds one
`ShopOrder` per order of the store.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pot_bridge.money import ZERO, format_chf


class Kind(StrEnum):
    """What does not add up, and what its `amount` holds."""

    BALANCE_DIFFERS = "balance_differs"  # ledger balance − wallet balance
    CHAIN_BREAK = "chain_break"  # what the running balance lost at the row
    DUPLICATE_ROW = "duplicate_row"  # what the repeated rows add (signed)
    ORDER_WITHOUT_DEBIT = "order_without_debit"  # the order total never debited
    DEBIT_WITHOUT_ORDER = "debit_without_order"  # the row's amount (signed)
    CHARGED_TWICE_IN_ROUND = "charged_twice_in_round"  # the earlier order's charge
    CANCELLED_STILL_CHARGED = "cancelled_still_charged"  # the charge not given back
    CREDITED_TWICE = "credited_twice"  # what a refund gave back after a correction
    ROW_UNMATCHED = "row_unmatched"  # the row's amount (signed)
    LEDGER_BALANCE_DIFFERS = "ledger_balance_differs"  # kept − sum of postings
    LEDGER_ENTRY_UNBALANCED = "ledger_entry_unbalanced"  # sum of the postings


KIND_ORDER = list(Kind)


@dataclass(frozen=True, slots=True)
class ShopOrder:
    """An order as the store holds it, reduced to what the checks read, with
    what the ledger and the shop did about it: `debited` (the ledger holds
    `order:<id>:paid`), `replaced` (by the member's re-order, pot-plugin.md
    §4.2) and `refunded` (refunds paid back to the wallet, or not known yet)."""

    order_id: int
    member: int
    status: str
    payment_method: str
    round_key: str | None
    total: Decimal
    debited: bool = False
    replaced: bool = False
    refunded: Decimal = ZERO
    # corrections applied for it as `cancelled_still_charged`
    corrected: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Found:
    """One finding; `correction` is what `--apply` would book for the member."""

    kind: Kind
    member: int | None
    amount: Decimal | None
    text: str
    row_id: int | None = None
    order_id: int | None = None
    correction: Decimal | None = None

    @property
    def cause(self) -> tuple[str, int | None, int | None, int | None]:
        """What the finding is about, the same in every run that meets it."""
        return (str(self.kind), self.member, self.row_id, self.order_id)


def in_order(found: Iterable[Found]) -> list[Found]:
    """By kind, then member, row and order: the same findings read the same."""
    return sorted(
        found,
        key=lambda f: (
            KIND_ORDER.index(f.kind),
            f.member or 0,
            f.row_id or 0,
            f.order_id or 0,
        ),
    )


def paid_from_credit(
    order: ShopOrder, wallet_methods: Collection[str], counted: Collection[str]
) -> bool:
    """Paid from the wallet, in a status the shop counts as a sale."""
    return order.payment_method in wallet_methods and order.status in counted


def chf(amount: Decimal) -> str:
    """An amount as every finding text shows it."""
    return format_chf(amount)


def quoted(text: str) -> str:
    """Shop text inside a finding, on one line and not too long."""
    flat = " ".join(text.split())

    return flat if len(flat) <= 80 else flat[:79] + "…"
