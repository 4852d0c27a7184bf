"""Group orders kept in the store: what each producer was told, and when.

A round's group order is saved once, when the round closes; a later build
replaces its lines and shares, as a new version when the producer must hear of
it. The content hash tells whether the producer's side changed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge.group_order import GroupOrderView, ProductTotal
from pot_bridge.store.schema import GroupOrder, GroupOrderLine, MemberShare, Round

# What a stored line keeps of a `ProductTotal`, under the same names.
_LINE_FIELDS = (
    "product_id",
    "sku",
    "pot_id",
    "name",
    "unit",
    "pack_size",
    "packs",
    "ordered",
    "quantity",
    "unit_price",
    "amount",
)


def save(
    session: Session,
    round_: Round,
    view: GroupOrderView,
    now: datetime,
    *,
    status: str = "sent",
) -> GroupOrder:
    """Keep the group order as built, or return the one this round has already."""
    exists = find(session, round_, view.producer)
    if exists is not None:
        return exists

    row = GroupOrder(
        round_pk=round_.id,
        producer=view.producer,
        status=status,
        version=1,
        total=view.total,
        content_hash=content_hash(view),
        built_at=now,
    )
    _fill(row, view)
    session.add(row)
    session.flush()
    return row


def update(
    row: GroupOrder, view: GroupOrderView, now: datetime, *, new_version: bool
) -> None:
    """Replace a group order's lines and shares with a newer build."""
    row.lines.clear()
    row.shares.clear()
    _fill(row, view)
    row.total = view.total
    row.content_hash = content_hash(view)
    row.built_at = now
    if new_version:
        row.version += 1


def _fill(row: GroupOrder, view: GroupOrderView) -> None:
    for position, line in enumerate(view.lines):
        row.lines.append(GroupOrderLine(position=position, **_line_fields(line)))
    for share in view.shares:
        row.shares.append(
            MemberShare(
                order_id=share.order_id,
                item_id=share.item_id,
                product_id=share.product_id,
                customer_id=share.customer_id,
                member_name=share.member_name,
                pickup_place=share.pickup_place,
                ordered=share.ordered,
                allocated=share.allocated,
                reason=share.reason,
            )
        )


def find(session: Session, round_: Round, producer: str) -> GroupOrder | None:
    return session.scalars(
        select(GroupOrder).where(
            GroupOrder.round_pk == round_.id, GroupOrder.producer == producer
        )
    ).one_or_none()


def stored_lines(row: GroupOrder) -> tuple[ProductTotal, ...]:
    """What the producer was last told, to show a correction's changes."""
    return tuple(ProductTotal(**_line_fields(line)) for line in row.lines)


def _line_fields(line: ProductTotal | GroupOrderLine) -> dict[str, Any]:
    return {name: getattr(line, name) for name in _LINE_FIELDS}


def content_hash(view: GroupOrderView) -> str:
    """A fingerprint of what the producer was told, to see later changes.

    Only the producer's side counts: who of the members gets what may change
    (a short delivery) without the producer hearing of it again.
    """
    text = "\n".join(
        f"{p.product_id}|{p.sku}|{p.name}|{p.unit}|{p.pack_size}|{p.packs}|"
        f"{p.quantity}|{p.amount}"
        for p in view.lines
    )
    return hashlib.sha256(text.encode()).hexdigest()
