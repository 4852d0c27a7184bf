"""The POT wallet in the sandbox, against what plugin 1.7.7 answered and stored.

Seeded rows (`seed_coop`), in the table's own notation:

    id user amount  balance details
     1   2  150.00  150.00  Einzahlung Bank 22.11.2026        deposit
    10   2  -50.00  100.00  Jahresbeitrag  2026               yearly_fee
    17   2  -17.00   83.00  Bestellung #135 (Neubestellung)   block checkout
    25   2   -8.85   74.15  Bestellung #144 (Neubestellung)   block checkout again
    18   3  -23.00   47.00  Bestellung #136 (Neubestellung)   classic
    21   3   15.50   62.50  Bestellung #139 (Anpassung)       re-order, smaller
    22   5    6.80   53.80  Mutation: Produkt nicht geliefert (Butterzopf)
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

import pytest
import requests
from sandbox_helpers import POT, fixture, wc_send

from pot_bridge.sandbox import SandboxShop, ShopState
from pot_bridge.sandbox.wallet import WalletRow

ROUTES = "/wp-json/foodcoop/v1/"
NO_ROWS = 11  # Anna: a member without a wallet row
MEMBER = 3  # Jonas, who re-ordered in round B


def call(
    shop: SandboxShop,
    method: str,
    route: str,
    body: dict[str, Any] | None = None,
    auth: tuple[str, str] | None = ("default", ""),
) -> requests.Response:
    """A foodcoop/v1 call, as the bridge's manager user unless told otherwise."""
    if auth == ("default", ""):
        auth = (shop.app_user, shop.app_password)
    return requests.request(
        method, shop.url + ROUTES + route, json=body, auth=auth, timeout=5
    )


def decoded(response: requests.Response) -> Any:
    """Decode twice, as the plugin's own JavaScript does."""
    outer = response.json()
    assert isinstance(outer, str)
    return json.loads(outer)


def rows_of(shop: SandboxShop, user_id: int) -> list[WalletRow]:
    return shop.state.wallet.of(user_id)


def deposit(amount: str = "25", user: int = 9, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "user": user,
        "amount": amount,
        "date": "2026-12-03 09:00:00",
        "details": "Einzahlung Bank 03.12.2026",
        "created_by": 14,
        "type": "deposit",
    }
    body.update(extra)
    return body


def chain_breaks(rows: list[WalletRow]) -> list[int]:
    """Ids whose balance is not the previous balance plus the amount."""
    broken, previous = [], Decimal(0)
    for row in sorted(rows, key=lambda r: r.id):
        if row.balance != previous + row.amount:
            broken.append(row.id)
        previous = row.balance
    return broken


# -- wire format ----------------------------------------------------------------


def test_all_transactions_are_listed_as_recorded(shop: SandboxShop) -> None:
    """Strings only, newest first, actor's name in created_by, user_name added."""
    recorded = fixture(POT / "getAllTransactions.json")

    response = call(shop, "GET", "getAllTransactions")
    rows = decoded(response)

    assert recorded["status"] == response.status_code
    assert recorded["headers"]["Allow"] == response.headers["Allow"]
    assert list(recorded["body_decoded"][0]) == list(rows[0])
    assert [str(r.id) for r in reversed(shop.state.wallet.rows)] == [
        r["id"] for r in rows
    ]
    assert all(
        isinstance(v, str) for row in rows for k, v in row.items() if k != "reported"
    )
    refund = next(r for r in rows if r["details"].startswith("Mutation"))
    assert {"created_by": " ", "user_name": "Noah Weber", "amount": "6.80"} == {
        k: refund[k] for k in ("created_by", "user_name", "amount")
    }


def test_transactions_of_one_member(shop: SandboxShop) -> None:
    recorded = fixture(POT / "getTransactions_user4_reorder.json")

    response = call(shop, "POST", "getTransactions", {"id": MEMBER})
    rows = decoded(response)

    assert recorded["headers"]["Allow"] == response.headers["Allow"]
    assert list(recorded["body_decoded"][0]) == list(rows[0])
    assert [
        ("15.50", "62.50", "Bestellung #139 (Anpassung)", "Jonas Keller"),
        ("-23.00", "47.00", "Bestellung #136 (Neubestellung)", "Jonas Keller"),
        ("-50.00", "70.00", "Jahresbeitrag  2026", " "),
        ("120.00", "120.00", "Einzahlung Bank 22.11.2026", " "),
    ] == [(r["amount"], r["balance"], r["details"], r["created_by"]) for r in rows]


