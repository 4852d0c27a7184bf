"""The central catalog feed, read from a real HTTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from pot_bridge.catalog.errors import (
    CatalogBadResponse,
    CatalogRefused,
    CatalogUnavailable,
)
from pot_bridge.catalog.feed import fetch, public_url
from pot_bridge.catalog.model import CentralProducer, CentralProduct
from pot_bridge.config import CatalogSource
from pot_bridge.errors import AbortError, RetryLaterError
from pot_bridge.store.schema import CatalogSnapshot

from . import FeedServer, feed

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def source(url: str, timeout: float = 5.0) -> CatalogSource:
    return CatalogSource(feed_url=url, timeout_seconds=timeout)


def snapshot_of(url: str, etag: str, last_modified: str) -> CatalogSnapshot:
    return CatalogSnapshot(
        source=url, etag=etag, last_modified=last_modified, content_hash="x"
    )


def test_reads_producers_and_products(server: FeedServer) -> None:
    """Prices are exact Decimals from strings; an integer POT ID is its digits."""
    fetched = fetch(source(server.url), None)

    assert fetched.catalog is not None
    assert (fetched.unchanged, fetched.problems) == (False, ())
    assert ['"v1"', "Mon, 02 Mar 2026 07:15:00 GMT"] == [
        fetched.etag,
        fetched.last_modified,
    ]
    assert (
        CentralProducer(
            pot_id="P17",
            name="Hof Sonnenberg",
            contact="Anna Muster",
            email="hof@sonnenberg.example",
            origin="Emmental BE",
        )
        == fetched.catalog.producers["P17"]
    )
    assert (
        CentralProduct(
            pot_id="10452",
            producer_id="P17",
            name="Bergkäse mild",
            unit="kg",
            pack_size=Decimal("2.5"),
            price=Decimal("24.80"),
            vat="reduced",
            category="Käse",
            origin="CH",
            short_description="6 Monate",
            description="<p>Rohmilch</p>",
            image_url="https://img.example/k.jpg",
            available=True,
            sku="SON-KAE-1",
            modified=datetime(2026, 3, 2, 8, 15, tzinfo=timezone(timedelta(hours=1))),
        )
        == fetched.catalog.products["10452"]
    )

    butter = fetched.catalog.products["10453"]
    flour = fetched.catalog.products["20001"]
    assert (Decimal("5.60"), Decimal(10), False) == (
        butter.price,
        butter.pack_size,
        butter.available,
    )
    assert ("P23", Decimal("3.95"), "zero", None) == (
        flour.producer_id,
        flour.price,
        flour.vat,
        flour.sku,
    )
    assert "If-None-Match" not in server.requests[0]
    assert "If-Modified-Since" not in server.requests[0]


def test_a_matching_conditional_request_reads_nothing(server: FeedServer) -> None:
    previous = snapshot_of(server.url, '"v1"', "Mon, 02 Mar 2026 07:15:00 GMT")

    fetched = fetch(source(server.url), previous)

    assert (True, None, ()) == (fetched.unchanged, fetched.catalog, fetched.problems)
    assert '"v1"' == server.requests[0]["If-None-Match"]
    assert "Mon, 02 Mar 2026 07:15:00 GMT" == server.requests[0]["If-Modified-Since"]


def test_last_modified_alone_makes_the_request_conditional(
    server: FeedServer,
) -> None:
    server.etag = ""
    previous = snapshot_of(server.url, "", "Mon, 02 Mar 2026 07:15:00 GMT")

    fetched = fetch(source(server.url), previous)

    assert fetched.unchanged
    assert "If-None-Match" not in server.requests[0]


def test_a_changed_feed_is_read_again(server: FeedServer) -> None:
    server.publish(feed(products=[]), '"v2"', "Tue, 03 Mar 2026 07:15:00 GMT")
    previous = snapshot_of(server.url, '"v1"', "Mon, 02 Mar 2026 07:15:00 GMT")

    fetched = fetch(source(server.url), previous)

    assert fetched.catalog is not None
    assert ({}, '"v2"') == (fetched.catalog.products, fetched.etag)


def test_validators_of_another_source_are_not_sent(server: FeedServer) -> None:
    previous = snapshot_of("/srv/pot/sortiment.xlsx", '"v1"', "")

    fetched = fetch(source(server.url), previous)

    assert not fetched.unchanged
    assert "If-None-Match" not in server.requests[0]


MALFORMED = b"""
{"version": 1,
 "producers": [
   {"pot_id": "P17", "name": "Hof Sonnenberg"},
   {"pot_id": "P99", "name": ""},
   {"pot_id": "P17", "name": "Hof Sonnenberg AG"}
 ],
 "products": [
   {"pot_id": "1", "producer_id": "P17", "name": "Bergkaese", "price": "24.80",
    "vat": "reduced", "sku": "SON-1"},
   {"pot_id": "2", "producer_id": "P17", "name": "Alpbutter", "price": 5.60,
    "vat": "reduced"},
   {"pot_id": "3", "producer_id": "P17", "price": "3.10", "vat": "zero"},
   {"pot_id": "4", "producer_id": "P42", "name": "Honig", "price": "12.00",
    "vat": "reduced"},
   {"pot_id": "5", "producer_id": "P99", "name": "Eier", "price": "6.00",
    "vat": "reduced"},
   {"pot_id": "1", "producer_id": "P17", "name": "Bergkaese alt",
    "price": "22.00", "vat": "reduced"},
   "Dinkel",
   {"pot_id": "7", "producer_id": "P17", "name": "Quark", "price": "0.805",
    "vat": "standard", "modified": "2026-03-02T08:15:00"},
   {"pot_id": "8", "producer_id": "P17", "name": "Rahm", "price": "2.40"},
   {"pot_id": "9", "producer_id": "P17", "name": "Joghurt", "price": "1.20",
    "vat": "reduced", "sku": "SON-1"},
   {"producer_id": "P17", "name": "Molke", "price": "-1", "vat": "zero"},
   {"pot_id": "11", "producer_id": "P17", "name": "Ziger", "price": "4",
    "vat": "reduced", "colour": "white"}
 ]}
