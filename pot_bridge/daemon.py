"""`pot-bridge run`: the long-running service under APScheduler 3.

Jobs: one poll per coop on its interval (sync, then close due rounds), one extra
run at each round's deadline, one nightly run per coop at its `reconcile_at`
(reconciliation, its report, low-balance reminders), the outbox drain, and with
a `[catalog]` source the catalog refresh; each coop's poll then pushes its
catalog when it is due.
Each coop's job runs on its own and logs its own failure; SIGTERM and SIGINT
let running jobs finish and stop.
Misfire grace is set on purpose: APScheduler's default of one second would skip
a job that a busy machine starts a moment late.
"""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from types import FrameType

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from pot_bridge.bridge import Bridge
from pot_bridge.errors import PotBridgeError
from pot_bridge.store.schema import Round

log = structlog.get_logger(__name__)

MISFIRE_GRACE = 300
DEADLINE_SETTLE = timedelta(seconds=45)


class Daemon:
    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        workers = min(len(bridge.settings.coops), 8) + 2  # + outbox, catalog
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE,
            },
            timezone="UTC",
        )
        self.stopping = threading.Event()

    def start(self) -> None:
        recovered = self.bridge.recover()
        now = self.bridge.clock()
        for coop in self.bridge.settings.coops:
            self.scheduler.add_job(
                self.poll,
                "interval",
                args=[coop.slug],
                id=f"poll:{coop.slug}",
                minutes=coop.poll_minutes,
                next_run_time=now,
            )
            at = coop.credit.reconcile_at
            self.scheduler.add_job(
                self.nightly,
                "cron",
                args=[coop.slug],
                id=f"nightly:{coop.slug}",
                hour=at.hour,
                minute=at.minute,
                timezone=coop.zone,
            )
        source = self.bridge.settings.catalog
        if source is not None and any(c.catalog for c in self.bridge.settings.coops):
            self.scheduler.add_job(
                self.catalog,
                "interval",
                id="catalog",
                minutes=source.poll_minutes,
                next_run_time=now,
            )
        self.scheduler.add_job(
            self.drain,
            "interval",
            id="outbox",
            seconds=self.bridge.settings.outbox_poll_seconds,
            next_run_time=now,
        )
        self.scheduler.start()
        log.info(
            "daemon.started",
            coops=[c.slug for c in self.bridge.settings.coops],
            uncertain_mails=recovered,
        )

    def poll(self, slug: str) -> None:
        self.bridge.poll(slug)
        self._schedule_next_deadline(slug)
        self.drain()
        if self.bridge.settings.coop(slug).catalog is not None:
            # after a new catalog version, or a round closed with prices held
            self.bridge.catalog_push_if_due(slug)

    def nightly(self, slug: str) -> None:
        """Reconcile the coop's credit, report it, remind members low on it."""
        self.bridge.nightly(slug)
        self.drain()

    def catalog(self) -> None:
        """Refresh the central catalog; each coop's poll pushes it when due."""
        try:
            self.bridge.catalog_refresh()
        except PotBridgeError as exc:
            log.warning("catalog.refresh_failed", error=str(exc))
        except Exception:
            log.exception("catalog.refresh_crashed")

    def drain(self) -> None:
        try:
            self.bridge.drain()
        except Exception:
            log.exception("outbox.drain_crashed")

    def _schedule_next_deadline(self, slug: str) -> None:
        """Run the coop once more right after its next deadline passes."""
        with self.bridge.sessions() as session:
            closes_at = session.scalars(
                select(Round.closes_at)
                .where(
                    Round.coop == slug,
                    Round.closed_at.is_(None),
                    Round.closes_at > self.bridge.clock(),
                )
                .order_by(Round.closes_at)
                .limit(1)
            ).first()
        if closes_at is None:
            return
        self.scheduler.add_job(
            self.poll,
            "date",
            args=[slug],
            id=f"deadline:{slug}",
            run_date=closes_at + DEADLINE_SETTLE,
            replace_existing=True,
        )

    def run_until_signal(self) -> None:
        """Block until SIGTERM/SIGINT, then stop cleanly."""

        def stop(signum: int, _: FrameType | None) -> None:
            log.info("daemon.stopping", signal=signal.Signals(signum).name)
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.start()
        self.stopping.wait()
        self.stop()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)
        self.bridge.dispose()
        log.info("daemon.stopped")
