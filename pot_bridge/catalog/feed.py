"""The central catalog feed: one JSON document over HTTP, fetched conditionally.

## The feed (version 1)

One JSON object in UTF-8. The server should send `ETag` or `Last-Modified`
(or both): pot-bridge repeats them as `If-None-Match` / `If-Modified-Since`
and takes `304 Not Modified` as "nothing changed", so a poll is cheap.

```json
{
  "version": 1,
  "producers": [
    {"pot_id": "P17", "name": "Hof Sonnenberg", "contact": "Anna Muster",
     "email": "hof@example.org", "origin": "Emmental BE"}
  ],
  "products": [
    {"pot_id": "10452", "producer_id": "P17", "name": "Bergkäse mild",
     "unit": "kg", "pack_size": "2.5", "price": "24.80", "vat": "reduced",
     "category": "Käse", "origin": "CH", "short_description": "6 Monate gereift",
     "description": "<p>Rohmilch</p>", "image_url": "https://example.org/k.jpg",
     "available": true, "sku": "SON-KAE-1",
     "modified": "2026-03-02T08:15:00+01:00"}
  ]
}
```

| producer key | type | required | meaning |
|---|---|---|---|
| `pot_id` | string | yes | POT ID, unique in the feed, up to 64 characters |
| `name` | string | yes | the name coops order from (the plugin's `_lieferant`) |
| `contact` | string | no | contact person |
| `email` | string | no | where group orders go |
| `origin` | string | no | where the producer is |

| product key | type | required | meaning |
|---|---|---|---|
| `pot_id` | string | yes | POT ID, unique; the shops' `_loonity_id` |
| `producer_id` | string | yes | `pot_id` of a producer in the feed |
| `name` | string | yes | product name |
| `unit` | string | no | unit label, such as `kg` or `500 g` |
| `pack_size` | decimal string or number | no | lot size above 0 (`_gebinde`) |
| `price` | decimal **string** | yes | CHF per unit, at most 2 decimals |
| `vat` | `"standard"`, `"reduced"` or `"zero"` | yes | Swiss VAT rate class |
| `category` | string | no | one category name |
| `origin` | string | no | origin (`_herkunft`) |
| `short_description`, `description` | string | no | text or HTML |
| `image_url` | http(s) URL | no | the product picture |
| `available` | boolean | no (true) | false: out of stock |
| `sku` | string | no | article number, unique in the feed |
| `modified` | ISO 8601, with zone | no | last change in the central database |

- `price` is the shops' regular price. A JSON number there is refused: written
  as a string it cannot pass through a binary float on either side.
- An integer `pot_id` or `producer_id` is taken as its digits.
- A missing optional key and `null` mean the same: empty text, no value.
- Unknown keys are ignored, so the feed can grow without breaking older bridges;
  a change that old bridges must not read gets a new `version`.
- A producer or product breaking a rule is skipped and reported by position,
  e.g. `products[12].price: ...`, with its POT ID when readable; the rest is
  used. So are products of an unknown producer, a second product with a POT
  ID or SKU seen before (the first is kept), and a second producer likewise.
- A document that is no such object (HTML, not JSON, no `version` 1, no
  `producers` and `products` lists) is refused as a whole; nothing is stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import structlog
from pydantic import ValidationError

from pot_bridge.catalog.errors import (
    CatalogBadResponse,
    CatalogError,
    CatalogRefused,
    CatalogUnavailable,
)
from pot_bridge.catalog.model import (
    Catalog,
    CatalogProblem,
    CentralProducer,
    CentralProduct,
    Spot,
    build_catalog,
    field_errors,
)
from pot_bridge.config import CatalogSource
from pot_bridge.errors import ConfigError
from pot_bridge.shop import reply
from pot_bridge.shop.client import USER_AGENT
from pot_bridge.store.schema import CatalogSnapshot

log = structlog.get_logger(__name__)

FEED_VERSION = 1
# Larger than any real catalog; keeps a runaway answer from filling memory.
MAX_FEED_BYTES = 64 * 1024 * 1024
CHUNK_BYTES = 16 * 1024
RETRY_STATUSES = frozenset({408, 425, 429})
PRODUCER_KEYS = ("pot_id", "name", "contact", "email", "origin")
PRODUCT_KEYS = (
    "pot_id",
    "producer_id",
    "name",
    "unit",
    "pack_size",
    "price",
    "vat",
    "category",
    "origin",
    "short_description",
    "description",
    "image_url",
    "available",
    "sku",
    "modified",
)


@dataclass(frozen=True)
class Fetched:
    """One poll of the feed: unchanged (304, nothing read) or a catalog."""

    source: str
    unchanged: bool
    catalog: Catalog | None = None
    problems: tuple[CatalogProblem, ...] = ()
    etag: str = ""
    last_modified: str = ""


def public_url(url: str) -> str:
    """The feed URL as errors and snapshots name it: no user, password or query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    query = "?..." if parts.query else ""

    return f"{parts.scheme}://{host}{port}{parts.path}{query}"