def test_unknown_member_has_an_empty_list(shop: SandboxShop) -> None:
    response = call(shop, "POST", "getTransactions", {"id": 999})

    assert '"[]"' == response.text


def test_answer_text_is_the_recorded_text() -> None:
    """Same rows as recorded: the double encoding matches byte for byte."""
    recorded = fixture(POT / "postAddTransaction_manual_transaction_negative.json")
    state = ShopState()
    state.add_customer("Noah", "Weber", user_id=5)
    state.add_customer("", "", role="foodcoop_manager", username="bridge", user_id=14)
    state.wallet.insert(5, Decimal("80.00"), "Einzahlung", 14, "2026-12-01 10:00:00")
    state.wallet.insert(
        5, Decimal(0), "Platzhalter", 14, "2026-12-01 10:00:00", row_id=13
    )

    with SandboxShop(state) as shop:
        response = call(shop, "POST", "postAddTransaction", recorded["request"]["body"])

    assert recorded["raw_body"] == response.text
    assert "2026-12-03 08:31:00" == state.wallet.rows[-1].date


# -- postAddTransaction ---------------------------------------------------------


def test_deposit_books_a_row_on_the_running_balance(shop: SandboxShop) -> None:
    recorded = fixture(POT / "postAddTransaction_deposit.json")

    response = call(shop, "POST", "postAddTransaction", deposit("25.5"))
    answer = decoded(response)

    assert [type(v) for v in recorded["body_decoded"]] == [type(v) for v in answer]
    assert ["38.85", "Nina Baumann", 26, "25.50"] == answer[:4]
    assert [
        "Einzahlung Bank 03.12.2026",
        14,
        "deposit",
    ] == answer[4:]
    row = rows_of(shop, 9)[-1]
    assert (26, Decimal("25.50"), Decimal("38.85"), "2026-12-03 09:00:00") == (
        row.id,
        row.amount,
        row.balance,
        row.date,
    )
    assert (14, "deposit", None) == (row.created_by, row.type, row.reported)


def test_first_row_of_a_member_has_balance_equal_to_amount(
    shop: SandboxShop,
) -> None:
    answer = decoded(call(shop, "POST", "postAddTransaction", deposit(user=NO_ROWS)))

    assert ["25.00", "Anna Huber"] == answer[:2]


def test_yearly_fee_keyword_books_minus_fc_fee_as_a_number(
    shop: SandboxShop,
) -> None:
    recorded = fixture(POT / "postAddTransaction_yearly_fee.json")
    body = deposit("jahresbeitrag", type="yearly_fee", details="Jahresbeitrag  2026")

    answer = decoded(call(shop, "POST", "postAddTransaction", body))

    assert [type(v) for v in recorded["body_decoded"]] == [type(v) for v in answer]
    assert -50 == answer[3]
    assert Decimal("-50.00") == rows_of(shop, 9)[-1].amount


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        pytest.param("2026-12-01T08:05:12.345Z", "2026-12-01 08:05:12", id="admin-ui"),
        pytest.param(None, "2026-12-04 15:00:00", id="no-date-db-utc-now"),
        pytest.param("gestern", "0000-00-00 00:00:00", id="garbage"),
        pytest.param("2026-12-02", "2026-12-02 00:00:00", id="day-only"),
    ],
)
def test_dates_are_stored_as_mariadb_keeps_them(
    shop: SandboxShop, sent: str | None, stored: str
) -> None:
    body = deposit()
    if sent is None:
        del body["date"]
    else:
        body["date"] = sent

    call(shop, "POST", "postAddTransaction", body)

    assert stored == rows_of(shop, 9)[-1].date


