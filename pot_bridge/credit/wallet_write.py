"""The outbox of wallet rows the bridge adds to the POT plugin's wallet.

A row is planned as a `WalletWrite` in the transaction that books its ledger
entry, under the entry's key, and written to the shop later by `flush`. The
row's text ends with the key's mark, so before each write the member's rows
are read: a row already carrying the mark (the shop stored it, then the
answer or the bridge was lost) is recorded instead of written again. Each
member is thus credited once, whatever crashes in between.

The plugin's wallet has no lock: two bookings for one member that overlap
lose money in its running balance. `flush` therefore writes one row at a time,
oldest first, and a member whose row got no clear answer waits for the next
flush (the shop may still be booking it). The cost is one read of the
member's rows per write.

Within one process a lock per coop keeps flushes apart. Across processes (the
daemon beside `topup retry` or `reconcile --apply`) a row is claimed before
the member's rows are read: one UPDATE turns it from `pending` to `sending`
with the time of the claim, and no other process touches it, nor any later row
of that member, while the claim's lease runs. The claim is taken anew just
before the POST, so the lease need only cover one write. A process that dies
holding a claim blocks the member until the lease runs out; the next flush
then looks for the row's mark like after any crash. Two members' rows may
still be written at the same time, which the plugin's running balance (kept
per member) survives.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from pot_bridge import problems
from pot_bridge.config import CoopConfig
from pot_bridge.credit import marker
from pot_bridge.errors import AbortError, PotBridgeError, SkipItemError
from pot_bridge.money import format_chf
from pot_bridge.shop.plugin import (
    BOOKING_TYPES,
    PluginClient,
    WalletRowNotWritten,
    wire_amount,
)
from pot_bridge.store.schema import WalletWrite

log = structlog.get_logger(__name__)

PENDING, SENDING, WRITTEN, FAILED = "pending", "sending", "written", "failed"
# How long a claim keeps other processes away. It is renewed just before the
# POST, which is never retried and gives up after the client's timeouts (10 s
# to connect, 60 s to read by default): ten minutes leave room for a slow shop
# and a busy database, and are what a member waits after a crash.
LEASE = timedelta(minutes=10)
NOT_WRITTEN = "wallet.not_written"
REFUSED = "wallet.refused"
MISMATCH = "wallet.mismatch"
UNSETTLED = "wallet.unsettled"
# flushes without a clear outcome before an admin is told (the row stays queued)
TELL_AFTER = 5
SUBJECT_LENGTH = 200

# what a claim came to
_CLAIMED, _BUSY, _BLOCKED, _SETTLED = "claimed", "busy", "blocked", "settled"

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class WriteReused(SkipItemError):
    """The key was planned before for another member, amount or type."""


@dataclass
class Flushed:
    """What one flush did: rows sent and confirmed (`written`), found in the
    shop from an earlier attempt (`found`), `failed`, left `pending` (the
    shop was down, the answer was lost, or an earlier row of the member waits),
    or left `busy` (another process is sending them now).
    `failures` holds each failure's message."""

    coop: str
    written: int = 0
    found: int = 0
    failed: int = 0
    pending: int = 0
    busy: int = 0
    failures: list[str] = field(default_factory=list)

    def report(self) -> list[str]:
        """What a command prints: the counts, then each failure."""
        if not any((self.written, self.found, self.failed, self.pending, self.busy)):
            return []
        busy = f", {self.busy} held by another process" if self.busy else ""
        counts = (
            f"wallet rows: {self.written} written, {self.found} found written "
            f"before, {self.failed} failed, {self.pending} waiting{busy}"
        )
        return [counts, *(f"  failed: {failure}" for failure in self.failures)]


