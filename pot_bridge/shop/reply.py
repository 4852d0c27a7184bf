"""Reading a shop's answers: tolerant JSON decoding and the one error mapping.

Shared hosting spoils JSON in a few known ways (a UTF-8 BOM, blank lines, an
HTML page from a firewall, a body cut off by a dying PHP worker). Decoding
repairs the harmless ones and names the others; `map_error` turns a status and
a WordPress error body into the pot-bridge error class that says what to do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from pot_bridge.errors import (
    AbortError,
    ShopAuthError,
    ShopError,
    ShopNotFound,
    ShopRejected,
    ShopUnavailable,
)
from pot_bridge.shop.signing import base_from_location, public_location, redact

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
EXCERPT_CHARS = 120
_BOM = b"\xef\xbb\xbf"
_BLANK = " \t\r\n\ufeff"
# PHP prints notices as HTML before the body when display_errors is on.
_PHP_NOTICES = re.compile(
    r"(?:<br\s*/?>\s*<b>(?:Notice|Warning|Deprecated|Strict Standards)</b>:"
    r".*?on line\s*<b>\d+</b>\s*<br\s*/?>\s*)+",
    re.DOTALL,
)

_T22_HINT = (
    "the shop saw no valid credentials: over http only OAuth 1.0a works; over "
    "https check that the server passes the Authorization header and detects "
    "https"
)
_AUTH_MESSAGES = (
    ("consumer key is invalid", "unknown consumer key: check the configured ck_ key"),
    ("consumer secret is invalid", "wrong consumer secret"),
    (
        "invalid signature",
        (
            "bad OAuth signature: check the consumer secret and "
            "that the configured URL is the shop's own address"
        ),
    ),
    ("nonce", "OAuth nonce refused as already used"),
    (
        "invalid timestamp",
        (
            "OAuth timestamp refused: this machine's clock is "
            "off by more than 15 minutes"
        ),
    ),
    ("does not have write permissions", "the key is read-only: it needs read_write"),
    ("does not have read permissions", "the key cannot read: it needs read_write"),
)
_AUTH_CODES = {
    "woocommerce_rest_cannot_view": _T22_HINT,
    "incorrect_password": "wrong WordPress application password",
    "invalid_username": "unknown WordPress user (a WooCommerce key is refused "
    "outside wc/v3: use an application password)",
    "rest_forbidden": "the WordPress user may not use this route (it needs a "
    "manager role such as foodcoop_manager) or its credentials were not seen",
}


class ShopRedirected(ShopError, AbortError):
    """The shop answered with a redirect: the configured URL is not canonical."""


class NotJson(ValueError):
    """The body is not the JSON expected; `reason` says what it was instead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _no_constants(name: str) -> Any:
    raise NotJson(f"JSON with {name}, which is no number")


def decode_json(raw: bytes, *, double_encoded: bool = False) -> Any:
    """Bytes to JSON with `Decimal` for every fraction.

    A BOM, blank lines and PHP notices before the JSON are dropped: the answer
    after them is complete. Anything else that is not JSON raises `NotJson`.

    With `double_encoded`, a JSON string is decoded once more (the POT plugin
    answers `json_encode(...)` through the REST server, which encodes again).
    """
    raw = raw.removeprefix(_BOM)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NotJson("a body that is not UTF-8") from None

    text = text.lstrip(_BLANK)
    notices = _PHP_NOTICES.match(text)
    if notices:
        text = text[notices.end() :].lstrip(_BLANK)
    if not text:
        raise NotJson("an empty body")
    if text.startswith("<"):
        raise NotJson("an HTML page")

    value = _loads(text)
    if double_encoded and isinstance(value, str):
        value = _loads(value.lstrip(_BLANK))

    return value


def _loads(text: str) -> Any:
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constants)
    except json.JSONDecodeError:
        raise NotJson("cut-off or malformed JSON") from None
    except RecursionError:
        raise NotJson("JSON nested too deeply to be an answer") from None


def excerpt(raw: bytes, secrets: tuple[str, ...] = ()) -> str:
    """A short, single-line, redacted piece of a body for an error message."""
    # Only the start is shown; cutting first keeps this cheap on 1 MB pages.
    text = raw[: EXCERPT_CHARS * 8].decode("utf-8", errors="replace")
    text = " ".join(text.split())

    return redact(text, secrets)[:EXCERPT_CHARS]


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)

    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def type_name(value: object) -> str:
    """JSON's name for a decoded value, for error messages."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return "null" if value is None else "a number"


def map_error(
    coop: str,
    what: str,
    status: int,
    body: object,
    *,
    snippet: str = "",
    location: str | None = None,
) -> ShopError:
    """The one place that turns a failed answer into a pot-bridge error.

    `what` names the object (method + endpoint). `body` is the decoded error
    body, or None when it was not JSON (then `snippet` shows what it was).
    """
    code, message, data = _wp_error(body)
    told = f" ({code}: {message})" if code else ""
    shown = "" if code or not snippet else f": {snippet!r}"

    if 300 <= status < 400:
        return _redirected(coop, what, status, location)
    if status in (401, 403):
        hint = _auth_hint(code, message)
        return ShopAuthError(
            f"{what} refused with {status}: {hint}{told}{shown}", coop=coop
        )
    if status == 404:
        return ShopNotFound(f"{what} not found{told}{shown}", coop=coop)
    if status in RETRY_STATUSES or status >= 500:
        return ShopUnavailable(f"{what} failed with {status}{told}{shown}", coop=coop)

    params = data.get("params") if isinstance(data, Mapping) else None
    detail = f"; params: {params}" if params else ""
    return ShopRejected(
        f"{what} rejected with {status}{told}{detail}{shown}", coop=coop
    )


def _wp_error(body: object) -> tuple[str, str, object]:
    """`code`, `message` and `data` of a WordPress error; `data` may be a number."""
    if not isinstance(body, Mapping):
        return "", "", None
    code = str(body.get("code") or "")
    message = " ".join(str(body.get("message") or "").split())[:EXCERPT_CHARS]

    return code, message, body.get("data")


def _auth_hint(code: str, message: str) -> str:
    if code in _AUTH_CODES:
        return _AUTH_CODES[code]
    lowered = message.lower()
    for needle, hint in _AUTH_MESSAGES:
        if needle in lowered:
            return hint

    return "credentials refused"


def _redirected(coop: str, what: str, status: int, location: str | None) -> ShopError:
    if not location:
        return ShopRedirected(
            f"{what} answered {status} without a Location; redirects are not followed",
            coop=coop,
        )
    base = base_from_location(location)
    advice = f"configure the shop URL as {base}" if base else "check the shop URL"

    return ShopRedirected(
        f"{what} redirected ({status}) to {public_location(location)}; redirects "
        f"are not followed (a POST would turn into a GET): {advice}",
        coop=coop,
    )