def test_decimal_comma_is_a_500_and_stores_nothing(shop: SandboxShop) -> None:
    recorded = fixture(POT / "postAddTransaction_error_amount_decimal_comma.json")
    before = len(shop.state.wallet.rows)

    response = call(shop, "POST", "postAddTransaction", deposit("25,50"))

    body = response.json()
    assert recorded["status"] == response.status_code
    assert "Allow" not in response.headers
    assert recorded["body"]["code"] == body["code"]
    assert recorded["body"]["message"] == body["message"]
    assert recorded["body"]["data"]["error"]["line"] == body["data"]["error"]["line"]
    assert "number_format('25,50', 2, '.', '')" in body["data"]["error"]["message"]
    assert before == len(shop.state.wallet.rows)


def test_before_first_admin_page_load_answers_id_0_and_stores_nothing(
    shop: SandboxShop,
) -> None:
    recorded = fixture(POT / "postAddTransaction_before_schema_upgrade.json")
    shop.state.wallet.schema_upgraded = False
    before = len(shop.state.wallet.rows)

    answer = decoded(call(shop, "POST", "postAddTransaction", deposit("100")))

    assert 0 == recorded["body_decoded"][2] == answer[2]
    assert ["113.35", "Nina Baumann"] == answer[:2]
    assert before == len(shop.state.wallet.rows)


# -- getBalance and getUsers ----------------------------------------------------


def test_balance_as_recorded(shop: SandboxShop) -> None:
    recorded = fixture(POT / "getBalance.json")

    response = call(shop, "POST", "getBalance", {"id": 5})

    expected = recorded["raw_body"].replace(
        "https:\\\\\\/\\\\\\/127.0.0.1:8443",
        shop.url.replace("/", "\\\\\\/"),
    )
    assert expected.replace("57.45", "53.80") == response.text


def test_balance_is_null_for_a_member_without_rows(shop: SandboxShop) -> None:
    recorded = fixture(POT / "getBalance_user_without_wallet_rows.json")

    answer = decoded(call(shop, "POST", "getBalance", {"id": NO_ROWS}))

    assert recorded["body_decoded"][0] is None
    assert [None, f"{shop.url}/my-account/"] == answer


def test_balance_is_post_only_and_public(shop: SandboxShop) -> None:
    recorded = fixture(POT / "getBalance_GET_no_route.json")

    by_get = call(shop, "GET", "getBalance")
    anonymous = call(shop, "POST", "getBalance", {"id": 5}, auth=None)

    assert (recorded["status"], recorded["body"]) == (by_get.status_code, by_get.json())
    assert ["53.80", f"{shop.url}/my-account/"] == decoded(anonymous)


def test_users_with_balance_and_fee_rows(shop: SandboxShop) -> None:
    recorded = fixture(POT / "getUsers.json")

    users = decoded(call(shop, "GET", "getUsers"))

    assert list(recorded["body_decoded"][0]) == list(users[0])
    logins = [c.username for c in shop.state.customers.values()]
    assert sorted(logins) == [shop.state.customers[u["id"]].username for u in users]
    jonas = next(u for u in users if u["id"] == MEMBER)
    recorded_jonas = next(u for u in recorded["body_decoded"] if u["id"] == 3)
    assert list(recorded_jonas["active"][0]) == list(jonas["active"][0])
    assert ("62.50", "14", "yearly_fee") == (
        jonas["balance"],
        jonas["active"][0]["created_by"],
        jonas["active"][0]["type"],
    )
    assert jonas["last_fee"] == jonas["active"][0]["date"]
    anna = next(u for u in users if u["id"] == NO_ROWS)
    assert ("0.00", [], None) == (anna["balance"], anna["active"], anna["last_fee"])


# -- auth -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "route",
    [
        ("GET", "getUsers"),
        ("GET", "getAllTransactions"),
        ("POST", "getTransactions"),
        ("POST", "postAddTransaction"),
    ],
    ids=lambda r: r[1],
)
def test_a_member_is_forbidden_on_manager_routes(
    shop: SandboxShop, route: tuple[str, str]
) -> None:
    recorded = fixture(POT / "auth_customer_app_password_getUsers.json")
    shop.add_app_password("noah.weber", "mem1 mem2 mem3 mem4 mem5 mem6")
    before = len(shop.state.wallet.rows)

    response = call(
        shop, *route, deposit(), auth=("noah.weber", "mem1mem2mem3mem4mem5mem6")
    )

    assert (recorded["status"], recorded["body"]) == (
        response.status_code,
        response.json(),
    )
    assert before == len(shop.state.wallet.rows)


