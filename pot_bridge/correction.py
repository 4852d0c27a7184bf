"""Changes after a round closed: a correction to the producer, new refunds, once.

A late refund, an admin's edit or a re-order can change a closed round. After
each pull, every closed round still before its distribution day is built again
if any of its orders changed since its group orders were built. A producer
whose order changed gets one correction mail with what changed and the new
totals; an unchanged producer hears nothing more. Who of the members gets what
is kept up to date too, and any new shortfall is queued for a refund.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pot_bridge import problems, producer_mail, shortfall
from pot_bridge.close import HANDED_OUT, place
from pot_bridge.config import CoopConfig
from pot_bridge.group_order import Deliveries, GroupOrderView, build, empty_view
from pot_bridge.group_order_store import content_hash, stored_lines, update
from pot_bridge.minimum import cancel
from pot_bridge.store.schema import Delivery, GroupOrder, Order, Refund, Round

log = structlog.get_logger(__name__)

# Without a distribution day, a closed round is watched this long.
WATCH = timedelta(days=7)


@dataclass
class Corrected:
    rounds: int = 0
    corrections: int = 0
    new_group_orders: int = 0
    refunds_planned: int = 0
    producers: list[str] = field(default_factory=list)


def watched_rounds(session: Session, coop: CoopConfig, now: datetime) -> list[Round]:
    """Closed rounds whose goods have not been handed out yet."""
    today = now.astimezone(coop.zone).date()
    rounds = session.scalars(
        select(Round)
        .where(Round.coop == coop.slug, Round.closed_at.is_not(None))
        .where(Round.closes_at > now - timedelta(days=60))
        .order_by(Round.closes_at)
    )
    return [
        r
        for r in rounds
        if r.group_orders
        and (
            r.distribution_day >= today
            if r.distribution_day is not None
            else r.closes_at + WATCH > now
        )
    ]


def correct(session: Session, coop: CoopConfig, now: datetime) -> Corrected:
    """Look at every watched round whose orders changed since it was built."""
    result = Corrected()
    for round_ in watched_rounds(session, coop, now):
        if not _changed_since_built(session, coop, round_):
            continue
        correct_round(session, coop, round_, now, result)
    return result


def _changed_since_built(session: Session, coop: CoopConfig, round_: Round) -> bool:
    built = min(g.built_at for g in round_.group_orders)
    order_change = session.scalar(
        select(func.max(Order.synced_at)).where(
            Order.coop == coop.slug, Order.round_key == round_.key
        )
    )
    refund_change = session.scalar(
        select(func.max(Refund.synced_at))
        .join(Order, (Order.order_id == Refund.order_id) & (Order.coop == Refund.coop))
        .where(Order.coop == coop.slug, Order.round_key == round_.key)
    )
    delivery_change = session.scalar(
        select(func.max(Delivery.entered_at)).where(Delivery.round_pk == round_.id)
    )
    latest = [t for t in (order_change, refund_change, delivery_change) if t]
    return any(t > built for t in latest)


def deliveries_of(session: Session, round_: Round) -> Deliveries:
    rows = session.scalars(select(Delivery).where(Delivery.round_pk == round_.id))
    return {(d.producer, d.product_id): d.delivered for d in rows}


def correct_round(
    session: Session,
    coop: CoopConfig,
    round_: Round,
    now: datetime,
    result: Corrected | None = None,
) -> Corrected:
    """Build a closed round again and act on each producer's difference."""
    result = result or Corrected()
    result.rounds += 1
    built = build(session, coop, round_, deliveries=deliveries_of(session, round_))
    views = {view.producer: view for view in built.views}

    for row in list(round_.group_orders):
        view = views.pop(row.producer, None) or empty_view(coop, round_, row.producer)
        if row.status == "cancelled":
            view = cancel(view)
        _correct_one(session, coop, round_, row, view, now, result)

    for view in views.values():
        place(session, coop, round_, view, now)
        result.new_group_orders += 1
        result.producers.append(view.producer)
    session.flush()

    distribution_update(session, coop, round_, now, built.views)
    return result