def fetch(
    source: CatalogSource,
    previous: CatalogSnapshot | None,
    session: requests.Session | None = None,
) -> Fetched:
    """Fetch and read the feed, conditionally on `previous` if it came from it.

    `timeout_seconds` bounds each wait for data and the whole download too,
    which is given up at the first chunk (16 KiB) that ends past it.
    Redirects are not followed: the configured URL must be the feed's own.
    """
    if source.feed_url is None:
        raise ConfigError("the catalog source has no feed_url")
    url, shown = source.feed_url, public_url(source.feed_url)

    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if previous is not None and previous.source == shown:
        if previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
    conditional = "If-None-Match" in headers or "If-Modified-Since" in headers

    own = session is None
    http = _plain_session() if session is None else session
    started = time.monotonic()
    try:
        response, raw = _download(http, url, shown, headers, source.timeout_seconds)
    finally:
        if own:
            http.close()
    ms = round((time.monotonic() - started) * 1000)

    if response.status_code == 304 and conditional:
        log.info("catalog.feed.not_modified", url=shown, ms=ms)
        return Fetched(source=shown, unchanged=True)
    body = _decode(response, raw, shown, _secrets_of(url))

    catalog, problems = read_feed(body, shown)
    log.info(
        "catalog.feed.read",
        url=shown,
        bytes=len(raw),
        ms=ms,
        producers=len(catalog.producers),
        products=len(catalog.products),
        problems=len(problems),
    )

    return Fetched(
        source=shown,
        unchanged=False,
        catalog=catalog,
        problems=tuple(problems),
        etag=response.headers.get("ETag", ""),
        last_modified=response.headers.get("Last-Modified", ""),
    )


def read_feed(body: object, url: str) -> tuple[Catalog, list[CatalogProblem]]:
    """A decoded feed document into a catalog and the problems of its items."""
    if not isinstance(body, dict):
        raise CatalogBadResponse(
            f"catalog feed {url} is {reply.type_name(body)}, not an object"
        )
    version = body.get("version")
    if type(version) is not int or version != FEED_VERSION:
        raise CatalogBadResponse(
            f"catalog feed {url} has version {version!r}; this bridge reads "
            f"version {FEED_VERSION}"
        )
    for key in ("producers", "products"):
        if not isinstance(body.get(key), list):
            raise CatalogBadResponse(
                f"catalog feed {url}: {key!r} is {reply.type_name(body.get(key))}, "
                "not a list"
            )

    problems: list[CatalogProblem] = []
    producers: list[tuple[Spot, CentralProducer]] = []
    unusable: set[str] = set()
    for index, raw in enumerate(body["producers"]):
        spot = Spot(f"producers[{index}]")
        producer = _producer(spot, raw, problems)
        if producer is not None:
            producers.append((spot, producer))
        elif isinstance(raw, dict) and _id_text(raw.get("pot_id")):
            unusable.add(str(_id_text(raw.get("pot_id"))))

    products: list[tuple[Spot, CentralProduct]] = []
    for index, raw in enumerate(body["products"]):
        spot = Spot(f"products[{index}]")
        product = _product(spot, raw, problems)
        if product is not None:
            products.append((spot, product))

    catalog, refused = build_catalog(producers, products, unusable)

    return catalog, sorted(problems + refused, key=_position)


def _position(problem: CatalogProblem) -> tuple[str, int]:
    """Producers first, then products, each in the feed's order."""
    name, _, index = problem.item.partition("[")
    return name, int(index.rstrip("]"))


def _producer(
    spot: Spot, raw: object, problems: list[CatalogProblem]
) -> CentralProducer | None:
    if not isinstance(raw, dict):
        problems.append(spot.problem("", f"is {reply.type_name(raw)}, not an object"))
        return None
    fields = _known(raw, PRODUCER_KEYS)
    try:
        return CentralProducer.model_validate(fields)
    except ValidationError as exc:
        problems.append(_first(spot, field_errors(exc), fields))
        return None


