"""`pot-bridge reconcile` over real sockets: the sandbox shop's wallet routes in,
findings, the admin's mail through SMTP and the booked corrections out.

The seeded sandbox coop, with what a night of trouble adds to it:

    Noah (5)   row  Bestellung #137 (Neubestellung)  -33.00  a second time
    Noah (5)   row  Einzahlung Bank                   20.00  balance 10.00 short
    Luca (7)   two block-checkout orders in round B, each charged in full
    Elena (6)  her order 138 cancelled after the wallet charged it (seeded)
"""

from __future__ import annotations

import argparse
import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bridge_helpers import FAST_CLIENT, ahead, make_bridge

from pot_bridge.bridge import Bridge
from pot_bridge.cli_reconcile import add_parser, run
from pot_bridge.credit.reconcile import newest_run
from pot_bridge.demo import sandbox_settings
from pot_bridge.mailcatcher import MailCatcher, free_port
from pot_bridge.money import format_chf
from pot_bridge.sandbox import Fault, SandboxShop
from pot_bridge.sandbox.wallet import wall_time

from .shop_notation import recorded

NOAH, ELENA, LUCA = 5, 6, 7
ADMIN = "admin@foodcoop-sandbox.example.org"
MARK = "[pot-bridge reconcile:"
LABELS = {
    "duplicate_row": "Doppelte Wallet-Zeile",
    "chain_break": "Laufender Saldo gebrochen",
    "cancelled_still_charged": "Storniert, aber belastet",
    "charged_twice_in_round": "In einer Runde zweimal voll belastet",
}
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")


def printed(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """What the command printed, without the log lines that share stdout."""
    out = capsys.readouterr().out
    return [line for line in out.splitlines() if not LOG_LINE.match(line)]


def command(*argv: str) -> argparse.Namespace:
    """The arguments as `pot-bridge reconcile ARGV` parses them."""
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["reconcile", *argv])


@pytest.fixture
def bridge(
    shop: SandboxShop, db_url: str, mail: MailCatcher, tmp_path: Path
) -> Iterator[Bridge]:
    bridge = make_bridge(shop, db_url, mail.port, tmp_path)
    yield bridge
    bridge.dispose()


def night_of_trouble(shop: SandboxShop) -> dict[str, Any]:
    """Stage the rows and orders of the module docstring; what they should give."""
    state, wallet = shop.state, shop.state.wallet
    now = datetime.now(UTC)
    (charge,) = [r for r in wallet.of(NOAH) if r.details.endswith("(Neubestellung)")]
    again = wallet.insert(NOAH, charge.amount, charge.details, NOAH, wall_time(now))
    assert wallet.balance(NOAH) is not None
    short = wallet.balance(NOAH) + Decimal("20.00") - Decimal("10.00")
    deposit = wallet.insert(
        NOAH,
        Decimal("20.00"),
        "Einzahlung Bank",
        14,
        wall_time(now),
        "deposit",
        balance=short,
    )
    first = state.add_order(
        LUCA, [(18, 1)], round_id=130, via="store-api", created=now - timedelta(hours=1)
    )
    state.add_order(LUCA, [(17, 2)], round_id=130, via="store-api", created=now)
    (elena,) = [r for r in wallet.of(ELENA) if r.details.startswith("Bestellung #")]

    return {
        "duplicate": ("duplicate_row", NOAH, charge.amount, again.id, -charge.amount),
        "chain": ("chain_break", NOAH, Decimal("10.00"), deposit.id, Decimal("10.00")),
        "twice": ("charged_twice_in_round", LUCA, Decimal(first["total"]), None, None),
        "cancelled": (
            "cancelled_still_charged",
            ELENA,
            -elena.amount,
            elena.id,
            -elena.amount,
        ),
    }


def found(bridge: Bridge) -> list[tuple[object, ...]]:
    """The newest run's open findings: kind, member, amount and, for a
    proposal, its row and correction."""
    with bridge.sessions() as session:
        done = newest_run(session, "sandbox")
        assert done is not None
    return sorted(
        (f.kind, f.member, f.amount, f.row_id if f.correction else None, f.correction)
        for f in done.findings
        if f.status == "open"
    )


