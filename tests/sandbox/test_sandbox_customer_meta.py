"""Customer meta writes, answered as the recorded WooCommerce 9.9.5 shop does."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_helpers import NOW, WC, fixture, wc_get, wc_send

from pot_bridge.sandbox import SandboxShop

LEA = 2


def _meta(customer: dict[str, Any]) -> dict[str, Any]:
    return {m["key"]: m["value"] for m in customer["meta_data"]}


def _ids(customer: dict[str, Any]) -> dict[str, int]:
    return {m["key"]: m["id"] for m in customer["meta_data"]}


def test_recorded_meta_update_gets_the_recorded_answer(shop: SandboxShop) -> None:
    """The recorded PUT: a key the customer had keeps its row, new keys get
    rows of their own, the modified date moves; the answer is the customer."""
    recorded = fixture(WC / "customer_update_meta_data.json")
    body = recorded["request"]["body"]
    shop.state.customers[LEA].meta = [[46, "fc_member_number", "M-1000"]]

    response = wc_send(shop, "PUT", f"customers/{LEA}", body)
    got = response.json()

    assert recorded["status"] == response.status_code
    assert list(recorded["body"]) == list(got)
    assert _meta(recorded["body"]) == _meta(got)
    assert 46 == _ids(got)["fc_member_number"]
    assert 3 == len(set(_ids(got).values()))
    assert NOW.strftime("%Y-%m-%dT%H:%M:%S") == got["date_modified_gmt"]
    assert _meta(got) == _meta(wc_get(shop, f"customers/{LEA}").json())


def test_a_key_sent_again_is_updated_in_place(shop: SandboxShop) -> None:
    first = wc_send(
        shop,
        "PUT",
        f"customers/{LEA}",
        {"meta_data": [{"key": "pot_credit_balance", "value": "12.50"}]},
    ).json()

    second = wc_send(
        shop,
        "POST",
        f"customers/{LEA}",
        {"meta_data": [{"key": "pot_credit_balance", "value": "-3.20"}]},
    ).json()

    assert {"pot_credit_balance": "-3.20"} == _meta(second)
    assert _ids(first) == _ids(second)


def test_numbers_come_back_as_text_and_null_deletes(shop: SandboxShop) -> None:
    wc_send(
        shop,
        "PUT",
        f"customers/{LEA}",
        {"meta_data": [{"key": "a", "value": 5}, {"key": "b", "value": True}]},
    )

    got = wc_send(
        shop, "PUT", f"customers/{LEA}", {"meta_data": [{"key": "a", "value": None}]}
    ).json()

    assert {"b": "1"} == _meta(got)


def test_an_unknown_customer_is_the_recorded_404(shop: SandboxShop) -> None:
    recorded = fixture(WC / "customer_get_unknown_404.json")

    response = wc_send(
        shop, "PUT", "customers/999999", {"meta_data": [{"key": "a", "value": "1"}]}
    )

    assert (recorded["status"], recorded["body"]) == (
        response.status_code,
        response.json(),
    )


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        pytest.param("x", "meta_data is not of type array.", id="not-a-list"),
        pytest.param(["x"], "meta_data[0] is not of type object.", id="not-objects"),
    ],
)
def test_meta_data_of_the_wrong_type_is_refused(
    shop: SandboxShop, meta: object, message: str
) -> None:
    response = wc_send(shop, "PUT", f"customers/{LEA}", {"meta_data": meta})

    assert 400 == response.status_code
    assert ("rest_invalid_param", message) == (
        response.json()["code"],
        response.json()["data"]["params"]["meta_data"],
    )
    assert [] == shop.state.customers[LEA].meta
