"""The nightly run reads the shop's wallet through `PluginClient.ledger_rows`:
the sandbox coop's rows in over a real socket, the run (or its refusal) out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge_helpers import make_bridge
from sqlalchemy import func, select

from pot_bridge.bridge import Bridge
from pot_bridge.credit.reconcile import ReconcileFailed
from pot_bridge.mailcatcher import MailCatcher
from pot_bridge.problems import open_problems
from pot_bridge.sandbox import SandboxShop
from pot_bridge.store.schema import JournalEntry, Reconciliation, WalletLink


@pytest.fixture
def bridge(
    shop: SandboxShop, db_url: str, mail: MailCatcher, tmp_path: Path
) -> Iterator[Bridge]:
    bridge = make_bridge(shop, db_url, mail.port, tmp_path)
    yield bridge
    bridge.dispose()


def test_every_row_of_the_shop_is_taken_and_counted(
    bridge: Bridge, shop: SandboxShop
) -> None:
    rows = {row.id for row in shop.state.wallet.rows}

    run = bridge.reconcile("sandbox")

    with bridge.sessions() as session:
        linked = set(session.scalars(select(WalletLink.row_id)))
    assert len(rows) == run.wallet_rows
    assert rows == linked


def test_a_malformed_row_stops_the_run_naming_coop_and_row(
    bridge: Bridge, shop: SandboxShop
) -> None:
    broken = shop.state.wallet.rows[3]
    broken.date = "gestern"

    with pytest.raises(ReconcileFailed) as stopped:
        bridge.reconcile("sandbox")

    with bridge.sessions() as session:
        runs = session.scalar(select(func.count()).select_from(Reconciliation))
        entries = session.scalar(select(func.count()).select_from(JournalEntry))
        (problem,) = open_problems(session, "sandbox")
    assert (
        "coop sandbox: reconciliation stopped, the shop's wallet could not be read: "
        f"wallet row {broken.id}: date: Invalid isoformat string: 'gestern'"
    ) == str(stopped.value)
    assert (0, 0) == (runs, entries)
    assert ("reconcile.failed", str(stopped.value)) == (problem.kind, problem.message)
