"""Wallet rows the bridge adds to the plugin's wallet: planned once, written once.

Against the sandbox shop over a socket. Member 5 (Noah) starts at 53.80 CHF
and member 2 (Lea) has rows of her own; the bridge books as user 14:

    key                  member  amount  type
    bank:CH66…:T-1            5   80.00  deposit
    bank:CH66…:T-2            2   50.00  deposit
    bank:CH66…:T-3            5   20.00  deposit
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from bridge_helpers import FAST_CLIENT
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge.credit import marker, wallet_write
from pot_bridge.errors import ShopAuthError
from pot_bridge.problems import open_problems
from pot_bridge.sandbox import Fault, SandboxShop, seed_coop
from pot_bridge.sandbox.wallet import WalletRow
from pot_bridge.shop import PluginClient, ShopClient
from pot_bridge.store import session_factory
from pot_bridge.store.schema import WalletWrite

from .test_topup import Killed, coop_config

NOW = datetime(2026, 12, 9, 7, 0, tzinfo=UTC)
# a crashed process's claim has run out
LEASE_OVER = NOW + wallet_write.LEASE + timedelta(seconds=1)
NOAH, LEA = 5, 2
KEYS = {
    "T-1": "bank:CH6630808001234567890:T-1",
    "T-2": "bank:CH6630808001234567890:T-2",
    "T-3": "bank:CH6630808001234567890:T-3",
}
COOP = coop_config()
BOOKING = "/wp-json/foodcoop/v1/postAddTransaction"


@pytest.fixture
def sandbox() -> Iterator[SandboxShop]:
    state = seed_coop(NOW)
    state.clock = lambda: NOW
    with SandboxShop(state) as shop:
        yield shop


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


def plugin_of(shop: SandboxShop, password: str | None = None) -> PluginClient:
    client = ShopClient(
        "holz",
        shop.url,
        shop.consumer_key,
        shop.consumer_secret,
        wp_user=shop.app_user,
        wp_app_password=password or shop.app_password,
        requests_per_second=0,
        **FAST_CLIENT,  # type: ignore[arg-type]
    )
    return PluginClient(client)


def queue(
    sessions: sessionmaker[Session],
    *rows: tuple[str, int, str],
    type: str = "deposit",
) -> None:
    """Plan rows (short key, member, amount) as a top-up booking does."""
    with sessions.begin() as session:
        for short, member, amount in rows:
            wallet_write.plan(
                session,
                "holz",
                KEYS[short],
                member,
                Decimal(amount),
                f"Einzahlung 08.12.2026 Ref. {short}",
                type,
                NOW,
            )


def marked(shop: SandboxShop, short: str) -> list[WalletRow]:
    return [
        r for r in shop.state.wallet.rows if marker.key_in(r.details) == KEYS[short]
    ]


def writes(sessions: sessionmaker[Session]) -> dict[str, tuple[Any, ...]]:
    """short key -> (status, row_id, attempts)."""
    with sessions() as session:
        rows = session.scalars(select(WalletWrite).order_by(WalletWrite.id)).all()
    return {r.key.rsplit(":", 1)[1]: (r.status, r.row_id, r.attempts) for r in rows}


def last_error(sessions: sessionmaker[Session], short: str) -> str:
    with sessions() as session:
        row = session.scalars(select(WalletWrite).where(WalletWrite.key == KEYS[short]))
        return row.one().last_error


class TestPlan:
    def test_planned_once_with_the_mark(self, sessions: sessionmaker[Session]) -> None:
        queue(sessions, ("T-1", NOAH, "80.00"))
        queue(sessions, ("T-1", NOAH, "80.00"))

        with sessions() as session:
            rows = session.scalars(select(WalletWrite)).all()
        assert [
            (
                NOAH,
                Decimal("80.00"),
                "pending",
                (
                    "Einzahlung 08.12.2026 Ref. T-1 "
                    "[pot-bridge bank:CH6630808001234567890:T-1]"
                ),
            )
        ] == [(r.member, r.amount, r.status, r.details) for r in rows]

    def test_a_key_reused_for_another_amount_is_refused(
        self, sessions: sessionmaker[Session]
    ) -> None:
        queue(sessions, ("T-1", NOAH, "80.00"))

        with pytest.raises(wallet_write.WriteReused, match=r"member 5 \(80\.00 CHF"):
            queue(sessions, ("T-1", NOAH, "8.00"))

    @pytest.mark.parametrize(
        ("amount", "kind", "error"),
        [
            pytest.param("0.00", "deposit", "books nothing", id="zero"),
            pytest.param("1.005", "deposit", "Rappen", id="sub-rappen"),
            pytest.param("5.00", "mutation", "not one of", id="type"),
        ],
    )
    def test_rows_the_wallet_cannot_hold_are_refused(
        self, sessions: sessionmaker[Session], amount: str, kind: str, error: str
    ) -> None:
        with pytest.raises(ValueError, match=error):
            queue(sessions, ("T-1", NOAH, amount), type=kind)


class TestFlush:
    def test_rows_are_written_once_oldest_first(
        self, sessions: sessionmaker[Session], sandbox: SandboxShop
    ) -> None:
        queue(sessions, ("T-1", NOAH, "80.00"), ("T-2", LEA, "50.00"))
        queue(sessions, ("T-3", NOAH, "20.00"))

        flushed = wallet_write.flush(sessions, COOP, plugin_of(sandbox), NOW)

        ours = [marked(sandbox, short)[0] for short in ("T-1", "T-2", "T-3")]
        assert [
            (NOAH, Decimal("80.00"), Decimal("133.80"), "deposit", 14),
            (LEA, Decimal("50.00"), sandbox.state.wallet.balance(LEA), "deposit", 14),
            (NOAH, Decimal("20.00"), Decimal("153.80"), "deposit", 14),
        ] == [(r.user_id, r.amount, r.balance, r.type, r.created_by) for r in ours]
        assert ours[0].id < ours[1].id < ours[2].id
        assert {
            short: ("written", row.id, 1)
            for short, row in zip(("T-1", "T-2", "T-3"), ours, strict=True)
        } == writes(sessions)
        assert (3, 0, 0, 0) == (
            flushed.written,
            flushed.found,
            flushed.failed,
            flushed.pending,
        )

    def test_a_second_flush_writes_nothing(
        self, sessions: sessionmaker[Session], sandbox: SandboxShop
    ) -> None:
        queue(sessions, ("T-1", NOAH, "80.00"))
        wallet_write.flush(sessions, COOP, plugin_of(sandbox), NOW)
        rows = len(sandbox.state.wallet.rows)

        again = wallet_write.flush(sessions, COOP, plugin_of(sandbox), NOW)

        assert rows == len(sandbox.state.wallet.rows)
        assert (0, 0) == (again.written, again.found)

    def test_a_ledger_coop_never_asks_the_shop(
        self, sessions: sessionmaker[Session], sandbox: SandboxShop
    ) -> None:
        queue(sessions, ("T-1", NOAH, "80.00"))
        plugin = plugin_of(sandbox)

        wallet_write.flush(sessions, coop_config(mode="ledger"), plugin, NOW)

        assert 0 == plugin.shop.requests_made
        assert "pending" == writes(sessions)["T-1"][0]


class TestCrashes:
    """The bridge dies between the shop's wallet and its own store, either way;
    its claim on the row holds until the lease runs out."""

    def test_killed_after_the_shop_stored_the_row(
        self,
        sessions: sessionmaker[Session],
        sandbox: SandboxShop,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The next flush after the lease finds the row by its mark."""
        queue(sessions, ("T-1", NOAH, "80.00"))
        real = PluginClient.add_transaction

        def stored_then_killed(self: PluginClient, *args: Any, **kwargs: Any) -> Any:
            real(self, *args, **kwargs)
            raise Killed

        monkeypatch.setattr(PluginClient, "add_transaction", stored_then_killed)
        with pytest.raises(Killed):
            wallet_write.flush(sessions, COOP, plugin_of(sandbox), NOW)
        monkeypatch.setattr(PluginClient, "add_transaction", real)
        assert ("sending", None, 1) == writes(sessions)["T-1"]

        rerun = wallet_write.flush(sessions, COOP, plugin_of(sandbox), LEASE_OVER)

        (row,) = marked(sandbox, "T-1")
        assert ("written", row.id, 2) == writes(sessions)["T-1"]
        assert (0, 1) == (rerun.written, rerun.found)
        assert Decimal("133.80") == sandbox.state.wallet.balance(NOAH)

    def test_killed_before_the_shop_was_asked(
        self,
        sessions: sessionmaker[Session],
        sandbox: SandboxShop,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Booked and claimed, then dead: the flush after the lease writes it."""
        queue(sessions, ("T-1", NOAH, "80.00"))
        real = PluginClient.add_transaction

        def killed(self: PluginClient, *args: Any, **kwargs: Any) -> Any:
            raise Killed

        monkeypatch.setattr(PluginClient, "add_transaction", killed)
        with pytest.raises(Killed):
            wallet_write.flush(sessions, COOP, plugin_of(sandbox), NOW)
        monkeypatch.setattr(PluginClient, "add_transaction", real)
        assert [] == marked(sandbox, "T-1")

        rerun = wallet_write.flush(sessions, COOP, plugin_of(sandbox), LEASE_OVER)

        assert 1 == len(marked(sandbox, "T-1"))
        assert (1, 0) == (rerun.written, rerun.found)
        assert ("written", marked(sandbox, "T-1")[0].id, 2) == writes(sessions)["T-1"]

    def test_a_lost_answer_is_found_on_the_next_flush(
        self, sessions: sessionmaker[Session], sandbox: SandboxShop
    ) -> None:
        """The shop books the row, the connection drops before the answer."""
        queue(sessions, ("T-1", NOAH, "80.00"))
        sandbox.faults.add(Fault(method="POST", path="postAddTransaction", kind="lost"))

        first = wallet_write.flush(sessions, COOP, plugin_of(sandbox), NOW)

        assert 1 == len(marked(sandbox, "T-1"))
        assert (0, 1) == (first.written, first.pending)
        assert "sent without a clear answer" in last_error(sessions, "T-1")

        second = wallet_write.flush(sessions, COOP, plugin_of(sandbox), NOW)

        (row,) = marked(sandbox, "T-1")
        assert ("written", row.id, 2) == writes(sessions)["T-1"]
        assert (0, 1) == (second.written, second.found)
        assert Decimal("133.80") == sandbox.state.wallet.balance(NOAH)

    def test_after_an_unclear_answer_the_member_waits_the_others_go_on(
        self, sessions: sessionmaker[Session], sandbox: SandboxShop
    ) -> None:
        """The shop may still be booking Noah's first row: his second waits."""
        queue(sessions, ("T-1", NOAH, "80.00"), ("T-2", LEA, "50.00"))
        queue(sessions, ("T-3", NOAH, "20.00"))
        sandbox.faults.add(Fault(method="POST", path="postAddTransaction", kind="lost"))

        flushed = wallet_write.flush(sessions, COOP, plugin_of(sandbox), NOW)

        assert (1, 2) == (flushed.written, flushed.pending)
        assert [1, 1, 0] == [len(marked(sandbox, s)) for s in ("T-1", "T-2", "T-3")]
        assert 2 == sum(r.path == BOOKING for r in sandbox.requests)
        assert ("pending", None, 0) == writes(sessions)["T-3"]


class TestFailures:
    def test_a_row_the_shop_does_not_store_fails_alone(
        self,
        sessions: sessionmaker[Session],
        sandbox: SandboxShop,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Answered with id 0 for Noah: failed and reported; Lea is written."""
        queue(sessions, ("T-1", NOAH, "80.00"), ("T-2", LEA, "50.00"))
        real = PluginClient.add_transaction

        def upgraded_for_some(
            self: PluginClient, user_id: int, *a: Any, **k: Any
        ) -> Any:
            sandbox.state.wallet.schema_upgraded = user_id != NOAH
            return real(self, user_id, *a, **k)

        monkeypatch.setattr(PluginClient, "add_transaction", upgraded_for_some)

        flushed = wallet_write.flush(sessions, COOP, plugin_of(sandbox), NOW)

        assert (1, 1) == (flushed.written, flushed.failed)
        assert [0, 1] == [len(marked(sandbox, s)) for s in ("T-1", "T-2")]
        assert "failed" == writes(sessions)["T-1"][0]
        with sessions() as session:
            (problem,) = open_problems(session, "holz")
        assert ("wallet.not_written", "wallet row " + KEYS["T-1"]) == (
            problem.kind,
            problem.subject,
        )
        assert problem.message.startswith(
            "coop holz: wallet row for member 5 (80.00 CHF, "
            "bank:CH6630808001234567890:T-1) was not written: postAddTransaction "
            "for member 5 (80.00 CHF) answered transaction id 0"
        )

    def test_failed_rows_are_written_after_a_retry(
        self, sessions: sessionmaker[Session], sandbox: SandboxShop
    ) -> None:
        queue(sessions, ("T-1", NOAH, "80.00"))
        sandbox.state.wallet.schema_upgraded = False
        wallet_write.flush(sessions, COOP, plugin_of(sandbox), NOW)
        sandbox.state.wallet.schema_upgraded = True  # wp-admin opened once

        with sessions.begin() as session:
            queued = wallet_write.retry_failed(session, "holz", NOW)
        flushed = wallet_write.flush(sessions, COOP, plugin_of(sandbox), NOW)

        assert (1, 1) == (queued, flushed.written)
        assert 1 == len(marked(sandbox, "T-1"))
        with sessions() as session:
            assert [] == open_problems(session, "holz")

    def test_a_down_shop_keeps_the_row_and_no_secret_in_the_error(
        self, sessions: sessionmaker[Session], sandbox: SandboxShop
    ) -> None:
        """Five flushes against a failing host: still queued, the admin told."""
        queue(sessions, ("T-1", NOAH, "80.00"))
        page = f"<html>Fatal error: auth {sandbox.app_password} rejected</html>"
        sandbox.faults.add(
            Fault(
                method="POST", path="postAddTransaction", status=500, body=page, times=5
            )
        )

        for _ in range(wallet_write.TELL_AFTER):
            wallet_write.flush(sessions, COOP, plugin_of(sandbox), NOW)

        assert ("pending", None, 5) == writes(sessions)["T-1"]
        error = last_error(sessions, "T-1")
        assert "500" in error
        assert sandbox.app_password not in error
        with sessions() as session:
            (problem,) = open_problems(session, "holz")
        assert "wallet.unsettled" == problem.kind
        assert sandbox.app_password not in problem.message
        assert [] == marked(sandbox, "T-1")

        wallet_write.flush(sessions, COOP, plugin_of(sandbox), NOW)

        assert 1 == len(marked(sandbox, "T-1"))
        with sessions() as session:
            assert [] == open_problems(session, "holz")

    def test_refused_credentials_stop_the_flush(
        self, sessions: sessionmaker[Session], sandbox: SandboxShop
    ) -> None:
        queue(sessions, ("T-1", NOAH, "80.00"), ("T-2", LEA, "50.00"))
        wrong = "abcd abcd abcd abcd abcd abcd"

        with pytest.raises(ShopAuthError):
            wallet_write.flush(sessions, COOP, plugin_of(sandbox, wrong), NOW)

        assert {"T-1": ("pending", None, 1), "T-2": ("pending", None, 0)} == writes(
            sessions
        )
        assert wrong not in last_error(sessions, "T-1")

    def test_a_marked_row_with_another_amount_is_a_mismatch(
        self, sessions: sessionmaker[Session], sandbox: SandboxShop
    ) -> None:
        """Someone changed the shop's row: reported, nothing written."""
        queue(sessions, ("T-1", NOAH, "80.00"))
        sandbox.state.wallet.insert(
            NOAH,
            Decimal("8.00"),
            marker.mark("Einzahlung", KEYS["T-1"]),
            14,
            "2026-12-08 10:00:00",
        )

        flushed = wallet_write.flush(sessions, COOP, plugin_of(sandbox), NOW)

        assert 1 == flushed.failed
        assert "holds row" in flushed.failures[0]
        assert 0 == sum(r.path == BOOKING for r in sandbox.requests)