def test_a_member_may_read_another_members_balance(shop: SandboxShop) -> None:
    shop.add_app_password("noah.weber", "mem1 mem2 mem3 mem4 mem5 mem6")

    response = call(
        shop, "POST", "getBalance", {"id": 5}, auth=("noah.weber", "mem1 mem2 mem3")
    )
    right = call(
        shop,
        "POST",
        "getBalance",
        {"id": 5},
        auth=("noah.weber", "mem1 mem2 mem3 mem4 mem5 mem6"),
    )

    assert 401 == response.status_code  # a wrong password fails even here
    assert "53.80" == decoded(right)[0]


@pytest.mark.parametrize(
    ("name", "credentials"),
    [
        pytest.param(
            "auth_wc_consumer_key_on_foodcoop_route_getUsers.json", "key", id="ck"
        ),
        pytest.param("auth_wrong_app_password_getUsers.json", "wrong", id="wrong"),
        pytest.param("unauth_getUsers.json", None, id="anonymous"),
    ],
)
def test_refused_credentials_as_recorded(
    shop: SandboxShop, name: str, credentials: str | None
) -> None:
    recorded = fixture(POT / name)
    auth = {
        "key": (shop.consumer_key, shop.consumer_secret),
        "wrong": (shop.app_user, "wxyz wxyz wxyz wxyz wxyz wxyz"),
        None: None,
    }[credentials]

    response = call(shop, "GET", "getUsers", auth=auth)

    assert (recorded["status"], recorded["body"]) == (
        response.status_code,
        response.json(),
    )


def test_anonymous_booking_is_refused(shop: SandboxShop) -> None:
    recorded = fixture(POT / "unauth_postAddTransaction.json")

    response = call(
        shop, "POST", "postAddTransaction", recorded["request"]["body"], auth=None
    )

    assert (recorded["status"], recorded["body"]) == (
        response.status_code,
        response.json(),
    )


# -- the gateway: checkout, re-order, refund -------------------------------------


def test_block_checkout_twice_in_a_round_debits_twice(shop: SandboxShop) -> None:
    """The Store API order loses its round, so the second is no re-order."""
    lea = [(r.amount, r.details) for r in rows_of(shop, 2)]

    assert [
        (Decimal("-17.00"), "Bestellung #135 (Neubestellung)"),
        (Decimal("-8.85"), "Bestellung #144 (Neubestellung)"),
    ] == lea[-2:]
    assert {"processing"} == {shop.state.orders[i].status for i in (135, 144)}


def test_classic_reorder_books_only_the_difference(shop: SandboxShop) -> None:
    old = shop.state.orders[139]

    new = shop.state.reorder(139, [(12, 3), (22, 2), (19, 1)])

    row = rows_of(shop, MEMBER)[-1]
    assert Decimal(new["total"]) - old.total == -row.amount
    assert (f"Bestellung #{new['id']} (Anpassung)", MEMBER, "") == (
        row.details,
        row.created_by,
        row.type,
    )
    assert [] == chain_breaks(rows_of(shop, MEMBER))


def test_reorder_after_a_refund_counts_the_old_net_total(shop: SandboxShop) -> None:
    old = shop.state.orders[137]  # Noah's, Butterzopf refunded (6.80)

    new = shop.state.reorder(137, [(15, 1)])

    assert Decimal("26.20") - Decimal(new["total"]) == rows_of(shop, 5)[-1].amount
    assert Decimal("33.00") == old.total


def test_refund_via_the_gateway_credits_the_reason(shop: SandboxShop) -> None:
    response = wc_send(
        shop,
        "POST",
        "orders/142/refunds",
        {
            "amount": "5.00",
            "reason": "Mutation: Produkt nicht geliefert (Karotten)",
            "api_refund": True,
        },
    )

    row = rows_of(shop, 4)[-1]
    assert 201 == response.status_code
    assert (
        Decimal("5.00"),
        "Mutation: Produkt nicht geliefert (Karotten)",
        14,
        "",
    ) == (row.amount, row.details, row.created_by, row.type)


