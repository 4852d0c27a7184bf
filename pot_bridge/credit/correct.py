"""Booking the corrections a reconciliation proposed, after the admin confirmed.

Each open proposal of the coop's newest run becomes a ledger entry
`reconcile:<finding id>` (member ±, CORRECTIONS ∓) and, in plugin mode, a
`manual_transaction` wallet row planned under the same key in the same
transaction (`wallet_write.flush` writes it to the shop once). The finding is
marked `applied`, or `declined` when the admin left it out; either way later
runs do not propose its cause again. Applying twice books once.

Only the newest run may be applied: an older run's proposals may already be
corrected, or changed by what the shop did since.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from pot_bridge.config import CoopConfig
from pot_bridge.credit import wallet_write
from pot_bridge.credit.reconcile import APPLIED, CORRECTION_PREFIX, DECLINED, OPEN
from pot_bridge.errors import SkipItemError
from pot_bridge.ledger import EntryKind, book
from pot_bridge.ledger.accounts import CORRECTIONS, member
from pot_bridge.money import ZERO, format_chf
from pot_bridge.store.schema import Reconciliation, ReconciliationFinding
from pot_bridge.wording import words

log = structlog.get_logger(__name__)

WALLET_TYPE = "manual_transaction"


class NotApplicable(SkipItemError):
    """The run cannot be applied as asked (not the newest, unknown, a wrong skip)."""


@dataclass
class Applied:
    """What one `apply` did: corrections booked now (`booked`, summing to
    `total`), proposals left out by the admin (`declined`), and those an
    earlier apply had already settled (`before`)."""

    coop: str
    run_id: int
    booked: int = 0
    declined: int = 0
    before: int = 0
    total: Decimal = ZERO
    keys: list[str] = field(default_factory=list)


def proposals(run: Reconciliation) -> list[ReconciliationFinding]:
    """The run's open proposals, in the order they are booked."""
    return [f for f in run.findings if f.status == OPEN and f.correction is not None]


def apply(
    sessions: sessionmaker[Session],
    coop: CoopConfig,
    run_id: int,
    now: datetime,
    *,
    skip: Collection[int] = (),
) -> Applied:
    """Book the open proposals of run `run_id`, leaving out the findings in
    `skip`, in one transaction: all of them or, after a crash, none."""
    with sessions.begin() as session:
        run = _newest(session, coop.slug, run_id)
        applied = Applied(coop=coop.slug, run_id=run.id)
        open_ones = proposals(run)
        _check_skip(coop.slug, run, open_ones, skip)
        applied.before = sum(1 for f in run.findings if f.status in (APPLIED, DECLINED))

        for finding in open_ones:
            if finding.id in skip:
                finding.status = DECLINED
                applied.declined += 1
                continue
            key = _book(session, coop, run, finding, now)
            finding.status = APPLIED
            applied.booked += 1
            applied.total += finding.correction or ZERO
            applied.keys.append(key)
        if applied.booked or applied.declined:
            run.applied_at = now

    log.info(
        "reconcile.applied",
        coop=coop.slug,
        run=run_id,
        booked=applied.booked,
        declined=applied.declined,
        before=applied.before,
        total=str(applied.total),
    )
    return applied


def _newest(session: Session, coop: str, run_id: int) -> Reconciliation:
    """The run, locked against a second apply, if it is the coop's newest."""
    newest = session.scalar(
        select(Reconciliation.id)
        .where(Reconciliation.coop == coop)
        .order_by(Reconciliation.id.desc())
        .limit(1)
    )
    if newest is None:
        raise NotApplicable(
            f"no reconciliation yet: run `pot-bridge reconcile {coop}` first",
            coop=coop,
        )
    if newest != run_id:
        raise NotApplicable(
            f"run {run_id} is not the newest reconciliation (run {newest} is); "
            "an older run's proposals may be stale, so only the newest is applied: "
            f"`pot-bridge reconcile {coop} --apply` shows it",
            coop=coop,
        )

    # Lock first, then read the findings: a second apply waits here and then
    # sees them applied (PostgreSQL; SQLite writers queue at BEGIN anyway).
    return session.scalars(
        select(Reconciliation)
        .where(Reconciliation.id == run_id)
        .options(selectinload(Reconciliation.findings))
        .execution_options(populate_existing=True)
        .with_for_update()
    ).one()


def _check_skip(
    coop: str,
    run: Reconciliation,
    open_ones: list[ReconciliationFinding],
    skip: Collection[int],
) -> None:
    unknown = sorted(set(skip) - {f.id for f in open_ones})
    if unknown:
        raise NotApplicable(
            f"run {run.id} has no open proposal numbered "
            + ", ".join(map(str, unknown)),
            coop=coop,
        )


def _book(
    session: Session,
    coop: CoopConfig,
    run: Reconciliation,
    finding: ReconciliationFinding,
    now: datetime,
) -> str:
    """The correction's ledger entry and, in plugin mode, its wallet row."""
    amount = finding.correction
    if amount is None or finding.member is None:
        raise NotApplicable(
            f"finding {finding.id} proposes no correction to a member", coop=coop.slug
        )
    key = finding.correction_key or f"{CORRECTION_PREFIX}{finding.id}"
    text = correction_text(coop, run, finding)

    book(
        session,
        coop.slug,
        key,
        EntryKind.CORRECTION,
        text,
        [(member(finding.member), amount), (CORRECTIONS, -amount)],
        now,
    )
    if coop.credit.mode == "plugin":
        wallet_write.plan(
            session, coop.slug, key, finding.member, amount, text, WALLET_TYPE, now
        )
    log.debug(
        "reconcile.correction.booked",
        coop=coop.slug,
        key=key,
        member=finding.member,
        amount=format_chf(amount),
    )

    return key


def correction_text(
    coop: CoopConfig, run: Reconciliation, finding: ReconciliationFinding
) -> str:
    """What the member reads in their wallet: the run's day, what was wrong
    and the row or order it was about."""
    w = words(coop.language)
    day = run.ran_at.astimezone(coop.zone).strftime("%d.%m.%Y")
    kind = w[f"reconcile_kind_{finding.kind}"]
    if finding.row_id is not None:
        return w["reconcile_correction_row"].format(
            date=day, kind=kind, row=finding.row_id
        )

    return w["reconcile_correction_order"].format(
        date=day, kind=kind, order=finding.order_id
    )
