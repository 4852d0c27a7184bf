"""HTTP client for one coop's WooCommerce shop (`wc/v3`, and `foodcoop/v1`).

One `requests.Session` per shop keeps connections open. Over http every attempt
is signed afresh with OAuth 1.0a by the `woocommerce` package; over https the
consumer key travels as HTTP Basic. The package's own `API` class is not used
for transport: it opens a new connection per call, times out after 5 s, has no
retries and sends every query parameter twice.

Retries cover idempotent calls only (GET, PUT, OPTIONS): a POST that timed out
may have created its object, so the caller must look before trying again. A
circuit breaker stops hammering a shop that keeps failing, and a rate limit
keeps a cheap host from being overrun.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Self

import requests
import structlog
from requests.auth import HTTPBasicAuth

from pot_bridge.errors import (
    ConfigError,
    ShopAuthError,
    ShopBadResponse,
    ShopError,
    ShopUnavailable,
)
from pot_bridge.shop import reply
from pot_bridge.shop.pacing import Backoff, Breaker, RateLimit
from pot_bridge.shop.paging import (
    Page,
    int_header,
    iter_pages,
    smaller_page,
    unique_items,
)
from pot_bridge.shop.signing import (
    WC_NAMESPACE,
    api_url,
    encode_query,
    json_body,
    plain_url,
    signed_url,
    uses_oauth,
)

log = structlog.get_logger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
USER_AGENT = "pot-bridge/0.1"


@dataclass(frozen=True)
class Answer:
    """A decoded answer with its headers and the query that produced it."""

    body: Any
    headers: Mapping[str, str]
    params: dict[str, object]


@dataclass
class _Request:
    """One logical request; `params` may change between attempts (page size)."""

    method: str
    namespace: str
    endpoint: str
    params: dict[str, object]
    data: dict[str, Any] | None
    auth: HTTPBasicAuth | None
    expect: type | None
    double_encoded: bool

    @property
    def what(self) -> str:
        """Method and endpoint: how errors name the object, never the URL."""
        path = self.endpoint.strip("/")
        if self.namespace != WC_NAMESPACE:
            path = f"{self.namespace}/{path}"
        return f"{self.method} {path}"


class _Transient(Exception):
    """An attempt failed in a way a later attempt may not."""

    def __init__(
        self,
        error: ShopError,
        reason: str,
        *,
        retry_after: float | None = None,
        read_timeout: bool = False,
    ) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason
        self.retry_after = retry_after
        self.read_timeout = read_timeout


class ShopClient:
    """Talks to one shop; never shared between coops."""

    def __init__(
        self,
        coop: str,
        url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        wp_user: str | None = None,
        wp_app_password: str | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_attempts: int = 6,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        requests_per_second: float = 2.0,
        max_pages: int = 1000,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not url.lower().startswith(("http://", "https://")):
            raise ConfigError(
                f"shop URL must start with http:// or https://: {url!r}", coop=coop
            )
        self.coop = coop
        self.url = url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max(1, max_attempts)
        self.max_pages = max_pages
        self.requests_made = 0

        self._key, self._secret = consumer_key, consumer_secret
        self._wp_user, self._wp_app_password = wp_user, wp_app_password
        self._secrets = tuple(
            s for s in (consumer_key, consumer_secret, wp_app_password) if s
        )
        self._oauth = uses_oauth(self.url)
        self._sleep = sleep
        self._rate = RateLimit(requests_per_second, sleep, clock)
        self._backoff = Backoff(backoff_base, backoff_cap)
        self._breaker = Breaker(breaker_threshold, breaker_cooldown, clock)

        # Configuration is passed in, never read from the environment: no proxy
        # variables and no ~/.netrc replacing the shop's credentials.
        self._session = requests.Session()
        self._session.trust_env = False
        self._session.headers.update(
            {"Accept": "application/json", "User-Agent": USER_AGENT}
        )
        if not self._oauth:
            self._session.auth = HTTPBasicAuth(consumer_key, consumer_secret)

    def get(self, endpoint: str, params: Mapping[str, object] | None = None) -> Any:
        return self.call("GET", endpoint, params=params).body

    def post(self, endpoint: str, data: dict[str, Any]) -> Any:
        """Never retried and never redirected: a retry could create twice."""
        return self.call("POST", endpoint, data=data, expect=dict).body

    def put(self, endpoint: str, data: dict[str, Any]) -> Any:
        """Retried: the bridge only PUTs absolute values, so twice is harmless."""
        return self.call("PUT", endpoint, data=data, expect=dict).body

    def options(self, endpoint: str) -> Any:
        return self.call("OPTIONS", endpoint, expect=dict).body

    def supports_modified_after(self) -> bool:
        """Old shops ignore `modified_after` silently and answer everything (T-05)."""
        schema = self.options("orders")
        for route in schema.get("endpoints") or []:
            args = route.get("args") if isinstance(route, Mapping) else None
            if isinstance(args, Mapping) and "modified_after" in args:
                return True

        return False

    def get_page(
        self, endpoint: str, params: Mapping[str, object] | None = None
    ) -> Page:
        answer = self.call("GET", endpoint, params=params, expect=list)
        used = answer.params

        return Page(
            items=answer.body,
            total=int_header(answer.headers, "X-WP-Total"),
            total_pages=int_header(answer.headers, "X-WP-TotalPages"),
            page=int(str(used.get("page", 1))),
            per_page=int(str(used["per_page"])) if "per_page" in used else None,
        )

    def iter_pages(
        self, endpoint: str, params: Mapping[str, object] | None = None
    ) -> Iterator[Page]:
        """Pages of 100 until an empty page or `X-WP-TotalPages`.

        After a read timeout the page size shrinks (100, 50, 20) for the rest of
        the pass; the page number is recomputed from the row offset reached,
        rounding down, so rows may be read twice but none is skipped.
        """
        return iter_pages(
            self.get_page, endpoint, params, max_pages=self.max_pages, coop=self.coop
        )

    def iter_all(
        self, endpoint: str, params: Mapping[str, object] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of every page once, deduplicated by id."""
        return unique_items(self.iter_pages(endpoint, params))

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, object] | None = None,
        data: dict[str, Any] | None = None,
        namespace: str = WC_NAMESPACE,
        app_password: bool = False,
        expect: type | None = None,
        double_encoded: bool = False,
    ) -> Answer:
        """Send one logical request with retries, breaker and rate limit.

        `app_password` authenticates with the WordPress application password
        (the `foodcoop/v1` routes refuse WooCommerce keys).
        """
        request = _Request(
            method.upper(),
            namespace,
            endpoint,
            dict(params or {}),
            data,
            self._app_auth() if app_password else None,
            expect,
            double_encoded,
        )
        left = self._breaker.seconds_open_left()
        if left > 0:
            raise ShopUnavailable(
                f"circuit open after {self._breaker.failures} failed calls; "
                f"{request.what} not sent, next try in {left:.0f} s",
                coop=self.coop,
            )

        try:
            answer = self._attempts(request)
        except (ShopUnavailable, ShopBadResponse):
            if self._breaker.failed():
                log.warning(
                    "shop.breaker.opened",
                    coop=self.coop,
                    failures=self._breaker.failures,
                    cooldown=self._breaker.cooldown,
                )
            raise
        except ShopError:
            self._breaker.succeeded()  # the shop answered; it is up
            raise

        self._breaker.succeeded()
        return answer

    def _attempts(self, request: _Request) -> Answer:
        attempt = 0
        while True:
            attempt += 1
            self._rate.wait()
            try:
                return self._send(request)
            except _Transient as failure:
                wait = self._backoff.wait(attempt, failure.retry_after)
                retry = request.method in IDEMPOTENT and attempt < self.max_attempts
                if not retry or wait is None:
                    raise failure.error from None
                if failure.read_timeout and "per_page" in request.params:
                    request.params = smaller_page(request.params)
                reason = failure.reason

            log.warning(
                "shop.request.retry",
                coop=self.coop,
                method=request.method,
                endpoint=request.endpoint,
                attempt=attempt,
                reason=reason,
                wait=round(wait, 3),
            )
            self._sleep(wait)

    def _send(self, request: _Request) -> Answer:
        url = api_url(self.url, request.namespace, request.endpoint)
        pairs = encode_query(request.params)
        if self._oauth and request.auth is None:
            url = signed_url(url, pairs, self._key, self._secret, request.method)
        else:
            url = plain_url(url, pairs)
        body, headers = json_body(request.data)

        started = time.perf_counter()
        self.requests_made += 1
        try:
            response = self._session.request(
                request.method,
                url,
                data=body,
                headers=headers,
                auth=request.auth,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise self._transport_failure(exc, request) from None
        log.debug(
            "shop.request",
            coop=self.coop,
            method=request.method,
            endpoint=request.endpoint,
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000),
        )

        return Answer(self._read(response, request), response.headers, request.params)

    def _read(self, response: requests.Response, request: _Request) -> Any:
        status, raw, what = response.status_code, response.content, request.what
        snippet = reply.excerpt(raw, self._secrets)
        if 200 <= status < 300:
            try:
                body = reply.decode_json(raw, double_encoded=request.double_encoded)
            except reply.NotJson as exc:
                bad = ShopBadResponse(
                    f"{what} answered {status} with {exc.reason}: {snippet!r}",
                    coop=self.coop,
                )
                raise _Transient(bad, exc.reason) from None
            if request.expect is not None and not isinstance(body, request.expect):
                raise ShopBadResponse(
                    f"{what} answered {reply.type_name(body)} where "
                    f"{reply.type_name(request.expect())} was expected: {snippet!r}",
                    coop=self.coop,
                )
            return body

        try:
            decoded = reply.decode_json(raw)
        except reply.NotJson:
            decoded = None
        location = response.headers.get("Location")
        error = reply.map_error(
            self.coop, what, status, decoded, snippet=snippet, location=location
        )
        if status in reply.RETRY_STATUSES:
            wait = reply.retry_after_seconds(response.headers.get("Retry-After"))
            raise _Transient(error, f"status {status}", retry_after=wait)
        raise error

    def _transport_failure(
        self, exc: requests.RequestException, request: _Request
    ) -> _Transient:
        """Name the failure without `str(exc)`: it holds the signed URL."""
        timed_out = isinstance(exc, requests.ReadTimeout) or "Read timed out" in str(
            exc
        )
        if timed_out:
            reason = "read timeout"
        elif isinstance(exc, requests.Timeout):
            reason = "connect timeout"
        elif isinstance(exc, requests.exceptions.ChunkedEncodingError):
            reason = "body cut off"
        else:
            reason = "connection failed"
        advice = ""
        if request.method not in IDEMPOTENT:
            advice = "; not retried: check whether it was created before sending again"
        error = ShopUnavailable(f"{request.what}: {reason}{advice}", coop=self.coop)

        return _Transient(error, reason, read_timeout=timed_out)

    def _app_auth(self) -> HTTPBasicAuth:
        if not self._wp_user or not self._wp_app_password:
            raise ShopAuthError(
                "foodcoop/v1 needs a WordPress user and application password "
                "(wp_user, wp_app_password); WooCommerce keys are refused there",
                coop=self.coop,
            )
        return HTTPBasicAuth(self._wp_user, self._wp_app_password)
