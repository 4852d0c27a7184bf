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
member's rows per write. Within one process a lock per coop keeps flushes
apart; across processes (the daemon and a CLI command at once) each row is
claimed before it is sent, so a row goes out once and a member's rows stay in
sequence, but two members' rows may be written at the same time, which the
plugin's running balance (kept per member) survives.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

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

PENDING, WRITTEN, FAILED = "pending", "written", "failed"
NOT_WRITTEN = "wallet.not_written"
REFUSED = "wallet.refused"
MISMATCH = "wallet.mismatch"
UNSETTLED = "wallet.unsettled"
# flushes without a clear outcome before an admin is told (the row stays queued)
TELL_AFTER = 5
SUBJECT_LENGTH = 200

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class WriteReused(SkipItemError):
    """The key was planned before for another member, amount or type."""


@dataclass
class Flushed:
    """What one flush did: rows sent and confirmed (`written`), found in the
    shop from an earlier attempt (`found`), `failed`, or left `pending` (the
    shop was down, the answer was lost, or an earlier row of the member waits).
    `failures` holds each failure's message."""

    coop: str
    written: int = 0
    found: int = 0
    failed: int = 0
    pending: int = 0
    failures: list[str] = field(default_factory=list)


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
    row in flight, which the next flush finds by its mark. An `AbortError`
    (the shop refused the credentials) stops the flush after recording it.
    """
    flushed = Flushed(coop=coop.slug)
    if coop.credit.mode != "plugin":
        return flushed

    with _lock(coop.slug):
        with sessions() as session:
            due = [
                _Due.of(row)
                for row in session.scalars(
                    select(WalletWrite)
                    .where(WalletWrite.coop == coop.slug)
                    .where(WalletWrite.status == PENDING)
                    .order_by(WalletWrite.id)
                )
            ]

        waiting: set[int] = set()
        for row in due:
            if row.member in waiting:
                flushed.pending += 1
                continue
            done = _Write(sessions, coop, plugin, row, now, flushed).run()
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


@dataclass(frozen=True)
class _Due:
    """A pending row, detached from its session while the shop is asked."""

    pk: int
    key: str
    member: int
    amount: Decimal
    details: str
    type: str
    attempts: int

    @classmethod
    def of(cls, row: WalletWrite) -> _Due:
        return cls(
            pk=row.id,
            key=row.key,
            member=row.member,
            amount=row.amount,
            details=row.details,
            type=row.type,
            attempts=row.attempts,
        )


class _Write:
    """Claim, look up, send and record one pending wallet row."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        coop: CoopConfig,
        plugin: PluginClient,
        due: _Due,
        now: datetime,
        flushed: Flushed,
    ) -> None:
        self.sessions = sessions
        self.coop = coop
        self.plugin = plugin
        self.due = due
        self.now = now
        self.flushed = flushed
        self.what = (
            f"wallet row for member {due.member} ({format_chf(due.amount)} CHF, "
            f"{due.key})"
        )
        self.context = {"coop": coop.slug, "key": due.key, "member": due.member}

    def run(self) -> bool:
        """True when the row is settled (written, found or failed)."""
        if not self._claim():
            log.debug("wallet.write.taken", **self.context)
            return False

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

    def _claim(self) -> bool:
        """Count the attempt before anything is sent, so a crash still counts it
        and a second flush that read the same row leaves it alone."""
        with self.sessions.begin() as session:
            claimed = session.execute(
                update(WalletWrite)
                .where(WalletWrite.id == self.due.pk)
                .where(WalletWrite.status == PENDING)
                .where(WalletWrite.attempts == self.due.attempts)
                .values(attempts=self.due.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]

    def _wait(self, error: str) -> None:
        """Leave the row pending for the next flush, saying why; after a few
        tries an admin is told, as the shop may be down for good."""
        attempt = self.due.attempts + 1
        with self.sessions.begin() as session:
            self._update(session, last_error=error)
            if attempt >= TELL_AFTER:
                problems.report(
                    session,
                    coop=self.coop.slug,
                    kind=UNSETTLED,
                    subject=_subject(self.due.key),
                    message=(
                        f"coop {self.coop.slug}: {self.what} is still not written "
                        f"after {attempt} tries; last: {error}"
                    ),
                    now=self.now,
                )
        self.flushed.pending += 1
        log.warning(
            "wallet.write.deferred", **self.context, attempt=attempt, error=error
        )

    def _fail(self, kind: str, message: str) -> None:
        message = f"coop {self.coop.slug}: {message}"
        with self.sessions.begin() as session:
            self._update(session, status=FAILED, last_error=message)
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
            self._update(
                session,
                status=WRITTEN,
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

    def _update(self, session: Session, **values: Any) -> None:
        session.execute(
            update(WalletWrite)
            .where(WalletWrite.id == self.due.pk)
            .where(WalletWrite.status == PENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
