"""How a reconciliation is kept: one `Reconciliation` per run with its
`ReconciliationFinding` rows, each open until an admin applies or declines it.

A finding whose cause was applied or declined in an earlier run is carried:
not stored again and not proposed again. A proposed correction gets the key it
will be booked under, `reconcile:<finding id>`, when it is stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pot_bridge.config import CoopConfig
from pot_bridge.credit.found import Found
from pot_bridge.credit.reconcile_gather import member_balances
from pot_bridge.money import ZERO
from pot_bridge.store.schema import Reconciliation, ReconciliationFinding

log = structlog.get_logger(__name__)

OPEN, APPLIED, DECLINED = "open", "applied", "declined"
CORRECTION_PREFIX = "reconcile:"


def store(
    session: Session,
    coop: CoopConfig,
    found: Iterable[Found],
    now: datetime,
    *,
    wallet_rows: int,
) -> Reconciliation:
    """Keep the run and its findings; a proposed correction gets the key it
    will be booked under, `reconcile:<finding id>`."""
    carried = decided_causes(session, coop.slug)
    found = list(found)
    fresh = [f for f in found if f.cause not in carried]
    members = set(member_balances(session, coop.slug)) | {
        f.member for f in found if f.member is not None
    }

    run = Reconciliation(
        coop=coop.slug, ran_at=now, members=len(members), wallet_rows=wallet_rows
    )
    session.add(run)
    rows = [_finding_row(run, f) for f in fresh]
    session.add_all(rows)
    session.flush()
    for row in rows:
        if row.correction is not None:
            row.correction_key = f"{CORRECTION_PREFIX}{row.id}"
    session.flush()

    proposed = [r for r in rows if r.correction is not None]
    log.info(
        "reconcile.finished",
        coop=coop.slug,
        run=run.id,
        members=run.members,
        wallet_rows=wallet_rows,
        findings=len(rows),
        carried=len(found) - len(fresh),
        proposals=len(proposed),
        proposed=str(sum((r.correction or ZERO for r in proposed), ZERO)),
    )

    return _loaded(session, run.id)


def decided_causes(
    session: Session, coop: str
) -> set[tuple[str, int | None, int | None, int | None]]:
    """The causes of findings an admin corrected (`applied`) or declined."""
    rows = session.execute(
        select(
            ReconciliationFinding.kind,
            ReconciliationFinding.member,
            ReconciliationFinding.row_id,
            ReconciliationFinding.order_id,
        )
        .join(Reconciliation, Reconciliation.id == ReconciliationFinding.run_pk)
        .where(
            Reconciliation.coop == coop,
            ReconciliationFinding.status.in_([APPLIED, DECLINED]),
        )
    ).tuples()

    return set(rows.all())


def newest_run(session: Session, coop: str) -> Reconciliation | None:
    """The coop's latest run, with its findings."""
    run_id = session.scalar(
        select(Reconciliation.id)
        .where(Reconciliation.coop == coop)
        .order_by(Reconciliation.id.desc())
        .limit(1)
    )

    return None if run_id is None else _loaded(session, run_id)


def _finding_row(run: Reconciliation, f: Found) -> ReconciliationFinding:
    return ReconciliationFinding(
        run=run,
        kind=str(f.kind),
        member=f.member,
        amount=f.amount,
        row_id=f.row_id,
        order_id=f.order_id,
        detail=f.text,
        correction=f.correction,
        status=OPEN,
    )


def _loaded(session: Session, run_id: int) -> Reconciliation:
    return session.scalars(
        select(Reconciliation)
        .where(Reconciliation.id == run_id)
        .options(selectinload(Reconciliation.findings))
    ).one()
