"""Closing a round: build each producer's group order and queue its e-mail, once.

Everything for one round happens in one transaction: the group orders, the
queued mails (keyed by round and producer) and the round's `closed_at`. A crash
before the commit leaves nothing; a crash after it leaves a closed round whose
mails the outbox sends. Closing again finds the round closed and does nothing.
Rounds that closed longer ago than the catch-up window (before the bridge ran
for this coop, say) are marked closed without mail, so a first start never
floods producers with old rounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from pot_bridge import problems, producer_mail, shortfall
from pot_bridge.config import CoopConfig
from pot_bridge.group_order import GroupOrderView, build
from pot_bridge.group_order_store import save
from pot_bridge.minimum import below_minimum, cancel
from pot_bridge.store.schema import Round

log = structlog.get_logger(__name__)

CATCH_UP = timedelta(days=7)
# group orders whose goods come, so the distribution list holds them
HANDED_OUT = ("sent", "pooled")


@dataclass
class Closed:
    round_key: str
    group_orders: int = 0
    mails_queued: int = 0
    historic: bool = False
    without_contact: list[str] = field(default_factory=list)
    unknown_lines: int = 0
    already: bool = False


def close_round(
    session: Session,
    coop: CoopConfig,
    round_: Round,
    now: datetime,
    *,
    catch_up: timedelta = CATCH_UP,
) -> Closed:
    """Close one round (the caller commits); idempotent."""
    closed = Closed(round_key=round_.key)
    if round_.closed_at is not None:
        closed.already = True
        return closed

    if round_.closes_at < now - catch_up:
        round_.closed_at = now
        closed.historic = True
        log.info(
            "round.closed_historic",
            coop=coop.slug,
            round=round_.key,
            closes_at=round_.closes_at.isoformat(),
        )
        return closed

    built = build(session, coop, round_)
    closed.unknown_lines = len(built.unknown)
    if built.unknown:
        names = "; ".join(f"{u.name} (order {u.order_id})" for u in built.unknown[:20])
        problems.report(
            session,
            coop=coop.slug,
            kind="round.lines_without_producer",
            subject=round_.key,
            message=f"{len(built.unknown)} line(s) of {round_.name} went to no "
            f"producer: {names}",
            now=now,
        )

    delivered = []
    for view in built.views:
        outcome = place(session, coop, round_, view, now)
        closed.group_orders += 1
        closed.mails_queued += outcome.mailed
        if outcome.without_contact:
            closed.without_contact.append(view.producer)
        if outcome.status in HANDED_OUT:
            delivered.append(outcome.view)
    if producer_mail.queue_distribution(session, coop, round_.key, delivered, now):
        closed.mails_queued += 1

    round_.closed_at = now
    session.flush()
    log.info(
        "round.closed",
        coop=coop.slug,
        round=round_.key,
        group_orders=closed.group_orders,
        mails_queued=closed.mails_queued,
        without_contact=closed.without_contact,
        unknown_lines=closed.unknown_lines,
    )
    return closed


def prepare(session: Session, coop: CoopConfig, round_: Round, now: datetime) -> int:
    """Lay out a round's documents before it is closed, outside any write lock.

    Reads only. The closing transaction builds the same group orders and finds
    their PDFs ready (see `producer_mail`); should an order change in between,
    it lays out the new ones itself. Returns the number of documents made.
    """
    if round_.closed_at is not None or round_.closes_at < now - CATCH_UP:
        return 0

    handed_out = []
    made = 0
    for view in build(session, coop, round_).views:
        contact = coop.producer(view.producer)
        if below_minimum(view, contact) is not None:
            continue
        handed_out.append(view)
        if contact is not None and contact.email and not contact.consolidate:
            producer_mail.attachments(view, contact, coop)
            made += 1
    if coop.admin_email and handed_out:
        producer_mail.distribution_attachment(coop, handed_out)
        made += 1
    return made


@dataclass(frozen=True)
class Placed:
    view: GroupOrderView
    status: str
    mailed: int
    without_contact: bool = False


def place(
    session: Session,
    coop: CoopConfig,
    round_: Round,
    view: GroupOrderView,
    now: datetime,
) -> Placed:
    """Decide what becomes of one producer's group order, and queue what it causes.

    Below the producer's minimum it is held for the admin, or cancelled, by the
    coop's `below_minimum`; a producer who takes one order for all coops gets
    it pooled for the consolidated mail; else the producer's mail is queued.
    Members who get less than they ordered are queued for a refund.
    """
    contact = coop.producer(view.producer)
    minimum = below_minimum(view, contact)
    mailed = 0
    if minimum is not None:
        status = "held" if coop.below_minimum == "hold" else "cancelled"
        if status == "cancelled":
            view = cancel(view)
        mailed += producer_mail.queue_minimum_notice(session, coop, view, minimum, now)
        problems.report(
            session,
            coop=coop.slug,
            kind=f"group_order.below_minimum_{status}",
            subject=f"{round_.key}:{view.producer}",
            message=f"{view.producer} in {round_.name}: {view.total} CHF is below "
            f"the minimum; the order is {status}",
            now=now,
        )
    elif contact is not None and contact.consolidate and contact.identity:
        status = "pooled"
    else:
        status = "sent"

    save(session, round_, view, now, status=status)
    log.info(
        "group_order.placed",
        coop=coop.slug,
        round=round_.key,
        producer=view.producer,
        status=status,
        total=str(view.total),
    )
    if status == "held":
        return Placed(view, status, mailed)

    shortfall.plan(session, coop, round_.key, view.shares, now)
    if status != "sent":
        return Placed(view, status, mailed)

    if contact is None or not contact.email:
        problems.report(
            session,
            coop=coop.slug,
            kind="producer.no_contact",
            subject=view.producer,
            message=f"producer {view.producer!r} has a group order in "
            f"{round_.name} ({view.total} CHF) but no e-mail address in the "
            "configuration; add a [[coop.producer]] entry",
            now=now,
        )
        return Placed(view, status, mailed, without_contact=True)

    if not any(line.quantity for line in view.lines):
        # packs rounded every product down to nothing: members are refunded,
        # and the producer is not asked for an order of zeros
        log.info(
            "group_order.nothing_to_order",
            coop=coop.slug,
            round=round_.key,
            producer=view.producer,
        )
        return Placed(view, status, mailed)

    producer_mail.queue_order(session, coop, view, contact, now)
    return Placed(view, status, mailed + 1)
