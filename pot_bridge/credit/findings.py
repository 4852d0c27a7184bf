"""What the nightly reconciliation finds, the ledger held against the shop's wallet.

Pure and quick: balances, wallet rows, their links and the store's orders in,
findings out, each with its exact amount and, where one is certain, the
correction proposed for the member (+ credits). Corrections are proposed only
where the ledger already follows what the shop did (a chain loss is booked as
`wallet-chain:<row>`, a repeated row against CORRECTIONS), so that booking one
in the ledger and writing it to the wallet moves both alike. Other findings
are for a person to look at; the texts say what to check.

Texts are in the coop's language (templates/words.toml, keys `reconcile_*`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pot_bridge.ledger import Finding as LedgerFinding
from pot_bridge.ledger.accounts import member_id
from pot_bridge.ledger.wallet_rows import (
    RowKind,
    WalletRow,
    chain_breaks,
    classify,
    duplicates,
)
from pot_bridge.money import ZERO, format_chf
from pot_bridge.wording import words


class Kind(StrEnum):
    """What does not add up, and what its `amount` holds."""

    BALANCE_DIFFERS = "balance_differs"  # ledger balance − wallet balance
    CHAIN_BREAK = "chain_break"  # what the running balance lost at the row
    DUPLICATE_ROW = "duplicate_row"  # what the repeated rows add (signed)
    ORDER_WITHOUT_DEBIT = "order_without_debit"  # the order total never debited
    DEBIT_WITHOUT_ORDER = "debit_without_order"  # the row's amount (signed)
    CHARGED_TWICE_IN_ROUND = "charged_twice_in_round"  # the earlier order's charge
    CANCELLED_STILL_CHARGED = "cancelled_still_charged"  # the charge not given back
    ROW_UNMATCHED = "row_unmatched"  # the row's amount (signed)
    LEDGER_BALANCE_DIFFERS = "ledger_balance_differs"  # kept − sum of postings
    LEDGER_ENTRY_UNBALANCED = "ledger_entry_unbalanced"  # sum of the postings


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


# the wallet rows that charge or net an order (pot-plugin.md §5.3 rows 1, 2, 6)
ORDER_ROWS = frozenset({RowKind.ORDER_NEW, RowKind.ORDER_ADJUSTMENT, RowKind.POS_ORDER})
# only these repeat one cause for sure; identical rows are suspects
CERTAIN_DUPLICATES = frozenset({"repeated_order_row", "repeated_sale_payout"})
# a row take_rows could neither match nor book (an unknown one it books)
UNMATCHED_LINKS = frozenset({"unmatched"})
# the plugin cancels, then trashes, an order it replaces; an admin does either
ENDED = frozenset({"cancelled", "trash"})
KIND_ORDER = list(Kind)


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
                order=order.order_id, total=_chf(order.total), status=order.status
            ),
            order_id=order.order_id,
        )
        for order in orders.values()
        if _paid_from_credit(order, wallet_methods, counted)
        and order.order_id not in debited
    ]

    return in_order([*found, *ledger_checked(checked, lang)])


def balance_differences(
    ledger: Mapping[int, Decimal], rows: Iterable[WalletRow], lang: str
) -> list[Found]:
    """Members whose ledger balance is not what the wallet shows (newest row)."""
    shown = wallet_balances(rows)
    w = words(lang)

    found = []
    for member in sorted(set(ledger) | set(shown)):
        booked, wallet = ledger.get(member, ZERO), shown.get(member, ZERO)
        if booked == wallet:
            continue
        text = w["reconcile_text_balance_differs"].format(
            ledger=_chf(booked), wallet=_chf(wallet), amount=_chf(booked - wallet)
        )
        found.append(Found(Kind.BALANCE_DIFFERS, member, booked - wallet, text))

    return found


def wallet_balances(rows: Iterable[WalletRow]) -> dict[int, Decimal]:
    """Each member's balance as the plugin shows it: the newest row's."""
    newest: dict[int, WalletRow] = {}
    for row in rows:
        last = newest.get(row.user_id)
        if last is None or row.id > last.id:
            newest[row.user_id] = row

    return {member: row.balance for member, row in newest.items()}


def chain_losses(rows: Iterable[WalletRow], lang: str) -> list[Found]:
    """Rows that broke the running balance; the correction gives the loss back."""
    w = words(lang)

    found = []
    for broken in chain_breaks(rows):
        previous = ZERO if broken.previous_balance is None else broken.previous_balance
        text = w["reconcile_text_chain_break"].format(
            row=broken.row_id,
            stored=_chf(broken.stored),
            expected=_chf(broken.expected),
            previous=_chf(previous),
            change=_chf(broken.amount),
            lost=_chf(broken.lost),
        )
        found.append(
            Found(
                Kind.CHAIN_BREAK,
                broken.user_id,
                broken.lost,
                text,
                row_id=broken.row_id,
                correction=broken.lost,
            )
        )

    return found


def duplicate_rows(rows: Iterable[WalletRow], lang: str) -> list[Found]:
    """Rows repeating one cause; certain repeats are taken back, suspects shown."""
    w = words(lang)

    found = []
    for repeated in duplicates(rows):
        certain = repeated.kind in CERTAIN_DUPLICATES
        key = "duplicate_row" if certain else "duplicate_suspect"
        text = w[f"reconcile_text_{key}"].format(
            rows=", ".join(map(str, repeated.row_ids)),
            details=_quoted(repeated.details),
            amount=_chf(repeated.extra),
        )
        found.append(
            Found(
                Kind.DUPLICATE_ROW,
                repeated.user_id,
                repeated.extra,
                text,
                row_id=repeated.row_ids[1],
                correction=-repeated.extra if certain and repeated.extra else None,
            )
        )

    return found


@dataclass(frozen=True)
class Charge:
    """A wallet row that charges or nets an order."""

    row: WalletRow
    kind: RowKind
    order_id: int


def order_charges(rows: Iterable[WalletRow]) -> dict[int, list[Charge]]:
    """The order rows of the wallet by order id, oldest first."""
    charges: dict[int, list[Charge]] = defaultdict(list)
    for row in rows:
        if "Bestellung #" not in row.details:  # spares the regexes on most rows
            continue
        item = classify(row)
        if item.kind in ORDER_ROWS and item.order_id is not None:
            charges[item.order_id].append(Charge(row, item.kind, item.order_id))
    for found in charges.values():
        found.sort(key=lambda c: c.row.id)

    return dict(charges)


def orders_without_debit(
    charged: Mapping[int, list[Charge]],
    orders: Mapping[int, ShopOrder],
    wallet_methods: Collection[str],
    counted: Collection[str],
    lang: str,
) -> list[Found]:
    """Orders paid from credit that the shop counts but the wallet never charged
    (an order made through the REST API, say: the gateway never ran)."""
    w = words(lang)

    return [
        Found(
            Kind.ORDER_WITHOUT_DEBIT,
            order.member,
            order.total,
            w["reconcile_text_order_without_debit"].format(
                order=order.order_id, total=_chf(order.total), status=order.status
            ),
            order_id=order.order_id,
        )
        for order in orders.values()
        if _paid_from_credit(order, wallet_methods, counted)
        and order.order_id not in charged
        and order.total != 0
    ]


def debits_without_order(
    charged: Mapping[int, list[Charge]],
    orders: Mapping[int, ShopOrder],
    wallet_methods: Collection[str],
    lang: str,
) -> list[Found]:
    """Order rows whose order the store does not know, did not pay from
    credit, or holds as failed."""
    w = words(lang)

    found = []
    for order_id, charges in charged.items():
        order = orders.get(order_id)
        if order is None:
            why, method = "debit_unknown_order", ""
        elif order.payment_method not in wallet_methods:
            why, method = "debit_not_wallet", order.payment_method
        elif order.status == "failed":
            why, method = "debit_failed_order", ""
        else:
            continue
        for charge in charges:
            text = w[f"reconcile_text_{why}"].format(
                row=charge.row.id,
                amount=_chf(charge.row.amount),
                order=order_id,
                method=_quoted(method),
            )
            found.append(
                Found(
                    Kind.DEBIT_WITHOUT_ORDER,
                    charge.row.user_id,
                    charge.row.amount,
                    text,
                    row_id=charge.row.id,
                    order_id=order_id,
                )
            )

    return found


def charged_twice(
    charged: Mapping[int, list[Charge]],
    orders: Mapping[int, ShopOrder],
    wallet_methods: Collection[str],
    counted: Collection[str],
    lang: str,
) -> list[Found]:
    """Members charged in full for two or more orders of one round.

    The block checkout drops the round, so the plugin takes a second order for
    a new one and charges it in full instead of the difference (pot-plugin.md
    §17). Each earlier order is a finding without a correction: its charge is
    owed back only once the admin cancels it, and then the next run proposes
    it (`cancelled_still_charged`), unless a refund in the shop gave it back.
    """
    in_round: dict[tuple[int, str], list[tuple[ShopOrder, Charge]]] = defaultdict(list)
    for order in orders.values():
        if order.round_key is None:
            continue
        if not _paid_from_credit(order, wallet_methods, counted):
            continue
        first = next(iter(charged.get(order.order_id, [])), None)
        if first is not None and first.kind is RowKind.ORDER_NEW:
            in_round[(order.member, order.round_key)].append((order, first))
    w = words(lang)

    found = []
    twice = sorted(key for key, pairs in in_round.items() if len(pairs) > 1)
    for member, round_key in twice:
        pairs = sorted(in_round[(member, round_key)], key=lambda p: p[0].order_id)
        last, last_charge = pairs[-1]
        for order, charge in pairs[:-1]:
            amount = -charge.row.amount
            text = w["reconcile_text_charged_twice"].format(
                round=round_key,
                first=order.order_id,
                first_amount=_chf(amount),
                second=last.order_id,
                second_amount=_chf(-last_charge.row.amount),
            )
            text += " " + w["reconcile_text_charged_twice_proposal"].format(
                first=order.order_id, amount=_chf(amount)
            )
            found.append(
                Found(
                    Kind.CHARGED_TWICE_IN_ROUND,
                    member,
                    amount,
                    text,
                    row_id=charge.row.id,
                    order_id=order.order_id,
                )
            )

    return found


def cancelled_still_charged(
    charged: Mapping[int, list[Charge]],
    orders: Mapping[int, ShopOrder],
    wallet_methods: Collection[str],
    lang: str,
) -> list[Found]:
    """Orders cancelled or trashed after the wallet charged them in full, not
    replaced by a re-order, and not refunded: the plugin gives nothing back on
    a cancellation. Proposed only where the ledger holds the debit too, so the
    correction moves ledger and wallet alike."""
    w = words(lang)

    found = []
    for order in orders.values():
        if order.payment_method not in wallet_methods or order.status not in ENDED:
            continue
        if order.replaced or not order.debited:
            continue
        first = next(iter(charged.get(order.order_id, [])), None)
        if first is None or first.kind is RowKind.ORDER_ADJUSTMENT:
            continue
        owed = -first.row.amount - order.refunded
        if owed <= 0:
            continue
        text = w["reconcile_text_cancelled_still_charged"].format(
            order=order.order_id,
            status=order.status,
            row=first.row.id,
            charged=_chf(-first.row.amount),
            refunded=_chf(order.refunded),
            amount=_chf(owed),
        )
        found.append(
            Found(
                Kind.CANCELLED_STILL_CHARGED,
                order.member,
                owed,
                text,
                row_id=first.row.id,
                order_id=order.order_id,
                correction=owed,
            )
        )

    return found


def unmatched_rows(
    rows: Iterable[WalletRow],
    links: Mapping[int, str],
    explained: Collection[int | None],
    lang: str,
) -> list[Found]:
    """Rows linked to nothing booked, unless another finding explains them."""
    w = words(lang)

    return [
        Found(
            Kind.ROW_UNMATCHED,
            row.user_id,
            row.amount,
            w["reconcile_text_row_unmatched"].format(
                row=row.id, amount=_chf(row.amount), details=_quoted(row.details)
            ),
            row_id=row.id,
        )
        for row in rows
        if links.get(row.id) in UNMATCHED_LINKS and row.id not in explained
    ]


def ledger_checked(checked: Iterable[LedgerFinding], lang: str) -> list[Found]:
    """The ledger's own check (`pot_bridge.ledger.check`), as findings."""
    w = words(lang)

    found = []
    for item in checked:
        if item.kind == "balance_differs":
            kind, member = Kind.LEDGER_BALANCE_DIFFERS, member_id(item.subject)
            text = w["reconcile_text_ledger_balance"].format(
                account=item.subject, kept=_chf(item.kept), expected=_chf(item.expected)
            )
        else:
            kind, member = Kind.LEDGER_ENTRY_UNBALANCED, None
            text = w["reconcile_text_ledger_entry"].format(
                key=item.subject, kept=_chf(item.kept)
            )
        found.append(Found(kind, member, item.kept - item.expected, text))

    return found


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


def _paid_from_credit(
    order: ShopOrder, wallet_methods: Collection[str], counted: Collection[str]
) -> bool:
    return order.payment_method in wallet_methods and order.status in counted


def _chf(amount: Decimal) -> str:
    return format_chf(amount)


def _quoted(text: str) -> str:
    """Shop text inside a finding, on one line and not too long."""
    flat = " ".join(text.split())

    return flat if len(flat) <= 80 else flat[:79] + "…"
