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
from pot_bridge.store.schema import Delivery, GroupOrder, GroupOrderLine, Round

log = structlog.get_logger(__name__)


class DeliveryError(PotBridgeError):
    """Delivered quantities that cannot be matched or read."""


@dataclass(frozen=True)
class Entered:
    products: int
    corrected: Corrected
    matched: tuple[str, ...] = ()


def parse_pairs(pairs: list[str]) -> dict[str, Decimal]:
    """`SKU=QUANTITY` arguments, as typed on the command line."""
    result: dict[str, Decimal] = {}
    for pair in pairs:
        product, sep, quantity = pair.partition("=")
        if not sep or not product.strip():
            raise DeliveryError(f"{pair!r}: write SKU=QUANTITY, e.g. BROT-1=4")
        _put(result, product.strip(), _quantity(quantity, pair), pair)
    return result


def read_csv(path: Path) -> dict[str, Decimal]:
    """A CSV with a header naming `sku` (or `pot_id`, `product_id`) and `delivered`.

    Excel's forms are read too: `;` or `,` or tabs, a BOM, a first line `sep=;`.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DeliveryError(
            f"{path}: is not UTF-8 text; save it as 'CSV UTF-8' and try again"
        ) from None
    except OSError as exc:
        raise DeliveryError(f"{path}: cannot be read: {exc}") from exc

    lines = text.splitlines()
    delimiter = None
    if lines and lines[0].lower().startswith("sep=") and len(lines[0]) == 5:
        delimiter, lines = lines[0][4], lines[1:]
    if not lines:
        raise DeliveryError(
            f"{path}: is empty; it needs a header and one row a product"
        )
    header = lines[0]
    delimiter = delimiter or max(";,\t", key=header.count)
    rows = csv.DictReader(io.StringIO("\n".join(lines)), delimiter=delimiter)
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
    try:
        for number, row in enumerate(rows, start=2):
            product = (row.get(key) or "").strip()
            if product:
                where = f"{path}:{number}"
                _put(result, product, _quantity(row.get(amount) or "", where), where)
    except csv.Error as exc:
        raise DeliveryError(f"{path}: not a readable CSV: {exc}") from None
    if not result:
        raise DeliveryError(f"{path}: has a header but no product rows")
    return result


def _put(result: dict[str, Decimal], product: str, value: Decimal, where: str) -> None:
    if product in result and result[product] != value:
        raise DeliveryError(f"{where}: {product!r} is given twice, with two quantities")
    result[product] = value


MAX_QUANTITY = Decimal(1_000_000)


def _quantity(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise DeliveryError(f"{where}: {text!r} is not a quantity") from None
    if (
        not value.is_finite()
        or value < 0
        or value > MAX_QUANTITY
        or value != value.quantize(Decimal("0.001"))
    ):
        raise DeliveryError(
            f"{where}: {text!r} is not a quantity (0 to 1000000, at most three "
            "decimals)"
        )
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

    matched = {}
    for given, quantity in delivered.items():
        line = _line_for(coop, round_, row, given)
        matched[line.product_id] = (line.name, line.sku, quantity)
        _upsert(session, round_, producer, line.product_id, quantity, now)

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
    return Entered(
        products=len(delivered),
        corrected=corrected,
        matched=tuple(
            f"{name} ({sku or product_id}): {quantity}"
            for product_id, (name, sku, quantity) in matched.items()
        ),
    )


def _line_for(
    coop: CoopConfig, round_: Round, row: GroupOrder, given: str
) -> GroupOrderLine:
    """The product an admin means: by SKU, else POT ID, else product id, never two."""
    for kind, of in (
        ("SKU", lambda li: li.sku),
        ("POT ID", lambda li: li.pot_id),
        ("product id", lambda li: str(li.product_id)),
    ):
        found = [line for line in row.lines if of(line) and of(line) == given]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise DeliveryError(
                f"coop {coop.slug!r}: {given!r} is the {kind} of several products "
                f"of {row.producer!r} in {round_.key}; give another key"
            )
    raise DeliveryError(
        f"coop {coop.slug!r}: {row.producer!r} has no product {given!r} in "
        f"{round_.key} (give its SKU, POT ID or product id)"
    )


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
