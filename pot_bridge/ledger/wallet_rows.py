"""The POT plugin's wallet rows: what each one is, and where the wallet is wrong.

The plugin keeps a member's credit as rows with a running balance and links
them to their cause only through the `details` text (see pot-plugin.md §5.3),
so a row is classified by its `type` where it has one and by its text where it
is `''`. The rows are written without locks; `chain_breaks` and `duplicates`
find what that did. Everything here is pure: rows in, values out.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from pot_bridge.money import ZERO, parse_decimal

# a row whose date MariaDB stored as zeros (`0000-00-00 00:00:00`)
NO_DATE = datetime.min  # noqa: DTZ901


@dataclass(frozen=True, slots=True)
class WalletRow:
    """One row of `foodcoop_wallet`. `date` is the stored wall-clock time; its zone
    is Zurich for the plugin's own rows and probably UTC for admin rows.

    Slotted: the nightly run holds every row of the wallet, a million for a big
    coop, and a row without its own `__dict__` is some 250 bytes smaller.
    """

    id: int
    user_id: int
    amount: Decimal
    balance: Decimal
    details: str
    created_by: str
    date: datetime
    type: str

    @classmethod
    def from_plugin(cls, raw: Mapping[str, object]) -> WalletRow:
        """A row as the plugin's routes answer it: every value a string."""
        return cls(
            id=int(str(raw["id"])),
            user_id=int(str(raw["user_id"])),
            amount=parse_decimal(raw["amount"]),
            balance=parse_decimal(raw["balance"]),
            details=str(raw.get("details") or ""),
            created_by=str(raw.get("created_by") or ""),
            date=datetime.fromisoformat(str(raw["date"])),
            type=str(raw.get("type") or ""),
        )


def decode_rows(body: object) -> list[WalletRow]:
    """Rows from a `getTransactions`/`getAllTransactions` answer.

    The plugin JSON-encodes its answer and WordPress encodes that string again,
    so a string body is decoded once more.
    """
    if isinstance(body, str):
        body = json.loads(body, parse_float=Decimal)
    if not isinstance(body, list):
        raise TypeError(f"wallet rows must be a list, got {type(body).__name__}")

    return [WalletRow.from_plugin(raw) for raw in body]


class RowKind(StrEnum):
    """What caused a wallet row (the numbers are the rows of pot-plugin.md §5.3)."""

    ORDER_NEW = "order_new"  # 1
    ORDER_ADJUSTMENT = "order_adjustment"  # 2
    GATEWAY_REFUND = "gateway_refund"  # 3
    PRICE_ADJUSTMENT = "price_adjustment"  # 4
    DEPOSIT = "deposit"  # 5
    MANUAL = "manual_transaction"  # 5
    YEARLY_FEE = "yearly_fee"  # 5
    POS_ORDER = "pos_order"  # 6
    INSTANT_TOP_UP = "instant_top_up"  # 7
    OWNER_SALE = "owner_sale"  # 8
    OWNER_DELIVERY = "owner_delivery"  # 9
    MISSING_PAYOUT = "missing_payout"  # 10
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Classified:
    """A row and what its text says: the order, the product and quantity, the
    gateway of an instant top-up, or a refund's reason."""

    row: WalletRow
    kind: RowKind
    order_id: int | None = None
    product: str | None = None
    quantity: Decimal | None = None
    gateway: str | None = None
    reason: str | None = None


_QTY = r"\((?P<qty>\d+(?:\.\d+)?)x\)"
_BY_TEXT = [
    (RowKind.ORDER_NEW, r"Bestellung #(?P<order>\d+) \(Neubestellung\)"),
    (RowKind.ORDER_ADJUSTMENT, r"Bestellung #(?P<order>\d+) \(Anpassung\)"),
    (RowKind.POS_ORDER, r"Bestellung #(?P<order>\d+) \(POS Bestellung\)"),
    (RowKind.INSTANT_TOP_UP, r"Instant Topup \((?P<order>\d+)\) via (?P<gateway>.*)"),
    (
        RowKind.MISSING_PAYOUT,
        r"Neuer Verkauf von Produkt (?P<product>.*)" + _QTY + r" - Korrekturbuchung",
    ),
    # Before 1.7.7 the payout text had no order number.
    (
        RowKind.OWNER_SALE,
        r"Neuer Verkauf von Produkt (?P<product>.*)"
        + _QTY
        + r"(?: Bestellung #(?P<order>\d+))?",
    ),
    (RowKind.OWNER_DELIVERY, r"Neue Lieferung von Produkt (?P<product>.*)" + _QTY),
    (RowKind.PRICE_ADJUSTMENT, r"Mutation: Produktpreisanpassung \((?P<product>.*)\)"),
]
_PATTERNS = [(kind, re.compile(text, re.DOTALL)) for kind, text in _BY_TEXT]
_NOT_DELIVERED = re.compile(r"Mutation: Produkt nicht geliefert \((?P<product>.*)\)")
_ONCE_PER_ORDER = {
    RowKind.ORDER_NEW,
    RowKind.ORDER_ADJUSTMENT,
    RowKind.POS_ORDER,
    RowKind.INSTANT_TOP_UP,
}
_ADMIN_TYPES = {
    "deposit": RowKind.DEPOSIT,
    "manual_transaction": RowKind.MANUAL,
    "yearly_fee": RowKind.YEARLY_FEE,
}


