"""What goes out to a shop: URLs, query and JSON encoding, OAuth 1.0a signing.

Signing is delegated to the official `woocommerce` package (`woocommerce.oauth`),
so the base string is built exactly as WooCommerce's own client builds it. Its
`API` class is not used: it opens a new connection per call, times out after
5 s, never retries and sends every query parameter twice over http.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from secrets import token_hex
from typing import Any
from urllib.parse import urlencode, urlsplit

from woocommerce.oauth import OAuth

WC_NAMESPACE = "wc/v3"
PLUGIN_NAMESPACE = "foodcoop/v1"

_SECRET_PARAMS = re.compile(
    r"(oauth_signature|oauth_consumer_key|oauth_nonce|consumer_key|consumer_secret)"
    r"=\"?[^&\s\"'<>,]*",
    re.IGNORECASE,
)
_BASIC = re.compile(r"\b(Basic|Bearer)\s+[A-Za-z0-9+/=_\-.]{8,}", re.IGNORECASE)


def api_url(base: str, namespace: str, endpoint: str) -> str:
    """`{base}/wp-json/{namespace}/{endpoint}` without doubled slashes."""
    return f"{base.rstrip('/')}/wp-json/{namespace.strip('/')}/{endpoint.strip('/')}"


def uses_oauth(base: str) -> bool:
    """Over plain http WooCommerce accepts only OAuth 1.0a; https takes Basic."""
    return urlsplit(base).scheme.lower() == "http"


def query_value(value: object) -> str:
    """One query value as WordPress reads it: lists comma-joined, bools as words."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(query_value(item) for item in value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError(
                "send naive UTC datetimes with dates_are_gmt=true; an offset is "
                "turned into site time by WordPress"
            )
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, Decimal, str)):
        return str(value)
    raise TypeError(f"cannot send {type(value).__name__} as a query value")


def encode_query(params: Mapping[str, object] | None) -> list[tuple[str, str]]:
    """Query pairs in the caller's order; `None` values are left out."""
    if not params:
        return []

    return [
        (key, query_value(value)) for key, value in params.items() if value is not None
    ]


def plain_url(url: str, pairs: Iterable[tuple[str, str]]) -> str:
    """The URL with its query, for Basic auth (the credentials travel in a header)."""
    query = urlencode(list(pairs))
    return f"{url}?{query}" if query else url


class _OAuth(OAuth):
    """The package's signer with a nonce from the OS's random source.

    The package draws its nonce from 10^8 values; a shop refuses a nonce it saw
    recently, and across thousands of requests a collision would read as an
    authentication failure.
    """

    @staticmethod
    def generate_nonce() -> str:
        return token_hex(16)


def signed_url(
    url: str, pairs: Iterable[tuple[str, str]], key: str, secret: str, method: str
) -> str:
    """A freshly signed URL (new nonce and timestamp): never reuse one."""
    oauth = _OAuth(
        plain_url(url, pairs), key, secret, version=WC_NAMESPACE, method=method.upper()
    )
    return str(oauth.get_oauth_url())


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove credentials from text that may reach a log or an exception."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", text)

    return _BASIC.sub(lambda m: f"{m.group(1)} ***", text)


def public_location(location: str) -> str:
    """A redirect target without its query, which may echo signed parameters."""
    parts = urlsplit(location)
    if not parts.scheme:
        return parts.path
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def base_from_location(location: str) -> str | None:
    """The shop URL to configure, read from a redirect to a REST route."""
    public = public_location(location)
    head, found, _ = public.partition("/wp-json/")
    return head if found and "://" in head else None


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def json_body(data: dict[str, Any] | None) -> tuple[bytes | None, dict[str, str]]:
    """UTF-8 JSON as WordPress reads it; money as strings, never floats."""
    if data is None:
        return None, {}
    body = json.dumps(data, ensure_ascii=False, default=_json_default).encode("utf-8")

    return body, {"Content-Type": "application/json; charset=utf-8"}
