"""Short deliveries: what a producer really brought, entered by an admin.

The admin gives delivered quantities per product (by SKU, POT ID or product
id), on the command line or as a CSV with the columns `sku` and `delivered`.
They are kept per round and producer; the round's member shares are then
worked out again, so members who get less are refunded the difference once.
The producer is not mailed: the order they received stays what it was.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge.config import CoopConfig
from pot_bridge.correction import Corrected, correct_round
from pot_bridge.errors import PotBridgeError
from pot_bridge.store.schema import Delivery, GroupOrder, Round

log = structlog.get_logger(__name__)


class DeliveryError(PotBridgeError):
    """Delivered quantities that cannot be matched or read."""


@dataclass(frozen=True)
class Entered:
    products: int
    corrected: Corrected


def parse_pairs(pairs: list[str]) -> dict[str, Decimal]:
    """`SKU=QUANTITY` arguments, as typed on the command line."""
    result: dict[str, Decimal] = {}
    for pair in pairs:
        product, sep, quantity = pair.partition("=")
        if not sep or not product.strip():
            raise DeliveryError(f"{pair!r}: write SKU=QUANTITY, e.g. BROT-1=4")
        result[product.strip()] = _quantity(quantity, pair)
    return result


def read_csv(path: Path) -> dict[str, Decimal]:
    """A CSV with a header naming `sku` (or `pot_id`, `product_id`) and `delivered`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DeliveryError(f"{path}: cannot be read: {exc}") from exc
    dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", ";,\t")
    rows = csv.DictReader(io.StringIO(text), dialect=dialect)
    fields = {(f or "").strip().lower(): f for f in rows.fieldnames or []}
    key = next(
        (fields[k] for k in ("sku", "pot_id", "product_id") if k in fields), None
    )
    amount = fields.get("delivered")
    if key is None or amount is None:
        raise DeliveryError(
            f"{path}: the header needs a 'sku' (or 'pot_id', 'product_id') and a "
            f"'delivered' column; it has {', '.join(fields) or 'none'}"
        )
    result: dict[str, Decimal] = {}
    for number, row in enumerate(rows, start=2):
        product = (row.get(key) or "").strip()
        if product:
            result[product] = _quantity(row.get(amount) or "", f"{path}:{number}")
    return result


def _quantity(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise DeliveryError(f"{where}: {text!r} is not a quantity") from None
    if not value.is_finite() or value < 0:
        raise DeliveryError(f"{where}: {text!r} is not a quantity")
    return value


def enter(
    session: Session,
    coop: CoopConfig,
    round_: Round,
    producer: str,
    delivered: Mapping[str, Decimal],
    now: datetime,
) -> Entered:
    """Keep what was delivered and share it among the members again."""
    row = session.scalars(
        select(GroupOrder).where(
            GroupOrder.round_pk == round_.id, GroupOrder.producer == producer
        )
    ).one_or_none()
    if row is None:
        known = ", ".join(g.producer for g in round_.group_orders) or "none"
        raise DeliveryError(
            f"coop {coop.slug!r}: round {round_.key} has no group order of "
            f"{producer!r} (it has: {known})"
        )

    by_name = _product_ids(row)
    for name, quantity in delivered.items():
        product_id = by_name.get(name)
        if product_id is None:
            raise DeliveryError(
                f"coop {coop.slug!r}: {producer!r} has no product {name!r} in "
                f"{round_.key} (give its SKU, POT ID or product id)"
            )
        _upsert(session, round_, producer, product_id, quantity, now)

    session.flush()
    corrected = correct_round(session, coop, round_, now)
    log.info(
        "delivery.entered",
        coop=coop.slug,
        round=round_.key,
        producer=producer,
        products=len(delivered),
        refunds_planned=corrected.refunds_planned,
    )
    return Entered(products=len(delivered), corrected=corrected)


def _product_ids(row: GroupOrder) -> dict[str, int]:
    names: dict[str, int] = {}
    for line in row.lines:
        names[str(line.product_id)] = line.product_id
        if line.pot_id:
            names[line.pot_id] = line.product_id
        if line.sku:
            names[line.sku] = line.product_id
    return names


def _upsert(
    session: Session,
    round_: Round,
    producer: str,
    product_id: int,
    quantity: Decimal,
    now: datetime,
) -> None:
    row = session.scalars(
        select(Delivery).where(
            Delivery.round_pk == round_.id,
            Delivery.producer == producer,
            Delivery.product_id == product_id,
        )
    ).one_or_none()
    if row is None:
        row = Delivery(round_pk=round_.id, producer=producer, product_id=product_id)
        session.add(row)
    row.delivered = quantity
    row.entered_at = now
