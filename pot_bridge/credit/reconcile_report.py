"""The reconciliation's report to the coop's admin: a summary mail and a CSV.

The mail goes out when a run has open findings (every night until they are
resolved: a reconciliation that falls silent would hide them) and once more,
as an all-clear, on the first run without findings after one with. A quiet
night sends nothing; the run is stored all the same. The mail counts and sums
the findings per kind and per member, lists the proposed corrections with the
command that books them, and carries every finding in a CSV file (UTF-8
with BOM, `;`, formula-safe cells: `documents.spreadsheet_csv`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge import outbox
from pot_bridge.config import CoopConfig
from pot_bridge.credit.findings import Kind
from pot_bridge.documents import render_mail, spreadsheet_cell, spreadsheet_csv
from pot_bridge.money import ZERO, format_chf
from pot_bridge.store.schema import (
    Member,
    OutboxMessage,
    Reconciliation,
    ReconciliationFinding,
)
from pot_bridge.wording import day_text, words

log = structlog.get_logger(__name__)

OPEN = "open"
# the mail lists this many members and findings; the CSV holds them all
SHOWN = 40


@dataclass(frozen=True)
class Summary:
    """What the mail says, computed once: open findings by kind and member."""

    open: list[ReconciliationFinding]
    by_kind: dict[str, tuple[int, Decimal]]
    by_member: dict[int, tuple[int, Decimal]]
    proposals: list[ReconciliationFinding]

    @property
    def proposed_total(self) -> Decimal:
        return sum((f.correction or ZERO for f in self.proposals), ZERO)


def summarize(run: Reconciliation) -> Summary:
    """Counts and amounts per kind and per member, and the open proposals."""
    found = [f for f in run.findings if f.status == OPEN]
    by_kind: dict[str, tuple[int, Decimal]] = {}
    for kind in Kind:
        same = [f for f in found if f.kind == kind]
        if same:
            by_kind[kind] = (len(same), sum((f.amount or ZERO for f in same), ZERO))
    by_member: dict[int, tuple[int, Decimal]] = defaultdict(lambda: (0, ZERO))
    for f in found:
        if f.member is not None:
            count, corrected = by_member[f.member]
            by_member[f.member] = (count + 1, corrected + (f.correction or ZERO))

    return Summary(
        open=found,
        by_kind=by_kind,
        by_member=dict(sorted(by_member.items())),
        proposals=[f for f in found if f.correction is not None],
    )


def report(
    session: Session, coop: CoopConfig, run: Reconciliation, now: datetime
) -> OutboxMessage | None:
    """Queue the run's mail to the coop's admin, once per run; None when the
    night was quiet or the coop has no admin address."""
    summary = summarize(run)
    all_clear = not summary.open and _previous_had_findings(session, run)
    if not summary.open and not all_clear:
        return None
    if coop.admin_email is None:
        log.warning("reconcile.report.no_admin", coop=coop.slug, run=run.id)
        return None

    names = _names(session, coop.slug, summary.by_member)
    subject, body = render(coop, run, summary, names, all_clear=all_clear)
    attachments = [] if all_clear else [csv_attachment(coop, run, names)]

    return outbox.enqueue(
        session,
        key=f"reconcile:{coop.slug}:{run.id}",
        coop=coop.slug,
        recipient=coop.admin_email,
        subject=subject,
        body=body,
        attachments=attachments,
        now=now,
    )


def render(
    coop: CoopConfig,
    run: Reconciliation,
    summary: Summary,
    names: Mapping[int, str],
    *,
    all_clear: bool = False,
) -> tuple[str, str]:
    """Subject and plain-text body in the coop's language."""
    lang = coop.language
    w = words(lang)
    local = run.ran_at.astimezone(coop.zone)
    context = {
        "coop_name": coop.name,
        "run_id": run.id,
        "ran_at": f"{day_text(local.date(), lang)} {local:%H:%M}",
        "members": run.members,
        "wallet_rows": run.wallet_rows,
        "all_clear": all_clear,
        "count": len(summary.open),
        "by_kind": _kind_table(summary, w),
        "by_member": _member_table(summary, names, w),
        "members_left": max(0, len(summary.by_member) - SHOWN),
        "details": [_line(f, w) for f in summary.open[:SHOWN]],
        "details_left": max(0, len(summary.open) - SHOWN),
        "proposals": _proposal_table(summary, w),
        "proposed_total": _signed(summary.proposed_total),
        "apply_command": f"pot-bridge reconcile {coop.slug} --apply",
        "csv": csv_name(coop, run),
    }
    return render_mail("reconcile_email", lang, **context)