def _product(
    spot: Spot, raw: object, problems: list[CatalogProblem]
) -> CentralProduct | None:
    if not isinstance(raw, dict):
        problems.append(spot.problem("", f"is {reply.type_name(raw)}, not an object"))
        return None
    fields = _known(raw, PRODUCT_KEYS)

    errors: list[tuple[str, str]] = []
    price = fields.get("price")
    if price is not None and not isinstance(price, str):
        errors.append(("price", f'must be a string such as "4.80", not {_kind(price)}'))
    if "vat" not in fields:
        errors.append(("vat", "missing"))
    try:
        product = CentralProduct.model_validate(fields)
    except ValidationError as exc:
        blamed = {field for field, _ in errors}
        errors += [e for e in field_errors(exc) if e[0] not in blamed]
    if errors:
        problems.append(_first(spot, errors, fields))
        return None

    return product


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | Decimal):
        return f"the number {value}"
    return reply.type_name(value)


def _known(raw: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The keys this version reads, without nulls; integer IDs as their digits."""
    fields = {key: raw[key] for key in keys if raw.get(key) is not None}
    for key in ("pot_id", "producer_id"):
        if key in fields and _id_text(fields[key]) is not None:
            fields[key] = _id_text(fields[key])

    return fields


def _id_text(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _first(
    spot: Spot, errors: list[tuple[str, str]], fields: dict[str, Any]
) -> CatalogProblem:
    """One problem per item: the first complaint, the others appended."""
    (column, message), rest = errors[0], errors[1:]
    if rest:
        message += "; also " + "; ".join(f"{f}: {m}" for f, m in rest)
    pot_id = fields.get("pot_id")

    return spot.problem(column, message, pot_id if isinstance(pot_id, str) else "")


def _plain_session() -> requests.Session:
    # No proxy variables and no ~/.netrc: only what the configuration says.
    session = requests.Session()
    session.trust_env = False
    return session


def _download(
    http: requests.Session,
    url: str,
    shown: str,
    headers: dict[str, str],
    timeout: float,
) -> tuple[requests.Response, bytes]:
    deadline = time.monotonic() + timeout
    try:
        response = http.get(
            url, headers=headers, timeout=timeout, stream=True, allow_redirects=False
        )
        with response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(CHUNK_BYTES):
                size += len(chunk)
                if size > MAX_FEED_BYTES:
                    raise CatalogBadResponse(
                        f"catalog feed {shown} is larger than "
                        f"{MAX_FEED_BYTES // (1024 * 1024)} MiB"
                    )
                if time.monotonic() > deadline:
                    raise _timed_out(shown, timeout)
                chunks.append(chunk)
    except requests.RequestException as exc:
        # str(exc) would show the URL with its credentials.
        if isinstance(exc, requests.Timeout) or "timed out" in str(exc):
            raise _timed_out(shown, timeout) from None
        raise CatalogUnavailable(
            f"catalog feed {shown} could not be reached ({type(exc).__name__})"
        ) from None

    return response, b"".join(chunks)


def _timed_out(shown: str, timeout: float) -> CatalogError:
    return CatalogUnavailable(f"catalog feed {shown} did not answer within {timeout} s")


def _decode(
    response: requests.Response, raw: bytes, shown: str, secrets: tuple[str, ...]
) -> object:
    status = response.status_code
    snippet = reply.excerpt(raw, secrets)
    if status == 200:
        try:
            return reply.decode_json(raw)
        except reply.NotJson as exc:
            raise CatalogBadResponse(
                f"catalog feed {shown} answered {exc.reason}, not JSON: {snippet!r}"
            ) from None

    if status in RETRY_STATUSES or status >= 500:
        raise CatalogUnavailable(f"catalog feed {shown} failed with {status}")
    if status == 304:
        raise CatalogBadResponse(
            f"catalog feed {shown} answered 304 to a request that was not conditional"
        )
    if 300 <= status < 400:
        where = response.headers.get("Location")
        target = f" to {public_url(where)}" if where else ""
        raise CatalogRefused(
            f"catalog feed {shown} answered {status}{target}; redirects are not "
            "followed: configure the feed's own URL"
        )
    if status in (401, 403):
        raise CatalogRefused(f"catalog feed {shown} refused access ({status})")
    if status >= 400:
        raise CatalogRefused(f"catalog feed {shown} answered {status}: {snippet!r}")
    raise CatalogBadResponse(f"catalog feed {shown} answered {status}, not 200")


def _secrets_of(url: str) -> tuple[str, ...]:
    """Password and query values of the URL, kept out of error messages."""
    parts = urlsplit(url)
    values = [value for _, value in parse_qsl(parts.query) if len(value) >= 4]
    if parts.password:
        values.append(parts.password)

    return tuple(values)
