"""Findings about orders: the wallet's order rows held against the store's
orders paid from credit.

An order row names its order only in its text (pot-plugin.md §5.3), so the
rows are read once into `order_charges` and every check here works on that.
Pure: charges and orders in, findings out. Only a cancelled order still charged
gets a correction, and only where the ledger holds its debit too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from pot_bridge.credit.found import (
    Found,
    Kind,
    ShopOrder,
    chf,
    paid_from_credit,
    quoted,
)
from pot_bridge.ledger.wallet_rows import RowKind, WalletRow, classify
from pot_bridge.wording import words

# the wallet rows that charge or net an order (pot-plugin.md §5.3 rows 1, 2, 6)
ORDER_ROWS = frozenset({RowKind.ORDER_NEW, RowKind.ORDER_ADJUSTMENT, RowKind.POS_ORDER})
# the plugin cancels, then trashes, an order it replaces; an admin does either
ENDED = frozenset({"cancelled", "trash"})


@dataclass(frozen=True, slots=True)
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
                order=order.order_id, total=chf(order.total), status=order.status
            ),
            order_id=order.order_id,
        )
        for order in orders.values()
        if paid_from_credit(order, wallet_methods, counted)
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
                amount=chf(charge.row.amount),
                order=order_id,
                method=quoted(method),
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
        if not paid_from_credit(order, wallet_methods, counted):
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
                first_amount=chf(amount),
                second=last.order_id,
                second_amount=chf(-last_charge.row.amount),
            )
            text += " " + w["reconcile_text_charged_twice_proposal"].format(
                first=order.order_id, amount=chf(amount)
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


def credited_twice(
    charged: Mapping[int, list[Charge]],
    orders: Mapping[int, ShopOrder],
    lang: str,
) -> list[Found]:
    """Cancelled orders whose charge came back twice: once by a correction an
    admin applied, then again by a refund in the shop. Proposes taking the
    excess back."""
    w = words(lang)

    found = []
    for order in orders.values():
        if order.corrected <= 0:
            continue
        first = next(iter(charged.get(order.order_id, [])), None)
        charge = -first.row.amount if first is not None else order.total
        excess = order.corrected + order.refunded - charge
        if excess <= 0:
            continue
        text = w["reconcile_text_credited_twice"].format(
            order=order.order_id,
            charged=chf(charge),
            corrected=chf(order.corrected),
            refunded=chf(order.refunded),
            amount=chf(excess),
        )
        found.append(
            Found(
                Kind.CREDITED_TWICE,
                order.member,
                excess,
                text,
                row_id=first.row.id if first is not None else None,
                order_id=order.order_id,
                correction=-excess,
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
        owed = -first.row.amount - order.refunded - order.corrected
        if owed <= 0:
            continue
        text = w["reconcile_text_cancelled_still_charged"].format(
            order=order.order_id,
            status=order.status,
            row=first.row.id,
            charged=chf(-first.row.amount),
            refunded=chf(order.refunded),
            amount=chf(owed),
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
