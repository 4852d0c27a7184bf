"""The sandbox shop's HTTP side: routing, authentication, headers and faults.

A stdlib `ThreadingHTTPServer` on loopback that answers like a WooCommerce
9.9.5 shop with the POT plugin behind plain http: OAuth 1.0a for wc/v3,
application passwords for foodcoop/v1, and the header quirks of the
recorded fixtures. Faults let tests stage what cheap hosting does.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote_plus, unquote_plus, urlsplit

from pot_bridge.sandbox import wire
from pot_bridge.sandbox.faults import (
    CRITICAL,
    MAINTENANCE_HTML,
    PHP_NOTICE,
    WAF_HTML,
    Fault,
    FaultBook,
)
from pot_bridge.sandbox.oauth import OAuthError, OAuthVerifier, oauth_params_present
from pot_bridge.sandbox.query import InvalidParams, Params, flat, php_params
from pot_bridge.sandbox.reply import Reply, Request
from pot_bridge.sandbox.routes import ANON, MANAGER_ROLES, ROUTES, UNLOCKED
from pot_bridge.sandbox.state import ShopState

ALLOW_HEADERS = (
    "Authorization, X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type"
)
JSON_TYPE = "application/json; charset=UTF-8"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOCACHE = (
    ("Expires", "Wed, 11 Jan 1984 05:00:00 GMT"),
    ("Cache-Control", "no-cache, must-revalidate, max-age=0, no-store, private"),
)
HTML_TYPE = "text/html; charset=UTF-8"


@dataclass(frozen=True)
class RequestRecord:
    """One request as the shop saw it (OAuth parameters left out)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    auth: str