"""


def test_malformed_items_are_reported_by_position_and_the_rest_used(
    server: FeedServer,
) -> None:
    server.body = MALFORMED

    fetched = fetch(source(server.url), None)

    assert [
        "producers[1].name: empty (POT ID P99)",
        (
            "producers[2].pot_id: producer POT ID used before at producers[0]; "
            "the first is kept (POT ID P17)"
        ),
        (
            'products[1].price: must be a string such as "4.80", not the number 5.60 '
            "(POT ID 2)"
        ),
        "products[2].name: missing (POT ID 3)",
        'products[3].producer_id: no producer "P42" (POT ID 4)',
        (
            'products[4].producer_id: no producer "P99" (its entry could not be read) '
            "(POT ID 5)"
        ),
        (
            "products[5].pot_id: POT ID used before at products[0]; the first is kept "
            "(POT ID 1)"
        ),
        "products[6]: is a string, not an object",
        (
            "products[7].price: has more than two decimals (a fraction of a Rappen): "
            '"0.805"; also modified: input should have timezone info: '
            '"2026-03-02T08:15:00" (POT ID 7)'
        ),
        "products[8].vat: missing (POT ID 8)",
        'products[9].sku: SKU "SON-1" used before at products[0] (POT ID 9)',
        (
            "products[10].pot_id: missing; also price: input should be greater than "
            'or equal to 0: "-1"'
        ),
    ] == [str(problem) for problem in fetched.problems]
    assert fetched.catalog is not None
    assert ["P17"] == list(fetched.catalog.producers)
    assert {"1": "Bergkaese", "11": "Ziger"} == {
        pot_id: product.name for pot_id, product in fetched.catalog.products.items()
    }
    assert Decimal("4.00") == fetched.catalog.products["11"].price


def test_a_problem_keeps_position_and_column_apart(server: FeedServer) -> None:
    server.body = MALFORMED

    problem = fetch(source(server.url), None).problems[2]

    assert ("products[1]", "price", "2", None) == (
        problem.item,
        problem.column,
        problem.pot_id,
        problem.line,
    )


def test_an_html_page_is_refused_naming_the_feed(server: FeedServer) -> None:
    server.content_type = "text/html"
    server.body = b"<!DOCTYPE html><html><body>Wartungsarbeiten</body></html>"

    with pytest.raises(CatalogBadResponse) as caught:
        fetch(source(server.url), None)

    assert isinstance(caught.value, RetryLaterError)
    assert (
        f"catalog feed {server.url} answered an HTML page, not JSON: "
        "'<!DOCTYPE html><html><body>Wartungsarbeiten</body></html>'"
    ) == str(caught.value)


def test_a_server_error_is_a_passing_failure(server: FeedServer) -> None:
    server.status = 500
    server.body = b"Internal Server Error"

    with pytest.raises(CatalogUnavailable) as caught:
        fetch(source(server.url), None)

    assert f"catalog feed {server.url} failed with 500" == str(caught.value)


def test_a_feed_that_does_not_answer_in_time(server: FeedServer) -> None:
    server.delay = 1.0

    with pytest.raises(CatalogUnavailable) as caught:
        fetch(source(server.url, timeout=0.2), None)

    assert f"catalog feed {server.url} did not answer within 0.2 s" == str(caught.value)


def test_the_timeout_bounds_the_whole_answer(server: FeedServer) -> None:
    """Each piece comes well within the timeout, the whole body does not."""
    server.body = b'{"version": 1, "producers": [], "products": []}'.ljust(200_000)
    server.drip = 0.05

    with pytest.raises(CatalogUnavailable) as caught:
        fetch(source(server.url, timeout=0.3), None)

    assert "did not answer within 0.3 s" in str(caught.value)


def test_a_closed_port_is_a_passing_failure() -> None:
    with FeedServer() as stopped:
        url = stopped.url

    with pytest.raises(CatalogUnavailable) as caught:
        fetch(source(url), None)

    assert str(caught.value).startswith(f"catalog feed {url} could not be reached")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"[]", "is a list, not an object", id="list"),
        pytest.param(b'{"products": ', "answered cut-off or malformed JSON", id="cut"),
        pytest.param(
            feed(version=2), "has version 2; this bridge reads version 1", id="v2"
        ),
        pytest.param(
            b'{"version": 1, "producers": []}',
            "'products' is null, not a list",
            id="no-products",
        ),
        pytest.param(
            feed(producers={}), "'producers' is an object, not a list", id="dict"
        ),
    ],
)
def test_a_document_of_the_wrong_shape_is_refused(
    server: FeedServer, body: bytes, message: str
) -> None:
    server.body = body

    with pytest.raises(CatalogBadResponse) as caught:
        fetch(source(server.url), None)

    assert message in str(caught.value)
    assert server.url in str(caught.value)


@pytest.mark.parametrize(
    ("status", "headers", "message"),
    [
        pytest.param(404, {}, "answered 404", id="not-found"),
        pytest.param(401, {}, "refused access (401)", id="auth"),
        pytest.param(
            301,
            {"Location": "https://pot.example/v2/feed.json?key=abcd1234"},
            "answered 301 to https://pot.example/v2/feed.json?...; redirects are "
            "not followed",
            id="moved",
        ),
    ],
)
def test_a_refusal_needs_the_configuration_fixed(
    server: FeedServer, status: int, headers: dict[str, str], message: str
) -> None:
    server.status, server.extra_headers = status, headers

    with pytest.raises(CatalogRefused) as caught:
        fetch(source(server.url), None)

    assert isinstance(caught.value, AbortError)
    assert message in str(caught.value)


def test_credentials_in_the_url_never_reach_the_error(server: FeedServer) -> None:
    """The user's password and the query's token stay out; the host stays in."""
    port = server.url.split(":")[2].split("/")[0]
    url = f"http://bridge:s3cret-pw@127.0.0.1:{port}/feed.json?token=tok-98765"
    server.content_type = "text/html"
    server.body = b"<html>bad token tok-98765 for bridge:s3cret-pw</html>"

    with pytest.raises(CatalogBadResponse) as caught:
        fetch(source(url), None)

    text = str(caught.value)
    assert f"http://127.0.0.1:{port}/feed.json?..." in text
    assert "s3cret-pw" not in text
    assert "tok-98765" not in text
    assert "Basic" in server.requests[0]["Authorization"]


def test_the_public_url_drops_user_password_and_query() -> None:
    assert "https://[::1]:8443/feed?..." == public_url(
        "https://u:p@[::1]:8443/feed?k=v"
    )


def test_a_304_to_an_unconditional_request_is_refused(server: FeedServer) -> None:
    server.status = 304

    with pytest.raises(CatalogBadResponse) as caught:
        fetch(source(server.url), None)

    assert "answered 304 to a request that was not conditional" in str(caught.value)


@pytest.mark.parametrize("price", ["1e3", "4,80", " 4.80x", "Infinity"])
def test_a_price_not_written_like_a_price_is_refused(price: str) -> None:
    with pytest.raises(ValidationError, match=r"must be written like 4\.80"):
        CentralProduct(pot_id="1", producer_id="p", name="Brot", price=price)
