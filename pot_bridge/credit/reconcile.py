"""The nightly reconciliation of a coop's credit: the ledger against the shop.

In plugin mode the whole wallet is read from the shop first, before any
transaction is open. Then, in one transaction, the ledger is brought up to
what the shop did: orders and refunds from the store (`orders.book_orders`),
every wallet row matched or booked (`wallet.take_rows`), and each break of the
running balance booked as the loss it is (`wallet-chain:<row>`: member −lost,
CORRECTIONS +lost). In a second one the findings are computed from what the
ledger and the store hold now and kept as a `Reconciliation` with its
`ReconciliationFinding` rows. Each step books under idempotent keys, so a run
stopped anywhere is simply run again.

A finding whose cause an admin corrected or declined in an earlier run is
carried: not stored again and not proposed again (`reconcile_store`). Reading
is done in a few queries per run, never one per row or member
(`reconcile_gather`). Ledger mode has no wallet: the run books the orders and
checks the ledger and its order debits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge import problems
from pot_bridge.config import CoopConfig
from pot_bridge.credit import findings
from pot_bridge.credit.findings import Found
from pot_bridge.credit.orders import book_orders
from pot_bridge.credit.reconcile_gather import (
    Facts,
    debited_orders,
    gather,
    member_balances,
    replaced_orders,
    shop_orders,
)
from pot_bridge.credit.reconcile_store import (
    APPLIED,
    CORRECTION_PREFIX,
    DECLINED,
    OPEN,
    decided_causes,
    newest_run,
    store,
)
from pot_bridge.credit.wallet import NO_DATE, take_rows
from pot_bridge.errors import AbortError, PotBridgeError, RetryLaterError
from pot_bridge.ledger import EntryKind, book, check
from pot_bridge.ledger.accounts import CORRECTIONS, member
from pot_bridge.ledger.wallet_rows import WalletRow, chain_breaks
from pot_bridge.money import format_chf
from pot_bridge.store.schema import JournalEntry, Reconciliation
from pot_bridge.wording import words

# Public names, including those now kept in `reconcile_gather` (what the run
# reads from the store) and `reconcile_store` (how it keeps the run).
__all__ = [
    "APPLIED",
    "CHAIN_PREFIX",
    "CORRECTION_PREFIX",
    "DECLINED",
    "FAILED",
    "OPEN",
    "Facts",
    "ReconcileAborted",
    "ReconcileFailed",
    "Step",
    "WalletReader",
    "book_chain_losses",
    "debited_orders",
    "decided_causes",
    "find",
    "gather",
    "member_balances",
    "newest_run",
    "read_wallet",
    "reconcile",
    "replaced_orders",
    "shop_orders",
    "store",
]

log = structlog.get_logger(__name__)

CHAIN_PREFIX = "wallet-chain:"
FAILED = "reconcile.failed"
Step = Callable[[str], None]


class WalletReader(Protocol):
    """What the run needs of `PluginClient`: every wallet row, oldest first,
    read straight into the ledger's rows (`PluginClient.ledger_rows`)."""

    def ledger_rows(self) -> list[WalletRow]: ...


class ReconcileFailed(RetryLaterError):
    """The shop's wallet could not be read: this coop's run stops, others go on."""


class ReconcileAborted(AbortError):
    """The shop refused the bridge's credentials for the wallet routes."""


def reconcile(
    sessions: sessionmaker[Session],
    plugin: WalletReader | None,
    coop: CoopConfig,
    now: datetime,
    *,
    on_step: Step | None = None,
) -> Reconciliation:
    """Run one reconciliation of `coop` and keep it; returns the stored run
    with its findings. `plugin` is needed in plugin mode only; `on_step` is
    called with each step's name when it is done (for the benchmark)."""
    step = on_step or (lambda name: None)
    if coop.credit.mode == "ledger":
        return _in_ledger(sessions, coop, now, step)
    if plugin is None:
        raise ValueError(f"coop {coop.slug}: plugin mode needs the shop's wallet")

    rows = read_wallet(sessions, plugin, coop, now)
    step("read_wallet")

    with sessions.begin() as session:
        book_orders(session, coop, now)
        step("book_orders")
        take_rows(session, coop, rows, now)
        step("take_rows")
        book_chain_losses(session, coop, rows, now)
        step("book_chain_losses")

    # The store is read in one transaction and left before the rows are
    # checked: on SQLite every transaction holds the write lock.
    with sessions.begin() as session:
        facts = gather(session, coop)
    step("gather")
    found = find(facts, coop, rows)
    step("find")

    with sessions.begin() as session:
        run = store(session, coop, found, now, wallet_rows=len(rows))
    step("store")

    return run


