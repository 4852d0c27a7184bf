"""The client against the sandbox shop over a real loopback socket.

Waits go through an injected sleep that only records them, so retries and
Retry-After are checked without the suite sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from structlog.testing import capture_logs

from pot_bridge.errors import ShopAuthError, ShopBadResponse, ShopUnavailable
from pot_bridge.sandbox import Fault, SandboxShop, seed_bulk, seed_coop
from pot_bridge.shop import PluginClient, ShopClient, ShopRedirected, parse_order

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
ORDERS = r"/wc/v3/orders$"


@pytest.fixture
def sandbox() -> Iterator[SandboxShop]:
    shop = SandboxShop(seed_coop(NOW), port=0).start()
    yield shop
    shop.stop()


class Waits(list[float]):
    """An injected sleep: records each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


def connect(shop: SandboxShop, waits: Waits, **kwargs: Any) -> ShopClient:
    settings: dict[str, Any] = {
        "wp_user": shop.app_user,
        "wp_app_password": shop.app_password,
        "requests_per_second": 0,
        "read_timeout": 5.0,
        "sleep": waits,
    }
    settings.update(kwargs)
    secret = settings.pop("consumer_secret", shop.consumer_secret)
    return ShopClient("coop-s", shop.url, shop.consumer_key, secret, **settings)


def seen(
    shop: SandboxShop, client: ShopClient, path: str = "/wp-json/wc/v3/orders"
) -> list[Any]:
    """The shop's records of `path`, once it logged every request the client sent.

    The sandbox logs a request after answering it, so the client can be faster.
    """
    deadline = time.monotonic() + 2.0
    while len(shop.requests) < client.requests_made and time.monotonic() < deadline:
        time.sleep(0.005)
    return [r for r in shop.requests if r.path == path]


def test_paging_over_several_pages_stops_at_total_pages(
    sandbox: SandboxShop, waits: Waits
) -> None:
    client = connect(sandbox, waits)

    pages = list(
        client.iter_pages("orders", {"orderby": "id", "order": "asc", "per_page": 5})
    )
    ids = [order["id"] for page in pages for order in page.items]

    assert ids == sorted(set(ids))
    assert len(ids) == pages[0].total == 12
    assert [p.page for p in pages] == [1, 2, 3]
    assert [r.query["page"] for r in seen(sandbox, client)] == ["1", "2", "3"]
    assert all(r.auth == "oauth" for r in sandbox.requests)
    assert client.requests_made == 3


def test_paging_stops_on_an_empty_page(sandbox: SandboxShop, waits: Waits) -> None:
    client = connect(sandbox, waits)
    pages = client.iter_pages("orders", {"per_page": 5})

    first = next(pages)
    sandbox.faults.add(Fault(path=ORDERS, kind="status", status=200, body=[]))
    rest = list(pages)

    assert len(first.items) == 5
    assert rest == []
    assert len(seen(sandbox, client)) == 2


def test_500_then_success_is_retried(sandbox: SandboxShop, waits: Waits) -> None:
    sandbox.faults.add(Fault(path=ORDERS, kind="status", status=500))
    client = connect(sandbox, waits)

    orders = client.get("orders")

    assert len(orders) == 10
    assert [r.status for r in seen(sandbox, client)] == [500, 200]
    assert len(waits) == 1


def test_429_retry_after_is_honoured(sandbox: SandboxShop, waits: Waits) -> None:
    sandbox.faults.add(Fault(path=ORDERS, kind="status", status=429, retry_after=3))
    client = connect(sandbox, waits)

    client.get("orders")

    assert waits == [3.0]
    assert [r.status for r in seen(sandbox, client)] == [429, 200]


def test_html_page_is_a_bad_response_after_retries(
    sandbox: SandboxShop, waits: Waits
) -> None:
    sandbox.faults.add(Fault(path=ORDERS, kind="html", times=5))
    client = connect(sandbox, waits, max_attempts=3)

    with pytest.raises(ShopBadResponse, match="an HTML page") as caught:
        client.get("orders")

    assert "coop-s" in str(caught.value)
    assert len(seen(sandbox, client)) == 3
    assert len(waits) == 2


def test_truncated_body_is_retried(sandbox: SandboxShop, waits: Waits) -> None:
    sandbox.faults.add(Fault(path=ORDERS, kind="truncated"))
    client = connect(sandbox, waits)

    orders = client.get("orders")

    assert len(orders) == 10
    assert len(seen(sandbox, client)) == 2


def test_truncated_every_time_is_named(sandbox: SandboxShop, waits: Waits) -> None:
    sandbox.faults.add(Fault(path=ORDERS, kind="truncated", times=5))

    with pytest.raises(ShopBadResponse, match="cut-off"):
        connect(sandbox, waits, max_attempts=2).get("orders")


def test_bom_and_php_notice_are_decoded_without_retry(
    sandbox: SandboxShop, waits: Waits
) -> None:
    sandbox.faults.add(Fault(path=r"/wc/v3/orders/131$", kind="bom"))

    client = connect(sandbox, waits)

    order = parse_order(client.get("orders/131"), "coop-s")

    assert order.id == 131
    assert len(seen(sandbox, client, "/wp-json/wc/v3/orders/131")) == 1
    assert waits == []