def classify(row: WalletRow) -> Classified:
    """What caused `row`, with the ids its text carries."""
    if row.type in _ADMIN_TYPES:
        return Classified(row, _ADMIN_TYPES[row.type])

    if row.type not in ("", "order"):
        return Classified(row, RowKind.UNKNOWN)

    for kind, pattern in _PATTERNS:
        match = pattern.fullmatch(row.details)
        if match is None:
            continue
        if row.type == "order" and kind is not RowKind.POS_ORDER:
            break
        found = match.groupdict()
        return Classified(
            row,
            kind,
            order_id=int(found["order"]) if found.get("order") else None,
            product=found.get("product"),
            quantity=Decimal(found["qty"]) if found.get("qty") else None,
            gateway=found.get("gateway"),
        )

    # A gateway refund carries only its reason (possibly empty): the one
    # untyped row with free text that credits the member.
    if row.type == "" and row.amount > 0:
        not_delivered = _NOT_DELIVERED.fullmatch(row.details)
        return Classified(
            row,
            RowKind.GATEWAY_REFUND,
            product=not_delivered["product"] if not_delivered else None,
            reason=row.details,
        )

    return Classified(row, RowKind.UNKNOWN)


@dataclass(frozen=True)
class ChainBreak:
    """A row whose balance is not the previous balance plus its amount.

    `lost` is what the member's running balance lost at this row (negative when
    it gained); every later row builds on the wrong balance.
    """

    row_id: int
    user_id: int
    previous_balance: Decimal | None
    amount: Decimal
    expected: Decimal
    stored: Decimal

    @property
    def lost(self) -> Decimal:
        return self.expected - self.stored


def chain_breaks(rows: Iterable[WalletRow]) -> list[ChainBreak]:
    """Every row, per member in id order, that breaks the running balance.

    A member's first row must hold its own amount as balance.
    """
    breaks = []
    for user_rows in _by_member(rows).values():
        previous: Decimal | None = None
        for row in user_rows:
            expected = row.amount if previous is None else previous + row.amount
            if row.balance != expected:
                breaks.append(
                    ChainBreak(
                        row_id=row.id,
                        user_id=row.user_id,
                        previous_balance=previous,
                        amount=row.amount,
                        expected=expected,
                        stored=row.balance,
                    )
                )
            previous = row.balance

    return sorted(breaks, key=lambda b: b.row_id)


def lost_per_member(rows: Iterable[WalletRow]) -> dict[int, Decimal]:
    """Per member: the sum of their rows minus the balance the wallet shows
    (the newest row's), for members where the two differ."""
    lost = {}
    for user_id, user_rows in sorted(_by_member(rows).items()):
        difference = sum((r.amount for r in user_rows), ZERO) - user_rows[-1].balance
        if difference != 0:
            lost[user_id] = difference

    return lost


@dataclass(frozen=True)
class Duplicate:
    """Rows that look like one event written more than once.

    `kind` is `repeated_sale_payout` (an owner paid twice for one product of one
    order), `repeated_order_row` (an order debited, adjusted or topped up twice)
    or `identical_rows` (same member, amount and text within seconds).
    The first of `row_ids` is taken as genuine; `extra` is what the others add.
    """

    kind: str
    user_id: int
    row_ids: tuple[int, ...]
    details: str
    extra: Decimal


def duplicates(
    rows: Iterable[WalletRow], *, within: timedelta = timedelta(seconds=5)
) -> list[Duplicate]:
    """Rows repeating one order's cause, at any distance, then identical rows.

    Identical rows are only suspects: the wallet cannot tell a double-click
    from two equal deposits an admin entered in the same seconds.
    """
    rows = sorted(rows, key=lambda r: r.id)
    found = _repeated_causes(rows)
    reported = {row_id for duplicate in found for row_id in duplicate.row_ids}
    found += _identical_rows([r for r in rows if r.id not in reported], within)

    return sorted(found, key=lambda d: d.row_ids)


def _repeated_causes(rows: list[WalletRow]) -> list[Duplicate]:
    groups: dict[tuple[str, int, int, str], list[WalletRow]] = defaultdict(list)
    for row in rows:
        item = classify(row)
        if item.order_id is None:
            continue
        if item.kind is RowKind.OWNER_SALE:
            product = item.product or ""
            cause = ("repeated_sale_payout", row.user_id, item.order_id, product)
            groups[cause].append(row)
        elif item.kind in _ONCE_PER_ORDER:
            cause = ("repeated_order_row", row.user_id, item.order_id, item.kind)
            groups[cause].append(row)

    return [
        _duplicate(cause[0], group) for cause, group in groups.items() if len(group) > 1
    ]


def _identical_rows(rows: list[WalletRow], within: timedelta) -> list[Duplicate]:
    groups: dict[tuple[int, Decimal, str], list[WalletRow]] = defaultdict(list)
    for row in rows:
        groups[(row.user_id, row.amount, row.details)].append(row)

    found = []
    for group in groups.values():
        group.sort(key=lambda r: (r.date, r.id))
        cluster = [group[0]]
        for row in group[1:]:
            if row.date - cluster[-1].date <= within:
                cluster.append(row)
                continue
            if len(cluster) > 1:
                found.append(_duplicate("identical_rows", cluster))
            cluster = [row]
        if len(cluster) > 1:
            found.append(_duplicate("identical_rows", cluster))

    return found


def _duplicate(kind: str, rows: list[WalletRow]) -> Duplicate:
    rows = sorted(rows, key=lambda r: r.id)
    return Duplicate(
        kind=kind,
        user_id=rows[0].user_id,
        row_ids=tuple(r.id for r in rows),
        details=rows[0].details,
        extra=sum((r.amount for r in rows[1:]), ZERO),
    )


def _by_member(rows: Iterable[WalletRow]) -> dict[int, list[WalletRow]]:
    members: dict[int, list[WalletRow]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: r.id):
        members[row.user_id].append(row)

    return members
