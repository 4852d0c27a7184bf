"""Findings the wallet shows by itself: balances the ledger does not share,
breaks of the running balance, repeated rows, and rows linked to nothing.

Pure: wallet rows (and the ledger's balances or the rows' links) in, findings
out. Corrections are proposed only for what the ledger already follows (a chain
loss booked as `wallet-chain:<row>`, a certain repeat against CORRECTIONS).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal

from pot_bridge.credit.found import Found, Kind, chf, quoted
from pot_bridge.ledger.wallet_rows import WalletRow, chain_breaks, duplicates
from pot_bridge.money import ZERO
from pot_bridge.wording import words

# only these repeat one cause for sure; identical rows are suspects
CERTAIN_DUPLICATES = frozenset({"repeated_order_row", "repeated_sale_payout"})
# a row take_rows could neither match nor book (an unknown one it books)
UNMATCHED_LINKS = frozenset({"unmatched"})


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
            ledger=chf(booked), wallet=chf(wallet), amount=chf(booked - wallet)
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
            stored=chf(broken.stored),
            expected=chf(broken.expected),
            previous=chf(previous),
            change=chf(broken.amount),
            lost=chf(broken.lost),
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
            details=quoted(repeated.details),
            amount=chf(repeated.extra),
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
                row=row.id, amount=chf(row.amount), details=quoted(row.details)
            ),
            row_id=row.id,
        )
        for row in rows
        if links.get(row.id) in UNMATCHED_LINKS and row.id not in explained
    ]
