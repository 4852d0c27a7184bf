"""What the nightly reconciliation finds, the ledger held against the shop's wallet.

Pure and quick: balances, wallet rows, their links and the store's orders in,
findings out, each with its exact amount and, where one is certain, the
correction proposed for the member (+ credits). Corrections are proposed only
where the ledger already follows what the shop did (a chain loss is booked as
`wallet-chain:<row>`, a repeated row against CORRECTIONS), so that booking one
in the ledger and writing it to the wallet moves both alike. Other findings
are for a person to look at; the texts say what to check.

The checks live by family: what the wallet shows by itself in
`wallet_findings`, orders against order rows in `order_findings`; a finding's
record and order in `found`. This module runs them all and keeps their names.
Texts are in the coop's language (templates/words.toml, keys `reconcile_*`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from decimal import Decimal

from pot_bridge.credit.found import (
    KIND_ORDER,
    Found,
    Kind,
    ShopOrder,
    chf,
    in_order,
    paid_from_credit,
)
from pot_bridge.credit.order_findings import (
    ENDED,
    ORDER_ROWS,
    Charge,
    cancelled_still_charged,
    charged_twice,
    credited_twice,
    debits_without_order,
    order_charges,
    orders_without_debit,
)
from pot_bridge.credit.wallet_findings import (
    CERTAIN_DUPLICATES,
    UNMATCHED_LINKS,
    balance_differences,
    chain_losses,
    duplicate_rows,
    unmatched_rows,
    wallet_balances,
)
from pot_bridge.ledger import Finding as LedgerFinding
from pot_bridge.ledger.accounts import member_id
from pot_bridge.ledger.wallet_rows import WalletRow
from pot_bridge.wording import words

# Public names, including those now kept in the modules of each family.
__all__ = [
    "CERTAIN_DUPLICATES",
    "ENDED",
    "KIND_ORDER",
    "ORDER_ROWS",
    "UNMATCHED_LINKS",
    "Charge",
    "Found",
    "Kind",
    "ShopOrder",
    "balance_differences",
    "cancelled_still_charged",
    "chain_losses",
    "charged_twice",
    "credited_twice",
    "debits_without_order",
    "duplicate_rows",
    "find",
    "find_in_ledger",
    "in_order",
    "ledger_checked",
    "order_charges",
    "orders_without_debit",
    "unmatched_rows",
    "wallet_balances",
]


def find(
    *,
    ledger: Mapping[int, Decimal],
    rows: Sequence[WalletRow],
    links: Mapping[int, str],
    orders: Mapping[int, ShopOrder],
    wallet_methods: Collection[str],
    counted: Collection[str],
    checked: Sequence[LedgerFinding],
    lang: str,
) -> list[Found]:
    """Everything the plugin-mode reconciliation reports, in a stable order.

    `ledger` holds each member's ledger balance after the chain losses are
    booked; `links` is each wallet row's link status (`matched`, `booked`,
    `unmatched`, `duplicate`, `unknown`); `orders` are all the store's orders.
    """
    charged = order_charges(rows)
    debits = debits_without_order(charged, orders, wallet_methods, lang)
    explained = {f.row_id for f in debits}

    found = [
        *balance_differences(ledger, rows, lang),
        *chain_losses(rows, lang),
        *duplicate_rows(rows, lang),
        *orders_without_debit(charged, orders, wallet_methods, counted, lang),
        *debits,
        *charged_twice(charged, orders, wallet_methods, counted, lang),
        *cancelled_still_charged(charged, orders, wallet_methods, lang),
        *credited_twice(charged, orders, lang),
        *unmatched_rows(rows, links, explained, lang),
        *ledger_checked(checked, lang),
    ]

    return in_order(found)


def find_in_ledger(
    *,
    orders: Mapping[int, ShopOrder],
    debited: Collection[int],
    wallet_methods: Collection[str],
    counted: Collection[str],
    checked: Sequence[LedgerFinding],
    lang: str,
) -> list[Found]:
    """Ledger mode (no wallet): the self-check, and orders paid from credit
    that the ledger never debited (`debited`: orders with `order:<id>:paid`)."""
    w = words(lang)
    found = [
        Found(
            Kind.ORDER_WITHOUT_DEBIT,
            order.member,
            order.total,
            w["reconcile_text_order_not_in_ledger"].format(
                order=order.order_id, total=chf(order.total), status=order.status
            ),
            order_id=order.order_id,
        )
        for order in orders.values()
        if paid_from_credit(order, wallet_methods, counted)
        and order.order_id not in debited
    ]

    return in_order([*found, *ledger_checked(checked, lang)])


def ledger_checked(checked: Iterable[LedgerFinding], lang: str) -> list[Found]:
    """The ledger's own check (`pot_bridge.ledger.check`), as findings."""
    w = words(lang)

    found = []
    for item in checked:
        if item.kind == "balance_differs":
            kind, member = Kind.LEDGER_BALANCE_DIFFERS, member_id(item.subject)
            text = w["reconcile_text_ledger_balance"].format(
                account=item.subject, kept=chf(item.kept), expected=chf(item.expected)
            )
        else:
            kind, member = Kind.LEDGER_ENTRY_UNBALANCED, None
            text = w["reconcile_text_ledger_entry"].format(
                key=item.subject, kept=chf(item.kept)
            )
        found.append(Found(kind, member, item.kept - item.expected, text))

    return found
