"""The POT plugin's `foodcoop/v1` routes, beside `wc/v3` on the same shop.

They share the shop's session, retries, breaker and rate limit, but
authenticate with a WordPress application password: the routes refuse
WooCommerce keys. Credentials are sent even to routes that are open today
(`getBestellrunden`), since later plugin versions may close them. Most answers
are JSON strings holding JSON and are decoded twice.

The wallet routes read and book member credit. `wallet_rows` reads them as
typed models; `ledger_rows` reads the whole wallet straight into the ledger's
slotted rows, as the nightly reconciliation of a million rows needs. The wallet
table has no lock:
`add_transaction` must not run in parallel for one member (two bookings that
overlap on the shop lose money in its running balance), and every booking is
checked for a real row, since the plugin answers 200 with id 0 when its insert
failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, ValidationError

from pot_bridge.errors import AbortError, ShopBadResponse, ShopError
from pot_bridge.ledger.wallet_rows import WalletRow as LedgerRow
from pot_bridge.money import CENT, parse_decimal
from pot_bridge.shop.client import ShopClient
from pot_bridge.shop.signing import PLUGIN_NAMESPACE
from pot_bridge.shop.wallet_wire import decode_rows, parse_ledger_row
from pot_bridge.shop.wire import (
    Money,
    PluginRound,
    ShopItemInvalid,
    Text,
    Wire,
    parse_many,
    parse_round,
)

ZURICH = ZoneInfo("Europe/Zurich")
UTC = ZoneInfo("UTC")
WALL_TIME = "%Y-%m-%d %H:%M:%S"
# the types an admin books (section 5.4); automatic rows carry ''
BOOKING_TYPES = frozenset({"deposit", "manual_transaction", "yearly_fee", "order"})
# decimal(10,2): the largest amount the table can hold
MAX_AMOUNT = Decimal("99999999.99")


class WalletRowNotWritten(ShopError, AbortError):
    """postAddTransaction answered without storing a row (transaction id 0).

    A fresh plugin install adds the wallet table's `type` and `reported` columns
    only on the first wp-admin page load; until then every booking fails
    silently. Retrying does not help: someone must open wp-admin once.
    """


def _wall_time(value: object, zone: ZoneInfo) -> datetime | None:
    """A stored "Y-m-d H:i:s" as an aware datetime; MariaDB's zero date is None."""
    if value is None or value == "" or str(value).startswith("0000-00-00"):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)

    return datetime.fromisoformat(str(value)).replace(tzinfo=zone)


def _zurich(value: object) -> datetime | None:
    return _wall_time(value, ZURICH)


def _utc(value: object) -> datetime | None:
    return _wall_time(value, UTC)


class WalletRow(Wire):
    """One row of the plugin's wallet table, as `getAllTransactions` lists it.

    `balance` is the running balance after the row, as the plugin stored it;
    it can be wrong (see `postAddTransaction` races), so check the chain.
    `date` is read as Europe/Zurich wall time, which the plugin's own rows
    use; rows an admin booked from the browser or without a date hold UTC
    wall time, and nothing in the row tells them apart (up to 2 h off).
    `created_by` is the actor's billing name (" " for the bridge), not an id.
    """

    id: int
    user_id: int
    amount: Money
    balance: Money
    details: Text
    created_by: Text
    date: Annotated[datetime | None, BeforeValidator(_zurich)]
    type: Text = ""
    reported: Annotated[datetime | None, BeforeValidator(_utc)] = None
    user_name: Text = ""


@dataclass(frozen=True)
class AddedRow:
    """What `postAddTransaction` answered for a booking it stored."""

    id: int
    user_id: int
    member_name: str
    amount: Decimal
    balance: Decimal  # the member's running balance after this row
    details: str
    created_by: int
    type: str


