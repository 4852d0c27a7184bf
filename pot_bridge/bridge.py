"""The steps of the main job for one coop, wired to the store, its shop and mail.

The daemon and the CLI both drive a `Bridge`; it holds no business rules of its
own, only the order of the steps and the rule that one coop's failure is logged
and stays with that coop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import structlog
from sqlalchemy.orm import Session

from pot_bridge import consolidate, correction, delivery, mailer, outbox, shop_refund
from pot_bridge.catalog import coop as coop_catalog
from pot_bridge.catalog.labels import Label, shelf_labels
from pot_bridge.catalog.model import Catalog
from pot_bridge.catalog.plan import Plan
from pot_bridge.catalog.push import Pushed
from pot_bridge.catalog.snapshot import Refreshed, catalog_of, latest, refresh
from pot_bridge.close import Closed, close_round, prepare
from pot_bridge.config import CoopConfig, Settings
from pot_bridge.credit import (
    ledger_mode,
    reconcile,
    reconcile_report,
    reminder,
    topup,
    wallet_write,
)
from pot_bridge.credit import orders as credit_orders
from pot_bridge.errors import ConfigError, PotBridgeError, SkipItemError
from pot_bridge.log import register_secret
from pot_bridge.round import assign_orders, due_rounds, find_round, upsert_plugin_rounds
from pot_bridge.shop.client import ShopClient
from pot_bridge.shop.plugin import PluginClient
from pot_bridge.store import make_engine, migrate, session_factory
from pot_bridge.store.schema import Reconciliation, Round, SyncCursor
from pot_bridge.sync import SyncResult, sync_coop

log = structlog.get_logger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class PollResult:
    coop: str
    synced: SyncResult | None = None
    closed: list[Closed] | None = None
    corrected: correction.Corrected | None = None
    refunds: shop_refund.Pushed | None = None
    wallet: wallet_write.Flushed | None = None
    error: str | None = None


class Bridge:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        client_options: dict[str, object] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.engine = make_engine(settings.db_url)
        migrate(self.engine)
        self.sessions = session_factory(self.engine)
        self._client_options = client_options or {}
        self._clients: dict[str, ShopClient] = {}
        # one catalog push at a time: the daemon's jobs run in threads
        self._catalog_lock = threading.Lock()
        self._catalog_pushed: dict[str, int] = {}  # coop → version pushed
        # one coop's poll and its nightly run book credit in bulk: never both
        self._coop_locks = {coop.slug: threading.Lock() for coop in settings.coops}
        for coop in settings.coops:
            for secret in (
                coop.consumer_key,
                coop.consumer_secret,
                coop.wp_app_password,
            ):
                register_secret(secret.get_secret_value() if secret else None)
        if settings.smtp.password:
            register_secret(settings.smtp.password.get_secret_value())

    def client(self, coop: CoopConfig) -> ShopClient:
        """One client (and connection pool) per shop, kept for the process."""
        if coop.slug not in self._clients:
            assert coop.consumer_key
            assert coop.consumer_secret
            options: dict[str, object] = {
                "requests_per_second": coop.requests_per_second,
                **self._client_options,
            }
            self._clients[coop.slug] = ShopClient(
                coop.slug,
                coop.shop_url,
                coop.consumer_key.get_secret_value(),
                coop.consumer_secret.get_secret_value(),
                wp_user=coop.wp_user,
                wp_app_password=(
                    coop.wp_app_password.get_secret_value()
                    if coop.wp_app_password
                    else None
                ),
                **options,  # type: ignore[arg-type]
            )
        return self._clients[coop.slug]

    def sync(self, slug: str) -> SyncResult:
        """Pull the shop, refresh its rounds and place every order in its round."""
        coop = self.settings.coop(slug)
        client = self.client(coop)
        now = self.clock()

        result = sync_coop(coop, client, self.sessions, now)

        rounds = PluginClient(client).get_rounds() if coop.rounds == "plugin" else []
        with self.sessions.begin() as session:
            if rounds:
                upsert_plugin_rounds(session, coop, rounds)
            assignment = assign_orders(session, coop, now)
        log.info(
            "round.orders_assigned",
            coop=slug,
            assigned=assignment.assigned,
            unassigned=assignment.unassigned,
        )
        if result.orders_seen or result.refunds_seen:
            # a quiet poll books nothing: the nightly run books what a crash
            # between the sync and this step left out
            self.book_credit(slug)
        return result

    def close(self, slug: str, round_key: str | None = None) -> list[Closed]:
        """Close the rounds past their deadline, or the one round named."""
        coop = self.settings.coop(slug)
        now = self.clock()
        results = []
        with self.sessions() as session:
            if round_key is not None:
                found = find_round(session, slug, round_key)
                if found is None:
                    raise SkipItemError(f"no round {round_key!r}", coop=slug)
                keys = [found.key]
            else:
                # Only rounds whose deadline the orders pull has passed: an order
                # placed in the last seconds before it must be in the store.
                cursor = session.get(SyncCursor, (slug, "orders"))
                covered = min(now, cursor.cursor_gmt) if cursor else None
                due = due_rounds(session, slug, covered) if covered else []
                keys = [r.key for r in due]
        for key in keys:
            with self.sessions() as session:
                round_ = find_round(session, slug, key)
                assert round_ is not None
                prepare(session, coop, round_, now)
            with self.sessions.begin() as session:
                round_ = find_round(session, slug, key)
                assert round_ is not None
                results.append(close_round(session, coop, round_, now))
        return results

    def poll(self, slug: str) -> PollResult:
        """Sync, then close due rounds: only after a sync, so no order is missed."""
        result = PollResult(coop=slug)
        structlog.contextvars.bind_contextvars(coop=slug)
        try:
            with self._coop_locks[slug]:
                self._poll(slug, result)
        except PotBridgeError as exc:
            result.error = str(exc)
            log.error("coop.poll_failed", error=str(exc), kind=type(exc).__name__)
        except Exception as exc:  # one coop's bug must not stop the others
            result.error = f"{type(exc).__name__}: {exc}"
            log.exception("coop.poll_crashed")
        finally:
            structlog.contextvars.unbind_contextvars("coop")
        return result

    def _poll(self, slug: str, result: PollResult) -> None:
        result.synced = self.sync(slug)
        result.closed = self.close(slug)
        result.corrected = self.correct(slug)
        self.consolidate()
        result.refunds = self.push_refunds(slug)
        result.wallet = self.settle_credit(slug)

    def nightly(self, slug: str) -> Reconciliation | None:
        """Reconcile the coop's credit with its shop and mail the report to the
        admin, then remind members low on credit. Failures are logged and stay
        with this coop."""
        coop = self.settings.coop(slug)
        done = None
        structlog.contextvars.bind_contextvars(coop=slug)
        try:
            with self._coop_locks[slug]:
                done = self.reconcile(slug)
                with self.sessions.begin() as session:
                    reconcile_report.report(session, coop, done, self.clock())
            if coop.credit.low_balance is not None:
                reminder.remind(self.sessions, coop, self.clock())
        except PotBridgeError as exc:
            log.error("coop.nightly_failed", error=str(exc), kind=type(exc).__name__)
        except Exception:  # one coop's bug must not stop the others
            log.exception("coop.nightly_crashed")
        finally:
            structlog.contextvars.unbind_contextvars("coop")
        return done

    def reconcile(self, slug: str) -> Reconciliation:
        """One reconciliation of the coop's ledger against its shop's wallet."""
        coop = self.settings.coop(slug)
        plugin = None
        if coop.credit.mode == "plugin":
            plugin = PluginClient(self.client(coop))
        return reconcile.reconcile(self.sessions, plugin, coop, self.clock())

    def book_credit(self, slug: str) -> credit_orders.Booked:
        """Book what the shop did to members' credit: orders paid from it, the
        re-orders that replaced them, and refunds paid back to it."""
        coop = self.settings.coop(slug)
        with self.sessions.begin() as session:
            booked = credit_orders.book_orders(session, coop, self.clock())
        log.info(
            "credit.orders_booked",
            coop=slug,
            debited=booked.debited,
            replaced=booked.replaced,
            refunded=booked.refunded,
        )
        return booked

    def settle_credit(self, slug: str) -> wallet_write.Flushed | None:
        """Read the coop's bank folder, then bring the shop up to date: write
        the queued wallet rows, or in ledger mode publish changed balances."""
        coop = self.settings.coop(slug)
        if coop.credit.bank_folder is not None:
            topup.watch_folder(self.sessions, coop, self.clock())
        if coop.credit.mode == "ledger":
            ledger_mode.publish_balances(
                self.sessions, coop, self.client(coop), self.clock()
            )
            return None
        plugin = PluginClient(self.client(coop))
        return wallet_write.flush(self.sessions, coop, plugin, self.clock())

    def correct(self, slug: str) -> correction.Corrected:
        """Send corrections for closed rounds whose orders changed since."""
        coop = self.settings.coop(slug)
        with self.sessions.begin() as session:
            return correction.correct(session, coop, self.clock())

    def consolidate(self) -> int:
        """Queue the consolidated mails of producers who supply several coops."""
        with self.sessions.begin() as session:
            return consolidate.consolidate(self.settings, session, self.clock())

    def push_refunds(self, slug: str) -> shop_refund.Pushed:
        """Create in the shop the refunds queued for what members did not get."""
        coop = self.settings.coop(slug)
        return shop_refund.push(self.sessions, self.client(coop), coop, self.clock())

    def decide(self, slug: str, round_key: str, producer: str, decision: str) -> str:
        """Release or cancel a group order held below the producer's minimum."""
        coop = self.settings.coop(slug)
        with self.sessions.begin() as session:
            round_ = self._round(session, slug, round_key)
            row = correction.decide_held(
                session, coop, round_, producer, decision, self.clock()
            )
            status = row.status
        self.consolidate()
        return status

    def resend_order(self, slug: str, round_key: str, producer: str) -> int:
        coop = self.settings.coop(slug)
        with self.sessions.begin() as session:
            round_ = self._round(session, slug, round_key)
            return correction.resend(session, coop, round_, producer, self.clock())

    def enter_delivery(
        self,
        slug: str,
        round_key: str,
        producer: str,
        delivered: dict[str, Decimal],
    ) -> delivery.Entered:
        coop = self.settings.coop(slug)
        with self.sessions.begin() as session:
            round_ = self._round(session, slug, round_key)
            return delivery.enter(
                session, coop, round_, producer, delivered, self.clock()
            )

    @staticmethod
    def _round(session: Session, slug: str, round_key: str) -> Round:
        round_ = find_round(session, slug, round_key)
        if round_ is None:
            raise SkipItemError(f"no round {round_key!r}", coop=slug)
        return round_

    # -- the central catalog ------------------------------------------------

    def catalog_refresh(self) -> Refreshed:
        """Read the central catalog; a changed one is kept as a new version."""
        source = self.settings.catalog
        if source is None:
            raise ConfigError("no [catalog] source in the configuration")
        with self.sessions.begin() as session:
            return refresh(session, source, self.clock())

    def catalog_plan(self, slug: str, catalog: Catalog | None = None) -> Plan:
        """What a push would change in the coop's shop (reads only).

        Without `catalog`, the latest stored version is planned against.
        """
        coop = self._catalog_coop(slug)
        catalog, version = self._catalog(catalog)
        return coop_catalog.plan_coop(
            self.sessions,
            self.client(coop),
            coop,
            catalog,
            self.clock(),
            product_page=self._product_page(),
            version=version,
        )

    def catalog_push(
        self, slug: str, catalog: Catalog | None = None
    ) -> tuple[Plan, Pushed]:
        """Plan, then apply the plan to the coop's shop."""
        coop = self._catalog_coop(slug)
        catalog, version = self._catalog(catalog)
        with self._catalog_lock:
            planned, pushed = coop_catalog.push_coop(
                self.sessions,
                self.client(coop),
                coop,
                catalog,
                self.clock(),
                product_page=self._product_page(),
                version=version,
            )
            if version is not None and pushed.error is None:
                self._catalog_pushed[slug] = version
        return planned, pushed

    def catalog_poll(self) -> dict[str, str]:
        """Refresh the central catalog, then push each coop that is due."""
        try:
            self.catalog_refresh()
        except PotBridgeError as exc:
            log.warning("catalog.refresh_failed", error=str(exc))
        return {
            coop.slug: self.catalog_push_if_due(coop.slug)
            for coop in self.settings.coops
            if coop.catalog is not None
        }

    def catalog_push_if_due(self, slug: str) -> str:
        """Push when the latest version was not pushed yet (by this process),
        an item failed, or a held price waits for a closed round.

        Called from the coop's own job, so its shop client is never shared
        between threads; a failure is logged and stays with this coop.
        """
        with self.sessions() as session:
            newest = latest(session)
            if newest is None:
                return "no catalog yet"
            pushed_before = self._catalog_pushed.get(slug) == newest.id
            if pushed_before and not coop_catalog.due(
                session, slug, newest.id, self.clock()
            ):
                return "up to date"
        try:
            _plan, pushed = self.catalog_push(slug)
        except PotBridgeError as exc:
            log.error("catalog.push_failed", coop=slug, error=str(exc))
            return f"failed: {exc}"
        except Exception as exc:  # one coop's bug must not stop the others
            log.exception("catalog.push_crashed", coop=slug)
            return f"failed: {type(exc).__name__}: {exc}"
        return pushed.error or f"{len(pushed.failed)} failed"

    def catalog_labels(self, slug: str) -> list[Label]:
        """The coop's shelf labels, from the latest stored catalog (no request)."""
        coop = self._catalog_coop(slug)
        assert coop.catalog is not None
        catalog, _version = self._catalog(None)
        return shelf_labels(catalog, coop.catalog, self._product_page())

    def _catalog_coop(self, slug: str) -> CoopConfig:
        coop = self.settings.coop(slug)
        if coop.catalog is None:
            raise ConfigError(f"coop {slug!r} has no [coop.catalog] table")
        return coop

    def _catalog(self, given: Catalog | None) -> tuple[Catalog, int | None]:
        if given is not None:
            return given, None
        with self.sessions() as session:
            snapshot = latest(session)
        if snapshot is None:
            raise ConfigError(
                "no central catalog yet: run `pot-bridge catalog fetch` first"
            )
        return catalog_of(snapshot), snapshot.id

    def _product_page(self) -> str:
        source = self.settings.catalog
        return source.product_page if source else "https://db.pot.ch/?id={pot_id}"

    def drain(self) -> mailer.DrainResult:
        return mailer.drain(self.sessions, self.settings.smtp, now=self.clock)

    def recover(self) -> int:
        return outbox.recover(self.sessions, self.clock())

    def dispose(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        self.engine.dispose()
