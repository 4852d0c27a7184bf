"""Decoding spoiled JSON and reading Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pot_bridge.errors import ShopAuthError, ShopUnavailable
from pot_bridge.shop.reply import NotJson, decode_json, map_error, retry_after_seconds


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'\xef\xbb\xbf{"total": "1.50"}', id="bom"),
        pytest.param(b'\n\n  \r\n{"total": "1.50"}', id="blank-lines"),
        pytest.param(b'\n\xef\xbb\xbf{"total": "1.50"}', id="blank-then-bom"),
        pytest.param(
            b"\xef\xbb\xbf<br />\n<b>Notice</b>:  Undefined index: x in <b>/var/www/a.php"
            b'</b> on line <b>42</b><br />\n{"total": "1.50"}',
            id="bom-and-php-notice",
        ),
    ],
)
def test_harmless_spoilage_is_repaired(raw: bytes) -> None:
    assert decode_json(raw) == {"total": "1.50"}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(b"", "an empty body", id="empty"),
        pytest.param(b"  \n", "an empty body", id="blank"),
        pytest.param(
            b"<!DOCTYPE html><html>Just a moment...</html>", "an HTML page", id="html"
        ),
        pytest.param(b'[{"id": 1}, {"id"', "cut-off or malformed JSON", id="cut-off"),
        pytest.param(b'{"x": NaN}', "JSON with NaN", id="nan"),
        pytest.param(b"\xff\xfe{}", "not UTF-8", id="not-utf8"),
    ],
)
def test_non_json_is_named(raw: bytes, reason: str) -> None:
    with pytest.raises(NotJson, match=reason):
        decode_json(raw)


def test_double_encoded_body_is_decoded_twice() -> None:
    raw = b'"[{\\"id\\":130,\\"share\\":0.5}]"'

    assert decode_json(raw) == '[{"id":130,"share":0.5}]'
    assert decode_json(raw, double_encoded=True) == [
        {"id": 130, "share": Decimal("0.5")}
    ]


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 12, 4, 15, 0, 0, tzinfo=UTC)

    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds("Fri, 04 Dec 2026 15:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Fri, 04 Dec 2026 14:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_html_403_from_a_firewall_is_an_auth_error_showing_the_page() -> None:
    error = map_error(
        "coop-a",
        "GET orders",
        403,
        None,
        snippet="<html><title>Just a moment...</title>",
    )

    assert isinstance(error, ShopAuthError)
    assert "Just a moment" in str(error)


def test_5xx_with_a_numeric_data_field() -> None:
    error = map_error(
        "coop-a",
        "POST orders/60/refunds",
        500,
        {
            "code": "woocommerce_rest_cannot_create_order_refund",
            "message": "Refund failed.",
            "data": 500,
        },
    )

    assert isinstance(error, ShopUnavailable)
    assert "woocommerce_rest_cannot_create_order_refund" in str(error)


def test_json_nested_too_deeply_is_not_an_answer() -> None:
    """A hostile body must give a clear error, not a RecursionError."""
    deep = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    with pytest.raises(NotJson, match="nested too deeply"):
        decode_json(deep)
