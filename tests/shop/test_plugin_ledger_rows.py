"""`PluginClient.ledger_rows`: the wallet read straight into the ledger's rows.

The model path (`parse_wallet_row`, then `to_ledger_row`) is the reference:
the lean path must give the same rows and refuse what it refuses. Member 5
(Noah) in the seeded sandbox coop:

    id  amount  balance  details
     4   80.00    80.00  Einzahlung Bank 22.11.2026         deposit
    19  -33.00    47.00  Bestellung #137 (Neubestellung)
    22    6.80    53.80  Mutation: Produkt nicht geliefert (Butterzopf)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pot_bridge.credit.wallet import to_ledger_row
from pot_bridge.credit.wallet_match import NO_DATE
from pot_bridge.errors import ShopBadResponse
from pot_bridge.ledger.wallet_rows import WalletRow
from pot_bridge.sandbox import Fault, SandboxShop, seed_coop
from pot_bridge.shop import PluginClient, ShopClient
from pot_bridge.shop.plugin import parse_wallet_row
from pot_bridge.shop.reply import decode_json
from pot_bridge.shop.wallet_wire import parse_ledger_row
from pot_bridge.shop.wire import ShopItemInvalid

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
NOAH = 5
ZURICH = ZoneInfo("Europe/Zurich")
POT = Path(__file__).resolve().parents[3] / "shared/fixtures/pot-plugin/1.7.7"
ROW = {
    "id": "19",
    "user_id": "5",
    "amount": "-33.00",
    "balance": "47.00",
    "details": "Bestellung #137 (Neubestellung)",
    "created_by": " ",
    "date": "2026-12-03 19:12:40",
    "type": "",
    "reported": None,
    "user_name": "Noah Weber",
}


@pytest.fixture
def sandbox() -> Iterator[SandboxShop]:
    state = seed_coop(NOW)
    state.clock = lambda: NOW
    with SandboxShop(state) as shop:
        yield shop


def connect(shop: SandboxShop) -> PluginClient:
    client = ShopClient(
        "coop-s",
        shop.url,
        shop.consumer_key,
        shop.consumer_secret,
        wp_user=shop.app_user,
        wp_app_password=shop.app_password,
        requests_per_second=0,
        read_timeout=5.0,
        sleep=lambda seconds: None,
    )
    return PluginClient(client)


def by_model(raw: dict[str, Any]) -> WalletRow:
    return to_ledger_row(parse_wallet_row(raw, "coop-t"))


def test_the_sandbox_wallet_reads_as_the_model_path_reads_it(
    sandbox: SandboxShop,
) -> None:
    plugin = connect(sandbox)

    lean = plugin.ledger_rows()
    typed = [to_ledger_row(r) for r in plugin.wallet_rows()]

    assert typed == lean
    assert sorted(r.id for r in lean) == [r.id for r in lean]
    noah = [(r.id, r.amount, r.balance, r.type) for r in lean if r.user_id == NOAH]
    assert [
        (4, Decimal("80.00"), Decimal("80.00"), "deposit"),
        (19, Decimal("-33.00"), Decimal("47.00"), ""),
        (22, Decimal("6.80"), Decimal("53.80"), ""),
    ] == noah


def test_recorded_rows_read_as_the_model_path_reads_them() -> None:
    path = POT / "getAllTransactions.json"
    if not path.exists():
        pytest.skip(f"recorded fixture {path} is not on this machine")
    raw = json.loads(path.read_text(encoding="utf-8"))["raw_body"]
    raws = decode_json(raw.encode(), double_encoded=True)

    lean = [parse_ledger_row(r, "coop-r") for r in raws]

    assert [by_model(r) for r in raws] == lean
    newest = lean[0]
    assert (26, 3, Decimal("12.50"), Decimal("69.70"), "Jonas Keller") == (
        newest.id,
        newest.user_id,
        newest.amount,
        newest.balance,
        newest.created_by,
    )
    wall_time = datetime(2026, 12, 4, 16, 30, 30, tzinfo=ZURICH).replace(tzinfo=None)
    assert wall_time == newest.date


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"id": 19}, id="id-as-number"),
        pytest.param({"id": " 19 "}, id="id-padded"),
        pytest.param({"user_id": "-1"}, id="negative-member"),
        pytest.param({"amount": "1e3"}, id="amount-exponent"),
        pytest.param({"amount": Decimal("-33.00")}, id="amount-json-number"),
        pytest.param({"amount": 33}, id="amount-int"),
        pytest.param({"amount": " -33.00 "}, id="amount-padded"),
        pytest.param({"amount": ""}, id="amount-empty"),
        pytest.param({"details": None}, id="details-null"),
        pytest.param({"details": Decimal("12.50")}, id="details-number"),
        pytest.param({"type": None}, id="type-null"),
        pytest.param({"date": "0000-00-00 00:00:00"}, id="zero-date"),
        pytest.param({"date": None}, id="null-date"),
        pytest.param({"date": "2026-12-03"}, id="date-only"),
        pytest.param({"date": "2026-12-03T19:12:40+05:00"}, id="date-offset"),
        pytest.param({"reported": "2026-12-03 18:12:41"}, id="reported"),
        pytest.param({"user_name": None}, id="user-name-null"),
        pytest.param({"extra": ["ignored"]}, id="unknown-field"),
    ],
)
def test_what_the_model_accepts_reads_the_same(change: dict[str, Any]) -> None:
    raw = {**ROW, **change}

    assert by_model(raw) == parse_ledger_row(raw, "coop-t")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        pytest.param({"amount": "1,50"}, "amount: not a number: '1,50'", id="comma"),
        pytest.param({"amount": 1.5}, "amount: refusing float", id="float"),
        pytest.param({"amount": True}, "amount: refusing bool", id="bool"),
        pytest.param({"balance": "NaN"}, "balance: not a finite amount", id="nan"),
        pytest.param(
            {"balance": "Infinity"}, "balance: not a finite amount", id="infinity"
        ),
        pytest.param({"details": ["a"]}, "details: list is not text", id="list"),
        pytest.param({"created_by": False}, "created_by: bool is not text", id="b"),
        pytest.param({"date": "gestern"}, "date: Invalid isoformat", id="date"),
        pytest.param(
            {"reported": "gestern"}, "reported: Invalid isoformat", id="reported"
        ),
        pytest.param({"user_name": {}}, "user_name: dict is not text", id="name"),
        pytest.param({"user_id": "fünf"}, "user_id: not a whole number", id="uid"),
        pytest.param({"user_id": None}, "user_id: not a whole number", id="no-uid"),
    ],
)
def test_what_the_model_refuses_is_refused_naming_coop_row_and_field(
    change: dict[str, Any], error: str
) -> None:
    raw = {**ROW, **change}
    with pytest.raises(ShopItemInvalid):
        by_model(raw)

    with pytest.raises(ShopItemInvalid) as refused:
        parse_ledger_row(raw, "coop-t")

    assert str(refused.value).startswith(f"coop coop-t: wallet row 19: {error}")


@pytest.mark.parametrize(
    "field", ["id", "user_id", "amount", "balance", "details", "created_by", "date"]
)
def test_a_missing_field_is_named(field: str) -> None:
    raw = {k: v for k, v in ROW.items() if k != field}
    with pytest.raises(ShopItemInvalid):
        by_model(raw)

    with pytest.raises(ShopItemInvalid, match=f"{field} is missing"):
        parse_ledger_row(raw, "coop-t")


@pytest.mark.parametrize(
    "row_id",
    [
        pytest.param("19.0", id="fraction"),
        pytest.param("1_9", id="underscore"),
        pytest.param(True, id="bool"),
        pytest.param(Decimal("19.0"), id="json-fraction"),
        pytest.param("١٩", id="arabic-digits"),
    ],
)
def test_an_id_must_be_written_as_a_whole_number(row_id: object) -> None:
    with pytest.raises(ShopItemInvalid) as refused:
        parse_ledger_row({**ROW, "id": row_id}, "coop-t")

    assert f"coop coop-t: wallet row {row_id}: id: not a whole number: {row_id!r}" == (
        str(refused.value)
    )


def test_a_zero_date_is_the_ledgers_no_date() -> None:
    row = parse_ledger_row({**ROW, "date": "0000-00-00 00:00:00"}, "coop-t")

    assert NO_DATE == row.date


def test_not_an_object_is_refused() -> None:
    with pytest.raises(ShopItemInvalid, match="wallet row is list, not an object"):
        parse_ledger_row(["19", "5"], "coop-t")


def test_repeated_texts_are_held_once() -> None:
    first = parse_ledger_row(json.loads(json.dumps({**ROW, "type": "deposit"})), "c")
    second = parse_ledger_row(json.loads(json.dumps({**ROW, "type": "deposit"})), "c")

    assert first.type is second.type
    assert not hasattr(first, "__dict__")


def answers(sandbox: SandboxShop, body: object) -> None:
    """`getAllTransactions` answers `body` once: a str as the raw text sent."""
    sandbox.faults.add(
        Fault(path="getAllTransactions", kind="status", status=200, body=body)
    )


def twice_encoded(value: object) -> str:
    """As the plugin answers: its JSON inside the REST server's JSON string."""
    return json.dumps(json.dumps(value, default=str))


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(twice_encoded, id="as-the-plugin-sends-it"),
        pytest.param(lambda rows: rows, id="encoded-once"),
    ],
)
def test_a_malformed_row_in_the_answer_stops_the_read(
    sandbox: SandboxShop, encode: Any
) -> None:
    rows = [dict(ROW, id="18"), dict(ROW, date="gestern"), dict(ROW, id="20")]
    answers(sandbox, encode(rows))

    with pytest.raises(ShopItemInvalid) as refused:
        connect(sandbox).ledger_rows()

    assert str(refused.value).startswith(
        "coop coop-s: wallet row 19: date: Invalid isoformat string: 'gestern'"
    )


