"""`pot-bridge topup import` killed with SIGKILL while the shop books its wallet
row: the shop holds the row, the bridge never heard back. Run again, the member
is credited once, in the shop and in the ledger."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from bridge_helpers import FAST_CLIENT, ahead
from sqlalchemy import func, select

from pot_bridge.bridge import Bridge
from pot_bridge.config import CoopCredit
from pot_bridge.credit import wallet_write
from pot_bridge.demo import sandbox_settings
from pot_bridge.sandbox import SandboxShop
from pot_bridge.sandbox.faults import Fault
from pot_bridge.store.schema import JournalEntry, WalletWrite

from .test_cli_topup import KEY, LEA, NOAH, ours
from .test_topup import QR_IBAN, QRR_FILE, SAMPLES

CONFIG = """
state_dir = "{state}"
database_url = "{db_url}"
log_format = "json"

[smtp]
host = "127.0.0.1"
port = 2525
security = "none"

[[coop]]
slug = "sandbox"
name = "Foodcoop Sandbox"
shop_url = "{shop_url}"
wp_user = "{wp_user}"

[coop.credit]
iban = "{iban}"
reference_prefix = "4711"
bridge_user_id = 14
"""


@pytest.fixture
def synced(shop: SandboxShop, db_url: str, tmp_path: Path) -> Iterator[Bridge]:
    """The store with the shop's members, as the killed command finds it."""
    settings = sandbox_settings(tmp_path, shop, 2525)
    credit = CoopCredit(iban=QR_IBAN, reference_prefix="4711", bridge_user_id=14)
    coop = settings.coops[0].model_copy(update={"credit": credit})
    settings = settings.model_copy(update={"database_url": db_url, "coops": [coop]})
    bridge = Bridge(settings, clock=ahead, client_options=FAST_CLIENT)
    bridge.sync("sandbox")
    yield bridge
    bridge.dispose()


def command(shop: SandboxShop, db_url: str, tmp_path: Path) -> list[str]:
    config = tmp_path / "config.toml"
    config.write_text(
        CONFIG.format(
            state=tmp_path,
            db_url=db_url,
            shop_url=shop.url,
            wp_user=shop.app_user,
            iban=QR_IBAN,
        )
    )
    return [
        sys.executable,
        "-m",
        "pot_bridge.cli",
        "--config",
        str(config),
        "topup",
        "import",
        "sandbox",
        str(SAMPLES / QRR_FILE),
    ]


def secrets(shop: SandboxShop) -> dict[str, str]:
    return {
        **os.environ,
        "POT_BRIDGE_SANDBOX_CONSUMER_KEY": shop.consumer_key,
        "POT_BRIDGE_SANDBOX_CONSUMER_SECRET": shop.consumer_secret,
        "POT_BRIDGE_SANDBOX_WP_APP_PASSWORD": shop.app_password,
    }


def test_killed_while_the_shop_books_the_row_credits_the_member_once(
    synced: Bridge, shop: SandboxShop, db_url: str, tmp_path: Path
) -> None:
    stall = Fault("POST", r"postAddTransaction", times=1, kind="stall", delay=60)
    shop.faults.add(stall)
    argv = command(shop, db_url, tmp_path)
    child = subprocess.Popen(argv, env=secrets(shop), stdout=subprocess.PIPE)

    deadline = time.monotonic() + 60
    while not ours(shop) and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)

    assert [(LEA, Decimal("50.00"), "deposit")] == ours(shop)  # stored, unheard
    with synced.sessions.begin() as session:  # the dead run's claim runs out
        held = select(WalletWrite).where(WalletWrite.status == "sending")
        for write in session.scalars(held):
            assert write.claimed_at is not None
            write.claimed_at -= wallet_write.LEASE
    again = subprocess.run(
        argv, check=False, env=secrets(shop), capture_output=True, timeout=120
    )

    assert 0 == again.returncode, again.stderr.decode()
    assert "1 found written before" in again.stdout.decode()
    assert [
        (LEA, Decimal("50.00"), "deposit"),
        (NOAH, Decimal("80.00"), "deposit"),
    ] == ours(shop)
    with synced.sessions() as session:
        booked = select(func.count()).where(JournalEntry.key.startswith(KEY))
        assert 2 == session.scalar(booked)
        statuses = session.scalars(select(WalletWrite.status)).all()
        assert ["written", "written"] == sorted(statuses)
