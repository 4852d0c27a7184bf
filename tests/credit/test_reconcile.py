"""A reconciliation run in the store: the shop's orders and wallet rows in; the
ledger brought up to the shop, findings kept with exact amounts, the report out.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge.config import CoopConfig
from pot_bridge.credit import reconcile_report
from pot_bridge.credit.reconcile import ReconcileAborted, ReconcileFailed, reconcile
from pot_bridge.credit.reconcile_gather import applied_corrections
from pot_bridge.errors import ShopAuthError, ShopBadResponse, ShopUnavailable
from pot_bridge.ledger.wallet_rows import WalletRow
from pot_bridge.problems import open_problems
from pot_bridge.shop import plugin
from pot_bridge.store import session_factory
from pot_bridge.store.schema import JournalEntry, Reconciliation, ReconciliationFinding

from .shop_notation import NOW, balances, coop, ledger, pull, recorded, same

PLUGIN = coop().model_copy(update={"admin_email": "kasse@foodcoop-test.example.org"})
SLUG = PLUGIN.slug


def coop_with(**fields: Any) -> CoopConfig:
    return PLUGIN.model_copy(update=fields)


class Shop:
    """The plugin's `getAllTransactions`, answering rows in its own shape, or
    failing as a shop can."""

    def __init__(
        self, rows: Sequence[Mapping[str, Any]], fails: Exception | None = None
    ):
        self.raws = list(rows)
        self.fails = fails

    def ledger_rows(self) -> list[WalletRow]:
        if self.fails is not None:
            raise self.fails
        return [plugin.parse_ledger_row(dict(raw), SLUG) for raw in self.raws]


def raw(row_id: int, user: int, amount: str, balance: str, details: str, **more: str):
    return {
        "id": str(row_id),
        "user_id": str(user),
        "amount": amount,
        "balance": balance,
        "details": details,
        "created_by": " ",
        "date": (NOW + timedelta(minutes=row_id)).strftime("%Y-%m-%d %H:%M:%S"),
        "type": more.get("type", ""),
        "reported": None,
    }


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


def shop_orders(sessions: sessionmaker[Session], text: str) -> None:
    with sessions.begin() as session:
        pull(session, SLUG, text)


def kinds(run: Reconciliation) -> list[tuple[object, ...]]:
    return [
        (f.kind, f.member, f.amount, f.row_id, f.order_id, f.correction)
        for f in run.findings
    ]


# -- the recorded shop after the race --------------------------------------------

# The orders of the recorded shop (fixtures/pot-plugin/1.7.7/README.md): Lea's
# block-checkout orders keep no round, the bridge placed both in round 130.
RECORDED_SHOP = """
order 131 Lea   processing 16.60 at 15:29:17 key plugin:130
order 133 Jonas trash      20.00 round 130 at 15:29:29 ended 15:30:30
order 134 Mia   trash      22.45 round 130 at 15:29:34 ended 15:29:39
order 135 Mia   processing 42.55 round 130 at 15:29:39
order 136 Noah  processing 33.00 round 130 at 15:29:44
refund 137 of 136 6.80 wallet "Mutation: Produkt nicht geliefert (Butterzopf)"
order 138 Elena failed     18.70 round 130 at 15:30:00
order 139 Lea   processing 20.55 at 15:30:04 key plugin:130
order 140 Luca  completed  29.10 round 129 at 15:30:08
order 141 Sofia completed  13.35 round 129 at 15:30:09
order 142 Nina  completed  27.90 round 129 at 15:30:10
order 143 Jonas processing  7.50 round 130 at 15:30:30
"""


@pytest.fixture
def race() -> dict[str, Any]:
    return recorded("wallet_table_rows_after_race.json")


def lost_per_member(raws: Sequence[Mapping[str, str]]) -> dict[int, Decimal]:
    """The rows' sum less the balance the wallet shows, per member: what the
    race took from each, read straight off the recorded table."""
    summed: dict[int, Decimal] = defaultdict(Decimal)
    shown: dict[int, tuple[int, Decimal]] = {}
    for row in raws:
        user, row_id = int(row["user_id"]), int(row["id"])
        summed[user] += Decimal(row["amount"])
        if row_id > shown.get(user, (0, Decimal(0)))[0]:
            shown[user] = (row_id, Decimal(row["balance"]))

    return {u: summed[u] - shown[u][1] for u in summed if summed[u] != shown[u][1]}


def test_the_recorded_race_is_found_with_the_exact_amounts_lost(
    sessions: sessionmaker[Session], race: dict[str, Any]
) -> None:
    shop_orders(sessions, RECORDED_SHOP)
    lost = lost_per_member(race["rows"])

    run = reconcile(sessions, Shop(race["rows"]), PLUGIN, NOW)

    chain: dict[int, Decimal] = defaultdict(Decimal)
    for f in run.findings:
        if f.kind == "chain_break":
            chain[f.member or 0] += f.correction or Decimal(0)
    with sessions() as session:
        kept = balances(session, SLUG)
    shown = "\n".join(
        f"member:{user} {facts['balance_of_newest_row']}"
        for user, facts in race["reconciliation_per_user"].items()
    )
    assert lost == dict(chain)
    assert same(shown) == same(kept)
    assert {"chain_break", "duplicate_row", "charged_twice_in_round"} == {
        f.kind for f in run.findings
    }
    assert len(race["rows"]) == run.wallet_rows


def test_the_race_is_booked_once_however_often_it_runs(
    sessions: sessionmaker[Session], race: dict[str, Any]
) -> None:
    shop_orders(sessions, RECORDED_SHOP)
    first = reconcile(sessions, Shop(race["rows"]), PLUGIN, NOW)
    with sessions() as session:
        booked = ledger(session, SLUG)

    second = reconcile(sessions, Shop(race["rows"]), PLUGIN, NOW + timedelta(days=1))

    with sessions() as session:
        again = ledger(session, SLUG)
        chain = ledger(session, SLUG, "wallet-chain:")
    assert booked == again
    assert same("""
        wallet-chain:33  corrections 10.00  member:8  -10.00
        wallet-chain:48  corrections 20.00  member:9  -20.00
        wallet-chain:52  corrections 10.00  member:10 -10.00
        wallet-chain:57  corrections 10.00  member:10 -10.00
    """) == same(chain)
    assert kinds(first) == kinds(second)
    assert second.id > first.id


def test_each_proposal_carries_the_key_it_will_be_booked_under(
    sessions: sessionmaker[Session], race: dict[str, Any]
) -> None:
    shop_orders(sessions, RECORDED_SHOP)

    run = reconcile(sessions, Shop(race["rows"]), PLUGIN, NOW)

    proposed = [f for f in run.findings if f.correction is not None]
    assert proposed
    assert all(f"reconcile:{f.id}" == f.correction_key for f in proposed)
    assert all(f.correction_key is None for f in run.findings if f.correction is None)


# -- a duplicated row and a broken running balance, reported ---------------------

NOAH_ROWS = [
    raw(1, 5, "80.00", "80.00", "Einzahlung Bank 01.12.2026", type="deposit"),
    raw(2, 5, "-33.00", "47.00", "Bestellung #136 (Neubestellung)"),
    raw(3, 5, "-33.00", "14.00", "Bestellung #136 (Neubestellung)"),
    raw(4, 5, "20.00", "24.00", "Einzahlung Bank 05.12.2026", type="deposit"),
]


def test_a_duplicate_and_a_broken_balance_are_found_and_reported(
    sessions: sessionmaker[Session],
) -> None:
    """Row 3 charges order 136 again (33.00 too much); row 4 should read 34.00."""
    shop_orders(sessions, "order 136 Noah processing 33.00 round 130")

    run = reconcile(sessions, Shop(NOAH_ROWS), PLUGIN, NOW)
    with sessions.begin() as session:
        message = reconcile_report.report(session, PLUGIN, run, NOW)
        assert message is not None
        body, subject = message.body, message.subject
        (attachment,) = [(a.filename, a.content) for a in message.attachments]

    assert [
        ("chain_break", 5, Decimal("10.00"), 4, None, Decimal("10.00")),
        ("duplicate_row", 5, Decimal("-33.00"), 3, None, Decimal("33.00")),
    ] == kinds(run)
    assert "Abgleich Guthaben Foodcoop Test: 2 Befunde" == subject
    assert "Zusammen +43.00 CHF" in body
    assert "pot-bridge reconcile coop-t --apply" in body
    name, content = attachment
    assert name.endswith(f"-{run.id}.csv")
    assert content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert [
        ["Laufender Saldo gebrochen", "5", "10.00", "4", "", "10.00", "open"],
        ["Doppelte Wallet-Zeile", "5", "-33.00", "3", "", "33.00", "open"],
    ] == [[r[1], r[2], r[4], r[5], r[6], r[7], r[8]] for r in table[1:]]


def test_the_report_is_in_the_coops_language(sessions: sessionmaker[Session]) -> None:
    shop_orders(sessions, "order 136 Noah processing 33.00 round 130")
    french = coop_with(language="fr")

    run = reconcile(sessions, Shop(NOAH_ROWS), french, NOW)
    with sessions.begin() as session:
        message = reconcile_report.report(session, french, run, NOW)
        assert message is not None
        subject, body = message.subject, message.body

    assert "Rapprochement du crédit Foodcoop Test : 2 constats" == subject
    assert "Corrections proposées" in body
    assert "Ligne 4 : solde 24.00 CHF au lieu de 34.00 CHF" in body


def test_a_mail_while_findings_last_one_all_clear_then_quiet_nights(
    sessions: sessionmaker[Session],
) -> None:
    """Row 2 charges order 136 before the store knows it; then the order arrives."""
    shop = Shop(NOAH_ROWS[:2])
    reports = []
    for day in range(4):
        if day == 2:
            shop_orders(sessions, "order 136 Noah processing 33.00 round 130")
        when = NOW + timedelta(days=day)
        run = reconcile(sessions, shop, PLUGIN, when)
        with sessions.begin() as session:
            message = reconcile_report.report(session, PLUGIN, run, when)
            reports.append(message.subject if message else None)

    assert [
        "Abgleich Guthaben Foodcoop Test: 2 Befunde",
        "Abgleich Guthaben Foodcoop Test: 2 Befunde",
        "Abgleich Guthaben Foodcoop Test: wieder alles in Ordnung",
        None,
    ] == reports


# -- ledger mode, and a shop that fails ------------------------------------------


def test_ledger_mode_checks_the_ledger_and_its_order_debits(
    sessions: sessionmaker[Session],
) -> None:
    book = coop(mode="ledger", slug="coop-t")
    shop_orders(
        sessions,
        """
        order 140 Luca  completed  29.10 round 129
        order 141 Sofia processing 13.35 round 129 by twint
        """,
    )

    run = reconcile(sessions, None, book, NOW)

    with sessions() as session:
        debits = ledger(session, SLUG)
    assert [] == kinds(run)
    assert 0 == run.wallet_rows
    assert same("order:140:paid  member:7 -29.10  sales 29.10") == same(debits)


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        pytest.param(
            ShopBadResponse("GET getAllTransactions answered HTML", coop=SLUG),
            ReconcileFailed,
            id="html",
        ),
        pytest.param(
            ShopUnavailable("GET getAllTransactions: 500 after 6 tries", coop=SLUG),
            ReconcileFailed,
            id="500",
        ),
        pytest.param(
            ShopUnavailable("GET getAllTransactions timed out", coop=SLUG),
            ReconcileFailed,
            id="timeout",
        ),
        pytest.param(
            ShopAuthError("401 invalid_username", coop=SLUG),
            ReconcileAborted,
            id="credentials",
        ),
    ],
)
def test_a_shop_that_cannot_be_read_stops_the_run_naming_the_coop(
    sessions: sessionmaker[Session], failure: Exception, error: type[Exception]
) -> None:
    with pytest.raises(error) as stopped:
        reconcile(sessions, Shop([], fails=failure), PLUGIN, NOW)

    with sessions() as session:
        runs = session.scalar(select(func.count()).select_from(Reconciliation))
        entries = session.scalar(select(func.count()).select_from(JournalEntry))
        (problem,) = open_problems(session, SLUG)
    assert str(stopped.value).startswith(
        "coop coop-t: reconciliation stopped, the shop's wallet could not be read: "
    )
    assert (0, 0) == (runs, entries)
    assert "reconcile.failed" == problem.kind


def test_a_run_that_succeeds_again_clears_the_problem(
    sessions: sessionmaker[Session],
) -> None:
    broken = ShopBadResponse("answered HTML", coop=SLUG)
    with pytest.raises(ReconcileFailed):
        reconcile(sessions, Shop([], fails=broken), PLUGIN, NOW)

    reconcile(sessions, Shop(NOAH_ROWS[:1]), PLUGIN, NOW)

    with sessions() as session:
        assert [] == open_problems(session, SLUG)
        stored = session.scalar(select(func.count()).select_from(ReconciliationFinding))
    assert 0 == stored


def test_corrections_applied_for_cancelled_orders_are_summed_per_order(
    sessions: sessionmaker[Session],
) -> None:
    def finding(order: int, amount: str, status: str) -> ReconciliationFinding:
        return ReconciliationFinding(
            kind="cancelled_still_charged",
            member=6,
            amount=Decimal(amount),
            order_id=order,
            correction=Decimal(amount),
            status=status,
        )

    with sessions.begin() as session:
        run = Reconciliation(coop="nord", ran_at=NOW, members=1, wallet_rows=1)
        run.findings = [
            finding(138, "11.80", "applied"),
            finding(140, "5.00", "declined"),
            finding(141, "7.00", "open"),
        ]
        other = Reconciliation(coop="sued", ran_at=NOW, members=1, wallet_rows=1)
        other.findings = [finding(138, "3.00", "applied")]
        session.add_all([run, other])

    with sessions() as session:
        assert {138: Decimal("11.80")} == applied_corrections(session, "nord")