def test_read_timeout_shrinks_the_page_and_skips_nothing(waits: Waits) -> None:
    shop = SandboxShop(seed_bulk(NOW, orders=250, members=20), port=0).start()
    try:
        client = connect(shop, waits, read_timeout=0.2)
        pages = client.iter_pages("orders", {"orderby": "id", "order": "asc"})

        first = next(pages)
        shop.faults.add(Fault(path=ORDERS, kind="delay", delay=0.4))
        with capture_logs() as logs:
            rest = list(pages)
    finally:
        shop.stop()
    ids = [o["id"] for page in [first, *rest] for o in page.items]
    retries = [e["reason"] for e in logs if e["event"] == "shop.request.retry"]

    assert len(ids) == len(set(ids)) == first.total == 250
    assert retries == ["read timeout"]
    assert [(p.page, p.per_page) for p in rest] == [(3, 50), (4, 50), (5, 50)]
    assert client.requests_made == 5


def test_dropped_connection_is_retried(sandbox: SandboxShop, waits: Waits) -> None:
    sandbox.faults.add(Fault(path=ORDERS, kind="drop"))

    with capture_logs() as logs:
        orders = connect(sandbox, waits).get("orders")

    assert len(orders) == 10
    retry = next(e for e in logs if e["event"] == "shop.request.retry")
    assert retry["reason"] == "connection failed"


def test_bad_secret_is_an_auth_error_without_secrets(
    sandbox: SandboxShop, waits: Waits
) -> None:
    wrong = "cs_" + "0f" * 20
    client = connect(sandbox, waits, consumer_secret=wrong)

    with capture_logs() as logs, pytest.raises(ShopAuthError) as caught:
        client.get("orders")

    message = str(caught.value)
    assert "coop-s" in message
    assert "signature" in message
    for secret in (wrong, sandbox.consumer_key, sandbox.app_password):
        assert secret not in message
        assert secret not in repr(logs)
    assert "oauth_signature" not in repr(logs) + message
    assert len(seen(sandbox, client)) == 1
    assert waits == []


def test_post_is_never_retried(sandbox: SandboxShop, waits: Waits) -> None:
    sandbox.faults.add(Fault(method="POST", path=r"/refunds$", kind="drop", times=3))

    client = connect(sandbox, waits)

    with pytest.raises(ShopUnavailable, match="not retried"):
        client.post("orders/143/refunds", {"amount": "1.00", "api_refund": False})

    assert client.requests_made == 1
    assert len(seen(sandbox, client, "/wp-json/wc/v3/orders/143/refunds")) == 1
    assert waits == []


def test_post_503_is_not_retried(sandbox: SandboxShop, waits: Waits) -> None:
    sandbox.faults.add(Fault(method="POST", path=r"/refunds$", status=503))

    client = connect(sandbox, waits)

    with pytest.raises(ShopUnavailable, match="503"):
        client.post("orders/143/refunds", {"amount": "1.00"})

    assert len(seen(sandbox, client, "/wp-json/wc/v3/orders/143/refunds")) == 1


@pytest.fixture
def redirector(sandbox: SandboxShop) -> Iterator[str]:
    """A loopback host that redirects every request to the sandbox, as a
    misconfigured apex domain redirects to www."""

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(301)
            self.send_header("Location", sandbox.url + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST

        def log_message(self, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_redirect_is_not_followed(
    sandbox: SandboxShop, redirector: str, waits: Waits
) -> None:
    client = ShopClient(
        "coop-s",
        redirector,
        sandbox.consumer_key,
        sandbox.consumer_secret,
        requests_per_second=0,
        sleep=waits,
    )

    with pytest.raises(ShopRedirected) as caught:
        client.post("orders", {"status": "pending"})

    assert f"configure the shop URL as {sandbox.url}" in str(caught.value)
    assert "oauth" not in str(caught.value)
    assert client.requests_made == 1
    assert sandbox.requests == []


def test_circuit_breaker_opens(sandbox: SandboxShop, waits: Waits) -> None:
    sandbox.faults.add(Fault(path=ORDERS, status=503, times=100))
    client = connect(sandbox, waits, max_attempts=2, breaker_threshold=2)

    for _ in range(2):
        with pytest.raises(ShopUnavailable, match="503"):
            client.get("orders")
    with pytest.raises(ShopUnavailable, match="circuit open"):
        client.get("orders")

    assert client.requests_made == 4
    assert len(seen(sandbox, client)) == 4


def test_get_bestellrunden_double_decoded_with_app_password(
    sandbox: SandboxShop, waits: Waits
) -> None:
    client = connect(sandbox, waits)

    rounds = PluginClient(client).get_rounds()

    assert [r.id for r in rounds] == [130, 129]
    assert 35 in rounds[0].products
    assert rounds[1].end < rounds[0].end
    path = "/wp-json/foodcoop/v1/getBestellrunden"
    assert [r.auth for r in seen(sandbox, client, path)] == ["basic"]


def test_wrong_app_password_is_named(sandbox: SandboxShop, waits: Waits) -> None:
    client = connect(sandbox, waits, wp_app_password="wrong pass word xxxx")

    with pytest.raises(ShopAuthError, match="wrong WordPress application password"):
        PluginClient(client).get_rounds()
