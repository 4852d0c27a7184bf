"""Staged hosting failures: each kind, consumed in order, still logged."""

from __future__ import annotations

import json
import time

import pytest
import requests
from sandbox_helpers import signed_url, wc_get

from pot_bridge.sandbox import Fault, SandboxShop


def test_status_fault_with_json_and_retry_after(shop: SandboxShop) -> None:
    shop.faults.add(
        Fault(
            path=r"/orders$",
            kind="status",
            status=429,
            body={"code": "too_many"},
            retry_after=7,
        )
    )

    limited = wc_get(shop, "orders")
    again = wc_get(shop, "orders")

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.json() == {"code": "too_many"}
    assert again.status_code == 200
    assert [r.status for r in shop.requests] == [429, 200]


def test_default_500_is_the_critical_error(shop: SandboxShop) -> None:
    shop.faults.add(Fault(kind="status", status=500, times=2))

    first, second, third = (wc_get(shop, "orders/131") for _ in range(3))

    assert first.json()["code"] == "internal_server_error"
    assert second.status_code == 500
    assert third.status_code == 200


def test_maintenance_page_is_html(shop: SandboxShop) -> None:
    shop.faults.add(Fault(kind="status", status=503))

    response = wc_get(shop, "orders")

    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert "maintenance" in response.text


def test_html_fault_answers_200_with_a_page(shop: SandboxShop) -> None:
    shop.faults.add(Fault(kind="html"))

    response = wc_get(shop, "products")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_truncated_body_keeps_headers(shop: SandboxShop) -> None:
    shop.faults.add(Fault(kind="truncated"))

    response = wc_get(shop, "orders")

    assert response.headers["X-WP-Total"] == "12"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert response.text.startswith('[{"id":144')


def test_bom_and_notice_precede_valid_json(shop: SandboxShop) -> None:
    shop.faults.add(Fault(kind="bom"))

    raw = requests.get(signed_url(shop, "orders/131"), timeout=5).content

    assert raw.startswith(b"\xef\xbb\xbf<br />")
    assert json.loads(raw[raw.index(b"{") :])["id"] == 131


def test_delay_then_normal_answer(shop: SandboxShop) -> None:
    shop.faults.add(Fault(kind="delay", delay=0.3))
    url = signed_url(shop, "orders/131")

    with pytest.raises(requests.Timeout):
        requests.get(url, timeout=0.1)
    started = time.monotonic()
    shop.faults.add(Fault(kind="delay", delay=0.2))
    slow = wc_get(shop, "orders/131")

    assert slow.status_code == 200
    assert time.monotonic() - started >= 0.2


def test_drop_closes_without_answer(shop: SandboxShop) -> None:
    shop.faults.add(Fault(kind="drop"))

    with pytest.raises(requests.ConnectionError):
        wc_get(shop, "orders")
    assert wc_get(shop, "orders").status_code == 200
    assert [r.status for r in shop.requests] == [0, 200]


def test_faults_match_method_and_path_only(shop: SandboxShop) -> None:
    shop.faults.add(Fault(method="POST", path=r"/refunds$", kind="status"))
    shop.faults.add(Fault(path=r"/products", kind="status", status=502))

    orders = wc_get(shop, "orders")
    products = wc_get(shop, "products")
    refunds = wc_get(shop, "orders/137/refunds")

    assert (orders.status_code, products.status_code, refunds.status_code) == (
        200,
        502,
        200,
    )
    assert len(shop.faults) == 1
    shop.faults.clear()
    assert len(shop.faults) == 0


def test_request_log_leaves_out_oauth(shop: SandboxShop) -> None:
    wc_get(shop, "orders", "per_page=3&status=trash")

    record = shop.requests[-1]

    assert (record.method, record.path, record.auth) == (
        "GET",
        "/wp-json/wc/v3/orders",
        "oauth",
    )
    assert record.query == {"per_page": "3", "status": "trash"}


def test_stopped_shop_refuses_connections(shop: SandboxShop) -> None:
    url = shop.url
    shop.stop()

    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/wp-json/", timeout=2)
