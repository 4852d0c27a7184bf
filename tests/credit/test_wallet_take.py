"""The plugin's wallet rows taken into the ledger: rows in, links and postings out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from bridge_helpers import make_bridge
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pot_bridge.config import CoopConfig
from pot_bridge.credit import wallet_match
from pot_bridge.credit.marker import mark
from pot_bridge.credit.orders import book_orders
from pot_bridge.credit.wallet import Taken, take_rows, to_ledger_row
from pot_bridge.ledger import EntryKind, book, check
from pot_bridge.ledger.wallet_rows import WalletRow
from pot_bridge.problems import open_problems
from pot_bridge.refund_wire import marker
from pot_bridge.sandbox import SandboxShop
from pot_bridge.shop.plugin import PluginClient, parse_wallet_row

from .shop_notation import (
    NOW,
    balances,
    coop,
    ledger,
    links,
    pull,
    pull_recorded_orders,
    recorded,
    recorded_rows,
    same,
    wallet,
    wallet_balances,
)

PLUGIN = coop()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def take(session: Session, rows: list[WalletRow], coop: CoopConfig = PLUGIN) -> Taken:
    taken = take_rows(session, coop, rows, NOW)
    session.commit()
    return taken


def book_shop(session: Session, text: str) -> None:
    pull(session, PLUGIN.slug, text)
    book_orders(session, PLUGIN, NOW)
    session.commit()


# -- every kind of row of pot-plugin.md §5.3 ----------------------------------

SHOP = """
order 131 Lea    processing 16.60 at 09:00
order 133 Jonas  trash      20.00 round 130 at 10:00 ended 11:00
order 143 Jonas  processing  7.50 round 130 at 11:00
order 136 Noah   processing 33.00 round 130
refund 137 of 136 6.80 wallet "Mutation: Produkt nicht geliefert (Butterzopf)"
order 150 Luca   completed  12.00
"""

ROWS = """
row  1 Lea    150.00 150.00 deposit            "Einzahlung Bank 30.11.2026"
row  9 Lea    -50.00 100.00 yearly_fee         "Jahresbeitrag  2026"
row 13 Jonas    7.20   7.20 manual_transaction "Gutschrift: Eier fehlten"
row 16 Lea    -16.60  83.40 -       "Bestellung #131 (Neubestellung)"
row 17 Jonas  -20.00 -12.80 -       "Bestellung #133 (Neubestellung)"
row 20 Noah   -33.00 -33.00 -       "Bestellung #136 (Neubestellung)"
row 21 Noah     6.80 -26.20 -       "Mutation: Produkt nicht geliefert (Butterzopf)"
row 26 Jonas   12.50  -0.30 -       "Bestellung #143 (Anpassung)"
row 30 Noah    -1.20 -27.40 -       "Mutation: Produktpreisanpassung (Butterzopf)"
row 31 Luca   -12.00 -12.00 order   "Bestellung #150 (POS Bestellung)"
row 32 Tim     25.00  25.00 -       "Instant Topup (151) via TWINT"
row 33 Anna     9.60   9.60 -       "Neuer Verkauf von Produkt Honig(2x) Bestellung #150"
row 34 Anna     4.80  14.40 -       "Neue Lieferung von Produkt Honig(1x)"
row 35 Anna     4.80  19.20 -       "Neuer Verkauf von Produkt Honig(1x) - Korrekturbuchung"
row 36 Mia     -3.00  -3.00 mutation "Mutation: Menge"
"""


@pytest.mark.parametrize(
    "scan_above",
    [
        pytest.param(wallet_match.SCAN_ABOVE, id="entries-by-key"),
        pytest.param(0, id="entries-in-one-pass"),
    ],
)
def test_every_kind_of_row_is_matched_or_booked_from_itself(
    session: Session, scan_above: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wallet_match, "SCAN_ABOVE", scan_above)
    book_shop(session, SHOP)

    taken = take(session, wallet(ROWS))

    assert same("""
        row 1  booked  wallet:1
        row 9  booked  wallet:9
        row 13 booked  wallet:13
        row 16 matched order:131:paid
        row 17 matched order:133:paid
        row 20 matched order:136:paid
        row 21 matched refund:137
        row 26 matched order:143:paid
        row 30 booked  wallet:30
        row 31 matched order:150:paid
        row 32 booked  wallet:32
        row 33 booked  wallet:33
        row 34 booked  wallet:34
        row 35 booked  wallet:35
        row 36 unknown wallet:36
    """) == same(links(session, PLUGIN.slug))
    assert same("""
        wallet:1   bank -150.00        member:2 150.00
        wallet:9   fees 50.00          member:2 -50.00
        wallet:13  corrections -7.20   member:3 7.20
        wallet:30  member:5 -1.20      sales 1.20
        wallet:32  bank -25.00         member:9 25.00
        wallet:33  member:11 9.60      sales -9.60
        wallet:34  member:11 4.80      sales -4.80
        wallet:35  member:11 4.80      sales -4.80
        wallet:36  corrections 3.00    member:4 -3.00
    """) == same(ledger(session, PLUGIN.slug, "wallet:"))
    assert (6, 8, 1, 0) == (taken.matched, taken.booked, taken.unknown, taken.unmatched)
    assert same(wallet_balances(wallet(ROWS))) == same(balances(session, "coop-t"))


def test_taking_the_same_rows_again_takes_nothing(session: Session) -> None:
    book_shop(session, SHOP)
    take(session, wallet(ROWS))
    before = ledger(session, PLUGIN.slug)

    again = take(session, wallet(ROWS))

    assert Taken(coop="coop-t") == again
    assert before == ledger(session, PLUGIN.slug)
    assert [] == check(session, PLUGIN.slug)


# -- the recorded shop ----------------------------------------------------------

RECORDED_ORDERS = [
    "order_get_storeapi_checkout_wallet_lea.json",
    "order_get_storeapi_checkout_wallet_lea_second.json",
    "order_get_reorder_smaller_old_trashed.json",
    "order_get_reorder_smaller_new.json",
    "order_get_reorder_old_trashed.json",
    "order_get_reorder_new.json",
    "order_get_classic_checkout_wallet_round_B.json",
]


def test_the_recorded_wallet_equals_the_ledger(session: Session) -> None:
    """Lea (block checkout, charged twice), Jonas and Mia (re-orders) and Noah
    (a refund) as the real plugin wrote their rows."""
    pull_recorded_orders(session, PLUGIN.slug, RECORDED_ORDERS)
    book_orders(session, PLUGIN, NOW)
    rows = recorded_rows("getAllTransactions.json", [2, 3, 4, 5])

    taken = take(session, rows)

    assert (len(rows), 0) == (taken.matched + taken.booked, taken.unmatched)
    assert same(wallet_balances(rows)) == same(balances(session, PLUGIN.slug))
    assert same("""
        member:2 62.85
        member:3 69.70
        member:4 57.45
        member:5 49.30
    """) == same(balances(session, PLUGIN.slug))


# -- rows written twice ---------------------------------------------------------


def test_repeated_rows_of_one_cause_are_booked_as_duplicates(
    session: Session,
) -> None:
    book_shop(session, "order 136 Noah processing 33.00")
    rows = wallet("""
        row 20 Noah  -33.00  47.00 - "Bestellung #136 (Neubestellung)"
        row 22 Noah  -33.00  14.00 - "Bestellung #136 (Neubestellung)"
        row 23 Anna    9.60   9.60 - "Neuer Verkauf von Produkt Honig(2x) Bestellung #136"
        row 24 Anna    9.60  19.20 - "Neuer Verkauf von Produkt Honig(2x) Bestellung #136"
        row 25 Anna    9.60  28.80 - "Neuer Verkauf von Produkt Honig(2x) Bestellung #136"
    """)

    taken = take(session, rows)

    assert same("""
        row 20 matched   order:136:paid
        row 22 duplicate wallet:22
        row 23 booked    wallet:23
        row 24 duplicate wallet:24
        row 25 duplicate wallet:25
    """) == same(links(session, PLUGIN.slug))
    assert same("""
        wallet:22  corrections 33.00  member:5 -33.00
        wallet:23  member:11 9.60     sales -9.60
        wallet:24  corrections -9.60  member:11 9.60
        wallet:25  corrections -9.60  member:11 9.60
    """) == same(ledger(session, PLUGIN.slug, "wallet:"))
    assert 3 == taken.duplicate


def test_a_repeat_taken_after_its_first_row_is_still_a_duplicate(
    session: Session,
) -> None:
    """Given only the newer rows, an order's debit already matched is not
    matched twice."""
    book_shop(session, "order 136 Noah processing 33.00")
    take(
        session, wallet('row 20 Noah -33.00 47.00 - "Bestellung #136 (Neubestellung)"')
    )

    take(
        session, wallet('row 22 Noah -33.00 14.00 - "Bestellung #136 (Neubestellung)"')
    )

    assert same("""
        row 20 matched   order:136:paid
        row 22 duplicate wallet:22
    """) == same(links(session, PLUGIN.slug))


# -- rows matched to what the shop or the bridge booked ---------------------------

BANK_KEY = "bank:CH4431999123000889012:HZ-001"


def test_the_bridges_own_rows_match_their_entries(session: Session) -> None:
    book(
        session,
        PLUGIN.slug,
        BANK_KEY,
        EntryKind.TOP_UP,
        "Einzahlung",
        [("member:5", Decimal("80.00")), ("bank", Decimal("-80.00"))],
        NOW,
    )
    book(
        session,
        PLUGIN.slug,
        "reconcile:7",
        EntryKind.CORRECTION,
        "Korrektur",
        [("member:5", Decimal("-5.00")), ("corrections", Decimal("5.00"))],
        NOW,
    )
    session.commit()
    details = mark("Einzahlung Bank 04.12.2026", BANK_KEY)
    rows = wallet(f"""
        row 40 Noah  80.00  80.00 deposit "{details}"
        row 41 Noah  80.00 160.00 deposit "{details}"
        row 42 Noah  -4.00 156.00 manual_transaction "{mark("Korrektur", "reconcile:7")}"
        row 43 Noah  10.00 166.00 manual_transaction "{mark("x", "reconcile:99")}"
    """)

    taken = take(session, rows)

    assert same(f"""
        row 40 matched {BANK_KEY}
        row 41 unmatched
        row 42 unmatched
        row 43 unmatched
    """) == same(links(session, PLUGIN.slug))
    assert (1, 3, 0) == (taken.matched, taken.unmatched, taken.booked)


def test_each_refund_entry_matches_one_row(session: Session) -> None:
    reason = "Mutation: Produkt nicht geliefert (Milch)"
    book_shop(
        session,
        f"""
        order 136 Noah processing 33.00
        order 160 Noah processing 20.00
        refund 161 of 136 3.40 wallet "{reason}"
        refund 162 of 160 3.40 wallet "{reason}"
        refund 163 of 160 1.00 wallet "Geste {marker("x:1")}"
        """,
    )
    rows = wallet(f"""
        row 50 Noah 3.40 3.40 - "{reason}"
        row 51 Noah 3.40 6.80 - "{reason}"
        row 52 Noah 3.40 10.20 - "{reason}"
        row 53 Noah 1.00 11.20 - "Geste {marker("x:1")}"
    """)

    take(session, rows)

    assert same("""
        row 50 matched refund:161
        row 51 matched refund:162
        row 52 unmatched
        row 53 matched refund:163
    """) == same(links(session, PLUGIN.slug))


def test_an_order_row_waits_for_its_order(session: Session) -> None:
    """The row came before the sync brought its order: unmatched, then matched."""
    rows = wallet('row 60 Sofia -13.35 26.65 - "Bestellung #141 (Neubestellung)"')

    first = take(session, rows)
    book_shop(session, "order 141 Sofia processing 13.35")
    second = take(session, rows)

    assert (1, 0) == (first.unmatched, first.matched)
    assert (1, 1, 0) == (second.retried, second.matched, second.unmatched)
    assert same("row 60 matched order:141:paid") == same(links(session, "coop-t"))
    assert "" == ledger(session, PLUGIN.slug, "wallet:")


def test_an_order_row_of_another_amount_is_unmatched_and_not_booked(
    session: Session,
) -> None:
    book_shop(session, "order 141 Sofia processing 13.35")
    rows = wallet('row 60 Sofia -14.35 25.65 - "Bestellung #141 (Neubestellung)"')

    taken = take(session, rows)

    assert 1 == taken.unmatched
    assert Decimal("-13.35") == Decimal(balances(session, "coop-t").split()[1])


def test_rows_of_nothing_are_linked_without_an_entry(session: Session) -> None:
    """A 0.00 row cannot be booked; a re-order of the same total is matched."""
    book_shop(
        session,
        """
        order 201 Noah trash       30.00 round 130 at 10:00 ended 11:00
        order 202 Noah processing  30.00 round 130 at 11:00
        """,
    )
    rows = wallet("""
        row 70 Noah -30.00 -30.00 -                  "Bestellung #201 (Neubestellung)"
        row 71 Noah   0.00 -30.00 -                  "Bestellung #202 (Anpassung)"
        row 72 Noah   0.00 -30.00 manual_transaction "Test"
    """)

    take(session, rows)

    assert same("""
        row 70 matched order:201:paid
        row 71 matched order:202:paid
        row 72 booked
    """) == same(links(session, PLUGIN.slug))
    assert "" == ledger(session, PLUGIN.slug, "wallet:")


# -- over the socket ------------------------------------------------------------


def test_sandbox_orders_and_wallet_rows_agree_over_the_socket(
    shop: SandboxShop, db_url: str, tmp_path: Path
) -> None:
    """Sync the seeded shop (the bridge books its orders), take its wallet:
    each member's ledger balance is what the wallet shows, and every row is
    accounted for."""
    bridge = make_bridge(shop, db_url, 2525, tmp_path)
    try:
        coop = bridge.settings.coops[0]
        bridge.sync(coop.slug)
        plugin_rows = PluginClient(bridge.client(coop)).wallet_rows()
        rows = [to_ledger_row(r) for r in plugin_rows]
        now = datetime.now(UTC)
        with bridge.sessions.begin() as session:
            again = book_orders(session, coop, now)
            taken = take_rows(session, coop, rows, now)

        with bridge.sessions() as session:
            assert same(wallet_balances(rows)) == same(balances(session, coop.slug))
            assert [] == check(session, coop.slug)
            booked_by_sync = ledger(session, coop.slug, "order:")
            assert ":paid " in booked_by_sync
            assert ":replaced " in booked_by_sync
            assert ledger(session, coop.slug, "refund:")
        assert (0, 0, 0) == (again.debited, again.replaced, again.refunded)
        assert (0, 0, 0) == (taken.unmatched, taken.duplicate, taken.unknown)
        assert len(rows) == taken.matched + taken.booked
    finally:
        bridge.dispose()


def test_plugin_rows_become_ledger_rows() -> None:
    raw = recorded("getTransactions_user4_reorder.json")["body_decoded"][0]

    row = to_ledger_row(parse_wallet_row(raw, "coop-t"))

    assert WalletRow.from_plugin(raw) == row


def test_a_row_of_no_member_is_a_problem_and_the_others_go_on(
    session: Session,
) -> None:
    rows = wallet("""
        row 80 0    20.00 20.00 deposit "Einzahlung"
        row 81 Tim  25.00 25.00 deposit "Einzahlung"
    """)

    taken = take(session, rows)

    assert same("""
        row 80 unmatched
        row 81 booked wallet:81
    """) == same(links(session, PLUGIN.slug))
    assert ["wallet row 80"] == [p.subject for p in open_problems(session, "coop-t")]
    assert "coop coop-t: wallet row 80" in taken.problems[0]
