"""OAuth 1.0a one-legged checks as WooCommerce's WC_REST_Authentication does them.

Over plain http this is the only way a consumer key authenticates, so the
sandbox verifies signatures, timestamps and nonces the same way, in the same
order, with the same messages as a real shop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from urllib.parse import quote, unquote

PARAM_NAMES = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)
WINDOW = 15 * 60
AUTH_ERROR = "woocommerce_rest_authentication_error"

Params = dict[str, "str | dict[str, str]"]


class OAuthError(Exception):
    """A failed OAuth check: the error code and message the shop answers with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _normalize(text: str) -> str:
    # decode once more, encode RFC 3986, then double-encode every percent sign
    return quote(unquote(text), safe="").replace("%", "%25")


def base_string(method: str, url: str, params: Params) -> str:
    """The string WooCommerce signs: METHOD & url & sorted normalized params."""
    parts = []
    for key in sorted(params, key=lambda k: k.encode()):
        if key == "oauth_signature":
            continue
        value = params[key]
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                parts.append(
                    f"{_normalize(key)}%255B{_normalize(inner)}%255D%3D"
                    f"{_normalize(inner_value)}"
                )
        else:
            parts.append(f"{_normalize(key)}%3D{_normalize(value)}")

    return f"{method.upper()}&{quote(url, safe='')}&{'%26'.join(parts)}"


def sign(
    method: str, url: str, params: Params, secret: str, algorithm: str = "HMAC-SHA256"
) -> str:
    digest = hashlib.sha1 if algorithm == "HMAC-SHA1" else hashlib.sha256
    raw = hmac.new(
        f"{secret}&".encode(), base_string(method, url, params).encode(), digest
    ).digest()
    return base64.b64encode(raw).decode()


def oauth_params_present(params: Params) -> bool:
    return any(params.get(name) for name in PARAM_NAMES)


class OAuthVerifier:
    """Checks signed requests for one consumer key and remembers used nonces."""

    def __init__(self, consumer_key: str, consumer_secret: str) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self._nonces: dict[str, int] = {}
        self._lock = threading.Lock()

    def verify(self, method: str, url: str, params: Params, now: int) -> None:
        """Raise OAuthError unless the request is properly signed, fresh and new."""
        missing = [name for name in PARAM_NAMES if not params.get(name)]
        if missing:
            noun = "parameter" if len(missing) == 1 else "parameters"
            raise OAuthError(
                "woocommerce_rest_authentication_missing_parameter",
                f"Missing OAuth {noun} {', '.join(missing)}",
            )
        if params["oauth_consumer_key"] != self.consumer_key:
            raise OAuthError(AUTH_ERROR, "Consumer key is invalid.")

        algorithm = str(params["oauth_signature_method"])
        if algorithm not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise OAuthError(
                AUTH_ERROR, "Invalid signature - signature method is invalid."
            )
        given = unquote(str(params["oauth_signature"]).replace(" ", "+"))
        expected = sign(method, url, params, self.consumer_secret, algorithm)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise OAuthError(
                AUTH_ERROR, "Invalid signature - provided signature does not match."
            )

        self._check_fresh(
            str(params["oauth_timestamp"]), str(params["oauth_nonce"]), now
        )

    def _check_fresh(self, timestamp: str, nonce: str, now: int) -> None:
        try:
            stamp = int(timestamp)
        except ValueError:
            stamp = 0
        if abs(stamp - now) > WINDOW:
            raise OAuthError(AUTH_ERROR, "Invalid timestamp.")
        with self._lock:
            if nonce in self._nonces:
                raise OAuthError(
                    AUTH_ERROR, "Invalid nonce - nonce has already been used."
                )
            self._nonces[nonce] = stamp
            for old, seen in list(self._nonces.items()):
                if seen < now - WINDOW:
                    del self._nonces[old]