class SandboxShop:
    """A WooCommerce + POT plugin shop on a loopback port, for demos and tests."""

    def __init__(
        self,
        state: ShopState,
        consumer_key: str = "ck_" + "5a" * 20,
        consumer_secret: str = "cs_" + "c3" * 20,
        app_user: str = "bridge",
        app_password: str = "abcd efgh ijkl mnop qrst uvwx",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        read_only: bool = False,
        supports_modified_after: bool = True,
    ) -> None:
        self.state = state
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.app_user = app_user
        self.app_password = app_password
        # WordPress users with an application password, by login
        self.app_passwords = {app_user: app_password}
        self.host = host
        self.port = port
        self.read_only = read_only
        self.supports_modified_after = supports_modified_after
        self.faults = FaultBook()
        self.requests: list[RequestRecord] = []
        # Writes the shop handled, by "METHOD route" ("POST /wc/v3/products/batch",
        # "PUT /wc/v3/products/<id>"). Requests a fault answered before the shop
        # saw them are not counted; `requests` has every request on the wire.
        self.writes: Counter[str] = Counter()
        self.oauth = OAuthVerifier(consumer_key, consumer_secret)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._log_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        server = _Server((self.host, self.port), _Handler)
        server.shop = self
        self._server = server
        self.port = server.server_address[1]
        with self.state.lock:
            self.state.base_url = self.url
        self._thread = threading.Thread(
            target=server.serve_forever,
            args=(0.05,),
            name=f"sandbox-shop-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log(self, record: RequestRecord) -> None:
        with self._log_lock:
            self.requests.append(record)

    # -- authentication and routing ---------------------------------------

    def add_app_password(self, login: str, password: str) -> None:
        """Give a WordPress user (a member, say) an application password."""
        self.app_passwords[login] = password

    def is_manager(self, login: str) -> bool:
        """Whether the user has `edit_others_posts`, as manager routes demand."""
        found = next(
            (c for c in self.state.customers.values() if c.username == login), None
        )
        if found is None:
            return login == self.app_user
        return found.role in MANAGER_ROLES

    def _app_password_user(
        self, header: str, strict: bool
    ) -> tuple[str | None, Reply | None]:
        """Check Basic credentials as WordPress application passwords."""
        try:
            raw = base64.b64decode(header.split(" ", 1)[1]).decode()
        except (IndexError, ValueError, binascii.Error):
            return None, None
        user, _colon, password = raw.partition(":")
        expected = self.app_passwords.get(user)
        if expected is None:
            if not strict:  # wc/v3 ignores Basic over http for other names
                return None, None
            return None, Reply(
                401,
                wire.error(
                    "invalid_username",
                    "<strong>Error:</strong> Unknown username. "
                    "Check again or try your email address.",
                    401,
                ),
            )
        clean = re.sub(r"[^a-z\d]", "", password, flags=re.IGNORECASE)
        if clean != re.sub(r"[^a-z\d]", "", expected, flags=re.IGNORECASE):
            return None, Reply(
                401,
                wire.error(
                    "incorrect_password",
                    "The provided password is an invalid application password.",
                    401,
                ),
            )
        return user, None

    def dispatch(
        self,
        method: str,
        path: str,
        params: Params,
        pairs: list[tuple[str, str]],
        authorization: str,
        raw_body: bytes,
    ) -> tuple[Reply, bool, str | None]:
        """Answer one request: (reply, authenticated, Allow header)."""
        no_route = Reply(
            404,
            wire.error(
                "rest_no_route",
                "No route was found matching the URL and request method.",
                404,
            ),
        )
        if not path.startswith("/wp-json/"):
            return no_route, False, None
        route = path[len("/wp-json") :].rstrip("/")
        namespace = route.split("/")[1] if route.count("/") > 1 else ""
        user: str | None = None
        basic = authorization.startswith("Basic ")

        if namespace == "wc":
            if oauth_params_present(params):
                try:
                    self.oauth.verify(
                        method,
                        self.url + path,
                        params,
                        int(self.state.now().timestamp()),
                    )
                except OAuthError as exc:
                    return (
                        Reply(401, wire.error(exc.code, exc.message, 401)),
                        False,
                        None,
                    )
                user = "api-key"
                if self.read_only and method in WRITES:
                    return (
                        Reply(
                            401,
                            wire.error(
                                "woocommerce_rest_authentication_error",
                                "The API key provided does not have write permissions.",
                                401,
                            ),
                        ),
                        True,
                        None,
                    )
            elif basic:
                user, failure = self._app_password_user(authorization, strict=False)
                if failure:
                    return failure, False, None
                if user is not None and not self.is_manager(user):
                    user = None  # a member's password opens no wc/v3 route
        elif namespace == "foodcoop" and basic:
            user, failure = self._app_password_user(authorization, strict=True)
            if failure:
                return failure, False, None

        found = next(
            ((row, m) for row in ROUTES if (m := row[0].fullmatch(route)) is not None),
            None,
        )
        if found is None:
            return no_route, user is not None, None
        (pattern, kind, handlers, allow), match = found
        handler = handlers.get(method)
        if handler is None and method != "OPTIONS":
            return no_route, user is not None, None

        req = Request(
            method=method,
            path=path,
            params=params,
            pairs=pairs,
            body=None,
            state=self.state,
            base=self.url,
            supports_modified_after=self.supports_modified_after,
        )
        if handler is None:  # OPTIONS on a route without its own description
            return (
                Reply(200, {"namespace": namespace, "methods": list(handlers)}),
                user is not None,
                allow,
            )
        if user is None and method != "OPTIONS" and kind != "public":
            if kind in ("rpc", "mgr"):
                return (
                    Reply(
                        401,
                        wire.error(
                            "rest_forbidden",
                            "Sorry, you are not allowed to do that.",
                            401,
                        ),
                    ),
                    False,
                    None,
                )
            code, message = ANON.get((kind, method)) or ANON[(kind, "GET")]
            return Reply(401, wire.error(code, message, 401)), False, None
        if kind == "mgr" and user is not None and not self.is_manager(user):
            return (
                Reply(
                    403,
                    wire.error(
                        "rest_forbidden", "Sorry, you are not allowed to do that.", 403
                    ),
                ),
                True,
                None,
            )
        authed = user is not None or kind != "public"

        if method in WRITES:
            with self._log_lock:
                self.writes[f"{method} {_route_name(pattern)}"] += 1
        if raw_body:
            try:
                req.body = json.loads(raw_body.decode("utf-8"), parse_float=Decimal)
            except ValueError:
                return (
                    Reply(
                        400,
                        wire.error(
                            "rest_invalid_json", "Invalid JSON body passed.", 400
                        ),
                    ),
                    authed,
                    allow,
                )
        ids = [int(g) for g in match.groups()]
        try:
            if handler in UNLOCKED:
                reply = handler(req, *ids)
            else:
                with self.state.lock:
                    reply = handler(req, *ids)
        except InvalidParams as bad:
            reply = Reply(400, bad.body())
        return reply, authed, allow if reply.allow else None

    # -- response shaping --------------------------------------------------

    def headers_for(
        self,
        reply: Reply,
        authed: bool,
        allow: str | None,
        path: str,
        pairs: list[tuple[str, str]],
    ) -> list[tuple[str, str]]:
        """The header set and order WordPress sends for this answer."""
        links = self._page_links(reply, path, pairs) if reply.total is not None else ""
        headers = [("Content-Type", JSON_TYPE), ("X-Robots-Tag", "noindex")]
        if not links:
            headers.append(("Link", f'<{self.url}/wp-json/>; rel="https://api.w.org/"'))
        headers += [
            ("X-Content-Type-Options", "nosniff"),
            ("Access-Control-Expose-Headers", "X-WP-Total, X-WP-TotalPages, Link"),
            ("Access-Control-Allow-Headers", ALLOW_HEADERS),
        ]
        if reply.total is not None:
            headers += [
                ("X-WP-Total", str(reply.total)),
                ("X-WP-TotalPages", str(reply.pages)),
            ]
            if links:
                headers.append(("Link", links))
        headers += list(reply.headers.items())
        if allow:
            headers.append(("Allow", allow))
        headers += list(NOCACHE) if authed else [("Vary", "Origin")]
        return headers

    def _page_links(self, reply: Reply, path: str, pairs: list[tuple[str, str]]) -> str:
        """rel=prev/next links echoing the whole query, OAuth parameters included."""
        query: dict[str, str] = {}
        for key, value in pairs:
            query[key] = value
        for key, value in reply.link_extras:
            query.setdefault(key, value)
        pages, page = reply.pages or 0, reply.page

        def link(number: int, rel: str) -> str:
            args = {**query, "page": str(number)}
            text = "&".join(
                f"{quote_plus(k, safe='')}={quote_plus(v, safe='')}"
                for k, v in args.items()
            ).replace("~", "%7E")
            return f'<{self.url}{path}?{text}>; rel="{rel}"'

        links = []
        if page > 1:
            links.append(link(min(page - 1, pages), "prev"))
        if pages > page:
            links.append(link(page + 1, "next"))
        return ", ".join(links)


def _route_name(pattern: re.Pattern[str]) -> str:
    return pattern.pattern.replace(r"(\d+)", "<id>")


def encode(reply: Reply) -> bytes:
    text = reply.text if reply.text is not None else wire.dumps(reply.body)
    return text.encode("utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    shop: SandboxShop

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]
    ) -> None:
        super().__init__(address, handler)
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()

    def close_connections(self) -> None:
        """Cut kept-alive connections so a stopped shop really stops answering."""
        with self.sockets_lock:
            for sock in list(self.open_sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle and delayed
    # ACKs add ~40 ms to every request on a reused connection.
    disable_nagle_algorithm = True
    server: _Server
    _log: Callable[[int], None]

    def version_string(self) -> str:
        return "nginx"

    def setup(self) -> None:
        super().setup()
        with self.server.sockets_lock:
            self.server.open_sockets.add(self.connection)

    def finish(self) -> None:
        with self.server.sockets_lock:
            self.server.open_sockets.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the shop's own request log is `SandboxShop.requests`."""

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def _handle(self) -> None:
        shop = self.server.shop
        method = self.command.upper()
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        params = php_params(url.query)
        pairs = [
            (unquote_plus(k), unquote_plus(v))
            for k, _e, v in (p.partition("=") for p in url.query.split("&") if p)
        ]
        authorization = self.headers.get("Authorization") or ""
        auth = (
            "oauth"
            if oauth_params_present(params)
            else "basic"
            if authorization.startswith("Basic ")
            else "none"
        )
        query = {k: flat(params, k) or "" for k in params if not k.startswith("oauth_")}

        fault = shop.faults.take(method, url.path)
        # logged before the answer goes out, so a client never sees it first
        self._log = lambda status: shop.log(
            RequestRecord(method, url.path, query, status, auth)
        )
        self._answer(
            shop, fault, method, url.path, params, pairs, authorization, raw_body
        )

    def _answer(
        self,
        shop: SandboxShop,
        fault: Fault | None,
        method: str,
        path: str,
        params: Params,
        pairs: list[tuple[str, str]],
        authorization: str,
        raw_body: bytes,
    ) -> None:
        if fault is not None and fault.kind == "drop":
            self._hang_up()
            return
        if fault is not None and fault.kind in ("status", "html"):
            self._serve_fault(fault)
            return
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.delay)

        reply, authed, allow = shop.dispatch(
            method, path, params, pairs, authorization, raw_body
        )
        if fault is not None and fault.kind == "lost":
            self._hang_up()
            return
        if fault is not None and fault.kind == "stall":
            time.sleep(fault.delay)
        payload = encode(reply)
        if fault is not None and fault.kind == "truncated":
            payload = payload[: len(payload) // 2]
        elif fault is not None and fault.kind == "bom":
            payload = b"\xef\xbb\xbf" + PHP_NOTICE.encode() + payload
        self._send(
            reply.status, shop.headers_for(reply, authed, allow, path, pairs), payload
        )

    def _hang_up(self) -> None:
        """Close without an answer; logged with status 0."""
        self._log(0)
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _serve_fault(self, fault: Fault) -> None:
        status = 200 if fault.kind == "html" else fault.status
        body = fault.body
        if body is None:
            body = (
                WAF_HTML
                if fault.kind == "html" or status in (403, 429)
                else MAINTENANCE_HTML
                if status == 503
                else CRITICAL
            )
        if isinstance(body, str | bytes):
            kind = HTML_TYPE
            payload = body.encode() if isinstance(body, str) else body
        else:
            kind, payload = JSON_TYPE, wire.dumps(body).encode()
        headers = [("Content-Type", kind)]
        if fault.retry_after is not None:
            headers.append(("Retry-After", str(fault.retry_after)))
        self._send(status, headers, payload)

    def _send(
        self, status: int, headers: list[tuple[str, str]], payload: bytes
    ) -> None:
        self._log(status)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
