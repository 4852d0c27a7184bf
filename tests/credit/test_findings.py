"""What reconciliation finds: wallet rows, orders and ledger balances in, findings
(kind, member, exact amount, row, order, proposed correction) out."""

from __future__ import annotations

import shlex
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

import pytest

from pot_bridge.credit.findings import (
    Found,
    Kind,
    ShopOrder,
    find,
    find_in_ledger,
    wallet_balances,
)
from pot_bridge.ledger import Finding as LedgerFinding
from pot_bridge.ledger.wallet_rows import WalletRow
from pot_bridge.shop.wire import parse_order

from .shop_notation import WALLET, member_no, recorded, wallet

COUNTED = ("processing", "on-hold", "completed", "refunded")
METHODS = (WALLET,)


def orders(text: str) -> dict[int, ShopOrder]:
    """`order ID MEMBER STATUS TOTAL [round KEY] [by METHOD] [debited no]
    [replaced yes] [refunded AMOUNT]`; debited by default."""
    found = {}
    for line in text.strip().splitlines():
        _, order_id, who, status, total, *rest = shlex.split(line)
        options = dict(zip(rest[::2], rest[1::2], strict=True))
        found[int(order_id)] = ShopOrder(
            order_id=int(order_id),
            member=member_no(who),
            status=status,
            payment_method=options.get("by", WALLET),
            round_key=options.get("round"),
            total=Decimal(total),
            debited=options.get("debited", "yes") == "yes",
            replaced=options.get("replaced", "no") == "yes",
            refunded=Decimal(options.get("refunded", "0.00")),
        )
    return found


def run(
    rows: Sequence[WalletRow],
    shop: Mapping[int, ShopOrder] | None = None,
    *,
    ledger: Mapping[int, Decimal] | None = None,
    links: Mapping[int, str] | None = None,
    checked: Sequence[LedgerFinding] = (),
    lang: str = "en",
) -> list[Found]:
    return find(
        # unless told: the ledger as it stands once every row and every chain
        # loss is booked, which is what the wallet shows
        ledger=wallet_balances(rows) if ledger is None else ledger,
        rows=rows,
        links=links or {},
        orders=shop or {},
        wallet_methods=METHODS,
        counted=COUNTED,
        checked=checked,
        lang=lang,
    )


def table(found: Sequence[Found]) -> list[tuple[object, ...]]:
    """(kind, member, amount, row, order, correction) per finding."""
    return [
        (str(f.kind), f.member, f.amount, f.row_id, f.order_id, f.correction)
        for f in found
    ]


def plugin_rows(raws: Sequence[Mapping[str, object]]) -> list[WalletRow]:
    return sorted((WalletRow.from_plugin(raw) for raw in raws), key=lambda r: r.id)


# -- a duplicated row and a broken running balance -------------------------------

NOAH = """
row 1 Noah  80.00  80.00 deposit "Einzahlung Bank 01.12.2026"
row 2 Noah -33.00  47.00 -       "Bestellung #136 (Neubestellung)"
row 3 Noah -33.00  14.00 -       "Bestellung #136 (Neubestellung)"
row 4 Noah  20.00  24.00 deposit "Einzahlung Bank 05.12.2026"
"""


def test_a_duplicated_row_and_a_broken_balance_are_found_exactly() -> None:
    """Row 3 charges order 136 a second time; row 4 should hold 34.00."""
    rows = wallet(NOAH)

    found = run(rows, orders("order 136 Noah processing 33.00"))

    assert [
        ("chain_break", 5, Decimal("10.00"), 4, None, Decimal("10.00")),
        ("duplicate_row", 5, Decimal("-33.00"), 3, None, Decimal("33.00")),
    ] == table(found)


def test_a_ledger_that_did_not_follow_the_wallet_differs_by_that_much() -> None:
    rows = wallet(NOAH)

    found = run(rows, orders("order 136 Noah processing 33.00"), ledger={5: Decimal(0)})

    assert (
        "balance_differs",
        5,
        Decimal("-24.00"),
        None,
        None,
        None,
    ) == table(found)[0]


def test_identical_rows_are_suspects_without_a_correction() -> None:
    rows = wallet("""
        row 1 Tim 20.00 20.00 deposit "Einzahlung parallel 1/2" at 17:00:00
        row 2 Tim 20.00 40.00 deposit "Einzahlung parallel 1/2" at 17:00:00
    """)

    found = run(rows)

    assert [("duplicate_row", 9, Decimal("20.00"), 2, None, None)] == table(found)
    assert "perhaps entered twice" in found[0].text


# -- the recorded race -------------------------------------------------------------


