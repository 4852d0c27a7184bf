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
carried: not stored again and not proposed again. Reading is done in a few
queries per run, never one per row or member. Ledger mode has no wallet: the
run books the orders and checks the ledger and its order debits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from pot_bridge import problems
from pot_bridge.config import CoopConfig
from pot_bridge.credit import findings
from pot_bridge.credit.findings import Found, ShopOrder
from pot_bridge.credit.orders import book_orders
from pot_bridge.credit.wallet import NO_DATE, take_rows, to_ledger_row
from pot_bridge.errors import AbortError, PotBridgeError, RetryLaterError
from pot_bridge.ledger import EntryKind, balances, book, check
from pot_bridge.ledger import Finding as LedgerFinding
from pot_bridge.ledger.accounts import CORRECTIONS, member, member_id
from pot_bridge.ledger.wallet_rows import WalletRow, chain_breaks
from pot_bridge.money import ZERO, format_chf
from pot_bridge.shop import plugin as shop_plugin
from pot_bridge.store.schema import (
    JournalEntry,
    Order,
    Reconciliation,
    ReconciliationFinding,
    Refund,
    WalletLink,
)
from pot_bridge.wording import words

log = structlog.get_logger(__name__)

OPEN, APPLIED, DECLINED = "open", "applied", "declined"
CHAIN_PREFIX = "wallet-chain:"
CORRECTION_PREFIX = "reconcile:"
FAILED = "reconcile.failed"
Step = Callable[[str], None]


class WalletReader(Protocol):
    """What the run needs of `PluginClient`: every wallet row, oldest first."""

    def wallet_rows(self) -> list[shop_plugin.WalletRow]: ...


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


@dataclass(frozen=True)
class Facts:
    """What the store holds for the checks, read at one moment."""

    ledger: dict[int, Decimal]
    links: dict[int, str]
    orders: dict[int, ShopOrder]
    checked: list[LedgerFinding]


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
        answered = plugin.wallet_rows()
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

    # Each of the shop's rows is let go once converted: holding a million of
    # both kinds at once would double the peak memory.
    answered.reverse()
    rows = []
    while answered:
        rows.append(to_ledger_row(answered.pop()))
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


def gather(session: Session, coop: CoopConfig) -> Facts:
    """Balances, the links left unmatched, the orders and the ledger's check."""
    return Facts(
        ledger=member_balances(session, coop.slug),
        links=_links(session, coop.slug),
        orders=shop_orders(session, coop),
        checked=check(session, coop.slug),
    )


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


def member_balances(session: Session, coop: str) -> dict[int, Decimal]:
    """Each member's ledger balance by member number."""
    found = {}
    for code, balance in balances(session, coop).items():
        number = member_id(code)
        if number is not None:
            found[number] = balance

    return found


def shop_orders(session: Session, coop: CoopConfig) -> dict[int, ShopOrder]:
    """Every order of the store, with its debit, replacement and wallet refunds."""
    debited = debited_orders(session, coop.slug)
    replaced = replaced_orders(session, coop.slug)
    refunded: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for order_id, amount, paid_back in session.execute(
        select(Refund.order_id, Refund.amount, Refund.refunded_payment).where(
            Refund.coop == coop.slug
        )
    ).tuples():
        if paid_back is not False:  # unknown counts as given back: no proposal
            refunded[order_id] += amount

    orders = session.execute(
        select(
            Order.order_id,
            Order.customer_id,
            Order.status,
            Order.payment_method,
            Order.round_key,
            Order.total,
        ).where(Order.coop == coop.slug)
    ).tuples()

    return {
        order_id: ShopOrder(
            order_id=order_id,
            member=customer,
            status=status,
            payment_method=method,
            round_key=round_key,
            total=total,
            debited=order_id in debited,
            replaced=order_id in replaced,
            refunded=refunded.get(order_id, ZERO),
        )
        for order_id, customer, status, method, round_key, total in orders
    }


def debited_orders(session: Session, coop: str) -> set[int]:
    """Orders whose debit the ledger holds (`order:<id>:paid`)."""
    return _order_keys(session, coop, ":paid")


def replaced_orders(session: Session, coop: str) -> set[int]:
    """Orders the ledger credited back as replaced by the member's re-order
    (`order:<id>:replaced`, booked by `book_orders` just before)."""
    return _order_keys(session, coop, ":replaced")


def _order_keys(session: Session, coop: str, suffix: str) -> set[int]:
    keys = session.scalars(
        select(JournalEntry.key).where(
            JournalEntry.coop == coop,
            JournalEntry.key.startswith("order:"),
            JournalEntry.key.endswith(suffix),
        )
    )

    return {int(key.split(":")[1]) for key in keys}


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


def _links(session: Session, coop: str) -> dict[int, str]:
    """The links findings report on (not the million that are fine)."""
    return dict(
        session.execute(
            select(WalletLink.row_id, WalletLink.status).where(
                WalletLink.coop == coop,
                WalletLink.status.in_(findings.UNMATCHED_LINKS),
            )
        )
        .tuples()
        .all()
    )


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


def _day(stored: datetime | None, coop: CoopConfig, now: datetime) -> date:
    """A row's wall-time day, or today's for a row without a date."""
    if stored is None or stored == NO_DATE:
        return now.astimezone(coop.zone).date()

    return stored.date()
