"""The lean way to read the plugin's whole wallet: each row straight from the
decoded JSON into the ledger's slotted `WalletRow`, as the decoder completes
it. A big coop's wallet has a million rows; as pydantic models they took 1.4 KB
each, and the nightly reconciliation held them all.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from contextlib import suppress
from datetime import datetime
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from pot_bridge.errors import ShopBadResponse
from pot_bridge.ledger.wallet_rows import NO_DATE
from pot_bridge.ledger.wallet_rows import WalletRow as LedgerRow
from pot_bridge.money import parse_decimal
from pot_bridge.shop.wire import ShopItemInvalid

ZURICH = ZoneInfo("Europe/Zurich")
# what may stand before a JSON text (as `shop.reply` strips it)
_BLANK = " \t\r\n\ufeff"
T = TypeVar("T")


def _wall_time(value: object) -> datetime | None:
    """A stored "Y-m-d H:i:s" as Zurich time; MariaDB's zero date is None."""
    if value is None or value == "" or str(value).startswith("0000-00-00"):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=ZURICH)

    return datetime.fromisoformat(str(value)).replace(tzinfo=ZURICH)


def parse_ledger_row(raw: object, coop: str) -> LedgerRow:
    """A wallet row from the decoded JSON straight into the ledger's `WalletRow`,
    without the model's 1.4 KB a row: a big coop's wallet has a million.

    Checks what `parse_wallet_row` checks (fields present, amounts exact and
    finite, text, dates readable, `reported` and `user_name` too) and gives what
    `to_ledger_row` makes of it: the stored wall time without a zone, a zero
    date as `NO_DATE`. Stricter on ids: the model also takes `"5.0"` or `true`.
    """
    if not isinstance(raw, Mapping):
        raise ShopItemInvalid(
            f"wallet row is {type(raw).__name__}, not an object", coop=coop
        )
    try:
        row = LedgerRow(
            id=_field(raw, "id", _whole),
            user_id=_field(raw, "user_id", _whole),
            amount=_field(raw, "amount", _exact),
            balance=_field(raw, "balance", _exact),
            details=_field(raw, "details", _plain),
            created_by=sys.intern(_field(raw, "created_by", _plain)),
            date=_field(raw, "date", _naive_wall_time),
            type=sys.intern(_field(raw, "type", _plain, required=False)),
        )
        _field(raw, "reported", _naive_wall_time, required=False)
        _field(raw, "user_name", _plain, required=False)
    except ValueError as exc:
        label = raw.get("id", "?")
        raise ShopItemInvalid(f"wallet row {label}: {exc}", coop=coop) from None

    return row


def _field(
    raw: Mapping[str, object],
    name: str,
    read: Callable[[object], T],
    *,
    required: bool = True,
) -> T:
    """One field read by `read`; what is wrong is named with the field. A
    field not required reads as null when it is missing."""
    if required and name not in raw:
        raise ValueError(f"{name} is missing")
    try:
        return read(raw.get(name))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: {exc}") from None


def _whole(value: object) -> int:
    """An id: an int, or ASCII digits with an optional sign."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and "_" not in value:
        with suppress(ValueError):
            return int(value)
    raise ValueError(f"not a whole number: {value!r}")


def _exact(value: object) -> Decimal:
    """Money as `Money` reads it: exact, no float, finite."""
    amount = parse_decimal(value)
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")

    return amount


def _plain(value: object) -> str:
    """Text as `Text` reads it: null is empty, a number its digits."""
    if value is None:
        return ""
    if isinstance(value, str | int | float | Decimal) and not isinstance(value, bool):
        return str(value)  # a str subclass made plain, as `sys.intern` needs
    raise TypeError(f"{type(value).__name__} is not text")


def _naive_wall_time(value: object) -> datetime:
    """A stored "Y-m-d H:i:s" as the naive wall time; the zero date `NO_DATE`."""
    moment = _wall_time(value)

    return NO_DATE if moment is None else moment.replace(tzinfo=None)


def decode_rows(text: str, route: str, coop: str) -> object:
    """The plugin's JSON inside the REST server's JSON string, decoded with each
    object that has an `id` read as a row (the others are left for the check)."""

    def row(raw: dict[str, object]) -> object:
        return parse_ledger_row(raw, coop) if "id" in raw else raw

    try:
        return json.loads(
            text.lstrip(_BLANK),
            parse_float=Decimal,
            parse_constant=_no_constant,
            object_hook=row,
        )
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ShopBadResponse(
            f"{route} answered a string that is not JSON: {reason}", coop=coop
        ) from None


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is no number")