def test_the_recorded_race_gives_what_each_member_lost() -> None:
    """The shop took 2 or 10 deposits at once and stored every row, but the
    running balance kept fewer: per member, the rows' sum less the balance the
    wallet shows is what the member lost."""
    recording = recorded("wallet_table_rows_after_race.json")
    rows = plugin_rows(recording["rows"])
    summed: dict[int, Decimal] = defaultdict(Decimal)
    newest: dict[int, tuple[int, Decimal]] = {}
    for raw in recording["rows"]:
        user, row_id = int(raw["user_id"]), int(raw["id"])
        summed[user] += Decimal(raw["amount"])
        if user not in newest or row_id > newest[user][0]:
            newest[user] = (row_id, Decimal(raw["balance"]))
    lost = {
        user: summed[user] - newest[user][1]
        for user in summed
        if summed[user] != newest[user][1]
    }

    found = run(rows, ledger=dict(summed))

    chain: dict[int, Decimal] = defaultdict(Decimal)
    corrected: dict[int, Decimal] = defaultdict(Decimal)
    for f in found:
        if f.kind is Kind.CHAIN_BREAK:
            assert f.member is not None
            assert f.amount is not None
            chain[f.member] += f.amount
            corrected[f.member] += f.correction or Decimal(0)
    differs = {f.member: f.amount for f in found if f.kind is Kind.BALANCE_DIFFERS}
    noted = {
        int(user): Decimal(facts["difference"])
        for user, facts in recording["reconciliation_per_user"].items()
        if Decimal(facts["difference"])
    }
    assert {8: Decimal("10.00"), 9: Decimal("20.00"), 10: Decimal("20.00")} == lost
    assert noted == lost
    assert lost == dict(chain) == dict(corrected) == differs
    assert {33, 48, 52, 57} == {f.row_id for f in found if f.kind is Kind.CHAIN_BREAK}
    assert all(f.correction is None for f in found if f.kind not in (Kind.CHAIN_BREAK,))


def test_the_wallet_shows_the_balance_the_plugin_answered_after_the_race() -> None:
    rows = plugin_rows(recorded("wallet_table_rows_after_race.json")["rows"])
    answered = recorded("getBalance_after_race.json")

    shown = wallet_balances(rows)[answered["request"]["body"]["id"]]

    assert Decimal(answered["body_decoded"][0]) == shown


def test_one_members_own_answer_shows_the_same_loss() -> None:
    rows = plugin_rows(
        recorded("getTransactions_user8_after_race.json")["body_decoded"]
    )

    found = [f for f in run(rows) if f.kind is Kind.CHAIN_BREAK]

    assert [("chain_break", 8, Decimal("10.00"), 33, None, Decimal("10.00"))] == table(
        found
    )


# -- the block checkout's double charge ----------------------------------------------


def lea_orders(
    first_status: str = "processing", **first: object
) -> dict[int, ShopOrder]:
    """Lea's two recorded block-checkout orders, both placed in round 130 by
    the bridge (the shop kept no round)."""
    placed = {}
    for name in (
        "order_get_storeapi_checkout_wallet_lea.json",
        "order_get_storeapi_checkout_wallet_lea_second.json",
    ):
        order = parse_order(recorded(name)["body"], "coop-t")
        placed[order.id] = ShopOrder(
            order_id=order.id,
            member=order.customer_id,
            status=order.status,
            payment_method=order.payment_method,
            round_key="plugin:130",
            total=order.total,
            debited=True,
        )
    earlier = min(placed)
    placed[earlier] = replace(placed[earlier], status=first_status, **first)
    return placed


def lea_rows() -> list[WalletRow]:
    answer = recorded("getTransactions_user2_block_checkout_double_debit.json")
    return plugin_rows(answer["body_decoded"])


def test_the_recorded_block_checkout_double_charge_is_found() -> None:
    shop = lea_orders()
    first = shop[131]

    found = run(lea_rows(), shop)

    assert [("charged_twice_in_round", 2, first.total, 16, 131, None)] == table(found)
    assert "#131" in found[0].text
    assert "#139" in found[0].text
    assert "cancels it" in found[0].text


def test_the_charge_is_proposed_back_once_the_admin_cancels_the_order() -> None:
    shop = lea_orders("cancelled")

    found = run(lea_rows(), shop)

    assert [
        (
            "cancelled_still_charged",
            2,
            shop[131].total,
            16,
            131,
            shop[131].total,
        )
    ] == table(found)


@pytest.mark.parametrize(
    "first",
    [
        pytest.param({"refunded": Decimal("16.60")}, id="refunded-to-the-wallet"),
        pytest.param({"debited": False}, id="never-debited-in-the-ledger"),
        pytest.param({"replaced": True}, id="replaced-by-a-re-order"),
    ],
)
def test_a_cancelled_order_given_back_otherwise_is_not_proposed(
    first: dict[str, object],
) -> None:
    found = run(lea_rows(), lea_orders("cancelled", **first))

    assert [] == table(found)


def test_a_refund_after_the_applied_correction_is_taken_back() -> None:
    charge = Decimal("16.60")
    # the admin applied the correction, then the shop refunded the order too
    shop = lea_orders("cancelled", corrected=charge, refunded=Decimal("10.00"))

    found = run(lea_rows(), shop)

    excess = Decimal("10.00")
    assert [("credited_twice", 2, excess, 16, 131, -excess)] == table(found)
    assert "16.60" in found[0].text


