"""Narrow client tests with `responses`: URLs, signing, error mapping, paging rules."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
import responses
from structlog.testing import capture_logs
from woocommerce.oauth import OAuth

from pot_bridge.errors import (
    ShopAuthError,
    ShopBadResponse,
    ShopNotFound,
    ShopRejected,
    ShopUnavailable,
)
from pot_bridge.shop import PluginClient, ShopClient, ShopRedirected
from pot_bridge.shop.signing import redact, signed_url

BASE = "http://127.0.0.1:9"
ORDERS = f"{BASE}/wp-json/wc/v3/orders"
KEY = "ck_" + "k" * 35
SECRET = "cs_" + "s" * 35


class Clock:
    """A fake monotonic clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def client(clock: Clock, url: str = BASE, **kwargs: Any) -> ShopClient:
    settings: dict[str, Any] = {
        "requests_per_second": 0,
        "backoff_base": 1.0,
        "sleep": clock.sleep,
        "clock": clock,
    }
    settings.update(kwargs)
    return ShopClient("coop-a", url, KEY, SECRET, **settings)


def query_of(request: Any) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(request.url).query, keep_blank_values=True)


def test_endpoint_url_has_no_double_slash(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    mocked.get(f"{BASE}/wp-json/wc/v3/orders/131/refunds", json=[])

    client(clock, url=BASE + "/").get("/orders/131/refunds/")

    assert (
        urlsplit(mocked.calls[0].request.url).path
        == "/wp-json/wc/v3/orders/131/refunds"
    )


def test_http_signs_with_oauth_and_sends_each_param_once(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    mocked.get(ORDERS, json=[])

    client(clock).get(
        "orders",
        {
            "include": [11, 12, 13],
            "dates_are_gmt": True,
            "min": Decimal("1.50"),
            "search": None,
        },
    )
    pairs = query_of(mocked.calls[0].request)
    names = [name for name, _ in pairs]
    values = dict(pairs)

    assert sorted(names) == sorted({*names})
    assert values["include"] == "11,12,13"
    assert values["dates_are_gmt"] == "true"
    assert values["min"] == "1.50"
    assert "search" not in values
    assert values["oauth_consumer_key"] == KEY
    assert values["oauth_signature_method"] == "HMAC-SHA256"
    assert "Authorization" not in mocked.calls[0].request.headers


def test_oauth_signature_covers_method_url_and_query(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    mocked.put(f"{BASE}/wp-json/wc/v3/orders/5", json={"id": 5})

    client(clock).put("orders/5", {"status": "completed"})
    request = mocked.calls[0].request
    params = dict(query_of(request))
    sent = params.pop("oauth_signature")
    signer = OAuth(ORDERS, KEY, SECRET, version="wc/v3", method="PUT")
    expected = signer.generate_oauth_signature(params, f"{BASE}/wp-json/wc/v3/orders/5")

    assert sent == expected
    assert request.body == b'{"status": "completed"}'


def test_every_attempt_is_signed_afresh(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    mocked.get(ORDERS, status=503, json={"code": "x", "message": "busy", "data": None})
    mocked.get(ORDERS, json=[])

    client(clock).get("orders")
    nonces = [dict(query_of(call.request))["oauth_nonce"] for call in mocked.calls]

    assert len(nonces) == 2
    assert nonces[0] != nonces[1]


def test_https_uses_basic_auth_and_no_oauth(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    mocked.get("https://127.0.0.1:9/wp-json/wc/v3/orders", json=[])

    client(clock, url="https://127.0.0.1:9").get("orders", {"page": 2})
    request = mocked.calls[0].request

    assert request.headers["Authorization"].startswith("Basic ")
    assert query_of(request) == [("page", "2")]


def test_floats_never_appear(mocked: responses.RequestsMock, clock: Clock) -> None:
    mocked.get(ORDERS, body=b'[{"id": 1, "quantity": 1.52, "price": 3.3333333333}]')

    item = client(clock).get("orders")[0]

    assert item["quantity"] == Decimal("1.52")
    assert isinstance(item["price"], Decimal)


@pytest.mark.parametrize(
    ("status", "payload", "error", "words"),
    [
        pytest.param(
            401,
            {
                "code": "woocommerce_rest_authentication_error",
                "message": "Consumer key is invalid.",
                "data": {"status": 401},
            },
            ShopAuthError,
            "unknown consumer key",
            id="unknown-key",
        ),
        pytest.param(
            401,
            {
                "code": "woocommerce_rest_authentication_error",
                "message": "Invalid signature - provided signature does not match.",
                "data": {"status": 401},
            },
            ShopAuthError,
            "bad OAuth signature",
            id="bad-signature",
        ),
        pytest.param(
            401,
            {
                "code": "woocommerce_rest_authentication_error",
                "message": "Invalid nonce - nonce has already been used.",
                "data": {"status": 401},
            },
            ShopAuthError,
            "nonce",
            id="nonce",
        ),
        pytest.param(
            401,
            {
                "code": "woocommerce_rest_authentication_error",
                "message": "Invalid timestamp.",
                "data": {"status": 401},
            },
            ShopAuthError,
            "clock",
            id="timestamp",
        ),
        pytest.param(
            401,
            {
                "code": "woocommerce_rest_cannot_view",
                "message": "Sorry, you cannot list resources.",
                "data": {"status": 401},
            },
            ShopAuthError,
            "over http only OAuth 1.0a works",
            id="t22",
        ),
        pytest.param(
            404,
            {"code": "rest_no_route", "message": "No route", "data": {"status": 404}},
            ShopNotFound,
            "rest_no_route",
            id="404",
        ),
        pytest.param(
            400,
            {
                "code": "rest_invalid_param",
                "message": "Invalid parameter(s): per_page",
                "data": {
                    "status": 400,
                    "params": {
                        "per_page": "per_page must be between 1 (inclusive) and "
                        "100 (inclusive)"
                    },
                },
            },
            ShopRejected,
            "params: {'per_page'",
            id="400-params",
        ),
    ],
)
def test_error_mapping(
    mocked: responses.RequestsMock,
    clock: Clock,
    status: int,
    payload: dict[str, Any],
    error: type[Exception],
    words: str,
) -> None:
    mocked.get(ORDERS, status=status, json=payload)

    with pytest.raises(error) as caught:
        client(clock).get("orders")

    assert words in str(caught.value)
    assert "coop-a" in str(caught.value)
    assert "GET orders" in str(caught.value)
    assert len(mocked.calls) == 1


def test_500_with_numeric_data_on_post(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    """A refund on a gateway without refunds: `data` is the number 500."""
    url = f"{BASE}/wp-json/wc/v3/orders/60/refunds"
    mocked.post(
        url,
        status=500,
        json={
            "code": "woocommerce_rest_cannot_create_order_refund",
            "message": "Error",
            "data": 500,
        },
    )

    with pytest.raises(ShopUnavailable, match="cannot_create_order_refund"):
        client(clock).post("orders/60/refunds", {"amount": "1.00"})

    assert len(mocked.calls) == 1
    assert clock.sleeps == []


def test_post_read_timeout_is_not_retried(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    mocked.post(ORDERS, body=requests.ReadTimeout("Read timed out."))

    with pytest.raises(ShopUnavailable, match="not retried"):
        client(clock).post("orders", {"status": "pending"})

    assert len(mocked.calls) == 1


def test_list_answered_for_a_create_is_refused(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    mocked.post(ORDERS, json=[{"id": 1}, {"id": 2}])

    with pytest.raises(ShopBadResponse, match="a list where an object"):
        client(clock).post("orders", {"status": "pending"})


def test_redirect_names_the_url_to_configure(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    target = "https://www.shop.example/wp-json/wc/v3/orders?oauth_signature=abc"
    mocked.post(ORDERS, status=301, headers={"Location": target})

    with pytest.raises(ShopRedirected) as caught:
        client(clock).post("orders", {"status": "pending"})

    assert "configure the shop URL as https://www.shop.example" in str(caught.value)
    assert "oauth_signature" not in str(caught.value)


def test_retry_logs_without_secrets(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    mocked.get(ORDERS, status=502, body=f"<html>bad gateway {SECRET}</html>")
    mocked.get(ORDERS, json=[])

    with capture_logs() as logs:
        client(clock).get("orders")
    retry = next(e for e in logs if e["event"] == "shop.request.retry")

    assert {
        k: retry[k] for k in ("coop", "method", "endpoint", "attempt", "reason")
    } == {
        "coop": "coop-a",
        "method": "GET",
        "endpoint": "orders",
        "attempt": 1,
        "reason": "status 502",
    }
    assert retry["log_level"] == "warning"
    assert 0.5 <= retry["wait"] <= 1.0
    assert SECRET not in repr(logs)
    assert KEY not in repr(logs)


def test_secret_in_an_error_body_is_redacted(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    mocked.get(ORDERS, status=403, body=f"<p>denied consumer_secret={SECRET}</p>")

    with pytest.raises(ShopAuthError) as caught:
        client(clock).get("orders")

    assert SECRET not in str(caught.value)


def test_read_timeout_shrinks_the_page_at_the_same_offset(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    mocked.get(ORDERS, body=requests.ReadTimeout("Read timed out."))
    mocked.get(ORDERS, body=requests.ReadTimeout("Read timed out."))
    mocked.get(ORDERS, json=[{"id": 1}], headers={"X-WP-TotalPages": "20"})

    page = client(clock).get_page("orders", {"page": 3, "per_page": 100})
    sent = [dict(query_of(call.request)) for call in mocked.calls]

    assert [(q["page"], q["per_page"]) for q in sent] == [
        ("3", "100"),
        ("5", "50"),
        ("11", "20"),
    ]
    assert (page.page, page.per_page, page.total_pages) == (11, 20, 20)


def _page(ids: list[int], total_pages: int | None = None) -> dict[str, Any]:
    headers = {"X-WP-TotalPages": str(total_pages)} if total_pages is not None else {}
    return {"json": [{"id": i} for i in ids], "headers": headers}


def test_short_page_does_not_stop_paging(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    mocked.get(ORDERS, **_page([1, 2], 3))
    mocked.get(ORDERS, **_page([3], 3))
    mocked.get(ORDERS, **_page([4, 5], 3))

    ids = [o["id"] for o in client(clock).iter_all("orders", {"orderby": "id"})]

    assert ids == [1, 2, 3, 4, 5]
    assert len(mocked.calls) == 3


def test_rows_repeated_across_pages_are_yielded_once(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    """T-02: rows sharing a timestamp shift between pages while paging."""
    mocked.get(ORDERS, **_page([1, 2], 2))
    mocked.get(ORDERS, **_page([2, 3], 2))

    ids = [o["id"] for o in client(clock).iter_all("orders")]

    assert ids == [1, 2, 3]


def test_repeated_page_is_refused(mocked: responses.RequestsMock, clock: Clock) -> None:
    mocked.get(ORDERS, **_page([1, 2]))
    mocked.get(ORDERS, **_page([2, 1]))

    with pytest.raises(ShopBadResponse, match="repeats the previous page"):
        list(client(clock).iter_pages("orders"))


def test_pages_are_bounded(mocked: responses.RequestsMock, clock: Clock) -> None:
    for start in range(0, 40, 2):
        mocked.get(ORDERS, **_page([start, start + 1]))

    with pytest.raises(ShopBadResponse, match="more than 3 pages"):
        list(client(clock, max_pages=3).iter_pages("orders"))


def test_supports_modified_after(mocked: responses.RequestsMock, clock: Clock) -> None:
    mocked.add(
        "OPTIONS",
        ORDERS,
        json={
            "namespace": "wc/v3",
            "methods": ["GET"],
            "endpoints": [
                {"methods": ["GET"], "args": {"modified_after": {"type": "string"}}}
            ],
        },
    )
    mocked.add(
        "OPTIONS",
        ORDERS,
        json={
            "namespace": "wc/v3",
            "endpoints": [{"methods": ["GET"], "args": {"after": {}}}],
        },
    )
    shop = client(clock)

    assert shop.supports_modified_after() is True
    assert shop.supports_modified_after() is False


def test_breaker_opens_and_closes_after_cooldown(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    mocked.get(ORDERS, status=503, json={"code": "down", "message": "x", "data": None})
    shop = client(clock, max_attempts=1, breaker_threshold=2, breaker_cooldown=60)

    for _ in range(2):
        with pytest.raises(ShopUnavailable):
            shop.get("orders")
    with pytest.raises(ShopUnavailable, match="circuit open"):
        shop.get("orders")
    assert len(mocked.calls) == 2

    clock.now += 61
    mocked.replace("GET", ORDERS, json=[])
    assert shop.get("orders") == []


def test_rate_limit_spaces_requests(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    mocked.get(ORDERS, json=[])
    shop = client(clock, requests_per_second=2.0)

    for _ in range(3):
        shop.get("orders")

    assert clock.sleeps == [0.5, 0.5]
    assert shop.requests_made == 3


def test_retry_after_wins_and_too_long_gives_up(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    mocked.get(ORDERS, status=429, headers={"Retry-After": "7"}, json={})
    mocked.get(ORDERS, status=429, headers={"Retry-After": "3600"}, json={})

    with pytest.raises(ShopUnavailable, match="429"):
        client(clock).get("orders")

    assert clock.sleeps == [7.0]
    assert len(mocked.calls) == 2


def test_plugin_without_app_password_sends_nothing(
    mocked: responses.RequestsMock, clock: Clock
) -> None:
    with pytest.raises(ShopAuthError, match="application password") as caught:
        PluginClient(client(clock)).get_rounds()

    assert "coop-a" in str(caught.value)
    assert len(mocked.calls) == 0


def test_redact_removes_signed_parameters_and_basic_headers() -> None:
    text = (
        f"GET /x?oauth_consumer_key={KEY}&oauth_signature=a%2Bb&page=2 "
        'Authorization: Basic dXNlcjpwYXNzd29yZA== OAuth oauth_nonce="abc123"'
    )

    cleaned = redact(text, (SECRET,))

    assert KEY not in cleaned
    assert "a%2Bb" not in cleaned
    assert "dXNlcjpwYXNzd29yZA" not in cleaned
    assert "abc123" not in cleaned
    assert "page=2" in cleaned


def test_oauth_nonces_do_not_repeat() -> None:
    """A shop refuses a nonce it saw lately: thousands of requests, no repeat."""
    urls = [
        signed_url(
            "http://127.0.0.1:1/wp-json/wc/v3/products", [], "ck_x", "cs_y", "GET"
        )
        for _ in range(5000)
    ]
    nonces = {parse_qs(urlsplit(url).query)["oauth_nonce"][0] for url in urls}

    assert len(nonces) == 5000
    assert all(len(nonce) == 32 for nonce in nonces)
