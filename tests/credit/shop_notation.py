"""Orders, refunds and wallet rows as a coop's treasurer writes them; the ledger
read back the same way. For the credit tests; other test helpers may import it.

The shop side, one thing a line (members by first name, see MEMBERS, or number):

    order  133  Jonas  trash       20.00  round 130  at 15:29:29  ended 15:30:30
    order  131  Lea    processing  16.60  by foodcoop_guthaben
    refund 137  of 136  6.80  wallet  "Mutation: Produkt nicht geliefert (Butterzopf)"
    row    26   Jonas  12.50  69.70  -  "Bestellung #143 (Anpassung)"

- `order ID MEMBER STATUS TOTAL` with options `round N` (the plugin's round id,
  also its round key `plugin:N`), `at` (created, UTC on DAY), `ended` (last
  modified, default `at`) and `by` (payment method, default the POT wallet).
- `refund ID of ORDER AMOUNT wallet|kept|unknown [REASON] [at TIME]`: whether
  the shop paid it back to the wallet (`refunded_payment` true, false, none).
- `row ID MEMBER AMOUNT BALANCE TYPE DETAILS [at TIME]`: a wallet row, `-` for
  the empty type; its date is DAY 08:00 plus ID minutes unless `at` says.

The ledger side (`ledger`, `balances`, `links`) is text too; `same` compares
two texts line by line, however the columns are aligned.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge.config import CoopConfig, CoopCredit
from pot_bridge.ledger.wallet_rows import WalletRow
from pot_bridge.shop.wire import parse_order
from pot_bridge.store.schema import (
    JournalEntry,
    LedgerAccount,
    Order,
    Posting,
    Refund,
    WalletLink,
)

DAY = datetime(2026, 12, 4, tzinfo=UTC)
NOW = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
WALLET = "foodcoop_guthaben"
# the members of the recorded POT shop (fixtures/pot-plugin/1.7.7)
MEMBERS = {
    "Lea": 2,
    "Jonas": 3,
    "Mia": 4,
    "Noah": 5,
    "Elena": 6,
    "Luca": 7,
    "Sofia": 8,
    "Tim": 9,
    "Nina": 10,
    "Anna": 11,
}
POT = Path(__file__).resolve().parents[3] / "shared/fixtures/pot-plugin/1.7.7"
REFUNDED = {"wallet": True, "kept": False, "unknown": None}


def coop(mode: str = "plugin", slug: str = "coop-t", **credit: Any) -> CoopConfig:
    """A coop whose credit is in `mode`; `credit` overrides its [coop.credit]."""
    return CoopConfig(
        slug=slug,
        name="Foodcoop Test",
        shop_url="http://127.0.0.1:9",
        wp_user="bridge",
        credit=CoopCredit(mode=mode, **credit),
    )


def member_no(name: str) -> int:
    return int(name) if name.isdigit() else MEMBERS[name]


def at(clock: str) -> datetime:
    """HH:MM[:SS] on DAY, UTC."""
    return datetime.combine(DAY.date(), time.fromisoformat(clock), UTC)


# -- the shop ---------------------------------------------------------------


def pull(session: Session, slug: str, text: str, now: datetime = NOW) -> None:
    """Store the orders and refunds of `text` as a sync would, replacing what
    the store held under the same ids."""
    for words in _lines(text):
        if words[0] == "order":
            _order(session, slug, words, now)
        elif words[0] == "refund":
            _refund(session, slug, words, now)
        else:
            raise ValueError(f"not an order or refund: {' '.join(words)}")
    session.flush()


def _options(words: list[str]) -> dict[str, str]:
    return dict(zip(words[::2], words[1::2], strict=True))


def _order(session: Session, slug: str, words: list[str], now: datetime) -> None:
    _, order_id, who, status, total, *rest = words
    options = _options(rest)
    created = at(options.get("at", "09:00"))
    row = session.scalars(
        select(Order).where(Order.coop == slug, Order.order_id == int(order_id))
    ).one_or_none()
    if row is None:
        row = Order(coop=slug, order_id=int(order_id), content_hash="-")
        session.add(row)
    round_id = int(options["round"]) if "round" in options else None
    row.status = status
    row.customer_id = member_no(who)
    row.payment_method = options.get("by", WALLET)
    row.plugin_round_id = round_id
    row.round_key = f"plugin:{round_id}" if round_id else options.get("key")
    row.created_gmt = created
    row.modified_gmt = at(options["ended"]) if "ended" in options else created
    row.total = Decimal(total)
    row.synced_at = now


def _refund(session: Session, slug: str, words: list[str], now: datetime) -> None:
    _, refund_id, _of, order_id, amount, paid, *rest = words
    reason = rest.pop(0) if len(rest) % 2 else ""
    options = _options(rest)
    row = session.scalars(
        select(Refund).where(Refund.coop == slug, Refund.refund_id == int(refund_id))
    ).one_or_none()
    if row is None:
        row = Refund(coop=slug, refund_id=int(refund_id))
        session.add(row)
    row.order_id = int(order_id)
    row.amount = Decimal(amount)
    row.reason = reason
    row.refunded_payment = REFUNDED[paid]
    row.created_gmt = at(options.get("at", "12:00"))
    row.synced_at = now


def wallet(text: str) -> list[WalletRow]:
    """The wallet rows of `text`, in the order written."""
    rows = []
    for words in _lines(text):
        _, row_id, who, amount, balance, kind, details, *rest = words
        options = _options(rest)
        wall = DAY.replace(tzinfo=None) + timedelta(hours=8, minutes=int(row_id))
        if "at" in options:
            wall = datetime.combine(DAY.date(), time.fromisoformat(options["at"]))
        rows.append(
            WalletRow(
                id=int(row_id),
                user_id=member_no(who),
                amount=Decimal(amount),
                balance=Decimal(balance),
                details=details,
                created_by=" ",
                date=wall,
                type="" if kind == "-" else kind,
            )
        )
    return rows


def _lines(text: str) -> Iterable[list[str]]:
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            yield shlex.split(line)


# -- recorded answers of the real plugin --------------------------------------


def recorded(name: str) -> dict[str, Any]:
    """One recorded exchange of fixtures/pot-plugin/1.7.7; skips without it."""
    import pytest

    path = POT / name
    if not path.exists():
        pytest.skip(f"recorded fixture {path} is not on this machine")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def pull_recorded_orders(
    session: Session, slug: str, names: Iterable[str], now: datetime = NOW
) -> None:
    """Store recorded `GET orders/<id>` answers as a sync would (their refunds
    as paid back to the wallet, as the recorded refund says)."""
    for name in names:
        order = parse_order(recorded(name)["body"], slug)
        row = Order(
            coop=slug,
            order_id=order.id,
            status=order.status,
            customer_id=order.customer_id,
            payment_method=order.payment_method,
            plugin_round_id=order.round_id,
            round_key=f"plugin:{order.round_id}" if order.round_id else None,
            created_gmt=order.date_created_gmt,
            modified_gmt=order.date_modified_gmt,
            total=order.total,
            content_hash="-",
            synced_at=now,
        )
        session.add(row)
        for refund in order.refunds:
            session.add(
                Refund(
                    coop=slug,
                    refund_id=refund.id,
                    order_id=order.id,
                    amount=-refund.total,
                    reason=refund.reason,
                    refunded_payment=True,
                    created_gmt=order.date_modified_gmt,
                    synced_at=now,
                )
            )
    session.flush()


def recorded_rows(name: str, members: Iterable[int] | None = None) -> list[WalletRow]:
    """The wallet rows of a recorded `getTransactions`/`getAllTransactions`
    answer, oldest first, of `members` only if given."""
    wanted = set(members) if members is not None else None
    rows = [
        WalletRow.from_plugin(raw)
        for raw in recorded(name)["body_decoded"]
        if wanted is None or int(raw["user_id"]) in wanted
    ]
    return sorted(rows, key=lambda r: r.id)


# -- the ledger ---------------------------------------------------------------


def ledger(session: Session, slug: str, prefix: str = "") -> str:
    """Every entry (of keys starting with `prefix`) in booking order, one a
    line: its key, then each account and amount, accounts in code order.

        order:133:paid  member:3 -20.00  sales 20.00
    """
    out = []
    entries = session.scalars(
        select(JournalEntry)
        .where(JournalEntry.coop == slug, JournalEntry.key.startswith(prefix))
        .order_by(JournalEntry.id)
    )
    for entry in entries:
        postings = session.execute(
            select(LedgerAccount.code, Posting.amount)
            .join(Posting, Posting.account_pk == LedgerAccount.id)
            .where(Posting.entry_pk == entry.id)
            .order_by(LedgerAccount.code)
        ).tuples()
        out.append("  ".join([entry.key, *(f"{c} {a}" for c, a in postings)]))

    return "\n".join(out)


def balances(session: Session, slug: str, prefix: str = "member:") -> str:
    """`code balance` per account, members only by default, by member number."""
    rows = session.execute(
        select(LedgerAccount.code, LedgerAccount.balance).where(
            LedgerAccount.coop == slug, LedgerAccount.code.startswith(prefix)
        )
    ).tuples()
    ordered = sorted(rows, key=lambda r: (len(r[0]), r[0]))

    return "\n".join(f"{code} {balance}" for code, balance in ordered)


def wallet_balances(rows: Iterable[WalletRow]) -> str:
    """What the wallet shows per member (the newest row's balance), as
    `balances` writes the ledger's."""
    newest: dict[int, WalletRow] = {}
    for row in sorted(rows, key=lambda r: r.id):
        newest[row.user_id] = row

    return "\n".join(f"member:{user} {newest[user].balance}" for user in sorted(newest))


def links(session: Session, slug: str) -> str:
    """`row ID STATUS [KEY]` per wallet row taken, by row id."""
    rows = session.execute(
        select(WalletLink.row_id, WalletLink.status, WalletLink.entry_key)
        .where(WalletLink.coop == slug)
        .order_by(WalletLink.row_id)
    ).tuples()

    return "\n".join(
        f"row {row_id} {status} {key or ''}".rstrip() for row_id, status, key in rows
    )


def same(text: str) -> list[str]:
    """`text` as comparable lines: blank lines and column alignment ignored."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]
