"""Authentication as WooCommerce and WordPress do it over plain http."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from sandbox_helpers import NOW, POT, WC, fixture, signed_url, wc_get

from pot_bridge.sandbox import SandboxShop, seed_coop


def _error(response: requests.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["message"]


def test_wrong_secret_is_a_bad_signature(shop: SandboxShop) -> None:
    recorded = fixture(WC / "error_401_bad_signature_wrong_secret.json")

    response = requests.get(
        signed_url(shop, "orders", "per_page=1", secret="cs_wrong"), timeout=5
    )

    assert recorded["body"] == response.json()
    assert response.status_code == 401
    assert "WWW-Authenticate" not in response.headers


def test_unknown_key_is_refused(shop: SandboxShop) -> None:
    recorded = fixture(WC / "error_401_unknown_consumer_key.json")
    url = signed_url(shop, "orders").replace(shop.consumer_key, "ck_unknown")

    assert recorded["body"] == requests.get(url, timeout=5).json()


def test_reused_nonce_is_refused(shop: SandboxShop) -> None:
    recorded = fixture(WC / "error_401_nonce_reused.json")
    url = signed_url(shop, "orders", "per_page=1")

    first = requests.get(url, timeout=5)
    second = requests.get(url, timeout=5)

    assert first.status_code == 200
    assert (recorded["status"], recorded["body"]) == (second.status_code, second.json())


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        pytest.param(-3600, 401, id="an-hour-old"),
        pytest.param(+901, 401, id="too-far-ahead"),
        pytest.param(-899, 200, id="just-inside"),
    ],
)
def test_timestamp_window_is_fifteen_minutes(
    shop: SandboxShop, offset: int, status: int
) -> None:
    stamp = int(NOW.timestamp()) + offset

    response = requests.get(signed_url(shop, "orders", timestamp=stamp), timeout=5)

    assert status == response.status_code
    if status == 401:
        assert fixture(WC / "error_401_timestamp_too_old.json")["body"] == (
            response.json()
        )


def test_missing_oauth_parameter_is_named(shop: SandboxShop) -> None:
    url = signed_url(shop, "orders")
    stripped = "&".join(
        p for p in url.split("?")[1].split("&") if not p.startswith("oauth_nonce=")
    )

    response = requests.get(f"{shop.url}/wp-json/wc/v3/orders?{stripped}", timeout=5)

    assert _error(response) == (
        401,
        "woocommerce_rest_authentication_missing_parameter",
        "Missing OAuth parameter oauth_nonce",
    )


def test_following_a_link_header_verbatim_fails(shop: SandboxShop) -> None:
    first = wc_get(shop, "orders", "per_page=5")
    next_url = first.headers["Link"].split(";")[0].strip("<>")

    response = requests.get(next_url, timeout=5)

    assert (_error(response)) == (
        401,
        "woocommerce_rest_authentication_error",
        "Invalid signature - provided signature does not match.",
    )


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        pytest.param("error_401_no_auth.json", {}, id="no-credentials"),
        pytest.param(
            "error_401_basic_auth_over_http.json", {"auth": "key"}, id="basic"
        ),
        pytest.param(
            "error_401_query_string_auth_over_http.json",
            {"query": True},
            id="query-string",
        ),
    ],
)
def test_other_credentials_over_http_count_as_anonymous(
    shop: SandboxShop, name: str, kwargs: dict[str, object]
) -> None:
    recorded = fixture(WC / name)
    params = {"per_page": "1"}
    auth = None
    if kwargs.get("auth"):
        auth = (shop.consumer_key, shop.consumer_secret)
    if kwargs.get("query"):
        params |= {
            "consumer_key": shop.consumer_key,
            "consumer_secret": shop.consumer_secret,
        }

    response = requests.get(
        f"{shop.url}/wp-json/wc/v3/orders", params=params, auth=auth, timeout=5
    )

    assert (recorded["status"], recorded["body"]) == (
        response.status_code,
        response.json(),
    )
    assert response.headers["Vary"] == "Origin"
    assert shop.requests[-1].auth == ("basic" if auth else "none")


def test_anonymous_single_object_cannot_be_viewed(shop: SandboxShop) -> None:
    response = requests.get(f"{shop.url}/wp-json/wc/v3/orders/131", timeout=5)

    assert _error(response) == (
        401,
        "woocommerce_rest_cannot_view",
        "Sorry, you cannot view this resource.",
    )


def test_read_only_key_cannot_write() -> None:
    recorded = fixture(WC / "error_401_read_only_key_write.json")
    state = seed_coop(NOW)
    state.clock = lambda: NOW
    with SandboxShop(state, read_only=True) as shop:
        url = signed_url(shop, "orders/131", method="PUT")
        write = requests.put(url, json={"status": "completed"}, timeout=5)
        read = wc_get(shop, "orders/131")

    assert (recorded["status"], recorded["body"]) == (write.status_code, write.json())
    assert read.json()["status"] == "processing"


def test_sha1_signatures_are_accepted(shop: SandboxShop) -> None:
    from pot_bridge.sandbox.oauth import sign

    params = {
        "per_page": "1",
        "oauth_consumer_key": shop.consumer_key,
        "oauth_timestamp": str(int(NOW.timestamp())),
        "oauth_nonce": "n1",
        "oauth_signature_method": "HMAC-SHA1",
    }
    url = f"{shop.url}/wp-json/wc/v3/orders"
    params["oauth_signature"] = sign(
        "GET", url, dict(params), shop.consumer_secret, "HMAC-SHA1"
    )

    assert requests.get(url, params=params, timeout=5).status_code == 200


def test_app_password_works_on_wc_v3(shop: SandboxShop) -> None:
    ok = requests.get(
        f"{shop.url}/wp-json/wc/v3/orders",
        params={"per_page": 2},
        auth=("bridge", shop.app_password.replace(" ", "")),
        timeout=5,
    )
    wrong = requests.get(
        f"{shop.url}/wp-json/wc/v3/orders", auth=("bridge", "wrong"), timeout=5
    )

    assert ok.status_code == 200
    assert ok.headers["Link"].endswith(
        '?per_page=2&status%5B0%5D=any&dp=2&context=view&page=2>; rel="next"'
    )
    assert _error(wrong)[:2] == (401, "incorrect_password")


@pytest.mark.parametrize(
    ("auth", "name"),
    [
        pytest.param(None, None, id="anonymous"),
        pytest.param("wrong", "auth_wrong_app_password_getUsers.json", id="wrong"),
        pytest.param(
            "key",
            "auth_wc_consumer_key_on_foodcoop_route_getUsers.json",
            id="consumer-key",
        ),
    ],
)
def test_get_bestellrunden_needs_the_app_password(
    shop: SandboxShop, auth: str | None, name: str | None
) -> None:
    credentials = {
        None: None,
        "wrong": ("bridge", "nope"),
        "key": (shop.consumer_key, shop.consumer_secret),
    }[auth]

    response = requests.get(
        f"{shop.url}/wp-json/foodcoop/v1/getBestellrunden", auth=credentials, timeout=5
    )

    assert response.status_code == 401
    if name is None:
        assert response.json()["code"] == "rest_forbidden"
    else:
        assert fixture(POT / name)["body"] == response.json()


def test_real_clock_is_the_default() -> None:
    """Without a pinned clock the shop accepts a signature made just now."""
    with SandboxShop(seed_coop(datetime.now(UTC))) as shop:
        url = f"{shop.url}/wp-json/wc/v3/orders"
        from woocommerce.oauth import OAuth

        signed = OAuth(
            url, shop.consumer_key, shop.consumer_secret, version="wc/v3", method="GET"
        ).get_oauth_url()

        assert requests.get(signed, timeout=5).status_code == 200
