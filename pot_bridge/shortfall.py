"""What members do not get becomes a refund on their order line, asked for once.

A member line that gets less than it ordered (fewer packs, a short delivery, a
producer below its minimum) should have been refunded the difference in total.
This module writes that intent into the store, in the transaction that decided
it; `shop_refund.push` then creates the refunds in the shop. The key names the
line and the total it should have been refunded, so deciding the same thing
again asks for nothing more, and a later, larger shortfall asks only for the
difference.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge import problems
from pot_bridge.config import CoopConfig
from pot_bridge.group_order import Share
from pot_bridge.money import ZERO, format_quantity
from pot_bridge.store.schema import ShopRefund

log = structlog.get_logger(__name__)

# The POT plugin's own wording for goods not delivered, so the wallet row the
# plugin writes for the refund reads as members know it.
REASON = "Mutation: Produkt nicht geliefert ({name})"


def plan(
    session: Session,
    coop: CoopConfig,
    round_key: str,
    shares: Iterable[Share],
    now: datetime,
) -> int:
    """Queue the refunds these shares call for; the count of new ones."""
    shares = list(shares)
    already = _asked(session, coop.slug, {s.order_id for s in shares})
    queued = 0
    for share in shares:
        target = max(share.ordered - share.allocated, ZERO)
        asked = already.get((share.order_id, share.item_id), ZERO)
        if target == asked:
            continue
        if target < asked:
            # the member now gets more than was refunded (a short delivery
            # entered again higher, an order refunded after close): no money
            # is taken back in silence, the admin decides
            problems.report(
                session,
                coop=coop.slug,
                kind="refund.more_than_due",
                subject=f"order {share.order_id} line {share.item_id}",
                message=f"{share.member_name} was refunded "
                f"{format_quantity(asked)} of {share.name!r} (order "
                f"{share.order_id}) but now misses only {format_quantity(target)}: "
                "keep the extra goods as the coop's stock, or charge the member "
                "by hand",
                now=now,
            )
            log.warning(
                "refund.more_than_due",
                coop=coop.slug,
                order_id=share.order_id,
                item_id=share.item_id,
                refunded=str(asked),
                due=str(target),
            )
            continue

        session.add(
            ShopRefund(
                key=f"shortfall:{coop.slug}:{share.order_id}:{share.item_id}:{target}",
                coop=coop.slug,
                round_key=round_key,
                order_id=share.order_id,
                item_id=share.item_id,
                product_name=share.name,
                quantity=target - asked,
                reason=REASON.format(name=share.name),
                status="pending",
                attempts=0,
                last_error="",
                created_at=now,
            )
        )
        queued += 1
        log.info(
            "refund.planned",
            coop=coop.slug,
            round=round_key,
            order_id=share.order_id,
            item_id=share.item_id,
            quantity=str(target - asked),
        )
    session.flush()
    return queued


def _asked(
    session: Session, coop: str, order_ids: set[int]
) -> dict[tuple[int, int], Decimal]:
    """Per order line, what the bridge has asked to refund of it so far.

    Failed refunds count too: the admin is told of them and decides, rather
    than the bridge asking the shop again at every poll.
    """
    asked: dict[tuple[int, int], Decimal] = {}
    ids = sorted(order_ids)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(ShopRefund.order_id, ShopRefund.item_id, ShopRefund.quantity).where(
                ShopRefund.coop == coop,
                ShopRefund.order_id.in_(ids[start : start + 500]),
            )
        )
        for order_id, item_id, quantity in rows:
            key = (order_id, item_id)
            asked[key] = asked.get(key, ZERO) + quantity
    return asked
