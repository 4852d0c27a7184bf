"""A bridge refund as WooCommerce takes it, and the refunds it gives back.

The request is the one shape WooCommerce 9.9.5 is proven to accept (T-09).
Answers are read leniently: a refund the shop stored differently from the
request must be seen and reported, not fail to parse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pot_bridge.money import ZERO, format_quantity, parse_decimal
from pot_bridge.refund_amount import Line, LineRefund

META_KEY = "_pot_bridge_refund"
# Refunds the bridge creates carry this in their reason, so that a refund the
# shop made but the bridge never heard back about is still known as its own.
BRIDGE_MARK = "[pot-bridge "


def marker(key: str) -> str:
    """The tag ending a bridge refund's reason; survives shops that drop meta."""
    return f"{BRIDGE_MARK}{hashlib.sha256(key.encode()).hexdigest()[:12]}]"


@dataclass(frozen=True)
class Seen:
    """A refund the shop holds; `detailed` is False for an order's summary."""

    id: int
    amount: Decimal
    reason: str
    key: object
    lines: Sequence[LineRefund]
    detailed: bool


def request(
    plan: LineRefund, key: str, reason: str, api_refund: bool
) -> dict[str, Any]:
    """The list shape WooCommerce 9.9.5 is recorded to honour (T-09).

    `key` is the row's: it goes in the meta and, as a marker, ends the reason.
    """
    return {
        "amount": str(plan.amount),
        "reason": f"{reason} {marker(key)}",
        "api_refund": api_refund,
        "line_items": [
            {
                "id": plan.item_id,
                "quantity": _quantity(plan.quantity),
                "refund_total": str(plan.total),
                "refund_tax": [
                    {"id": rate, "refund_total": str(amount)}
                    for rate, amount in sorted(plan.taxes.items())
                ],
            }
        ],
        "meta_data": [{"key": META_KEY, "value": key}],
    }


def _quantity(quantity: Decimal) -> int | str:
    """Whole quantities as JSON integers, as recorded; weights as exact text."""
    if quantity == quantity.to_integral_value():
        return int(quantity)
    return format_quantity(quantity)


def mismatch(plan: LineRefund, got: Seen) -> str | None:
    """How the stored refund differs from the request, or None if it does not."""
    lines = list(got.lines)
    same_line = len(lines) == 1 and (
        lines[0].item_id,
        lines[0].quantity,
        lines[0].total,
        lines[0].tax,
    ) == (plan.item_id, plan.quantity, plan.total, plan.tax)
    if same_line and got.amount == plan.amount:
        return None
    stored = "; ".join(back.describe() for back in lines) or "no lines"
    return f"{stored}, amount {got.amount}"


def line_of(order: Mapping[str, Any], item_id: int) -> Line | None:
    """The order's line `item_id` as sold, or None if the order has it no more."""
    for raw in order.get("line_items") or []:
        if int(raw["id"]) == item_id:
            return Line(
                id=item_id,
                name=str(raw.get("name") or ""),
                quantity=parse_decimal(raw.get("quantity")),
                total=parse_decimal(raw.get("total")),
                taxes=_taxes(raw.get("taxes"), sign=1),
            )
    return None


def _taxes(raw: object, *, sign: int) -> dict[int, Decimal]:
    """Per rate id, `taxes[].total` as Decimal (not rounded: 6 decimals)."""
    taxes: dict[int, Decimal] = {}
    for row in raw if isinstance(raw, list) else []:
        if isinstance(row, Mapping) and row.get("id") is not None:
            rate = int(row["id"])
            taxes[rate] = taxes.get(rate, ZERO) + sign * parse_decimal(row.get("total"))
    return taxes


def parse(raw: Mapping[str, Any]) -> Seen:
    """A refund as the refunds route sends it: lines negative, made positive."""
    meta = {
        row.get("key"): row.get("value")
        for row in raw.get("meta_data") or []
        if isinstance(row, Mapping)
    }
    lines = []
    for line in raw.get("line_items") or []:
        item = {
            row.get("key"): row.get("value")
            for row in line.get("meta_data") or []
            if isinstance(row, Mapping)
        }.get("_refunded_item_id")
        lines.append(
            LineRefund(
                item_id=int(str(item)) if str(item or "").isdigit() else 0,
                quantity=-parse_decimal(line.get("quantity")),
                total=-parse_decimal(line.get("total")),
                taxes=_taxes(line.get("taxes"), sign=-1),
            )
        )
    return Seen(
        id=int(raw["id"]),
        amount=parse_decimal(raw.get("amount")),
        reason=str(raw.get("reason") or ""),
        key=meta.get(META_KEY),
        lines=lines,
        detailed=True,
    )


def summaries(order: Mapping[str, Any], listed: Sequence[Any]) -> list[Seen]:
    """The order's own list of refunds, for those its refunds route left out."""
    ids = {int(raw["id"]) for raw in listed}
    return [
        Seen(
            id=int(row["id"]),
            amount=-parse_decimal(row.get("total")),
            reason=str(row.get("reason") or ""),
            key=None,
            lines=(),
            detailed=False,
        )
        for row in order.get("refunds") or []
        if int(row["id"]) not in ids
    ]
