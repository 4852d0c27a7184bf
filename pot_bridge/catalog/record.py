"""What a push leaves in the store: each product's `CatalogItem`, and problems.

Only what the shop confirmed is written as pushed. A field that failed keeps
the value the shop still holds, so the next plan sees the change again and
tries once more. What the plan learned by reading (a field the coop took over,
a price held) is kept even when the write did not go through.

Problems name the coop and the product; each is resolved by the first push
in which its product went through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge import problems
from pot_bridge.catalog.item import PENDING, REFUSED, SHOWN
from pot_bridge.catalog.plan import Plan, Step
from pot_bridge.config import ALL_CATALOG_FIELDS
from pot_bridge.store.schema import CatalogItem

log = structlog.get_logger(__name__)

FAILED = "catalog.push_failed"
CONFLICT = "catalog.sku_conflict"
SKIPPED = "catalog.product_skipped"
TAKEN_OVER = "catalog.field_taken_over"
IMAGE = "catalog.image_failed"
CATALOG_FIELDS = frozenset(ALL_CATALOG_FIELDS)


@dataclass
class Result:
    """What the shop said to one product's writes.

    `shown` is None until the product was read back after the write; `left_out`
    names changes the push could not send (a category it could not create).
    """

    product_id: int | None = None
    written: bool = False
    error: str = ""
    conflict: bool = False
    shown: dict[str, Any] | None = None
    left_out: set[str] = field(default_factory=set)
    image: Literal["sent", "pending", "refused"] | None = None
    image_id: int | None = None
    image_error: str = ""


def record(
    session: Session,
    plan: Plan,
    results: dict[str, Result],
    now: datetime,
    *,
    stopped: str | None,
) -> None:
    """Write every step's outcome; `stopped` is why later steps were not sent."""
    rows = {
        row.pot_id: row
        for row in session.scalars(
            select(CatalogItem).where(CatalogItem.coop == plan.coop)
        )
    }
    failing: dict[str, set[str]] = {FAILED: set(), CONFLICT: set(), SKIPPED: set()}
    not_sent: set[str] = set()

    for step in plan.steps:
        result = results.get(step.pot_id)
        if step.action in ("conflict", "skip"):
            _refused(session, plan, step, rows.get(step.pot_id), now)
            failing[CONFLICT if step.action == "conflict" else SKIPPED].add(step.pot_id)
            continue
        row = rows.get(step.pot_id)
        if row is None:
            row = rows[step.pot_id] = _new_row(session, plan.coop, step.pot_id, now)
        _learned(session, plan, step, row, now)
        if unsent(step, result):
            row.last_error = f"not sent: {stopped}" if stopped else "not sent"
            not_sent.add(step.pot_id)
            continue
        result = result or Result()
        _written(session, plan, step, result, row, now)
        if result.error:
            failing[CONFLICT if result.conflict else FAILED].add(step.pot_id)

    planned = {step.pot_id for step in plan.steps}
    for row in rows.values():
        if row.pot_id not in planned:
            row.last_error = ""  # nothing left to do for it
        if not row.last_error and plan.version is not None:
            row.snapshot_pk = plan.version
    for kind, subjects in failing.items():
        for subject in problems.open_subjects(session, plan.coop, kind):
            if subject not in subjects and subject not in not_sent:
                problems.resolve(
                    session, coop=plan.coop, kind=kind, subject=subject, now=now
                )


def unsent(step: Step, result: Result | None) -> bool:
    """The push stopped before this product's writes had an answer."""
    if result is None:
        return step.writes or step.image is not None
    return step.writes and not result.written and not result.error


def _new_row(session: Session, coop: str, pot_id: str, now: datetime) -> CatalogItem:
    row = CatalogItem(
        coop=coop,
        pot_id=pot_id,
        listed=False,
        pushed={},
        owned=[],
        held={},
        image_src="",
        sku="",
        last_error="",
        updated_at=now,
    )
    session.add(row)

    return row


def _refused(
    session: Session, plan: Plan, step: Step, row: CatalogItem | None, now: datetime
) -> None:
    note = "; ".join(step.notes)
    if row is not None:
        row.last_error = note
        row.updated_at = now
    kind = CONFLICT if step.action == "conflict" else SKIPPED
    _report(session, plan, step, kind, step.pot_id, f"{note}; not written", now)


def _learned(
    session: Session, plan: Plan, step: Step, row: CatalogItem, now: datetime
) -> None:
    """What reading the shop told: fields taken over, prices held."""
    row.owned = list(step.owned)
    for name in step.taken_over:
        log.warning(
            "catalog.field.taken_over", coop=plan.coop, pot_id=step.pot_id, field=name
        )
        message = f"the coop changed {name} in the shop; the bridge no longer writes it"
        _report(session, plan, step, TAKEN_OVER, f"{step.pot_id} {name}", message, now)
    if step.held is not None:
        event = "catalog.price.held" if step.held else "catalog.price.released"
        log.info(event, coop=plan.coop, pot_id=step.pot_id, **step.held)
        row.held = dict(step.held)
    if step.in_round and not step.held:
        log.info(
            "catalog.price.applied_in_open_round",
            coop=plan.coop,
            pot_id=step.pot_id,
            round=step.in_round,
        )


def _written(
    session: Session,
    plan: Plan,
    step: Step,
    result: Result,
    row: CatalogItem,
    now: datetime,
) -> None:
    ok = result.written or not step.writes
    fields = dict(step.settled)
    seen = dict(step.shown)
    if step.writes and result.written:
        for change in step.changes:
            if change.field in CATALOG_FIELDS and change.field not in result.left_out:
                fields[change.field] = change.new
                seen.pop(change.field, None)
    # Not read back after the write: the next plan takes what the shop shows.
    unknown = step.writes and result.written and result.shown is None
    pushed: dict[str, Any] = {
        **fields,
        SHOWN: None if unknown else {**seen, **(result.shown or {})},
    }
    pushed.update(_image_marks(step, result, row))

    row.pushed = pushed
    row.product_id = result.product_id or step.product_id or row.product_id
    row.sku = step.sku or row.sku
    if ok:
        row.listed = step.listed
    row.last_error = result.error or result.image_error
    row.updated_at = now

    subject = step.pot_id
    if result.error:
        kind = CONFLICT if result.conflict else FAILED
        _report(session, plan, step, kind, subject, result.error, now)
    if result.image_error:
        _report(session, plan, step, IMAGE, subject, result.image_error, now)
    elif result.image == "sent":
        problems.resolve(session, coop=plan.coop, kind=IMAGE, subject=subject, now=now)


def _image_marks(step: Step, result: Result, row: CatalogItem) -> dict[str, str]:
    """Where the image stands: sent (its media id), or pending or refused."""
    old = row.pushed or {}
    marks = {k: str(old[k]) for k in (PENDING, REFUSED) if old.get(k)}
    if step.image_found is not None:
        row.image_src = marks.pop(PENDING, row.image_src)
        row.image_id = step.image_found
    if step.image is None or result.image is None:
        return marks
    if result.image == "sent":
        row.image_src, row.image_id = step.image, result.image_id
        return {}
    marks[PENDING if result.image == "pending" else REFUSED] = step.image

    return marks


def _report(
    session: Session,
    plan: Plan,
    step: Step,
    kind: str,
    subject: str,
    message: str,
    now: datetime,
) -> None:
    problems.report(
        session,
        coop=plan.coop,
        kind=kind,
        subject=subject[:200],
        message=f"{step.name} (POT ID {step.pot_id}): {message}",
        now=now,
        details={"pot_id": step.pot_id, "product_id": step.product_id},
    )
