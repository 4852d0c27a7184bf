"""The POT plugin's wallet rows: recorded answers and tables in, kinds and findings out."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pot_bridge.ledger.wallet_rows import (
    ChainBreak,
    Duplicate,
    RowKind,
    WalletRow,
    chain_breaks,
    classify,
    decode_rows,
    duplicates,
    lost_per_member,
)

FIXTURES = Path("/work/shared/fixtures/pot-plugin/1.7.7")


def recorded(name: str) -> list[WalletRow]:
    """The rows of a recorded `getTransactions`/`getAllTransactions` answer."""
    return decode_rows(json.loads((FIXTURES / name).read_text())["body"])


def wallet(table: str) -> list[WalletRow]:
    """Rows written as a table; columns are split on two or more spaces, `-`
    is the empty type, created_by is left out."""
    rows = []
    for line in table.strip().splitlines()[1:]:
        row_id, user, amount, balance, kind, day, details = re.split(
            r"\s{2,}", line.strip(), maxsplit=6
        )
        rows.append(
            WalletRow(
                id=int(row_id),
                user_id=int(user),
                amount=Decimal(amount),
                balance=Decimal(balance),
                details=details,
                created_by="",
                date=datetime.fromisoformat(day),
                type="" if kind == "-" else kind,
            )
        )

    return rows


# Every row the recorded shop wrote before the races: id, kind, order id, product.
RECORDED_KINDS = [
    (1, RowKind.DEPOSIT, None, None),
    (2, RowKind.DEPOSIT, None, None),
    (3, RowKind.DEPOSIT, None, None),
    (4, RowKind.DEPOSIT, None, None),
    (5, RowKind.DEPOSIT, None, None),
    (6, RowKind.DEPOSIT, None, None),
    (7, RowKind.DEPOSIT, None, None),
    (8, RowKind.DEPOSIT, None, None),
    (9, RowKind.YEARLY_FEE, None, None),
    (10, RowKind.YEARLY_FEE, None, None),
    (11, RowKind.YEARLY_FEE, None, None),
    (12, RowKind.YEARLY_FEE, None, None),
    (13, RowKind.MANUAL, None, None),
    (14, RowKind.MANUAL, None, None),
    (15, RowKind.DEPOSIT, None, None),
    (16, RowKind.ORDER_NEW, 131, None),
    (17, RowKind.ORDER_NEW, 133, None),
    (18, RowKind.ORDER_NEW, 134, None),
    (19, RowKind.ORDER_ADJUSTMENT, 135, None),
    (20, RowKind.ORDER_NEW, 136, None),
    (21, RowKind.GATEWAY_REFUND, None, "Butterzopf"),
    (22, RowKind.ORDER_NEW, 139, None),
    (23, RowKind.ORDER_NEW, 140, None),
    (24, RowKind.ORDER_NEW, 141, None),
    (25, RowKind.ORDER_NEW, 142, None),
    (26, RowKind.ORDER_ADJUSTMENT, 143, None),
]


def test_recorded_rows_are_classified() -> None:
    rows = recorded("getAllTransactions.json")

    kinds = sorted(
        (item.row.id, item.kind, item.order_id, item.product)
        for item in map(classify, rows)
    )

    assert RECORDED_KINDS == kinds


@pytest.mark.parametrize(
    "name",
    [
        "getTransactions_user2_block_checkout_double_debit.json",
        "getTransactions_user4_reorder.json",
        "getTransactions_user5_refund.json",
        "getTransactions_user8_after_race.json",
    ],
)
def test_one_members_rows_are_classified_alike(name: str) -> None:
    """A member's own answer agrees with the whole wallet's, row by row."""
    known = {row_id: kind for row_id, kind, _, _ in RECORDED_KINDS}

    for item in map(classify, recorded(name)):
        assert known.get(item.row.id, RowKind.DEPOSIT) == item.kind


def test_recorded_row_is_read_exactly() -> None:
    (refund,) = [r for r in recorded("getTransactions_user5_refund.json") if r.id == 21]

    assert (
        WalletRow(
            id=21,
            user_id=5,
            amount=Decimal("6.80"),
            balance=Decimal("49.30"),
            details="Mutation: Produkt nicht geliefert (Butterzopf)",
            created_by=" ",
            date=datetime.fromisoformat("2026-12-04 16:29:51"),
            type="",
        )
        == refund
    )
    assert "Mutation: Produkt nicht geliefert (Butterzopf)" == classify(refund).reason


# The texts of pot-plugin.md §5.3 that the recorded shop did not write.
WRITTEN_BY_OTHER_PATHS = """
id  user  amount  balance  type      date                 details
1   2     -18.40  -18.40   order     2026-12-04 10:00:00  Bestellung #150 (POS Bestellung)
2   2     25.00   6.60     -         2026-12-04 10:01:00  Instant Topup (151) via TWINT
3   11    21.00   27.60    -         2026-12-04 10:02:00  Neuer Verkauf von Produkt Bergkäse (Bio)(3x) Bestellung #152
4   11    14.00   41.60    -         2026-12-04 10:03:00  Neue Lieferung von Produkt Honig(2x)
5   11    7.00    48.60    -         2026-12-04 10:04:00  Neuer Verkauf von Produkt Honig(1x) - Korrekturbuchung
6   2     -1.20   5.40     -         2026-12-04 10:05:00  Mutation: Produktpreisanpassung (Rüebli)
7   2     4.00    9.40     -         2026-12-04 10:06:00  Wrong delivery, goodwill
8   2     -3.00   6.40     -         2026-12-04 10:07:00  Something the plugin never writes
9   11    7.00    13.40    -         2026-12-04 10:08:00  Neuer Verkauf von Produkt Honig(1x)
10  2     5.00    11.40    mutation  2026-12-04 10:09:00  Bestellung #150 (Neubestellung)
"""


@pytest.mark.parametrize(
    ("row_id", "kind", "order_id", "product", "quantity", "gateway"),
    [
        pytest.param(1, RowKind.POS_ORDER, 150, None, None, None, id="pos"),
        pytest.param(2, RowKind.INSTANT_TOP_UP, 151, None, None, "TWINT", id="top-up"),
        pytest.param(
            3, RowKind.OWNER_SALE, 152, "Bergkäse (Bio)", Decimal(3), None, id="sale"
        ),
        pytest.param(
            4, RowKind.OWNER_DELIVERY, None, "Honig", Decimal(2), None, id="delivery"
        ),
        pytest.param(
            5, RowKind.MISSING_PAYOUT, None, "Honig", Decimal(1), None, id="correction"
        ),
        pytest.param(
            6, RowKind.PRICE_ADJUSTMENT, None, "Rüebli", None, None, id="price"
        ),
        pytest.param(7, RowKind.GATEWAY_REFUND, None, None, None, None, id="refund"),
        pytest.param(8, RowKind.UNKNOWN, None, None, None, None, id="debit-text"),
        pytest.param(
            9, RowKind.OWNER_SALE, None, "Honig", Decimal(1), None, id="sale-pre-1.7.7"
        ),
        pytest.param(10, RowKind.UNKNOWN, None, None, None, None, id="typed-order"),
    ],
)
def test_other_code_paths_are_classified(
    row_id: int,
    kind: RowKind,
    order_id: int | None,
    product: str | None,
    quantity: Decimal | None,
    gateway: str | None,
) -> None:
    (row,) = [r for r in wallet(WRITTEN_BY_OTHER_PATHS) if r.id == row_id]

    item = classify(row)

    assert (kind, order_id, product, quantity, gateway) == (
        item.kind,
        item.order_id,
        item.product,
        item.quantity,
        item.gateway,
    )


def test_race_breaks_the_chain_where_recorded() -> None:
    """The rows after the recorded races break exactly where the recording says."""
    recording = json.loads((FIXTURES / "wallet_table_rows_after_race.json").read_text())
    rows = [WalletRow.from_plugin(raw) for raw in recording["rows"]]
    expected = [
        ChainBreak(
            row_id=int(b["id"]),
            user_id=int(b["user_id"]),
            previous_balance=Decimal(b["previous_balance"]),
            amount=Decimal(b["amount"]),
            expected=Decimal(b["expected_balance"]),
            stored=Decimal(b["stored_balance"]),
        )
        for b in recording["chain_breaks"]
    ]

    breaks = chain_breaks(rows)

    assert expected == breaks
    assert [
        (33, Decimal("10.00")),
        (48, Decimal("20.00")),
        (52, Decimal("10.00")),
        (57, Decimal("10.00")),
    ] == [(b.row_id, b.lost) for b in breaks]


def test_race_lost_credit_per_member() -> None:
    recording = json.loads((FIXTURES / "wallet_table_rows_after_race.json").read_text())
    rows = [WalletRow.from_plugin(raw) for raw in recording["rows"]]

    lost = lost_per_member(rows)

    assert {8: Decimal("10.00"), 9: Decimal("20.00"), 10: Decimal("20.00")} == lost


def test_intact_wallet_has_no_findings() -> None:
    rows = recorded("getAllTransactions.json")

    assert ([], {}, []) == (chain_breaks(rows), lost_per_member(rows), duplicates(rows))


BROKEN = """
id  user  amount  balance  type                date                 details
1   4     100.00  100.00   deposit             2026-12-01 08:05:12  Einzahlung TWINT
2   11    21.00   21.00    -                   2026-12-04 16:30:09  Neuer Verkauf von Produkt Bergkäse (Bio)(3x) Bestellung #140
3   11    21.00   42.00    -                   2026-12-04 16:30:12  Neuer Verkauf von Produkt Bergkäse (Bio)(3x) Bestellung #140
4   4     -22.45  77.55    -                   2026-12-04 16:29:34  Bestellung #134 (Neubestellung)
5   4     -22.45  55.10    -                   2026-12-05 07:00:00  Bestellung #134 (Neubestellung)
6   11    7.00    42.00    -                   2026-12-05 09:00:00  Neuer Verkauf von Produkt Honig(1x) Bestellung #144
7   4     20.00   75.10    deposit             2026-12-05 10:00:00  Einzahlung Bank
8   4     20.00   95.10    deposit             2026-12-06 10:00:00  Einzahlung Bank
9   11    21.00   63.00    -                   2026-12-07 08:00:00  Neuer Verkauf von Produkt Bergkäse (Bio)(3x) Bestellung #140
10  4     -4.50   90.60    manual_transaction  2026-12-07 08:31:00  Korrektur: Depotgebühr Oktober
11  4     -4.50   86.10    manual_transaction  2026-12-07 08:31:01  Korrektur: Depotgebühr Oktober
"""


def test_broken_wallet_breaks_and_duplicates() -> None:
    """A payout written by two hooks and once more days later, an order debited
    twice, a correction entered twice in one second, and a row that lost 7.00;
    equal deposits a day apart are left alone."""
    rows = wallet(BROKEN)

    breaks = chain_breaks(rows)
    found = duplicates(rows)

    assert [
        ChainBreak(
            row_id=6,
            user_id=11,
            previous_balance=Decimal("42.00"),
            amount=Decimal("7.00"),
            expected=Decimal("49.00"),
            stored=Decimal("42.00"),
        )
    ] == breaks
    assert [
        Duplicate(
            kind="repeated_sale_payout",
            user_id=11,
            row_ids=(2, 3, 9),
            details="Neuer Verkauf von Produkt Bergkäse (Bio)(3x) Bestellung #140",
            extra=Decimal("42.00"),
        ),
        Duplicate(
            kind="repeated_order_row",
            user_id=4,
            row_ids=(4, 5),
            details="Bestellung #134 (Neubestellung)",
            extra=Decimal("-22.45"),
        ),
        Duplicate(
            kind="identical_rows",
            user_id=4,
            row_ids=(10, 11),
            details="Korrektur: Depotgebühr Oktober",
            extra=Decimal("-4.50"),
        ),
    ] == found


def test_equal_deposits_in_the_same_second_are_suspects() -> None:
    """The race trials sent the same deposit text and time six times: the
    wallet cannot tell them from a double submit, so they are reported."""
    recording = json.loads((FIXTURES / "wallet_table_rows_after_race.json").read_text())
    rows = [WalletRow.from_plugin(raw) for raw in recording["rows"]]

    found = [(d.kind, d.user_id, d.row_ids, d.extra) for d in duplicates(rows)]

    assert [
        ("identical_rows", 9, (27, 39, 41, 44, 46, 48), Decimal("100.00")),
        ("identical_rows", 9, (28, 40, 42, 43, 45, 47), Decimal("100.00")),
    ] == found


def test_double_encoded_answer_is_decoded() -> None:
    """The HTTP body is a JSON string holding the JSON of the rows."""
    wire = json.dumps(
        '[{"id":"3","user_id":"4","amount":"100.00","balance":"100.00",'
        '"details":"Einzahlung TWINT","created_by":" ",'
        '"date":"2026-12-01 08:05:12","type":"deposit","reported":null}]'
    )

    (row,) = decode_rows(json.loads(wire))

    assert (3, Decimal("100.00"), "deposit") == (row.id, row.amount, row.type)