def test_a_row_without_id_is_named_not_dropped(sandbox: SandboxShop) -> None:
    rows = [dict(ROW, id="18"), {k: v for k, v in ROW.items() if k != "id"}]
    answers(sandbox, twice_encoded(rows))

    with pytest.raises(ShopItemInvalid, match="wallet row \\?: id is missing"):
        connect(sandbox).ledger_rows()


def test_an_answer_read_twice_encoded_gives_every_row_oldest_first(
    sandbox: SandboxShop,
) -> None:
    rows = [dict(ROW, id=str(n), details=f"Zeile {n}") for n in (20, 18, 19)]
    answers(sandbox, twice_encoded(rows))

    read = connect(sandbox).ledger_rows()

    assert [(18, "Zeile 18"), (19, "Zeile 19"), (20, "Zeile 20")] == [
        (r.id, r.details) for r in read
    ]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param({"a": 1}, "answered dict instead of a list of", id="object"),
        pytest.param(twice_encoded(ROW), "answered dict instead of", id="one-row"),
        pytest.param(
            json.dumps('[{"id": "19", '), "answered a string that is not JSON", id="cut"
        ),
        pytest.param(
            json.dumps('[{"id": "19", "amount": NaN}]'), "NaN is no number", id="nan"
        ),
    ],
)
def test_an_answer_that_is_not_a_list_of_rows_is_refused(
    sandbox: SandboxShop, body: object, error: str
) -> None:
    answers(sandbox, body)

    with pytest.raises(ShopBadResponse, match=error):
        connect(sandbox).ledger_rows()
