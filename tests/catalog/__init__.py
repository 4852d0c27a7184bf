"""A central catalog feed on a loopback port, and the feed document it serves."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

# The feed a producer network might publish, in its own notation.
FEED = """
{
  "version": 1,
  "producers": [
    {"pot_id": "P17", "name": "Hof Sonnenberg", "contact": "Anna Muster",
     "email": "hof@sonnenberg.example", "origin": "Emmental BE"},
    {"pot_id": "P23", "name": "Mühle Eschenz", "origin": "TG"}
  ],
  "products": [
    {"pot_id": "10452", "producer_id": "P17", "name": "Bergkäse mild",
     "unit": "kg", "pack_size": "2.5", "price": "24.80", "vat": "reduced",
     "category": "Käse", "origin": "CH", "short_description": "6 Monate",
     "description": "<p>Rohmilch</p>", "image_url": "https://img.example/k.jpg",
     "available": true, "sku": "SON-KAE-1",
     "modified": "2026-03-02T08:15:00+01:00"},
    {"pot_id": "10453", "producer_id": "P17", "name": "Alpbutter",
     "unit": "250 g", "pack_size": 10, "price": "5.6", "vat": "reduced",
     "available": false},
    {"pot_id": 20001, "producer_id": "P23", "name": "Dinkelmehl",
     "unit": "kg", "price": "3.95", "vat": "zero", "sku": null}
  ]
}
"""


def feed(**changes: Any) -> bytes:
    """The feed above, with top-level keys replaced."""
    document = json.loads(FEED)
    document.update(changes)
    return json.dumps(document).encode()


class FeedServer:
    """Serves one feed document with validators, as a web server or CDN would.

    A request whose `If-None-Match` (or, without it, `If-Modified-Since`)
    matches gets 304. Every request's headers are kept in `requests`.
    """

    def __init__(self, body: bytes | None = None) -> None:
        self.body = FEED.encode() if body is None else body
        self.status = 200
        self.content_type = "application/json; charset=utf-8"
        self.etag = '"v1"'
        self.last_modified = "Mon, 02 Mar 2026 07:15:00 GMT"
        self.extra_headers: dict[str, str] = {}
        self.delay = 0.0
        # a pause after each piece of the body, to send it slowly
        self.drip = 0.0
        self.piece = 4096
        self.requests: list[dict[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.handle_error = lambda *_: None  # type: ignore[method-assign]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/feed.json"

    def publish(self, body: bytes, etag: str, last_modified: str = "") -> None:
        self.body, self.etag, self.last_modified = body, etag, last_modified

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests.append(dict(handler.headers.items()))
        time.sleep(self.delay)

        if self.status == 200 and self._not_modified(handler):
            handler.send_response(304)
            self._validators(handler)
            handler.end_headers()
            return
        handler.send_response(self.status)
        handler.send_header("Content-Type", self.content_type)
        handler.send_header("Content-Length", str(len(self.body)))
        self._validators(handler)
        for name, value in self.extra_headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if not self.drip:
            handler.wfile.write(self.body)
            return
        for start in range(0, len(self.body), self.piece):
            handler.wfile.write(self.body[start : start + self.piece])
            handler.wfile.flush()
            time.sleep(self.drip)

    def _not_modified(self, handler: BaseHTTPRequestHandler) -> bool:
        tag = handler.headers.get("If-None-Match")
        if tag is not None:
            return bool(self.etag) and tag == self.etag
        since = handler.headers.get("If-Modified-Since")
        return (
            since is not None
            and bool(self.last_modified)
            and (since == self.last_modified)
        )

    def _validators(self, handler: BaseHTTPRequestHandler) -> None:
        if self.etag:
            handler.send_header("ETag", self.etag)
        if self.last_modified:
            handler.send_header("Last-Modified", self.last_modified)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        feed_server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feed_server._answer(self)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
