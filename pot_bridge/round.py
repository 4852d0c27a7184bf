"""Ordering rounds: where they come from, which orders they hold, when they close.

A round is a window [opens_at, closes_at) in UTC. With the POT plugin it comes
from the plugin's `bestellrunden` (dates only, in the coop's time zone, the end
day inclusive); without it, from a weekly deadline in the configuration. Orders
carry the plugin's round id when the classic checkout saved it; the block
checkout does not, so such orders go into the one round whose window holds their
creation time, and are reported when none or several fit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pot_bridge import problems
from pot_bridge.config import CoopConfig, ScheduleConfig
from pot_bridge.shop.wire import PluginRound
from pot_bridge.store.schema import Order, Round

log = structlog.get_logger(__name__)

WEEKDAYS = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
]


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of a local day, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def upsert_plugin_rounds(
    session: Session, coop: CoopConfig, rounds: Iterable[PluginRound]
) -> int:
    """Mirror the plugin's rounds; a round's dates may still move while open."""
    count = 0
    for plugin_round in rounds:
        key = f"plugin:{plugin_round.id}"
        opens_at = local_midnight(plugin_round.start, coop.zone)
        closes_at = local_midnight(plugin_round.end + timedelta(days=1), coop.zone)
        row = find_round(session, coop.slug, key)
        if row is None:
            row = Round(
                coop=coop.slug,
                key=key,
                name=plugin_round.name,
                opens_at=opens_at,
                closes_at=closes_at,
                distribution_day=plugin_round.distribution,
            )
            session.add(row)
        elif row.closed_at is None:
            row.name = plugin_round.name
            row.opens_at, row.closes_at = opens_at, closes_at
            row.distribution_day = plugin_round.distribution
        count += 1
    session.flush()
    return count


def deadline_after(
    moment: datetime, schedule: ScheduleConfig, zone: ZoneInfo
) -> datetime:
    """The first weekly deadline strictly after `moment`, in UTC."""
    local = moment.astimezone(zone)
    days_ahead = (WEEKDAYS.index(schedule.weekday) - local.weekday()) % 7
    day = local.date() + timedelta(days=days_ahead)
    deadline = datetime.combine(day, schedule.time, tzinfo=zone)
    if deadline <= local:
        deadline = datetime.combine(day + timedelta(days=7), schedule.time, tzinfo=zone)
    return deadline.astimezone(UTC)


def schedule_round(
    session: Session,
    coop: CoopConfig,
    moment: datetime,
    cache: dict[str, Round] | None = None,
) -> Round:
    """The scheduled round that holds `moment`, created on first need."""
    assert coop.schedule is not None
    closes_at = deadline_after(moment, coop.schedule, coop.zone)
    local_deadline = closes_at.astimezone(coop.zone)
    key = f"schedule:{local_deadline.date().isoformat()}"
    row = cache.get(key) if cache is not None else None
    row = row or find_round(session, coop.slug, key)
    if row is not None:
        return row

    opens_local = datetime.combine(
        local_deadline.date() - timedelta(days=7), coop.schedule.time, tzinfo=coop.zone
    )
    distribution = local_deadline.date() + timedelta(
        days=coop.schedule.distribution_offset_days
    )
    row = Round(
        coop=coop.slug,
        key=key,
        name=f"Round {local_deadline:%Y-%m-%d}",
        opens_at=opens_local.astimezone(UTC),
        closes_at=closes_at,
        distribution_day=distribution,
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class Assignment:
    assigned: int
    unassigned: int


def assign_orders(session: Session, coop: CoopConfig, now: datetime) -> Assignment:
    """Give every order of an open round (or of none yet) its round."""
    if coop.rounds == "schedule":
        schedule_round(session, coop, now)
    rounds = list(session.scalars(select(Round).where(Round.coop == coop.slug)))
    by_key = {r.key: r for r in rounds}
    open_keys = [r.key for r in rounds if r.closed_at is None]
    orders = session.scalars(
        select(Order).where(
            Order.coop == coop.slug,
            or_(Order.round_key.is_(None), Order.round_key.in_(open_keys)),
        )
    )

    assigned = unassigned = 0
    for order in orders:
        key = _round_key_for(session, coop, order, rounds, by_key, now)
        order.round_key = key
        if key is not None:
            assigned += 1
        elif order.status in coop.counted_statuses:
            unassigned += 1
    session.flush()
    return Assignment(assigned=assigned, unassigned=unassigned)


def _round_key_for(
    session: Session,
    coop: CoopConfig,
    order: Order,
    rounds: list[Round],
    by_key: dict[str, Round],
    now: datetime,
) -> str | None:
    counted = order.status in coop.counted_statuses
    subject = f"order {order.order_id}"
    if coop.rounds == "schedule":
        if order.created_gmt is None:
            return None
        row = schedule_round(session, coop, order.created_gmt, by_key)
        by_key.setdefault(row.key, row)
        return row.key

    if order.plugin_round_id is not None:
        key = f"plugin:{order.plugin_round_id}"
        if key in by_key:
            return key
        if counted:
            problems.report(
                session,
                coop=coop.slug,
                kind="order.round_unknown",
                subject=subject,
                message=f"order {order.order_id} names round {order.plugin_round_id}, "
                "which the plugin does not list",
                now=now,
            )
        return None

    created = order.created_gmt
    fitting = [
        r for r in rounds if created is not None and r.opens_at <= created < r.closes_at
    ]
    if len(fitting) == 1:
        problems.resolve(
            session,
            coop=coop.slug,
            kind="order.round_ambiguous",
            subject=subject,
            now=now,
        )
        return fitting[0].key

    if counted:
        names = ", ".join(r.name for r in fitting) or "none"
        problems.report(
            session,
            coop=coop.slug,
            kind="order.round_ambiguous",
            subject=subject,
            message=f"order {order.order_id} of {order.member_name or order.email} "
            f"has no round in the shop (block checkout) and its creation time "
            f"{created} fits {len(fitting)} rounds ({names})",
            now=now,
        )
    return None


def due_rounds(session: Session, coop: str, now: datetime) -> list[Round]:
    """Rounds past their deadline and not yet closed, oldest first."""
    return list(
        session.scalars(
            select(Round)
            .where(
                Round.coop == coop, Round.closed_at.is_(None), Round.closes_at <= now
            )
            .order_by(Round.closes_at)
        )
    )


def find_round(session: Session, coop: str, key: str) -> Round | None:
    return session.scalars(
        select(Round).where(Round.coop == coop, Round.key == key)
    ).one_or_none()