def distribution_update(
    session: Session,
    coop: CoopConfig,
    round_: Round,
    now: datetime,
    built: Sequence[GroupOrderView] | None = None,
) -> bool:
    """Queue the distribution list again if who collects what has changed.

    `built` is the whole round as just built, when the caller has it.
    """
    session.flush()
    session.expire(round_, ["group_orders"])
    handed = {g.producer for g in round_.group_orders if g.status in HANDED_OUT}
    if built is None:
        deliveries = deliveries_of(session, round_)
        built = build(session, coop, round_, deliveries=deliveries).views
    views = [view for view in built if view.producer in handed]
    return producer_mail.queue_distribution(session, coop, round_.key, views, now)


def _correct_one(
    session: Session,
    coop: CoopConfig,
    round_: Round,
    row: GroupOrder,
    view: GroupOrderView,
    now: datetime,
    result: Corrected,
) -> None:
    changed = content_hash(view) != row.content_hash
    contact = coop.producer(row.producer)
    if changed and row.status == "sent" and contact and contact.email:
        previous = stored_lines(row)
        update(row, view, now, new_version=True)
        producer_mail.queue_correction(
            session, coop, previous, view, row.version, contact, now
        )
        result.corrections += 1
        result.producers.append(row.producer)
        log.info(
            "group_order.corrected",
            coop=coop.slug,
            round=round_.key,
            producer=row.producer,
            version=row.version,
            total=str(view.total),
        )
    else:
        update(row, view, now, new_version=False)

    if row.status in ("sent", "pooled", "cancelled"):
        result.refunds_planned += shortfall.plan(
            session, coop, round_.key, view.shares, now
        )


def decide_held(
    session: Session,
    coop: CoopConfig,
    round_: Round,
    producer: str,
    decision: str,
    now: datetime,
) -> GroupOrder:
    """The admin's word on a group order held below its minimum: release or cancel."""
    row = next((g for g in round_.group_orders if g.producer == producer), None)
    if row is None:
        known = ", ".join(g.producer for g in round_.group_orders) or "none"
        raise LookupError(
            f"coop {coop.slug!r}: round {round_.key} has no group order of "
            f"{producer!r} (it has: {known})"
        )
    if row.status != "held":
        raise LookupError(
            f"coop {coop.slug!r}: the group order of {producer!r} in {round_.key} "
            f"is {row.status}, not held"
        )

    built = build(
        session,
        coop,
        round_,
        deliveries=deliveries_of(session, round_),
        producer=producer,
    )
    view = built.views[0] if built.views else empty_view(coop, round_, row.producer)
    if decision == "cancel":
        view = cancel(view)
        row.status = "cancelled"
    else:
        contact = coop.producer(producer)
        row.status = "pooled" if contact and contact.consolidate else "sent"
        if row.status == "sent":
            if contact is None or not contact.email:
                raise LookupError(
                    f"coop {coop.slug!r}: producer {producer!r} has no e-mail "
                    "address in the configuration"
                )
            producer_mail.queue_order(session, coop, view, contact, now)
    update(row, view, now, new_version=False)
    shortfall.plan(session, coop, round_.key, view.shares, now)
    problems.resolve(
        session,
        coop=coop.slug,
        kind="group_order.below_minimum_held",
        subject=f"{round_.key}:{producer}",
        now=now,
    )
    distribution_update(session, coop, round_, now)
    log.info(
        "group_order.decided",
        coop=coop.slug,
        round=round_.key,
        producer=producer,
        status=row.status,
    )
    return row


def resend(
    session: Session, coop: CoopConfig, round_: Round, producer: str, now: datetime
) -> int:
    """Queue the producer's current group order again, by an admin's hand."""
    row = next((g for g in round_.group_orders if g.producer == producer), None)
    contact = coop.producer(producer)
    if row is None or row.status != "sent" or contact is None or not contact.email:
        raise LookupError(
            f"coop {coop.slug!r}: no sent group order of {producer!r} in "
            f"{round_.key} to resend, or no e-mail address for it"
        )
    built = build(
        session,
        coop,
        round_,
        deliveries=deliveries_of(session, round_),
        producer=producer,
    )
    view = built.views[0] if built.views else empty_view(coop, round_, row.producer)
    return producer_mail.queue_resend(session, coop, view, contact, now)
