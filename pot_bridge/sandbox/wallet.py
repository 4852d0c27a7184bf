"""The POT plugin's wallet table and its `foodcoop/v1` routes, as 1.7.7 behaves.

Every writer reads the member's newest row and inserts `balance = last +
amount`: there is no lock, no transaction and no order id, only the `details`
text. The sandbox keeps that design, including its failures, so the bridge
meets them here first: with `race` on, parallel `postAddTransaction` calls
read the same last balance and the running balance loses money; with
`schema_upgraded` off (a fresh install before its first wp-admin page load)
the route answers id 0 and stores nothing. The routes are in `wallet_api`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pot_bridge.sandbox import wire
from pot_bridge.sandbox.model import WALLET, Order

CENT = Decimal("0.01")
# how the plugin's gateway names its rows (§5.3 rows 1 and 2)
NEW_ORDER = "Bestellung #{id} (Neubestellung)"
REORDER = "Bestellung #{id} (Anpassung)"
# the checkout paths whose orders the gateway charges; REST orders are never charged
CHARGED_VIA = frozenset({"checkout", "store-api"})
UNPAID = frozenset({"pending", "failed", "checkout-draft"})


def php_money(amount: Decimal) -> str:
    """number_format($x, 2, '.', ''): two places, half away from zero."""
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):.2f}"


def wall_time(moment: datetime) -> str:
    """The plugin's own rows: Europe/Zurich wall time, as `date_default_timezone_set`."""
    return moment.astimezone(wire.SITE_TZ).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class WalletRow:
    """One row of `{prefix}foodcoop_wallet`; `balance` is the running balance after it."""

    id: int
    user_id: int
    amount: Decimal
    balance: Decimal
    details: str
    created_by: int
    date: str  # "Y-m-d H:i:s" as stored, zone unknown to the table
    type: str = ""
    reported: str | None = None

    def raw(self) -> dict[str, Any]:
        """As `$wpdb` returns it: every value a string, `reported` null or text."""
        return {
            "id": str(self.id),
            "user_id": str(self.user_id),
            "amount": php_money(self.amount),
            "balance": php_money(self.balance),
            "details": self.details,
            "created_by": str(self.created_by),
            "date": self.date,
            "type": self.type,
            "reported": self.reported,
        }


@dataclass
class Wallet:
    """The wallet table plus the switches tests use to stage the plugin's faults."""

    rows: list[WalletRow] = field(default_factory=list)
    fc_fee: int = 50  # option fc_fee, CHF; "jahresbeitrag" books -fc_fee
    # False: the table still lacks `type`/`reported` (before the first admin_init)
    schema_upgraded: bool = True
    # True: postAddTransaction reads the last balance, waits, then writes
    race: bool = False
    race_window: float = 0.05
    _next_id: int = 1
    _last: dict[int, WalletRow] = field(default_factory=dict)

    def last(self, user_id: int) -> WalletRow | None:
        """The member's row with the highest id, the one the plugin reads."""
        return self._last.get(user_id)

    def balance(self, user_id: int) -> Decimal | None:
        """The plugin's balance: the newest row's `balance`, None without rows."""
        row = self.last(user_id)
        return None if row is None else row.balance

    def of(self, user_id: int) -> list[WalletRow]:
        return [r for r in self.rows if r.user_id == user_id]

    def insert(
        self,
        user_id: int,
        amount: Decimal,
        details: str,
        created_by: int,
        date: str,
        type: str = "",
        *,
        balance: Decimal | None = None,
        reported: str | None = None,
        row_id: int | None = None,
    ) -> WalletRow:
        """Append a row; `balance` defaults to the running rule, as the plugin does.

        Passing `balance` or `row_id` writes what a test asks for, so duplicates
        and broken chains can be staged directly.
        """
        if balance is None:
            previous = self.balance(user_id)
            balance = amount if previous is None else previous + amount
        rid = row_id if row_id is not None else self._next_id
        if row_id is not None and any(r.id == rid for r in self.rows):
            raise ValueError(f"wallet row {rid} exists: ids are a primary key")
        self._next_id = max(self._next_id, rid + 1)
        row = WalletRow(
            id=rid,
            user_id=user_id,
            amount=amount.quantize(CENT, rounding=ROUND_HALF_UP),
            balance=balance.quantize(CENT, rounding=ROUND_HALF_UP),
            details=details,
            created_by=created_by,
            date=date,
            type=type,
            reported=reported,
        )
        out_of_order = bool(self.rows) and rid < self.rows[-1].id
        self.rows.append(row)
        if out_of_order:
            self.rows.sort(key=lambda r: r.id)
        newest = self._last.get(user_id)
        if newest is None or rid > newest.id:
            self._last[user_id] = row

        return row

    def load(self, raws: Iterable[Mapping[str, Any]]) -> int:
        """Replace the table by recorded rows (`SELECT *`, values as strings),
        kept exactly as stored, broken running balances included."""
        self.rows.clear()
        self._last.clear()
        self._next_id = 1
        for raw in sorted(raws, key=lambda r: int(str(r["id"]))):
            self.insert(
                int(str(raw["user_id"])),
                Decimal(str(raw["amount"])),
                str(raw.get("details") or ""),
                int(str(raw.get("created_by") or 0)),
                str(raw["date"]),
                str(raw.get("type") or ""),
                balance=Decimal(str(raw["balance"])),
                reported=None if raw.get("reported") is None else str(raw["reported"]),
                row_id=int(str(raw["id"])),
            )

        return len(self.rows)

    def mark_reported(self, now: datetime) -> int:
        """What the hourly notification job does: stamp unreported rows, UTC."""
        stamp = now.astimezone(wire.UTC).strftime("%Y-%m-%d %H:%M:%S")
        fresh = [r for r in self.rows if r.reported is None]
        for row in fresh:
            row.reported = stamp

        return len(fresh)

    # -- the gateway (WC_Foodcoop_Guthaben) ---------------------------------

    def charge(self, order: Order, replaced: Order | None = None) -> WalletRow | None:
        """Debit a checkout paid with the wallet: in full, or the difference.

        `replaced` is the member's earlier order in the same round (classic
        checkout only; the block checkout loses the round, so its second order
        is charged in full again).
        """
        if order.payment_method != WALLET or order.created_via not in CHARGED_VIA:
            return None
        if order.status in UNPAID:
            return None
        if replaced is None:
            amount, details = -order.total, NEW_ORDER.format(id=order.id)
        else:
            old_net = replaced.total - sum(
                (r.amount for r in replaced.refunds), Decimal(0)
            )
            amount, details = old_net - order.total, REORDER.format(id=order.id)

        return self.insert(
            order.customer_id,
            amount,
            details,
            created_by=order.customer_id,
            date=wall_time(order.created),
        )

    def refund(
        self, order: Order, amount: Decimal, reason: str, by: int, when: datetime
    ) -> WalletRow | None:
        """`process_refund`: credit the refund, named only by its reason."""
        if order.payment_method != WALLET:
            return None
        return self.insert(
            order.customer_id, amount, reason, created_by=by, date=wall_time(when)
        )