def test_a_night_of_trouble_is_found_mailed_and_corrected_once(
    bridge: Bridge,
    shop: SandboxShop,
    mail: MailCatcher,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = night_of_trouble(shop)
    proposed = sum(fix for *_, fix in expected.values() if fix is not None)
    bridge.sync("sandbox")

    done = bridge.nightly("sandbox")
    bridge.drain()

    assert done is not None
    assert sorted(expected.values()) == found(bridge)
    (message,) = [m for m in mail.messages if m["To"] == ADMIN]
    body = message.get_body(("plain",))
    assert body is not None
    (attachment,) = list(message.iter_attachments())
    content = attachment.get_payload(decode=True)
    table = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert ADMIN == message["To"]
    assert "Abgleich Guthaben Foodcoop Sandbox: 4 Befunde" == message["Subject"]
    assert f"Zusammen +{format_chf(proposed)} CHF" in body.get_content()
    assert content.startswith(b"\xef\xbb\xbf")
    assert sorted(
        [LABELS[kind], str(member), f"{amount:f}"]
        for kind, member, amount, *_ in expected.values()
    ) == sorted([row[1], row[2], row[4]] for row in table[1:])

    applied = run(command("sandbox", "--apply"), bridge, ask=lambda _: "ja")
    again = run(command("sandbox", "--apply", "--yes"), bridge)

    out = "\n".join(printed(capsys))
    written = sorted(
        (r.user_id, r.amount, r.type)
        for r in shop.state.wallet.rows
        if MARK in r.details
    )
    assert (0, 0) == (applied, again)
    assert (
        sorted(
            (member, fix, "manual_transaction")
            for _, member, _, _, fix in expected.values()
            if fix is not None
        )
        == written
    )
    assert f"3 correction(s) booked (+{format_chf(proposed)} CHF), 0 left out" in out
    assert "wallet rows: 3 written" in out
    assert f"run {done.id} proposes nothing to book" in out

    assert 0 == run(command("sandbox"), bridge)
    assert [expected["twice"]] == found(bridge)


def test_without_a_yes_nothing_is_booked(
    bridge: Bridge, shop: SandboxShop, capsys: pytest.CaptureFixture[str]
) -> None:
    night_of_trouble(shop)
    bridge.sync("sandbox")
    assert 0 == run(command("sandbox"), bridge)
    rows_before = len(shop.state.wallet.rows)

    declined = run(command("sandbox", "--apply"), bridge, ask=lambda _: "")

    out = "\n".join(printed(capsys))
    assert 1 == declined
    assert "nothing booked" in out
    assert rows_before == len(shop.state.wallet.rows)
    assert 3 == sum(1 for f in found(bridge) if f[4] is not None)


# -- the recorded race over the socket --------------------------------------------


def test_the_recorded_race_read_through_the_wallet_routes(
    bridge: Bridge, shop: SandboxShop
) -> None:
    """The sandbox's wallet holds the table recorded after the race; read
    over HTTP, each member's chain losses are what the table says was lost:
    the sum of their rows less the balance of their newest row."""
    table = recorded("wallet_table_rows_after_race.json")["rows"]
    shop.state.wallet.load(table)
    summed: dict[int, Decimal] = defaultdict(Decimal)
    newest: dict[int, tuple[int, Decimal]] = {}
    for row in table:
        user, row_id = int(row["user_id"]), int(row["id"])
        summed[user] += Decimal(row["amount"])
        if row_id > newest.get(user, (0, Decimal(0)))[0]:
            newest[user] = (row_id, Decimal(row["balance"]))
    lost = {u: summed[u] - newest[u][1] for u in summed if summed[u] != newest[u][1]}

    assert 0 == run(command("sandbox"), bridge)

    chain: dict[object, Decimal] = defaultdict(Decimal)
    for kind, member, amount, *_ in found(bridge):
        if kind == "chain_break":
            chain[member] += Decimal(str(amount))
    assert lost == dict(chain)


# -- a shop that fails ------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault(path="getAllTransactions", kind="html", times=9), id="html"),
        pytest.param(Fault(path="getAllTransactions", status=500, times=9), id="500"),
        pytest.param(
            Fault(path="getAllTransactions", kind="delay", delay=1.5, times=9),
            id="timeout",
        ),
    ],
)
def test_a_shop_that_fails_stops_the_run_with_the_coop_named(
    shop: SandboxShop,
    db_url: str,
    tmp_path: Path,
    fault: Fault,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bridge = make_bridge(shop, db_url, 2525, tmp_path, read_timeout=0.5, max_attempts=2)
    try:
        shop.faults.add(fault)

        assert 1 == run(command("sandbox"), bridge)
        assert None is bridge.nightly("sandbox")
    finally:
        bridge.dispose()

    (line,) = printed(capsys)
    assert line.startswith(
        "sandbox: failed: coop sandbox: reconciliation stopped, the shop's wallet "
        "could not be read: "
    )


def test_one_coops_dead_shop_does_not_stop_the_others(
    shop: SandboxShop, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = sandbox_settings(tmp_path, shop, 2525)
    sandbox = settings.coops[0]
    dead = sandbox.model_copy(
        update={"slug": "nord", "shop_url": f"http://127.0.0.1:{free_port()}"}
    )
    settings = settings.model_copy(
        update={"database_url": db_url, "coops": [dead, sandbox]}
    )
    bridge = Bridge(
        settings, clock=ahead, client_options={**FAST_CLIENT, "max_attempts": 2}
    )
    try:
        outcome = run(command(), bridge)
    finally:
        bridge.dispose()

    lines = printed(capsys)
    assert 1 == outcome
    assert lines[0].startswith("nord: failed: coop nord: reconciliation stopped")
    assert lines[1].startswith("sandbox: run 1 of ")
