"""Catalog snapshots: one version per changed import, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from structlog.testing import capture_logs

from pot_bridge.catalog.feed import Fetched
from pot_bridge.catalog.model import (
    Catalog,
    CatalogProblem,
    CentralProducer,
    CentralProduct,
)
from pot_bridge.catalog.snapshot import (
    catalog_of,
    latest,
    problems_of,
    refresh,
    store,
)
from pot_bridge.config import CatalogSource
from pot_bridge.store import session_factory
from pot_bridge.store.schema import CatalogSnapshot

from . import FeedServer, feed

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
SHEET = (
    "name;price;unit;lot;producer;origin;category;id;short_description;image;"
    "description;sku;supplier;tax;pot_id;weight\r\n"
    "Bergkäse mild;24,80;kg;2,5;Käserei Sonnenberg;CH;Käse;;;;;K-1;Hof Sonnenberg;"
    "reduced-rate;10452;\r\n"
    "Alpbutter;abc;250 g;10;Käserei Sonnenberg;CH;Milch;;;;;B-1;Hof Sonnenberg;;"
    "10453;\r\n"
)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def snapshots(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(CatalogSnapshot)) or 0


def exact_catalog() -> Catalog:
    producer = CentralProducer(pot_id="P17", name="Hof Sonnenberg")
    products = [
        CentralProduct(
            pot_id="1",
            producer_id="P17",
            name="Eier",
            price=Decimal("4.80"),
            pack_size=Decimal("0.25"),
            vat="reduced",
            modified=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
        ),
        CentralProduct(
            pot_id="2",
            producer_id="P17",
            name="Rahm",
            price=Decimal("0.05"),
            pack_size=Decimal("12.5"),
            vat="standard",
        ),
        CentralProduct(
            pot_id="3",
            producer_id="P17",
            name="Käse",
            price=Decimal("99999999.99"),
            pack_size=Decimal(100),
        ),
    ]
    return Catalog(
        producers={"P17": producer}, products={p.pot_id: p for p in products}
    )


def read_of(
    catalog: Catalog, problems: tuple[CatalogProblem, ...] = (), etag: str = '"a"'
) -> Fetched:
    return Fetched(
        source="https://pot.example/feed.json",
        unchanged=False,
        catalog=catalog,
        problems=problems,
        etag=etag,
        last_modified="Mon, 02 Mar 2026 07:15:00 GMT",
    )


def test_a_feed_is_stored_once_then_asked_conditionally(
    engine: Engine, server: FeedServer
) -> None:
    config = CatalogSource(feed_url=server.url)
    with session_factory(engine)() as session:
        first = refresh(session, config, NOW)
        session.commit()

    with session_factory(engine)() as session:
        second = refresh(session, config, NOW + HOUR)
        session.commit()

        assert 1 == snapshots(session)

    assert ("stored", 1, True) == (first.outcome, first.snapshot.id, first.changed)
    assert ("not-modified", 1, False) == (
        second.outcome,
        second.snapshot.id if second.snapshot else None,
        second.changed,
    )
    assert 2 == len(server.requests)
    assert '"v1"' == server.requests[1]["If-None-Match"]
    assert "Mon, 02 Mar 2026 07:15:00 GMT" == server.requests[1]["If-Modified-Since"]


def test_an_identical_answer_stores_nothing_but_its_validators(
    engine: Engine, server: FeedServer
) -> None:
    """The server lost its ETag (a redeploy, say) but the catalog is the same."""
    config = CatalogSource(feed_url=server.url)
    with session_factory(engine)() as session:
        refresh(session, config, NOW)
        server.publish(server.body, '"v1-again"', "Tue, 03 Mar 2026 07:15:00 GMT")
        with capture_logs() as logs:
            second = refresh(session, config, NOW + HOUR)
        third = refresh(session, config, NOW + 2 * HOUR)
        session.commit()

        assert 1 == snapshots(session)

    assert ("identical", 1) == (second.outcome, second.snapshot and second.snapshot.id)
    assert {"event": "catalog.snapshot.unchanged", "version": 1} == {
        key: value for key, value in logs[-1].items() if key in ("event", "version")
    }
    assert '"v1-again"' == server.requests[2]["If-None-Match"]
    assert "not-modified" == third.outcome


def test_a_changed_feed_becomes_version_2(engine: Engine, server: FeedServer) -> None:
    config = CatalogSource(feed_url=server.url)
    with session_factory(engine)() as session:
        refresh(session, config, NOW)
        session.commit()
    server.publish(feed(products=[]), '"v2"')

    with session_factory(engine)() as session:
        changed = refresh(session, config, NOW + HOUR)
        session.commit()

    with session_factory(engine)() as session:
        newest = latest(session)

        assert newest is not None
        assert (2, '"v2"', {}) == (newest.id, newest.etag, catalog_of(newest).products)
        assert NOW + HOUR == newest.fetched_at
    assert "stored" == changed.outcome


def test_decimals_come_back_exact(engine: Engine) -> None:
    catalog = exact_catalog()
    with session_factory(engine)() as session:
        store(session, "https://pot.example/feed.json", read_of(catalog), NOW)
        session.commit()

    with session_factory(engine)() as session:
        snapshot = latest(session)
        assert snapshot is not None
        back = catalog_of(snapshot)

    assert catalog == back
    assert ["4.80", "0.05", "99999999.99"] == [
        str(p.price) for p in back.products.values()
    ]
    assert ["0.25", "12.5", "100"] == [str(p.pack_size) for p in back.products.values()]
    assert datetime(2026, 3, 1, 12, 30, tzinfo=UTC) == back.products["1"].modified


def test_problems_are_kept_and_a_new_one_is_a_new_version(engine: Engine) -> None:
    problem = CatalogProblem(
        item="products[4]", column="price", message="missing", pot_id="5"
    )
    source = "https://pot.example/feed.json"
    with session_factory(engine)() as session:
        first = store(session, source, read_of(exact_catalog()), NOW)
        second = store(session, source, read_of(exact_catalog(), (problem,)), NOW)
        session.commit()

    with session_factory(engine)() as session:
        snapshot = latest(session)
        assert snapshot is not None

        assert [problem] == problems_of(snapshot)
    assert (1, 2) == (first and first.id, second and second.id)


def test_the_same_catalog_from_another_source_is_a_new_version(
    engine: Engine,
) -> None:
    with session_factory(engine)() as session:
        store(session, "https://pot.example/feed.json", read_of(exact_catalog()), NOW)
        other = store(session, "/srv/pot/sortiment.xlsx", read_of(exact_catalog()), NOW)

        assert (2, 2) == (other and other.id, snapshots(session))


def test_an_unchanged_answer_is_not_stored(engine: Engine) -> None:
    unchanged = Fetched(source="https://pot.example/feed.json", unchanged=True)
    with session_factory(engine)() as session:
        assert store(session, unchanged.source, unchanged, NOW) is None
        assert 0 == snapshots(session)


def test_a_sheet_is_read_again_only_when_it_changed(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "sortiment.csv"
    path.write_text(SHEET, encoding="utf-8")
    os.utime(path, (1_772_000_000, 1_772_000_000))
    config = CatalogSource(sheet=path)

    with session_factory(engine)() as session:
        first = refresh(session, config, NOW)
        again = refresh(session, config, NOW + HOUR)
        os.utime(path, (1_772_003_600, 1_772_003_600))
        touched = refresh(session, config, NOW + 2 * HOUR)
        path.write_text(SHEET.replace("24,80", "25,20"), encoding="utf-8")
        changed = refresh(session, config, NOW + 3 * HOUR)
        session.commit()

    assert ["stored", "not-modified", "not-modified", "stored"] == [
        r.outcome for r in (first, again, touched, changed)
    ]
    assert first.snapshot is not None
    assert changed.snapshot is not None
    assert ["line 3, column price"] == [p.where for p in problems_of(first.snapshot)]
    # the touch moved version 1's modification time, so the next poll is cheap
    assert "2026-02-25T07:13:20+00:00" == first.snapshot.last_modified
    assert (2, Decimal("25.20")) == (
        changed.snapshot.id,
        catalog_of(changed.snapshot).products["10452"].price,
    )
