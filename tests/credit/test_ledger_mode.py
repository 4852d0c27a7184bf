"""Ledger mode: the bridge's ledger is the book and each member's balance is
published to their customer meta, over the socket to the sandbox shop."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from bridge_helpers import make_bridge
from sqlalchemy import delete

from pot_bridge.bridge import Bridge
from pot_bridge.config import CoopConfig, CoopCredit
from pot_bridge.credit.ledger_mode import publish_balances
from pot_bridge.credit.orders import book_orders
from pot_bridge.errors import ConfigError
from pot_bridge.ledger import balances
from pot_bridge.problems import open_problems
from pot_bridge.sandbox import SandboxShop
from pot_bridge.store.schema import PublishedBalance

KEY = "pot_credit_balance"
CUSTOMER_PUT = re.compile(r"/wp-json/wc/v3/customers/(\d+)")
NOAH, KAROTTEN = 5, 11


@pytest.fixture
def bridge(shop: SandboxShop, db_url: str, tmp_path: Path) -> Iterator[Bridge]:
    """A bridge on the sandbox coop run in ledger mode."""
    made = make_bridge(shop, db_url, 2525, tmp_path)
    coop = made.settings.coops[0].model_copy(
        update={"credit": CoopCredit(mode="ledger")}
    )
    made.settings = made.settings.model_copy(update={"coops": [coop]})
    yield made
    made.dispose()


def coop_of(bridge: Bridge) -> CoopConfig:
    return bridge.settings.coops[0]


def sync_and_book(bridge: Bridge) -> None:
    coop = coop_of(bridge)
    bridge.sync(coop.slug)
    with bridge.sessions.begin() as session:
        book_orders(session, coop, datetime.now(UTC))


def publish(bridge: Bridge) -> int:
    coop = coop_of(bridge)
    return publish_balances(
        bridge.sessions, coop, bridge.client(coop), datetime.now(UTC)
    )


def ledger_balances(bridge: Bridge) -> dict[int, str]:
    with bridge.sessions() as session:
        kept = balances(session, coop_of(bridge).slug)
    return {
        int(code.removeprefix("member:")): f"{amount:.2f}"
        for code, amount in kept.items()
        if code.startswith("member:")
    }


def shop_balances(shop: SandboxShop) -> dict[int, str]:
    return {
        customer.id: str(value)
        for customer in shop.state.customers.values()
        for _id, key, value in customer.meta
        if key == KEY
    }


def puts(shop: SandboxShop) -> list[int]:
    return [
        int(match[1])
        for r in shop.requests
        if r.method == "PUT" and (match := CUSTOMER_PUT.fullmatch(r.path))
    ]


def test_each_balance_is_published_once_until_it_changes(
    bridge: Bridge, shop: SandboxShop
) -> None:
    sync_and_book(bridge)

    written = publish(bridge)
    again = publish(bridge)

    assert ledger_balances(bridge) == shop_balances(shop)
    assert len(ledger_balances(bridge)) == written
    assert "-26.20" == shop_balances(shop)[NOAH]  # 33.00 ordered, 6.80 refunded
    assert 0 == again
    assert sorted(ledger_balances(bridge)) == sorted(puts(shop))

    shop.state.add_order(NOAH, [(KAROTTEN, 2)], round_id=130)
    sync_and_book(bridge)
    later = publish(bridge)

    assert 1 == later
    assert NOAH == puts(shop)[-1]
    assert "-32.60" == shop_balances(shop)[NOAH]


def test_an_unknown_customer_is_a_problem_and_the_others_go_on(
    bridge: Bridge, shop: SandboxShop
) -> None:
    shop.state.add_order(99, [(KAROTTEN, 1)], round_id=130)
    sync_and_book(bridge)

    written = publish(bridge)

    with bridge.sessions() as session:
        found = [
            (p.kind, p.subject, p.message)
            for p in open_problems(session)
            if p.kind.startswith("credit.")
        ]
    assert [
        (
            "credit.customer_unknown",
            "member 99",
            (
                "coop sandbox: member 99 has a balance of -3.20 CHF in the ledger, "
                "but the shop has no customer 99: the balance is not published"
            ),
        )
    ] == found
    assert len(ledger_balances(bridge)) - 1 == written
    assert 99 not in shop_balances(shop)
    assert Decimal("-3.20") == Decimal(ledger_balances(bridge)[99])


def test_a_lost_record_of_publishing_writes_the_same_values_again(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """A crash after the shop took a value and before it was recorded."""
    sync_and_book(bridge)
    publish(bridge)
    before = shop_balances(shop)
    with bridge.sessions.begin() as session:
        session.execute(delete(PublishedBalance))

    written = publish(bridge)

    assert len(before) == written
    assert before == shop_balances(shop)


def test_plugin_mode_publishes_nothing(bridge: Bridge, shop: SandboxShop) -> None:
    coop = coop_of(bridge).model_copy(update={"credit": CoopCredit()})

    with pytest.raises(ConfigError, match="ledger mode"):
        publish_balances(bridge.sessions, coop, bridge.client(coop), datetime.now(UTC))

    assert [] == puts(shop)