def read_wallet(
    sessions: sessionmaker[Session],
    plugin: WalletReader,
    coop: CoopConfig,
    now: datetime,
) -> list[WalletRow]:
    """Every wallet row of the shop, or an error naming the coop (and kept as
    a problem for `status`); a row the bridge cannot read stops the run, as
    leaving it out would change every balance after it."""
    try:
        rows = plugin.ledger_rows()
    except PotBridgeError as exc:
        stop = ReconcileAborted if isinstance(exc, AbortError) else ReconcileFailed
        failed = stop(
            f"reconciliation stopped, the shop's wallet could not be read: "
            f"{exc.message}",
            coop=coop.slug,
        )
        with sessions.begin() as session:
            problems.report(
                session,
                coop=coop.slug,
                kind=FAILED,
                subject="wallet",
                message=str(failed),
                now=now,
            )
        log.error("reconcile.failed", coop=coop.slug, error=str(failed))
        raise failed from exc

    with sessions.begin() as session:
        problems.resolve(
            session, coop=coop.slug, kind=FAILED, subject="wallet", now=now
        )

    return rows


def book_chain_losses(
    session: Session, coop: CoopConfig, rows: Sequence[WalletRow], now: datetime
) -> int:
    """Book each running-balance break as what the shop did: the member lost
    it (CORRECTIONS holds it), so ledger and wallet agree on the balance; the
    finding's correction gives it back. Returns how many were booked now."""
    breaks = chain_breaks(rows)
    if not breaks:
        return 0

    booked_before = set(
        session.scalars(
            select(JournalEntry.key).where(
                JournalEntry.coop == coop.slug,
                JournalEntry.key.startswith(CHAIN_PREFIX),
            )
        )
    )
    dates = {row.id: row.date for row in rows}
    text = words(coop.language)["reconcile_chain_entry"]

    booked = 0
    for broken in breaks:
        key = f"{CHAIN_PREFIX}{broken.row_id}"
        if key in booked_before or broken.user_id <= 0:
            continue
        book(
            session,
            coop.slug,
            key,
            EntryKind.WALLET_ROW,
            text.format(row=broken.row_id, lost=format_chf(broken.lost)),
            [(member(broken.user_id), -broken.lost), (CORRECTIONS, broken.lost)],
            now,
            effective=_day(dates.get(broken.row_id), coop, now),
        )
        booked += 1
    if booked:
        log.info("reconcile.chain_losses.booked", coop=coop.slug, entries=booked)

    return booked


def find(facts: Facts, coop: CoopConfig, rows: Sequence[WalletRow]) -> list[Found]:
    """The findings of plugin mode (pure: no store, no shop)."""
    return findings.find(
        ledger=facts.ledger,
        rows=rows,
        links=facts.links,
        orders=facts.orders,
        wallet_methods=coop.credit.payment_methods,
        counted=coop.counted_statuses,
        checked=facts.checked,
        lang=coop.language,
    )


def _in_ledger(
    sessions: sessionmaker[Session], coop: CoopConfig, now: datetime, step: Step
) -> Reconciliation:
    with sessions.begin() as session:
        book_orders(session, coop, now)
        step("book_orders")

    with sessions.begin() as session:
        found = findings.find_in_ledger(
            orders=shop_orders(session, coop),
            debited=debited_orders(session, coop.slug),
            wallet_methods=coop.credit.payment_methods,
            counted=coop.counted_statuses,
            checked=check(session, coop.slug),
            lang=coop.language,
        )
        step("find")
        run = store(session, coop, found, now, wallet_rows=0)
    step("store")

    return run


def _day(stored: datetime | None, coop: CoopConfig, now: datetime) -> date:
    """A row's wall-time day, or today's for a row without a date."""
    if stored is None or stored == NO_DATE:
        return now.astimezone(coop.zone).date()

    return stored.date()
