"""Wire models: recorded shop JSON in, exact Decimals and typed values out."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pot_bridge.errors import SkipItemError
from pot_bridge.shop import wire
from pot_bridge.shop.reply import decode_json

# shared/ lies beside the checkout, here and in CI.
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
WOO = FIXTURES / "woocommerce" / "9.9.5"
POT = FIXTURES / "pot-plugin" / "1.7.7"


def recorded(path: Path) -> dict[str, Any]:
    """A fixture file, with JSON fractions read as Decimal as the client does."""
    data: dict[str, Any] = json.loads(path.read_text("utf-8"), parse_float=Decimal)
    return data


def body(path: Path) -> Any:
    return recorded(path)["body"]


def _parser(path: str) -> Callable[[object, str], object] | None:
    if "/wc/v3/" not in path or "batch" in path or "notes" in path:
        return None
    if "/refunds" in path:
        return wire.parse_refund
    if "/orders" in path:
        return wire.parse_order
    if "/customers" in path:
        return wire.parse_customer
    if "/products" in path:
        return wire.parse_product
    return None


def _shop_objects() -> list[tuple[str, Callable[[object, str], object], Any]]:
    cases = []
    for path in sorted([*WOO.glob("*.json"), *POT.glob("*.json")]):
        data = recorded(path)
        request = data.get("request")
        if not isinstance(request, dict) or not 200 <= data.get("status", 0) < 300:
            continue
        parse = _parser(request["path"])
        if parse is None:
            continue
        items = data["body"] if isinstance(data["body"], list) else [data["body"]]
        cases += [(f"{path.parent.name}/{path.name}", parse, item) for item in items]
    return cases


SHOP_OBJECTS = _shop_objects()


def test_fixtures_cover_every_kind() -> None:
    kinds = {parse.__name__ for _, parse, _ in SHOP_OBJECTS}

    assert kinds == {"parse_order", "parse_refund", "parse_customer", "parse_product"}
    assert len(SHOP_OBJECTS) > 250


@pytest.mark.parametrize(
    ("name", "parse", "raw"),
    SHOP_OBJECTS,
    ids=[f"{n}#{r.get('id')}" for n, _, r in SHOP_OBJECTS],
)
def test_every_recorded_object_parses(
    name: str, parse: Callable[[object, str], Any], raw: dict[str, Any]
) -> None:
    parsed = parse(raw, "coop-a")

    assert parsed.id == raw["id"]


def test_order_wallet_multi_items() -> None:
    order = wire.parse_order(
        body(WOO / "order_get_completed_wallet_multi_items.json"), "coop-a"
    )
    line = order.line_items[0]

    assert Decimal("37.20") == order.total
    assert Decimal("0.94") == order.total_tax
    assert order.round_id == 503
    assert order.order_type == "bestellrunde"
    assert order.payment_method == "foodcoop_guthaben"
    assert order.date_modified_gmt is not None
    assert order.date_modified_gmt.tzinfo is UTC
    assert (line.id, line.quantity, line.gross) == (90, Decimal(1), Decimal("6.40"))
    assert line.lieferant == "Gemüsekooperative Lieferdienst"
    assert line.einheit == "kg"
    assert sum(x.gross for x in order.line_items) == order.total


def test_order_with_fee_and_shipping() -> None:
    order = wire.parse_order(body(WOO / "order_get_with_fee.json"), "coop-a")

    assert order.fee_lines[0].name == "Lieferpauschale"
    assert (order.fee_lines[0].total, order.fee_lines[0].total_tax) == (
        Decimal("5.00"),
        Decimal("0.40"),
    )
    assert order.shipping_lines[0].method_id == "flat_rate"
    assert Decimal("96.00") == order.total
    assert order.order_type == "self_checkout"


def test_refund_from_pot_wallet_order() -> None:
    raw = body(POT / "order_refunds_list_wallet.json")[0]

    refund = wire.parse_refund(raw, "coop-a", order_id=136)
    line = refund.line_items[0]

    assert refund.parent_id == 136
    assert Decimal("6.80") == refund.amount
    assert refund.refunded_payment is True
    assert refund.date_created_gmt == datetime(2026, 12, 4, 15, 29, 51, tzinfo=UTC)
    assert (line.quantity, line.total, line.total_tax) == (
        Decimal(-1),
        Decimal("-6.63"),
        Decimal("-0.17"),
    )
    assert line.refunded_item_id == 389


def test_order_lists_its_refunds_as_negative_totals() -> None:
    order = wire.parse_order(
        body(WOO / "order_get_after_partial_refund.json"), "coop-a"
    )

    assert [(r.id, r.total) for r in order.refunds] == [(113, Decimal("-19.60"))]


def test_pot_order_round_b() -> None:
    order = wire.parse_order(
        body(POT / "order_get_classic_checkout_wallet_round_B.json"), "coop-a"
    )

    assert order.round_id == 130
    assert Decimal("33.00") == order.total
    assert order.line_items[3].gross == Decimal("6.80")


def test_block_checkout_order_has_no_round() -> None:
    order = wire.parse_order(
        body(POT / "order_get_storeapi_checkout_wallet_lea.json"), "coop-a"
    )

    assert order.round_id is None
    assert order.created_via == "store-api"


def test_customer() -> None:
    customer = wire.parse_customer(body(WOO / "customer_get.json"), "coop-a")

    assert (customer.id, customer.email, customer.billing.city) == (
        3,
        "jonas.keller@example.org",
        "Bern",
    )
    assert customer.date_created_gmt == datetime(2026, 6, 22, 14, 58, 26, tzinfo=UTC)
    assert wire.meta_value(customer.meta_data, "fc_member_number") == "M-1002"


def test_variable_product_has_no_regular_price() -> None:
    product = wire.parse_product(body(WOO / "product_get_variable.json"), "coop-a")

    assert product.regular_price is None
    assert (product.lieferant, product.gebinde, product.einheit) == (
        "Käserei Talgrund",
        "1",
        "Stk",
    )
    assert product.pot_id is None


def test_product_prices_and_pot_id() -> None:
    product = wire.parse_product(
        body(WOO / "product_get_simple_on_sale.json"), "coop-a"
    )
    pot_product = wire.parse_product(
        {
            "id": 7,
            "regular_price": "4.90",
            "meta_data": [{"id": 1, "key": "_loonity_id", "value": "31337"}],
        },
        "coop-a",
    )

    assert product.regular_price == Decimal("3.45")
    assert pot_product.pot_id == "31337"


def test_rounds_from_get_bestellrunden_decode_twice() -> None:
    raw = recorded(POT / "getBestellrunden.json")["raw_body"].encode("utf-8")

    rows = decode_json(raw, double_encoded=True)
    rounds = [wire.parse_round(row, "coop-a") for row in rows]

    assert [r.id for r in rounds] == [130, 129]
    assert rounds[0].name == "Bestellrunde KW 50"
    assert rounds[0].products[:3] == [11, 12, 14]
    assert len(rounds[0].products) == 20
    assert rounds[0].complete is False
    assert (rounds[1].start, rounds[1].end, rounds[1].distribution) == (
        date(2026, 11, 23),
        date(2026, 11, 26),
        date(2026, 11, 28),
    )
    assert rounds[1].complete is True


def test_round_name_falls_back_and_products_may_be_empty() -> None:
    plugin_round = wire.parse_round(
        {
            "id": "131",
            "bestellrunde_start": "2026-12-01",
            "bestellrunde_ende": "2026-12-08",
            "bestellrunde_verteiltag": "",
            "bestellrunde_name": "",
            "bestellrunde_products": "",
        },
        "coop-a",
    )

    assert plugin_round.name == "Bestellrunde 131"
    assert plugin_round.distribution is None
    assert plugin_round.products == []


def test_t08_decimal_quantity() -> None:
    """Bergkäse sold by weight: 0.5 kg and 1.25 kg make exactly 1.75 kg."""
    first = decode_json(
        b'{"id":501,"status":"processing","total":"12.40","line_items":'
        b'[{"id":81,"name":"Berg\xc3\xa4se","product_id":55,'
        b'"quantity":0.5,"subtotal":"12.40","total":"12.40",'
        b'"price":24.8}]}'
    )
    second = decode_json(
        b'{"id":502,"status":"processing","total":"31.00","line_items":'
        b'[{"id":82,"product_id":55,"quantity":1.25,'
        b'"total":"31.00","price":24.8}]}'
    )

    orders = [wire.parse_order(raw, "coop-a") for raw in (first, second)]
    kilos = sum(order.line_items[0].quantity for order in orders)

    assert kilos == Decimal("1.75")
    assert str(orders[0].line_items[0].quantity) == "0.5"


def test_t08_float_quantity_is_refused() -> None:
    """A float means JSON was parsed without parse_float=Decimal: refuse it."""
    raw = json.loads(
        '{"id":501,"status":"processing","total":"1.00",'
        '"line_items":[{"id":81,"quantity":1.52,"total":"1.00"}]}'
    )

    with pytest.raises(
        wire.ShopItemInvalid, match=r"order 501: invalid line_items.0.quantity"
    ):
        wire.parse_order(raw, "coop-a")


def test_t10_totals_and_unrounded_taxes() -> None:
    raw = decode_json(
        b'{"id":510,"status":"completed","total":"16.03",'
        b'"total_tax":"1.33","fee_lines":[{"id":4,"name":"Fee",'
        b'"total":"14.70","total_tax":"1.33","taxes":[{"id":3,'
        b'"total":"0.588"},{"id":2,"total":"0.735"}]}]}'
    )

    order = wire.parse_order(raw, "coop-a")
    fee = order.fee_lines[0]

    assert order.total == Decimal("16.03")
    assert fee.total + fee.total_tax == Decimal("16.03")
    assert isinstance(fee.total_tax, Decimal)


def test_t11_price_is_not_parsed() -> None:
    raw = decode_json(
        b'{"id":90,"quantity":3,"total":"10.00","price":3.3333333333333335}'
    )

    line = wire.LineItem.model_validate(raw)

    assert line.total == Decimal("10.00")
    assert "price" not in line.model_dump()
    assert not hasattr(line, "price")


def test_t12_meta_of_any_shape_and_empty_entries() -> None:
    raw = decode_json(
        b'{"id":507,"status":"processing","total":"1.00","meta_data":['
        b'{"id":9,"key":"_order_number_meta","value":{"prefix":"",'
        b'"suffix":"","length":"5"}},{"id":10,"key":'
        b'"_wcpdf_invoice_number","value":"2024-0042"},{"id":11,'
        b'"key":"_bos4w_saved_subs","value":[{"a":1}]},{}]}'
    )

    order = wire.parse_order(raw, "coop-a")

    assert len(order.meta_data) == 4
    assert order.meta_data[3] == wire.Meta()
    assert wire.meta_value(order.meta_data, "_order_number_meta") == {
        "prefix": "",
        "suffix": "",
        "length": "5",
    }
    assert wire.meta_value(order.meta_data, "_bos4w_saved_subs") == [{"a": 1}]
    assert wire.meta_value(order.meta_data, "missing") is None
    assert order.round_id is None


def test_t12_legacy_meta_keyed_by_id() -> None:
    line = wire.LineItem.model_validate(
        {
            "id": 1,
            "quantity": 1,
            "total": "2.00",
            "meta_data": {"7": {"id": 7, "key": "_lieferant", "value": "Hof"}},
        }
    )

    assert line.lieferant == "Hof"


def test_deleted_product_and_empty_round_meta() -> None:
    order = wire.parse_order(
        {
            "id": 5,
            "status": "completed",
            "total": "3.00",
            "meta_data": [{"id": 1, "key": "bestellrunde_id", "value": ""}],
            "line_items": [
                {
                    "id": 1,
                    "product_id": "",
                    "variation_id": None,
                    "quantity": 1,
                    "total": "3.00",
                    "sku": None,
                }
            ],
        },
        "coop-a",
    )

    assert order.line_items[0].product_id == 0
    assert order.line_items[0].variation_id == 0
    assert order.round_id is None


def test_gmt_dates_are_utc_and_null_is_none() -> None:
    order = wire.parse_order(
        {
            "id": 5,
            "status": "pending",
            "total": "0.00",
            "date_created_gmt": "2023-04-17T07:40:00",
            "date_modified_gmt": None,
        },
        "coop-a",
    )

    assert order.date_created_gmt == datetime(2023, 4, 17, 7, 40, tzinfo=UTC)
    assert order.date_modified_gmt is None


def test_bad_object_names_coop_and_id_without_its_values() -> None:
    raw = {
        "id": 77,
        "status": "processing",
        "total": "12.00",
        "date_created_gmt": "yesterday",
        "billing": {"email": "anna@example.org"},
    }

    with pytest.raises(SkipItemError) as caught:
        wire.parse_order(raw, "coop-a")

    message = str(caught.value)
    assert "coop-a" in message
    assert "order 77" in message
    assert "date_created_gmt" in message
    assert "yesterday" not in message


def test_parse_many_returns_problems_as_values() -> None:
    raws = [
        {"id": 1, "status": "completed", "total": "1.00"},
        {"id": 2, "status": "completed", "total": "one franc"},
        "junk",
    ]

    orders, problems = wire.parse_many(raws, wire.parse_order, "coop-a")

    assert [o.id for o in orders] == [1]
    assert len(problems) == 2
    assert "order 2" in str(problems[0])
