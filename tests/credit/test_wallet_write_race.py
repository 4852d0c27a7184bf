"""Two flushes of one coop's wallet rows at once, the shop slow: the daemon and
an admin's `topup retry` (or `reconcile --apply`), each in a process of its own.

Each flush here has its own engine and its own lock, as a process would. The
sandbox shop's member 5 (Noah) starts at 53.80 CHF; the bridge books as user 14:

    key                  member  amount  type
    bank:CH66…:T-1            5   80.00  deposit
    bank:CH66…:T-2            2   50.00  deposit
    bank:CH66…:T-3            5   20.00  deposit
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge.credit import wallet_write
from pot_bridge.sandbox import Fault, SandboxShop, seed_coop
from pot_bridge.shop import PluginClient, ShopClient
from pot_bridge.shop.plugin import AddedRow
from pot_bridge.store import make_engine, session_factory

from .test_topup import Killed
from .test_wallet_write import (
    BOOKING,
    COOP,
    LEA,
    LEASE_OVER,
    NOAH,
    NOW,
    marked,
    queue,
    writes,
)

# how long the shop takes with the first booking; the second flush needs
# milliseconds, and the client waits up to 30 s for an answer
SLOW_SHOP = 2.0


@pytest.fixture
def sandbox() -> Iterator[SandboxShop]:
    state = seed_coop(NOW)
    state.clock = lambda: NOW
    with SandboxShop(state) as shop:
        yield shop


@pytest.fixture(autouse=True)
def lock_per_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    """No lock shared between flushes: they stand for separate processes."""
    monkeypatch.setattr(wallet_write, "_lock", lambda coop: threading.Lock())


@pytest.fixture
def processes(db_url: str) -> Iterator[tuple[sessionmaker[Session], ...]]:
    """The store as the daemon and the admin's command each reach it."""
    engines = [make_engine(db_url), make_engine(db_url)]
    yield tuple(session_factory(engine) for engine in engines)
    for engine in engines:
        engine.dispose()


class Announcing(PluginClient):
    """Tells the test when its booking leaves for the shop."""

    def __init__(self, shop: ShopClient, sending: threading.Event) -> None:
        super().__init__(shop)
        self.sending = sending

    def add_transaction(self, *args: Any, **kwargs: Any) -> AddedRow:
        self.sending.set()
        return super().add_transaction(*args, **kwargs)


def client(shop: SandboxShop) -> ShopClient:
    return ShopClient(
        "holz",
        shop.url,
        shop.consumer_key,
        shop.consumer_secret,
        wp_user=shop.app_user,
        wp_app_password=shop.app_password,
        requests_per_second=0,
        read_timeout=30.0,
        connect_timeout=3.0,
        sleep=lambda seconds: None,
    )


def bookings(shop: SandboxShop) -> int:
    return sum(r.path == BOOKING for r in shop.requests)


def crash_in_booking(
    sessions: sessionmaker[Session], shop: SandboxShop, *, stored: bool
) -> None:
    """A flush whose process dies in the POST, after the shop stored the row
    or before it was sent; its claim stays behind."""
    plugin = PluginClient(client(shop))
    real = plugin.add_transaction

    def dying(*args: Any, **kwargs: Any) -> AddedRow:
        if stored:
            real(*args, **kwargs)
        raise Killed

    plugin.add_transaction = dying  # type: ignore[method-assign]
    with pytest.raises(Killed):
        wallet_write.flush(sessions, COOP, plugin, NOW)


@pytest.mark.parametrize(
    "slow",
    [
        pytest.param("stall", id="books-then-answers-late"),
        pytest.param("delay", id="books-late"),
    ],
)
def test_two_flushes_at_once_write_the_row_once(
    processes: tuple[sessionmaker[Session], ...], sandbox: SandboxShop, slow: str
) -> None:
    """The admin's flush starts while the daemon's booking of T-1 is at the
    shop: it leaves the row alone, and the shop holds it once."""
    daemon, admin = processes
    queue(daemon, ("T-1", NOAH, "80.00"))
    sandbox.faults.add(Fault("POST", r"postAddTransaction", kind=slow, delay=SLOW_SHOP))
    sending = threading.Event()
    admin_plugin = PluginClient(client(sandbox))

    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(
            wallet_write.flush, daemon, COOP, Announcing(client(sandbox), sending), NOW
        )
        assert sending.wait(timeout=30)
        second = wallet_write.flush(admin, COOP, admin_plugin, NOW)
        first = running.result(timeout=60)

    (row,) = marked(sandbox, "T-1")
    assert Decimal("133.80") == sandbox.state.wallet.balance(NOAH)
    assert ("written", row.id, 1) == writes(admin)["T-1"]
    assert (1, 0, 0) == (first.written, first.found, first.busy)
    assert (0, 0, 1) == (second.written, second.found, second.busy)
    assert 0 == admin_plugin.shop.requests_made


