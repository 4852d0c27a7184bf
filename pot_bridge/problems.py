"""Problems a coop admin must see: kept in the store, reported once, then counted.

Anything pot-bridge cannot handle on its own (a line without producer, an order
that fits no round, a refund without detail) becomes a row here instead of being
dropped. `pot-bridge status` lists the open ones.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge.store.schema import Problem

log = structlog.get_logger(__name__)


def report(
    session: Session,
    *,
    coop: str,
    kind: str,
    subject: str,
    message: str,
    now: datetime,
    details: dict[str, object] | None = None,
) -> Problem:
    """Record a problem; a repeat only counts up, so logs don't flood."""
    problem = session.scalars(
        select(Problem).where(
            Problem.coop == coop, Problem.kind == kind, Problem.subject == subject
        )
    ).one_or_none()
    if problem is None:
        problem = Problem(
            coop=coop,
            kind=kind,
            subject=subject,
            message=message,
            details=details or {},
            first_seen=now,
            last_seen=now,
            times_seen=1,
        )
        session.add(problem)
        session.flush()
        log.warning(
            "problem.reported", coop=coop, kind=kind, subject=subject, message=message
        )
        return problem

    problem.last_seen = now
    problem.times_seen += 1
    problem.message = message
    if problem.resolved_at is not None:
        problem.resolved_at = None
        log.warning(
            "problem.reopened", coop=coop, kind=kind, subject=subject, message=message
        )
    return problem


def resolve(
    session: Session, *, coop: str, kind: str, subject: str, now: datetime
) -> None:
    """Close a problem once its cause is gone (e.g. the producer was configured)."""
    problem = session.scalars(
        select(Problem).where(
            Problem.coop == coop,
            Problem.kind == kind,
            Problem.subject == subject,
            Problem.resolved_at.is_(None),
        )
    ).one_or_none()
    if problem is not None:
        problem.resolved_at = now
        log.info("problem.resolved", coop=coop, kind=kind, subject=subject)


def open_problems(session: Session, coop: str | None = None) -> list[Problem]:
    query = select(Problem).where(Problem.resolved_at.is_(None))
    if coop is not None:
        query = query.where(Problem.coop == coop)
    return list(session.scalars(query.order_by(Problem.coop, Problem.first_seen)))


def open_subjects(session: Session, coop: str, kind: str) -> set[str]:
    """The subjects of one kind of open problem, to check many rows at once."""
    return set(
        session.scalars(
            select(Problem.subject).where(
                Problem.coop == coop,
                Problem.kind == kind,
                Problem.resolved_at.is_(None),
            )
        )
    )