def test_a_correction_alone_is_no_finding() -> None:
    shop = lea_orders("cancelled", corrected=Decimal("16.60"))

    assert [] == table(run(lea_rows(), shop))


def test_a_re_order_netted_by_the_plugin_is_not_charged_twice() -> None:
    rows = wallet("""
        row 18 Mia 100.00 100.00 deposit "Einzahlung TWINT"
        row 19 Mia -22.45  77.55 -       "Bestellung #134 (Neubestellung)"
        row 20 Mia -20.10  57.45 -       "Bestellung #135 (Anpassung)"
    """)
    shop = orders("""
        order 134 Mia trash      22.45 round plugin:130 replaced yes
        order 135 Mia processing 42.55 round plugin:130
    """)

    assert [] == table(run(rows, shop))


# -- orders and their debits --------------------------------------------------------


def test_an_order_paid_from_credit_that_the_wallet_never_charged() -> None:
    rows = wallet('row 1 Luca 50.00 50.00 deposit "Einzahlung"')
    shop = orders("""
        order 150 Luca processing 12.00
        order 151 Luca processing  9.00 by cod
        order 152 Luca cancelled   8.00
    """)

    found = run(rows, shop, ledger={7: Decimal("38.00")})

    assert [
        ("balance_differs", 7, Decimal("-12.00"), None, None, None),
        ("order_without_debit", 7, Decimal("12.00"), None, 150, None),
    ] == table(found)


def test_order_rows_whose_order_is_unknown_not_paid_from_credit_or_failed() -> None:
    rows = wallet("""
        row 1 Luca  50.00 50.00 deposit "Einzahlung"
        row 2 Luca -10.00 40.00 -       "Bestellung #160 (Neubestellung)"
        row 3 Luca  -9.00 31.00 -       "Bestellung #151 (Neubestellung)"
        row 4 Luca -18.70 12.30 -       "Bestellung #138 (Neubestellung)"
    """)
    shop = orders("""
        order 151 Luca processing 9.00 by cod
        order 138 Luca failed    18.70
    """)
    links = {1: "booked", 2: "unmatched", 3: "unmatched", 4: "unmatched"}

    found = run(rows, shop, links=links)

    assert [
        ("debit_without_order", 7, Decimal("-10.00"), 2, 160, None),
        ("debit_without_order", 7, Decimal("-9.00"), 3, 151, None),
        ("debit_without_order", 7, Decimal("-18.70"), 4, 138, None),
    ] == table(found)
    assert "does not know" in found[0].text
    assert "not paid from credit" in found[1].text
    assert "failed" in found[2].text


def test_a_row_that_matches_nothing_booked_is_reported() -> None:
    rows = wallet("""
        row 1 Noah 80.00 80.00 deposit "Einzahlung"
        row 2 Noah  6.80 86.80 -       "Mutation: Produkt nicht geliefert (Zopf)"
    """)

    found = run(rows, links={1: "booked", 2: "unmatched"})

    assert [("row_unmatched", 5, Decimal("6.80"), 2, None, None)] == table(found)


# -- the ledger's own check and ledger mode ------------------------------------------


def test_the_ledgers_self_check_becomes_findings() -> None:
    checked = [
        LedgerFinding(
            "balance_differs", "member:5", Decimal("47.00"), Decimal("57.00"), "-"
        ),
        LedgerFinding("entry_unbalanced", "wallet:9", Decimal(0), Decimal("0.05"), "-"),
    ]

    found = run([], checked=checked)

    assert [
        ("ledger_balance_differs", 5, Decimal("10.00"), None, None, None),
        ("ledger_entry_unbalanced", None, Decimal("0.05"), None, None, None),
    ] == table(found)


def test_ledger_mode_finds_orders_paid_from_credit_but_never_debited() -> None:
    shop = orders("""
        order 140 Luca  completed  29.10
        order 141 Sofia completed  13.35
        order 142 Nina  pending    27.90
        order 144 Nina  processing 11.00 by twint
    """)

    found = find_in_ledger(
        orders=shop,
        debited={140},
        wallet_methods=METHODS,
        counted=COUNTED,
        checked=[],
        lang="de",
    )

    assert [("order_without_debit", 8, Decimal("13.35"), None, 141, None)] == table(
        found
    )
    assert "im Hauptbuch nicht belastet" in found[0].text


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("de", "Zeile 4: Saldo 24.00 CHF statt 34.00 CHF"),
        ("fr", "Ligne 4 : solde 24.00 CHF au lieu de 34.00 CHF"),
        ("en", "row 4: balance 24.00 CHF instead of 34.00 CHF"),
    ],
)
def test_findings_read_in_the_coops_language(lang: str, words: str) -> None:
    found = run(wallet(NOAH), orders("order 136 Noah processing 33.00"), lang=lang)

    assert words in found[0].text