def findings_csv(
    findings: Iterable[ReconciliationFinding], lang: str, names: Mapping[int, str]
) -> bytes:
    """Every finding: UTF-8 with BOM and `;` for Swiss Excel; text cells that a
    spreadsheet would run as a formula get a leading `'`."""
    w = words(lang)
    head = ["reconcile_finding", "reconcile_kind", "member", "reconcile_member_name"]
    head += ["amount", "reconcile_wallet_row", "order", "reconcile_correction"]
    head += ["reconcile_status", "reconcile_text"]
    rows = [[w[key] for key in head]]
    for f in findings:
        rows.append(
            [
                str(f.id),
                spreadsheet_cell(w[f"reconcile_kind_{f.kind}"]),
                "" if f.member is None else str(f.member),
                spreadsheet_cell(names.get(f.member or 0, "")),
                _plain(f.amount),
                "" if f.row_id is None else str(f.row_id),
                "" if f.order_id is None else str(f.order_id),
                _plain(f.correction),
                f.status,
                spreadsheet_cell(f.detail),
            ]
        )

    return spreadsheet_csv(rows)


def csv_attachment(
    coop: CoopConfig, run: Reconciliation, names: Mapping[int, str]
) -> outbox.Attachment:
    return outbox.Attachment(
        filename=csv_name(coop, run),
        content_type="text/csv; charset=utf-8",
        content=findings_csv(run.findings, coop.language, names),
    )


def csv_name(coop: CoopConfig, run: Reconciliation) -> str:
    day = run.ran_at.astimezone(coop.zone).date()

    return f"reconcile-{coop.slug}-{day.isoformat()}-{run.id}.csv"


def _previous_had_findings(session: Session, run: Reconciliation) -> bool:
    previous = session.scalar(
        select(Reconciliation.id)
        .where(Reconciliation.coop == run.coop, Reconciliation.id < run.id)
        .order_by(Reconciliation.id.desc())
        .limit(1)
    )
    if previous is None:
        return False
    found = session.scalar(
        select(ReconciliationFinding.id)
        .where(
            ReconciliationFinding.run_pk == previous,
            ReconciliationFinding.status == OPEN,
        )
        .limit(1)
    )

    return found is not None


def _names(session: Session, coop: str, members: Iterable[int]) -> dict[int, str]:
    wanted = list(members)
    if not wanted:
        return {}
    rows = session.execute(
        select(Member.customer_id, Member.first_name, Member.last_name).where(
            Member.coop == coop, Member.customer_id.in_(wanted)
        )
    ).tuples()

    return {number: f"{first} {last}".strip() for number, first, last in rows}


def _kind_table(summary: Summary, w: Mapping[str, str]) -> list[str]:
    rows = [
        [w[f"reconcile_kind_{kind}"], str(count), _signed(amount)]
        for kind, (count, amount) in summary.by_kind.items()
    ]

    return _table([w["reconcile_kind"], w["reconcile_count"], w["amount"]], rows)


def _member_table(
    summary: Summary, names: Mapping[int, str], w: Mapping[str, str]
) -> list[str]:
    rows = [
        [f"{member} {names.get(member, '')}".strip(), str(count), _signed(correction)]
        for member, (count, correction) in list(summary.by_member.items())[:SHOWN]
    ]
    head = [w["member"], w["reconcile_count"], w["reconcile_correction"]]

    return _table(head, rows)


def _proposal_table(summary: Summary, w: Mapping[str, str]) -> list[str]:
    rows = [
        [
            str(f.id),
            f"{f.member}",
            w[f"reconcile_kind_{f.kind}"],
            _where(f, w),
            _signed(f.correction or ZERO),
        ]
        for f in summary.proposals
    ]
    head = [w["reconcile_finding"], w["member"], w["reconcile_kind"]]
    head.append(w["reconcile_subject"])
    head.append(w["reconcile_correction"])

    return _table(head, rows) if rows else []


def _line(f: ReconciliationFinding, w: Mapping[str, str]) -> str:
    who = "" if f.member is None else f"{w['member']} {f.member}{w['colon']}"

    return f"- [{w[f'reconcile_kind_{f.kind}']}] {who}{f.detail}"


def _where(f: ReconciliationFinding, w: Mapping[str, str]) -> str:
    if f.row_id is not None:
        return f"{w['reconcile_wallet_row']} {f.row_id}"

    return "" if f.order_id is None else f"{w['order']} #{f.order_id}"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns lined up for a fixed-width font, numbers to the right."""
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        left = [c.ljust(n) for c, n in zip(cells[:-2], widths[:-2], strict=True)]
        right = [c.rjust(n) for c, n in zip(cells[-2:], widths[-2:], strict=True)]
        return "  ".join([*left, *right]).rstrip()

    return [line(head), "  ".join("-" * n for n in widths), *map(line, rows)]


def _signed(amount: Decimal) -> str:
    return ("+" if amount > 0 else "") + format_chf(amount)


def _plain(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:f}"
