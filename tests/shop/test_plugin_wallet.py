"""`PluginClient`'s wallet methods against the sandbox shop over a real socket.

Member 5 (Noah) in the seeded coop, as the wallet table holds him:

    id  amount  balance  details
     4   80.00    80.00  Einzahlung Bank 22.11.2026         deposit
    19  -33.00    47.00  Bestellung #137 (Neubestellung)
    22    6.80    53.80  Mutation: Produkt nicht geliefert (Butterzopf)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pot_bridge.errors import ShopAuthError, ShopUnavailable
from pot_bridge.sandbox import SandboxShop, seed_coop
from pot_bridge.shop import PluginClient, ShopClient
from pot_bridge.shop.plugin import (
    AddedRow,
    WalletRow,
    WalletRowNotWritten,
    parse_wallet_row,
)
from pot_bridge.shop.reply import decode_json

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
ZURICH = ZoneInfo("Europe/Zurich")
NOAH, ANNA = 5, 11
BOOKING = "/wp-json/foodcoop/v1/postAddTransaction"
POT = Path(__file__).resolve().parents[3] / "shared/fixtures/pot-plugin/1.7.7"


@pytest.fixture
def sandbox() -> Iterator[SandboxShop]:
    state = seed_coop(NOW)
    state.clock = lambda: NOW
    with SandboxShop(state) as shop:
        yield shop


def connect(shop: SandboxShop, **kwargs: Any) -> PluginClient:
    settings: dict[str, Any] = {
        "wp_user": shop.app_user,
        "wp_app_password": shop.app_password,
        "requests_per_second": 0,
        "read_timeout": 5.0,
        "sleep": lambda seconds: None,
    }
    settings.update(kwargs)
    client = ShopClient(
        "coop-s", shop.url, shop.consumer_key, shop.consumer_secret, **settings
    )
    return PluginClient(client)


def book(plugin: PluginClient, amount: str, user: int = NOAH) -> AddedRow:
    return plugin.add_transaction(
        user,
        Decimal(amount),
        "Einzahlung Bank 04.12.2026",
        "deposit",
        created_by=14,
        when=NOW,
    )


def test_all_rows_are_typed_oldest_first(sandbox: SandboxShop) -> None:
    rows = connect(sandbox).wallet_rows()

    assert sorted(r.id for r in rows) == [r.id for r in rows]
    assert len(sandbox.state.wallet.rows) == len(rows)
    refund = next(r for r in rows if r.details.startswith("Mutation"))
    assert (Decimal("6.80"), Decimal("53.80"), " ", "Noah Weber") == (
        refund.amount,
        refund.balance,
        refund.created_by,
        refund.user_name,
    )
    assert refund.date is not None
    assert datetime(2026, 12, 3, 20, 0, tzinfo=ZURICH) == refund.date


def test_rows_of_one_member(sandbox: SandboxShop) -> None:
    rows = connect(sandbox).wallet_rows_of(NOAH)

    assert [
        (Decimal("80.00"), Decimal("80.00"), "deposit"),
        (Decimal("-33.00"), Decimal("47.00"), ""),
        (Decimal("6.80"), Decimal("53.80"), ""),
    ] == [(r.amount, r.balance, r.type) for r in rows]
    assert all(isinstance(r.amount, Decimal) for r in rows)


def test_recorded_rows_parse_as_the_plugin_sent_them() -> None:
    path = POT / "getAllTransactions.json"
    if not path.exists():
        pytest.skip(f"recorded fixture {path} is not on this machine")
    raw = json.loads(path.read_text(encoding="utf-8"))["raw_body"]

    rows = [
        parse_wallet_row(r, "coop-r")
        for r in decode_json(raw.encode(), double_encoded=True)
    ]

    assert 26 == len(rows)
    newest = rows[0]
    assert (26, 3, Decimal("12.50"), Decimal("69.70")) == (
        newest.id,
        newest.user_id,
        newest.amount,
        newest.balance,
    )
    assert datetime(2026, 12, 4, 16, 30, 30, tzinfo=ZURICH) == newest.date
    assert datetime(2026, 12, 4, 15, 30, 34, tzinfo=UTC) == newest.reported
    assert "Nina Zürcher" == rows[1].user_name


def test_reported_is_utc_and_a_zero_date_is_none() -> None:
    row = WalletRow.model_validate(
        {
            "id": "7",
            "user_id": "2",
            "amount": "-1.00",
            "balance": "1.00",
            "details": "",
            "created_by": " ",
            "date": "0000-00-00 00:00:00",
            "type": "",
            "reported": "2026-12-04 15:30:34",
        }
    )

    assert row.date is None
    assert datetime(2026, 12, 4, 15, 30, 34, tzinfo=UTC) == row.reported


def test_balance_and_no_balance(sandbox: SandboxShop) -> None:
    plugin = connect(sandbox)

    assert Decimal("53.80") == plugin.balance(NOAH)
    assert plugin.balance(ANNA) is None


def test_booking_sends_a_point_and_zurich_time(sandbox: SandboxShop) -> None:
    added = book(connect(sandbox), "12.5")

    row = sandbox.state.wallet.rows[-1]
    assert (
        AddedRow(
            id=row.id,
            user_id=NOAH,
            member_name="Noah Weber",
            amount=Decimal("12.50"),
            balance=Decimal("66.30"),
            details="Einzahlung Bank 04.12.2026",
            created_by=14,
            type="deposit",
        )
        == added
    )
    assert ("2026-12-04 16:00:00", Decimal("12.50")) == (row.date, row.amount)


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        pytest.param(12.5, TypeError, id="float"),
        pytest.param(Decimal("1.005"), ValueError, id="sub-rappen"),
        pytest.param(Decimal("NaN"), TypeError, id="nan"),
        pytest.param(Decimal("100000000.00"), ValueError, id="too-big"),
    ],
)
def test_amounts_the_table_cannot_hold_are_not_sent(
    sandbox: SandboxShop, amount: Any, error: type[Exception]
) -> None:
    plugin = connect(sandbox)

    with pytest.raises(error):
        plugin.add_transaction(NOAH, amount, "x", "deposit", 14, NOW)

    assert 0 == plugin.shop.requests_made


def test_naive_time_and_unknown_type_are_refused(sandbox: SandboxShop) -> None:
    plugin = connect(sandbox)

    with pytest.raises(ValueError, match="timezone-aware"):
        plugin.add_transaction(
            NOAH, Decimal(1), "x", "deposit", 14, NOW.replace(tzinfo=None)
        )
    with pytest.raises(ValueError, match="mutation"):
        plugin.add_transaction(NOAH, Decimal(1), "x", "mutation", 14, NOW)

    assert 0 == plugin.shop.requests_made


def test_id_0_answer_is_refused_naming_coop_and_member(
    sandbox: SandboxShop,
) -> None:
    sandbox.state.wallet.schema_upgraded = False
    before = len(sandbox.state.wallet.rows)

    with pytest.raises(WalletRowNotWritten, match="wp-admin") as caught:
        book(connect(sandbox), "100")

    assert "coop coop-s" in str(caught.value)
    assert "member 5" in str(caught.value)
    assert before == len(sandbox.state.wallet.rows)


def test_decimal_comma_is_a_500_and_not_retried(sandbox: SandboxShop) -> None:
    plugin = connect(sandbox)
    body = {"user": NOAH, "amount": "25,50", "details": "x", "type": "deposit"}

    with pytest.raises(ShopUnavailable, match="500"):
        plugin.post("postAddTransaction", body)

    assert 1 == plugin.shop.requests_made
    assert 1 == sum(r.path == BOOKING for r in sandbox.requests)


def test_a_members_password_is_refused_on_the_ledger(sandbox: SandboxShop) -> None:
    sandbox.add_app_password("noah.weber", "memb erpa sswo rd12 3456 7890")
    plugin = connect(
        sandbox, wp_user="noah.weber", wp_app_password="memb erpa sswo rd12 3456 7890"
    )

    with pytest.raises(ShopAuthError, match="403"):
        plugin.wallet_rows()
    with pytest.raises(ShopAuthError, match="403"):
        book(plugin, "1000.00")

    assert Decimal("53.80") == plugin.balance(NOAH)  # the route is public


def test_a_woocommerce_key_is_refused_as_unknown_user(sandbox: SandboxShop) -> None:
    plugin = connect(
        sandbox,
        wp_user=sandbox.consumer_key,
        wp_app_password=sandbox.consumer_secret,
    )

    with pytest.raises(ShopAuthError, match="unknown WordPress user"):
        plugin.wallet_rows()


def test_wrong_password_is_named(sandbox: SandboxShop) -> None:
    plugin = connect(sandbox, wp_app_password="abcd abcd abcd abcd abcd abcd")

    with pytest.raises(ShopAuthError, match="wrong WordPress application password"):
        plugin.balance(NOAH)


def test_parallel_bookings_on_a_racing_shop_lose_money(sandbox: SandboxShop) -> None:
    """Every booking answers with its own row; the running balance is wrong."""
    sandbox.state.wallet.race = True
    sandbox.state.wallet.race_window = 0.2  # wide enough on a busy test machine
    added: list[AddedRow] = []
    start = threading.Barrier(4)

    def one() -> None:
        plugin = connect(sandbox)
        start.wait()
        added.append(book(plugin, "10.00"))

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    rows = connect(sandbox).wallet_rows_of(NOAH)
    assert 4 == len({a.id for a in added})
    assert Decimal("93.80") == sum((r.amount for r in rows), Decimal(0))
    assert rows[-1].balance < Decimal("93.80")