def test_a_live_claim_is_left_alone_and_its_member_waits(
    processes: tuple[sessionmaker[Session], ...], sandbox: SandboxShop
) -> None:
    """The daemon died in Noah's T-1 a moment ago (or is still sending it):
    the admin's flush writes Lea's T-2, and holds back Noah's later T-3."""
    daemon, admin = processes
    queue(daemon, ("T-1", NOAH, "80.00"), ("T-2", LEA, "50.00"))
    queue(daemon, ("T-3", NOAH, "20.00"))
    crash_in_booking(daemon, sandbox, stored=False)

    flushed = wallet_write.flush(
        admin, COOP, PluginClient(client(sandbox)), NOW + timedelta(minutes=1)
    )

    (lea,) = marked(sandbox, "T-2")
    assert {
        "T-1": ("sending", None, 1),
        "T-2": ("written", lea.id, 1),
        "T-3": ("pending", None, 0),
    } == writes(admin)
    assert (1, 1, 1) == (flushed.written, flushed.busy, flushed.pending)
    assert 1 == bookings(sandbox)  # Lea's T-2 alone
    assert [] == marked(sandbox, "T-3")


@pytest.mark.parametrize(
    ("stored", "found", "written"),
    [
        pytest.param(True, 1, 0, id="the-shop-stored-it"),
        pytest.param(False, 0, 1, id="never-sent"),
    ],
)
def test_a_claim_whose_lease_ran_out_is_taken_over(
    processes: tuple[sessionmaker[Session], ...],
    sandbox: SandboxShop,
    stored: bool,
    found: int,
    written: int,
) -> None:
    """The daemon died in T-1. Until its lease runs out nobody touches the row;
    then the next flush looks for the row's mark and writes it only if absent.
    Noah's T-3 follows."""
    daemon, admin = processes
    queue(daemon, ("T-1", NOAH, "80.00"), ("T-3", NOAH, "20.00"))
    crash_in_booking(daemon, sandbox, stored=stored)
    almost = NOW + wallet_write.LEASE - timedelta(minutes=1)

    early = wallet_write.flush(admin, COOP, PluginClient(client(sandbox)), almost)
    late = wallet_write.flush(admin, COOP, PluginClient(client(sandbox)), LEASE_OVER)

    (t1,) = marked(sandbox, "T-1")
    (t3,) = marked(sandbox, "T-3")
    assert (0, 0, 1, 1) == (early.written, early.found, early.busy, early.pending)
    assert (found, written + 1) == (late.found, late.written)
    assert {"T-1": ("written", t1.id, 2), "T-3": ("written", t3.id, 1)} == writes(admin)
    assert Decimal("153.80") == sandbox.state.wallet.balance(NOAH)
    assert t1.id < t3.id


def test_a_flush_whose_claim_was_taken_over_sends_nothing(
    processes: tuple[sessionmaker[Session], ...], sandbox: SandboxShop
) -> None:
    """The daemon's read of Noah's rows outlasts its lease; the admin's flush
    takes T-1 over and writes it. The daemon, back, must not send it again."""
    daemon, admin = processes
    queue(daemon, ("T-1", NOAH, "80.00"))
    slow = PluginClient(client(sandbox))
    read_rows = slow.wallet_rows_of
    overtaken: list[wallet_write.Flushed] = []

    def rows_outlasting_the_lease(member: int) -> Any:
        rows = read_rows(member)
        plugin = PluginClient(client(sandbox))
        overtaken.append(wallet_write.flush(admin, COOP, plugin, LEASE_OVER))
        return rows

    slow.wallet_rows_of = rows_outlasting_the_lease  # type: ignore[method-assign]

    first = wallet_write.flush(daemon, COOP, slow, NOW)

    (row,) = marked(sandbox, "T-1")
    assert ("written", row.id, 2) == writes(daemon)["T-1"]
    assert (0, 1) == (first.written, first.busy)
    assert [(1, 0)] == [(o.written, o.busy) for o in overtaken]
    assert Decimal("133.80") == sandbox.state.wallet.balance(NOAH)


def test_a_row_requeued_behind_a_flush_keeps_its_members_order(
    processes: tuple[sessionmaker[Session], ...], sandbox: SandboxShop
) -> None:
    """Noah's T-1 failed (a fresh plugin install); T-2 and T-3 come later. While
    the daemon's flush, which saw no T-1, writes Lea's T-2, the admin queues
    T-1 again: Noah's T-3 waits for it, and both go out in order next time."""
    daemon, admin = processes
    queue(daemon, ("T-1", NOAH, "80.00"))
    sandbox.state.wallet.schema_upgraded = False
    wallet_write.flush(daemon, COOP, PluginClient(client(sandbox)), NOW)
    sandbox.state.wallet.schema_upgraded = True
    queue(daemon, ("T-2", LEA, "50.00"), ("T-3", NOAH, "20.00"))
    plugin = PluginClient(client(sandbox))
    read_rows = plugin.wallet_rows_of

    def rows_while_the_admin_retries(member: int) -> Any:
        if member == LEA:
            with admin.begin() as session:
                wallet_write.retry_failed(session, "holz", NOW)
        return read_rows(member)

    plugin.wallet_rows_of = rows_while_the_admin_retries  # type: ignore[method-assign]

    first = wallet_write.flush(daemon, COOP, plugin, NOW)
    second = wallet_write.flush(admin, COOP, PluginClient(client(sandbox)), NOW)

    (t1,) = marked(sandbox, "T-1")
    (t3,) = marked(sandbox, "T-3")
    assert (1, 1) == (first.written, first.pending)
    assert 2 == second.written
    assert t1.id < t3.id
    assert [Decimal("133.80"), Decimal("153.80")] == [t1.balance, t3.balance]
