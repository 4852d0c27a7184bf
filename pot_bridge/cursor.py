"""Cursors: how far each stream of a coop has been pulled, and a run's tally.

A cursor holds the end of the last window pulled completely; the next window
starts a little before it (the overlap), so an item saved in the same second
as the window's end, or committed late, is read again rather than lost.
The helpers below serve every stream alike: read each object of a pass once,
skip an unreadable one, merge child rows, fit shop text to its column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from pot_bridge import problems
from pot_bridge.config import CoopConfig
from pot_bridge.store.schema import (
    Base,
    OrderLine,
    RefundLine,
    SyncCursor,
)

OVERLAP = timedelta(minutes=10)
# Passes a stream makes over one window while the shop's count moves under it;
# then it gives up until the next run.
MAX_PASSES = 3
Row = TypeVar("Row", OrderLine, RefundLine)


@dataclass
class SyncResult:
    coop: str
    orders_seen: int = 0
    orders_changed: int = 0
    refunds_seen: int = 0
    members_seen: int = 0
    products_seen: int = 0
    skipped: list[str] = field(default_factory=list)


def window_start(coop: CoopConfig, session: Session, stream: str) -> datetime:
    """Where the next window starts; a first pull reaches back to `history_since`."""
    start = resume_from(session, coop.slug, stream)
    if start is None:
        first_day = datetime.combine(coop.history_since, time(0), tzinfo=coop.zone)
        return first_day.astimezone(UTC)
    return start


def resume_from(session: Session, coop: str, stream: str) -> datetime | None:
    """The overlap before the cursor, or None before the first complete pass."""
    cursor = session.get(SyncCursor, (coop, stream))
    if cursor is None:
        return None

    return cursor.cursor_gmt - OVERLAP


def advance(
    session: Session, coop: str, stream: str, to: datetime, now: datetime
) -> None:
    cursor = session.get(SyncCursor, (coop, stream))
    if cursor is None:
        session.add(SyncCursor(coop=coop, stream=stream, cursor_gmt=to, updated_at=now))
    else:
        cursor.cursor_gmt = max(cursor.cursor_gmt, to)
        cursor.updated_at = now


def gmt_param(moment: datetime) -> str:
    """A naive UTC timestamp, as `dates_are_gmt=true` wants it (no Z, no offset)."""
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def skip(
    session: Session,
    coop: CoopConfig,
    subject: str,
    message: str,
    now: datetime,
    result: SyncResult,
) -> None:
    result.skipped.append(subject)
    problems.report(
        session,
        coop=coop.slug,
        kind="shop.unreadable",
        subject=subject,
        message=message[:500],
        now=now,
    )


def unseen(items: Iterable[Any], seen: set[int]) -> Iterator[tuple[int, Any]]:
    """A page's objects with an id not read before in this pass, now noted.

    Pages shift when rows leave the window during a pass, so one object can
    come twice; it is read once.
    """
    for raw in items:
        item_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(item_id, int) and item_id not in seen:
            seen.add(item_id)
            yield item_id, raw


def merge_rows(current: list[Row], new: list[Row], *, key: str) -> list[Row]:
    """Update child rows in place by their shop id, so a re-pull never inserts a
    row whose unique key is still held by the row it replaces."""
    by_key = {getattr(row, key): row for row in current}
    merged = []
    for row in new:
        old = by_key.get(getattr(row, key))
        if old is None:
            merged.append(row)
            continue
        for column in row.__table__.columns:
            if not column.primary_key and column.name in row.__dict__:
                setattr(old, column.name, getattr(row, column.name))
        merged.append(old)
    return merged


def fit(model: type[Base], column: str, text: str) -> str:
    """Cut shop text to its column: PostgreSQL refuses the whole page otherwise."""
    length = getattr(model.__table__.c[column].type, "length", None)
    return text[:length] if length else text
