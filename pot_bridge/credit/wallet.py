"""The POT plugin's wallet rows taken into the ledger: each matched or booked once.

Every row gets one `WalletLink`. A row whose cause the bridge books from the
shop (an order, a refund, a row the bridge wrote itself) is `matched` to that
entry when the amounts agree; else it stays `unmatched`, is looked at again on
the next call (the order may come with the next sync) and is never booked from
the row: the difference is a reconciliation finding. A row that is the only
record of its event (a deposit, a fee, a manual entry, an instant top-up, an
owner payout, a price adjustment) is `booked` from itself as `wallet:<row_id>`;
an unknown one too, against corrections, as `unknown`. The second and later
rows of one order's cause are booked against corrections as `duplicate`, so the
ledger follows the shop's balance and reconciliation proposes the refund.

Reconciling a million rows must not cost a query per row: the coop's links
and the entries the rows name are read in a few queries (`wallet_match`), and
links, entries and postings are inserted in bulk (`pot_bridge.ledger.bulk`).
The cost of that: two calls for one coop must not run at once (the second
one's inserts fail on the unique keys and its transaction rolls back).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import structlog
from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from pot_bridge import problems
from pot_bridge.config import CoopConfig
from pot_bridge.credit.wallet_match import (
    BOOKED,
    CHUNK,
    DUPLICATE,
    FROM_ROW,
    MATCHED,
    NO_DATE,
    ORDER_ROWS,
    SCAN_ABOVE,
    UNKNOWN,
    UNMATCHED,
    Decision,
    RowMatcher,
)
from pot_bridge.ledger.bulk import book_many
from pot_bridge.ledger.wallet_rows import WalletRow, classify, duplicates
from pot_bridge.shop import plugin
from pot_bridge.store.schema import WalletLink

# Public names, including those now kept in `wallet_match`.
__all__ = [
    "BOOKED",
    "CHUNK",
    "DUPLICATE",
    "FROM_ROW",
    "MATCHED",
    "NO_DATE",
    "ORDER_ROWS",
    "REPEATED",
    "SCAN_ABOVE",
    "UNKNOWN",
    "UNMATCHED",
    "Taken",
    "take_rows",
    "to_ledger_row",
]

log = structlog.get_logger(__name__)

REPEATED = frozenset({"repeated_order_row", "repeated_sale_payout"})


@dataclass
class Taken:
    """What one `take_rows` call did with the rows not taken before."""

    coop: str
    matched: int = 0
    booked: int = 0
    duplicate: int = 0
    unknown: int = 0
    unmatched: int = 0
    retried: int = 0  # rows left unmatched before and looked at again
    problems: list[str] = field(default_factory=list)


def to_ledger_row(row: plugin.WalletRow) -> WalletRow:
    """A row as `PluginClient.wallet_rows` reads it, for the ledger's pure row
    logic (`PluginClient.ledger_rows` reads the whole wallet straight into it).

    The date becomes the naive wall time it was stored as (Zurich for the
    plugin's own rows); a zero date becomes `NO_DATE`.
    """
    return WalletRow(
        id=row.id,
        user_id=row.user_id,
        amount=row.amount,
        balance=row.balance,
        details=row.details,
        created_by=row.created_by,
        date=row.date.replace(tzinfo=None) if row.date is not None else NO_DATE,
        type=row.type,
    )


@dataclass(frozen=True)
class _Link:
    pk: int
    status: str
    entry_key: str | None


def take_rows(
    session: Session, coop: CoopConfig, rows: Sequence[WalletRow], now: datetime
) -> Taken:
    """Link every row of `rows` not linked yet, and retry the unmatched ones.

    `rows` should be the whole wallet (as `getAllTransactions` answers it):
    repeated rows are told from the first of their cause among them. Runs in
    the caller's transaction; the caller commits.
    """
    taken = Taken(coop=coop.slug)
    links = _links(session, coop.slug)
    todo = [r for r in rows if r.id not in links or links[r.id].status == UNMATCHED]
    if not todo:
        return taken

    taken.retried = sum(r.id in links for r in todo)
    items = [classify(r) for r in todo]
    members = {r.user_id for r in todo}
    repeated = _repeated([r for r in rows if r.user_id in members])
    matched = {
        link.entry_key
        for link in links.values()
        if link.status == MATCHED and link.entry_key
    }
    matcher = RowMatcher.load(session, coop, items, matched, now)

    decisions = [matcher.decide(item, item.row.id in repeated) for item in items]
    book_many(session, coop.slug, [d.booking for d in decisions if d.booking], now)
    _write_links(session, coop.slug, decisions, links, now)

    for decision in decisions:
        setattr(taken, decision.status, getattr(taken, decision.status) + 1)
    for subject, message in matcher.problems:
        problems.report(
            session,
            coop=coop.slug,
            kind="credit.wallet_row_unreadable",
            subject=subject,
            message=message,
            now=now,
        )
        taken.problems.append(message)
    log.info(
        "credit.wallet.taken",
        coop=coop.slug,
        rows=len(todo),
        matched=taken.matched,
        booked=taken.booked,
        duplicate=taken.duplicate,
        unknown=taken.unknown,
        unmatched=taken.unmatched,
        retried=taken.retried,
    )
    return taken


def _links(session: Session, coop: str) -> dict[int, _Link]:
    rows = session.execute(
        select(
            WalletLink.row_id, WalletLink.id, WalletLink.status, WalletLink.entry_key
        ).where(WalletLink.coop == coop)
    ).tuples()

    return {row_id: _Link(pk, status, key) for row_id, pk, status, key in rows}


def _repeated(rows: Iterable[WalletRow]) -> set[int]:
    """The 2nd and later rows of one order's cause (the first counts as genuine)."""
    return {
        row_id
        for found in duplicates(rows)
        if found.kind in REPEATED
        for row_id in found.row_ids[1:]
    }


def _write_links(
    session: Session,
    coop: str,
    decisions: list[Decision],
    links: dict[int, _Link],
    now: datetime,
) -> None:
    fresh = []
    changed = []
    for d in decisions:
        link = links.get(d.row.id)
        if link is None:
            fresh.append(
                {
                    "coop": coop,
                    "row_id": d.row.id,
                    "member": d.row.user_id,
                    "amount": d.row.amount,
                    "kind": str(d.kind),
                    "status": d.status,
                    "entry_key": d.entry_key,
                    "seen_at": now,
                }
            )
        elif d.status != link.status:
            changed.append(
                {
                    "id": link.pk,
                    "kind": str(d.kind),
                    "status": d.status,
                    "entry_key": d.entry_key,
                }
            )
    if fresh:
        session.execute(insert(cast(Table, WalletLink.__table__)), fresh)
    if changed:
        session.execute(update(WalletLink), changed)