def test_refund_without_the_gateway_writes_no_row(shop: SandboxShop) -> None:
    before = len(shop.state.wallet.rows)

    response = wc_send(
        shop, "POST", "orders/142/refunds", {"amount": "1.00", "api_refund": False}
    )

    assert 201 == response.status_code
    assert before == len(shop.state.wallet.rows)


@pytest.mark.parametrize(
    ("payment_method", "via", "status"),
    [
        pytest.param("cod", "checkout", "processing", id="other-gateway"),
        pytest.param("foodcoop_guthaben", "rest-api", "processing", id="rest-api"),
        pytest.param("foodcoop_guthaben", "store-api", "failed", id="failed"),
    ],
)
def test_orders_the_gateway_does_not_charge(
    shop: SandboxShop, payment_method: str, via: str, status: str
) -> None:
    before = len(shop.state.wallet.rows)

    shop.state.add_order(
        6,
        [(18, 1)],
        round_id=130,
        payment_method=payment_method,
        via=via,
        status=status,
    )

    assert before == len(shop.state.wallet.rows)


# -- the race and staged rows ------------------------------------------------------


def parallel_deposits(shop: SandboxShop, count: int, user: int = 9) -> list[Any]:
    answers: list[Any] = [None] * count
    start = threading.Barrier(count)

    def book(index: int) -> None:
        start.wait()
        body = deposit("10", user, details=f"Einzahlung parallel {index + 1}/{count}")
        answers[index] = decoded(call(shop, "POST", "postAddTransaction", body))

    threads = [threading.Thread(target=book, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return answers


def test_race_switch_loses_money_but_stores_every_row(shop: SandboxShop) -> None:
    """As recorded: 200 each, distinct ids, every row, a wrong running balance."""
    shop.state.wallet.race = True
    shop.state.wallet.race_window = 0.2  # wide enough on a busy test machine
    start = shop.state.wallet.balance(9)
    assert start is not None

    answers = parallel_deposits(shop, 10)

    rows = rows_of(shop, 9)
    stored = sum((r.amount for r in rows), Decimal(0))
    assert 10 == len({a[2] for a in answers})
    assert start + Decimal("100.00") == stored
    assert rows[-1].balance < stored  # credit lost in the running balance
    assert chain_breaks(rows)


def test_without_the_race_switch_parallel_calls_keep_the_chain(
    shop: SandboxShop,
) -> None:
    start = shop.state.wallet.balance(9)
    assert start is not None

    parallel_deposits(shop, 10)

    rows = rows_of(shop, 9)
    assert start + Decimal("100.00") == rows[-1].balance
    assert [] == chain_breaks(rows)


def test_staged_duplicate_and_broken_chain_are_served(shop: SandboxShop) -> None:
    wallet = shop.state.wallet
    first = wallet.insert(6, Decimal("-5.00"), "Bestellung #138 (Neubestellung)", 6, "")
    wallet.insert(
        6,
        Decimal("-5.00"),
        "Bestellung #138 (Neubestellung)",
        6,
        first.date,
        balance=Decimal("99.00"),
    )

    rows = decoded(call(shop, "POST", "getTransactions", {"id": 6}))

    assert ["99.00", "43.20"] == [r["balance"] for r in rows[:2]]
    assert rows[0]["details"] == rows[1]["details"]
    assert [first.id + 1] == chain_breaks(rows_of(shop, 6))
    with pytest.raises(ValueError, match="primary key"):
        wallet.insert(6, Decimal(1), "x", 14, "", row_id=first.id)


def test_notification_job_stamps_rows_in_utc(shop: SandboxShop) -> None:
    count = shop.state.wallet.mark_reported(shop.state.now())

    assert len(shop.state.wallet.rows) == count
    assert {"2026-12-04 15:00:00"} == {r.reported for r in shop.state.wallet.rows}