def plan(
    session: Session,
    coop: str,
    key: str,
    member: int,
    amount: Decimal,
    details: str,
    type: str,
    now: datetime,
) -> WalletWrite:
    """Queue one wallet row under `key`, once; the caller commits it together
    with the ledger entry of the same key.

    Planning the key again returns the first row; asked with another member,
    amount or type it raises `WriteReused`. `details` get the key's mark.
    """
    if type not in BOOKING_TYPES:
        raise ValueError(f"wallet type {type!r} is not one of {sorted(BOOKING_TYPES)}")
    wire_amount(amount)  # a Decimal in whole Rappen that the table can hold
    if amount == 0:
        raise ValueError(f"a wallet row of 0.00 CHF for {key!r} books nothing")
    text = marker.mark(details, key)

    existing = _find(session, coop, key)
    if existing is None:
        row = WalletWrite(
            coop=coop,
            key=key,
            member=member,
            amount=amount,
            details=text,
            type=type,
            status=PENDING,
            attempts=0,
            last_error="",
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
            log.debug("wallet.write.planned", coop=coop, key=key, member=member)
            return row
        except IntegrityError:
            existing = _find(session, coop, key)
            if existing is None:
                raise

    if (existing.member, existing.amount, existing.type) != (member, amount, type):
        raise WriteReused(
            f"wallet row {key!r} was planned for member {existing.member} "
            f"({format_chf(existing.amount)} CHF, {existing.type}), now asked for "
            f"member {member} ({format_chf(amount)} CHF, {type})",
            coop=coop,
        )

    return existing


def flush(
    sessions: sessionmaker[Session],
    coop: CoopConfig,
    plugin: PluginClient,
    now: datetime,
) -> Flushed:
    """Write the coop's pending wallet rows to the shop, one at a time.

    Each row's outcome is committed on its own, so a crash loses at most the
    row in flight, which the next flush finds by its mark once the claim's
    lease ran out. An `AbortError` (the shop refused the credentials) stops
    the flush after recording it.
    """
    flushed = Flushed(coop=coop.slug)
    if coop.credit.mode != "plugin":
        return flushed

    clock = _Clock(now)
    with _lock(coop.slug):
        with sessions() as session:
            due = [
                _Due.of(row)
                for row in session.scalars(
                    select(WalletWrite)
                    .where(WalletWrite.coop == coop.slug)
                    .where(WalletWrite.status.in_((PENDING, SENDING)))
                    .order_by(WalletWrite.id)
                )
            ]

        waiting: set[int] = set()
        for row in due:
            if row.member in waiting:
                flushed.pending += 1
                continue
            done = _Write(sessions, coop, plugin, row, clock, flushed).run()
            if not done:
                waiting.add(row.member)

    if due:
        log.info(
            "wallet.flushed",
            coop=coop.slug,
            due=len(due),
            written=flushed.written,
            found=flushed.found,
            failed=flushed.failed,
            pending=flushed.pending,
            busy=flushed.busy,
        )
    return flushed


def retry_failed(session: Session, coop: str, now: datetime) -> int:
    """Put the coop's failed rows back in the queue, e.g. after an admin opened
    wp-admin once on a fresh plugin install; the next flush looks for each
    row's mark before writing it. Returns how many were queued again."""
    rows = session.scalars(
        select(WalletWrite)
        .where(WalletWrite.coop == coop)
        .where(WalletWrite.status == FAILED)
    ).all()
    for row in rows:
        row.status = PENDING
        for kind in (NOT_WRITTEN, REFUSED, MISMATCH):
            problems.resolve(
                session, coop=coop, kind=kind, subject=_subject(row.key), now=now
            )
    if rows:
        log.info("wallet.write.requeued", coop=coop, rows=len(rows))

    return len(rows)


def _find(session: Session, coop: str, key: str) -> WalletWrite | None:
    return session.scalars(
        select(WalletWrite).where(WalletWrite.coop == coop, WalletWrite.key == key)
    ).one_or_none()


def _subject(key: str) -> str:
    return f"wallet row {key}"[:SUBJECT_LENGTH]


def _lock(coop: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(coop, threading.Lock())


class _Clock:
    """The flush's `now`, moving on as the flush runs: a claim taken late in a
    long flush must not look older than it is to other processes."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._start = time.monotonic()

    def __call__(self) -> datetime:
        return self.now + timedelta(seconds=time.monotonic() - self._start)


@dataclass(frozen=True)
class _Due:
    """A row to write, detached from its session while the shop is asked."""

    pk: int
    key: str
    member: int
    amount: Decimal
    details: str
    type: str
    status: str
    claimed_at: datetime | None

    @classmethod
    def of(cls, row: WalletWrite) -> _Due:
        return cls(
            pk=row.id,
            key=row.key,
            member=row.member,
            amount=row.amount,
            details=row.details,
            type=row.type,
            status=row.status,
            claimed_at=row.claimed_at,
        )


class _Write:
    """Claim, look up, send and record one wallet row."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        coop: CoopConfig,
        plugin: PluginClient,
        due: _Due,
        clock: _Clock,
        flushed: Flushed,
    ) -> None:
        self.sessions = sessions
        self.coop = coop
        self.plugin = plugin
        self.due = due
        self.clock = clock
        self.now = clock.now
        self.flushed = flushed
        self.attempt = 0  # the row's attempts once claimed: the claim's token
        self.what = (
            f"wallet row for member {due.member} ({format_chf(due.amount)} CHF, "
            f"{due.key})"
        )
        self.context = {"coop": coop.slug, "key": due.key, "member": due.member}

    def run(self) -> bool:
        """True when the row is settled (written, found or failed), here or by
        another process."""
        claim = self._claim()
        if claim != _CLAIMED:
            return self._left(claim)

        try:
            rows = self.plugin.wallet_rows_of(self.due.member)
        except AbortError as exc:
            self._wait(f"not sent, the shop refused to list the rows: {exc.message}")
            raise
        except PotBridgeError as exc:
            self._wait(f"not sent, the member's rows could not be read: {exc.message}")
            return False

        ours = [row for row in rows if marker.key_in(row.details) == self.due.key]
        if ours:
            return self._found(ours[0].id, ours[0].amount, len(ours))

        if not self._renew():
            return self._left(_BUSY)

        return self._send()

    def _send(self) -> bool:
        due = self.due
        try:
            added = self.plugin.add_transaction(
                due.member,
                due.amount,
                due.details,
                due.type,
                created_by=self.coop.credit.bridge_user_id,
                when=self.now,
            )
        except WalletRowNotWritten as exc:
            self._fail(NOT_WRITTEN, f"{self.what} was not written: {exc.message}")
            return True
        except AbortError as exc:
            self._wait(f"not sent, the shop refused the credentials: {exc.message}")
            raise
        except SkipItemError as exc:
            self._fail(REFUSED, f"{self.what} was refused by the shop: {exc.message}")
            return True
        except PotBridgeError as exc:
            self._wait(f"sent without a clear answer: {exc.message}")
            return False
        except (TypeError, ValueError) as exc:
            self._fail(REFUSED, f"{self.what} cannot be sent: {exc}")
            return True

        self._written(added.id)
        self.flushed.written += 1
        log.info(
            "wallet.write.sent",
            **self.context,
            row_id=added.id,
            amount=str(due.amount),
            balance=str(added.balance),
        )
        return True

    def _found(self, row_id: int, amount: Decimal, copies: int) -> bool:
        """The shop holds the row already: an earlier answer or run was lost."""
        if amount != self.due.amount:
            self._fail(
                MISMATCH,
                f"{self.what}: the shop holds row {row_id} with this mark but "
                f"{format_chf(amount)} CHF",
            )
            return True

        self._written(row_id)
        self.flushed.found += 1
        log.info("wallet.write.found", **self.context, row_id=row_id, copies=copies)
        return True

    def _claim(self) -> str:
        """Take the row for this process with one compare-and-set UPDATE.

        Refused while another claim on it is live, while another row of the
        member is in flight, or while an older one is still open: a member's
        rows go out one at a time and in order, whichever process sends them.
        The attempt is counted here, so a crash still counts it.
        """
        at = self.clock()
        expired = at - LEASE
        row, other = WalletWrite, aliased(WalletWrite)
        free = or_(
            row.status == PENDING,
            and_(row.status == SENDING, row.claimed_at < expired),
        )
        ahead = exists().where(
            other.coop == row.coop,
            other.member == row.member,
            other.id != row.id,
            or_(
                and_(other.id < row.id, other.status.in_((PENDING, SENDING))),
                and_(other.status == SENDING, other.claimed_at >= expired),
            ),
        )

        with self.sessions.begin() as session:
            claimed = session.execute(
                update(row)
                .where(row.id == self.due.pk, free, ~ahead)
                .values(status=SENDING, claimed_at=at, attempts=row.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            status, claimed_at, attempts = session.execute(
                select(row.status, row.claimed_at, row.attempts).where(
                    row.id == self.due.pk
                )
            ).one()

        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            self.attempt = attempts
            if self.due.status == SENDING:
                log.warning(
                    "wallet.write.reclaimed",
                    **self.context,
                    claimed_at=str(self.due.claimed_at),
                )
            return _CLAIMED
        if status in (WRITTEN, FAILED):
            return _SETTLED
        if status == SENDING and claimed_at is not None and claimed_at >= expired:
            return _BUSY
        return _BLOCKED

    def _renew(self) -> bool:
        """Start the lease again just before the POST, so it covers the write
        however long reading the member's rows took. False if the lease ran
        out meanwhile and another process took the row over."""
        with self.sessions.begin() as session:
            return self._record(session, claimed_at=self.clock())

    def _left(self, claim: str) -> bool:
        """Not claimed: settled elsewhere (True), or the member waits."""
        if claim == _SETTLED:
            return True

        if claim == _BUSY:
            self.flushed.busy += 1
        else:
            self.flushed.pending += 1
        log.info("wallet.write.left", **self.context, reason=claim)
        return False

    def _wait(self, error: str) -> None:
        """Give the row back to the queue for the next flush, saying why;
        after a few tries an admin is told, as the shop may be down for good."""
        with self.sessions.begin() as session:
            kept = self._record(
                session, status=PENDING, claimed_at=None, last_error=error
            )
            if kept and self.attempt >= TELL_AFTER:
                problems.report(
                    session,
                    coop=self.coop.slug,
                    kind=UNSETTLED,
                    subject=_subject(self.due.key),
                    message=(
                        f"coop {self.coop.slug}: {self.what} is still not written "
                        f"after {self.attempt} tries; last: {error}"
                    ),
                    now=self.now,
                )
        self.flushed.pending += 1
        log.warning(
            "wallet.write.deferred", **self.context, attempt=self.attempt, error=error
        )

    def _fail(self, kind: str, message: str) -> None:
        message = f"coop {self.coop.slug}: {message}"
        with self.sessions.begin() as session:
            kept = self._record(
                session, status=FAILED, claimed_at=None, last_error=message
            )
            if kept:
                problems.report(
                    session,
                    coop=self.coop.slug,
                    kind=kind,
                    subject=_subject(self.due.key),
                    message=message,
                    now=self.now,
                    details={
                        "member": self.due.member,
                        "amount": str(self.due.amount),
                        "key": self.due.key,
                    },
                )
        self.flushed.failed += 1
        self.flushed.failures.append(message)
        log.error("wallet.write.failed", **self.context, kind=kind, error=message)

    def _written(self, row_id: int) -> None:
        with self.sessions.begin() as session:
            self._record(
                session,
                status=WRITTEN,
                claimed_at=None,
                row_id=row_id,
                written_at=self.now,
                last_error="",
            )
            problems.resolve(
                session,
                coop=self.coop.slug,
                kind=UNSETTLED,
                subject=_subject(self.due.key),
                now=self.now,
            )

    def _record(self, session: Session, **values: Any) -> bool:
        """Change the row only while this process's claim on it holds; after a
        takeover the other process owns the outcome."""
        changed = session.execute(
            update(WalletWrite)
            .where(WalletWrite.id == self.due.pk)
            .where(WalletWrite.status == SENDING)
            .where(WalletWrite.attempts == self.attempt)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        kept = bool(changed.rowcount == 1)  # type: ignore[attr-defined]
        if not kept:
            log.warning("wallet.write.claim_lost", **self.context)

        return kept
