"""Helpers for the sandbox tests: recorded fixtures and OAuth-signed calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from woocommerce.oauth import OAuth

from pot_bridge.sandbox import SandboxShop

# shared/ lies beside the checkout, here and in CI.
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
WC = FIXTURES / "woocommerce" / "9.9.5"
POT = FIXTURES / "pot-plugin" / "1.7.7"
NOW = datetime(2026, 12, 4, 15, 0, 0, tzinfo=UTC)


def fixture(path: Path) -> dict[str, Any]:
    if not path.exists():
        pytest.skip(f"recorded fixture {path} is not on this machine")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def signed_url(
    shop: SandboxShop,
    path: str,
    query: str = "",
    method: str = "GET",
    *,
    secret: str | None = None,
    timestamp: int | None = None,
) -> str:
    """Sign like the bridge does: woocommerce.oauth.OAuth over the full URL."""
    url = f"{shop.url}/wp-json/wc/v3/{path}" + (f"?{query}" if query else "")
    stamp = int(NOW.timestamp()) if timestamp is None else timestamp
    oauth = OAuth(
        url,
        shop.consumer_key,
        secret or shop.consumer_secret,
        version="wc/v3",
        method=method,
        oauth_timestamp=stamp,
    )
    signed: str = oauth.get_oauth_url()
    return signed


def wc_get(shop: SandboxShop, path: str, query: str = "") -> requests.Response:
    return requests.get(signed_url(shop, path, query), timeout=5)


def wc_send(
    shop: SandboxShop, method: str, path: str, body: dict[str, Any]
) -> requests.Response:
    return requests.request(
        method, signed_url(shop, path, method=method), json=body, timeout=5
    )