def parse_wallet_row(raw: object, coop: str) -> WalletRow:
    if not isinstance(raw, Mapping):
        raise ShopItemInvalid(
            f"wallet row is {type(raw).__name__}, not an object", coop=coop
        )
    try:
        return WalletRow.model_validate(raw)
    except (ValidationError, ValueError, TypeError) as exc:
        problem = str(exc).splitlines()[0]
        raise ShopItemInvalid(
            f"wallet row {raw.get('id', '?')}: {problem}", coop=coop
        ) from None


def wire_amount(amount: Decimal) -> str:
    """The amount as the plugin reads it: plain digits with a point, 2 places.

    A decimal comma makes the plugin fail with 500, and more than two places
    would be rounded there unseen, so both are refused here.
    """
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise TypeError(f"a wallet amount must be a finite Decimal, not {amount!r}")
    if amount != amount.quantize(CENT):
        raise ValueError(f"{amount} CHF is not a whole number of Rappen")
    if abs(amount) > MAX_AMOUNT:
        raise ValueError(f"{amount} CHF does not fit the wallet's decimal(10,2)")

    return format(amount.quantize(CENT), "f")


class PluginClient:
    """Typed access to the plugin routes a bridge reads."""

    def __init__(self, shop: ShopClient) -> None:
        self.shop = shop

    def get(self, route: str, params: Mapping[str, object] | None = None) -> Any:
        """A GET route's answer, decoded twice when it is double-encoded."""
        return self.shop.call(
            "GET",
            route,
            params=params,
            namespace=PLUGIN_NAMESPACE,
            app_password=True,
            double_encoded=True,
        ).body

    def post(self, route: str, data: dict[str, Any]) -> Any:
        """A POST route's answer, decoded twice; never retried by the client."""
        return self.shop.call(
            "POST",
            route,
            data=data,
            namespace=PLUGIN_NAMESPACE,
            app_password=True,
            double_encoded=True,
        ).body

    def get_rounds(self) -> list[PluginRound]:
        """All ordering rounds; a malformed round raises instead of vanishing."""
        rows = self.get("getBestellrunden")
        if not isinstance(rows, list):
            raise ShopBadResponse(
                f"GET {PLUGIN_NAMESPACE}/getBestellrunden answered "
                f"{type(rows).__name__} instead of a list of rounds",
                coop=self.shop.coop,
            )

        rounds, problems = parse_many(rows, parse_round, self.shop.coop)
        if problems:
            raise problems[0]
        return rounds

    # -- wallet ---------------------------------------------------------------

    def wallet_rows(self) -> list[WalletRow]:
        """Every wallet row of every member, oldest first (by id)."""
        return self._rows("getAllTransactions", self.get("getAllTransactions"))

    def ledger_rows(self) -> list[LedgerRow]:
        """Every wallet row of every member, oldest first (by id), read straight
        into the ledger's `WalletRow` by `parse_ledger_row`.

        The plugin's JSON string is decoded here, not by the client, and each
        row is read as the decoder completes it: the million decoded objects
        are never held at once. The first malformed row raises
        `ShopItemInvalid` naming it, as a row left out would change every
        balance after it.
        """
        route = "getAllTransactions"
        coop = self.shop.coop
        answer = self.shop.call(
            "GET", route, namespace=PLUGIN_NAMESPACE, app_password=True
        ).body
        if isinstance(answer, str):
            answer = decode_rows(answer, route, coop)
        if not isinstance(answer, list):
            raise self._not_rows(route, answer)

        for i, raw in enumerate(answer):
            if not isinstance(raw, LedgerRow):
                answer[i] = parse_ledger_row(raw, coop)
        rows: list[LedgerRow] = answer
        rows.sort(key=attrgetter("id"))

        return rows

    def wallet_rows_of(self, user_id: int) -> list[WalletRow]:
        """One member's wallet rows, oldest first (by id)."""
        rows = self._rows(
            "getTransactions", self.post("getTransactions", {"id": user_id})
        )
        strangers = sorted({r.user_id for r in rows} - {user_id})
        if strangers:
            raise ShopBadResponse(
                f"getTransactions for member {user_id} answered rows of "
                f"members {strangers}",
                coop=self.shop.coop,
            )

        return rows

    def balance(self, user_id: int) -> Decimal | None:
        """The member's balance as the plugin shows it; None without any row."""
        answer = self.post("getBalance", {"id": user_id})
        if not isinstance(answer, list) or not answer:
            raise self._odd("getBalance", user_id, answer)
        if answer[0] is None:
            return None
        try:
            return parse_decimal(answer[0])
        except (TypeError, ValueError):
            raise self._odd("getBalance", user_id, answer) from None

    def add_transaction(
        self,
        user_id: int,
        amount: Decimal,
        details: str,
        type: str,
        created_by: int,
        when: datetime,
    ) -> AddedRow:
        """Book one wallet row for a member and check that the shop stored it.

        `when` is sent as Europe/Zurich wall time, like the plugin's own rows.
        The POST is not retried: after a timeout or a 5xx, read the member's
        rows before booking again, or the member is credited twice.
        """
        if type not in BOOKING_TYPES:
            raise ValueError(
                f"wallet type {type!r} is not one of {sorted(BOOKING_TYPES)}"
            )
        if when.tzinfo is None:
            raise ValueError("the booking time must be timezone-aware")
        data = {
            "user": user_id,
            "amount": wire_amount(amount),
            "date": when.astimezone(ZURICH).strftime(WALL_TIME),
            "details": details,
            "created_by": created_by,
            "type": type,
        }

        answer = self.post("postAddTransaction", data)
        return self._added(answer, user_id, amount)

    def _added(self, answer: object, user_id: int, amount: Decimal) -> AddedRow:
        """Check `[balance, name, id, amount, details, created_by, type]`."""
        if not isinstance(answer, list) or len(answer) != 7:
            raise self._odd("postAddTransaction", user_id, answer)
        balance, name, row_id, booked, details, created_by, kind = answer
        if not isinstance(row_id, int) or isinstance(row_id, bool):
            raise self._odd("postAddTransaction", user_id, answer)
        if row_id <= 0:
            raise WalletRowNotWritten(
                f"postAddTransaction for member {user_id} ({amount} CHF) answered "
                f"transaction id {row_id}: no wallet row was written. A fresh "
                "plugin install adds the wallet columns type/reported on the first "
                "wp-admin page load; open wp-admin once, then book again",
                coop=self.shop.coop,
            )
        try:
            added = AddedRow(
                id=row_id,
                user_id=user_id,
                member_name=str(name),
                amount=parse_decimal(booked),
                balance=parse_decimal(balance),
                details=str(details),
                created_by=int(created_by),
                type=str(kind),
            )
        except (TypeError, ValueError):
            raise self._odd("postAddTransaction", user_id, answer) from None
        if added.amount != amount:
            raise ShopBadResponse(
                f"postAddTransaction for member {user_id} booked {added.amount} CHF "
                f"as row {row_id} where {amount} CHF was sent",
                coop=self.shop.coop,
            )

        return added

    def _rows(self, route: str, raws: object) -> list[WalletRow]:
        if not isinstance(raws, list):
            raise self._not_rows(route, raws)
        rows, problems = parse_many(raws, parse_wallet_row, self.shop.coop)
        if problems:  # a row left out would change every balance after it
            raise problems[0]

        return sorted(rows, key=lambda r: r.id)

    def _not_rows(self, route: str, raws: object) -> ShopBadResponse:
        shape = "dict" if isinstance(raws, LedgerRow) else type(raws).__name__
        return ShopBadResponse(
            f"{route} answered {shape} instead of a list of wallet rows",
            coop=self.shop.coop,
        )

    def _odd(self, route: str, user_id: int, answer: object) -> ShopBadResponse:
        shown = repr(answer)[:120]
        return ShopBadResponse(
            f"{route} for member {user_id} answered an unexpected shape: {shown}",
            coop=self.shop.coop,
        )
