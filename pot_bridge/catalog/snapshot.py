"""Versions of the central catalog: every import that changed something, kept.

A snapshot holds what one import read: the catalog, the problems met, and the
validators that make the next poll cheap (the feed's ETag and Last-Modified;
for a sheet, its hash and modification time). Its id is its version, so the
shops can be planned against "version 7" and a change shows as a new number.

The content hash covers the normalized catalog *and* its problems: an import
that differs only in what it could not read is a new version too, so the
admin sees what the latest import really said. An import identical to the
latest snapshot of the same source stores nothing; only that snapshot's
validators are brought up to date, so the next poll can be a 304.

Limits: every version keeps the whole catalog, and nothing here prunes old
ones. Versions grow but may skip a number (PostgreSQL spends an id on a write
that rolled back). Two refreshes at once could both store the same version;
the daemon runs one catalog job at a time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import requests
import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge.catalog.feed import fetch
from pot_bridge.catalog.model import (
    Catalog,
    CatalogProblem,
    CatalogRead,
    CentralProducer,
    CentralProduct,
)
from pot_bridge.catalog.sheet import (
    file_etag,
    file_stamp,
    read_bytes,
    read_sheet,
    sheet_source,
)
from pot_bridge.config import CatalogSource
from pot_bridge.errors import ConfigError
from pot_bridge.store.schema import CatalogSnapshot

log = structlog.get_logger(__name__)

Outcome = Literal["stored", "identical", "not-modified"]


@dataclass(frozen=True)
class Refreshed:
    """What a refresh did; `snapshot` is the latest one after it (None: none yet).

    `stored`: a new version; `identical`: read, but the same as the latest;
    `not-modified`: the source said or showed it had not changed, nothing read.
    """

    outcome: Outcome
    snapshot: CatalogSnapshot | None

    @property
    def changed(self) -> bool:
        return self.outcome == "stored"


def latest(session: Session) -> CatalogSnapshot | None:
    return session.scalars(
        select(CatalogSnapshot).order_by(CatalogSnapshot.id.desc()).limit(1)
    ).first()


def store(
    session: Session, source: str, read: CatalogRead, now: datetime
) -> CatalogSnapshot | None:
    """Keep `read` as a new version, unless it equals the latest one.

    Returns the new snapshot, or the latest one when nothing changed, or None
    when `read` carries no catalog (the feed answered 304).
    """
    if read.catalog is None:
        return None
    source = source[:500]
    producers, products, problems = _normalized(read.catalog, read.problems)
    digest = content_hash(producers, products, problems)

    current = latest(session)
    if (
        current is not None
        and current.source == source
        and current.content_hash == digest
    ):
        current.etag = _fitting(read.etag, 200)
        current.last_modified = _fitting(read.last_modified, 100)
        session.flush()
        log.info("catalog.snapshot.unchanged", version=current.id, source=source)
        return current

    snapshot = CatalogSnapshot(
        source=source,
        fetched_at=now,
        etag=_fitting(read.etag, 200),
        last_modified=_fitting(read.last_modified, 100),
        content_hash=digest,
        producers=producers,
        products=products,
        problems=problems,
    )
    session.add(snapshot)
    session.flush()
    log.info(
        "catalog.snapshot.stored",
        version=snapshot.id,
        source=source,
        producers=len(producers),
        products=len(products),
        problems=len(problems),
    )

    return snapshot


def catalog_of(snapshot: CatalogSnapshot) -> Catalog:
    """The stored catalog as models again; amounts come back as exact Decimals."""
    producers = [CentralProducer.model_validate(p) for p in snapshot.producers]
    products = [CentralProduct.model_validate(p) for p in snapshot.products]

    return Catalog(
        producers={p.pot_id: p for p in producers},
        products={p.pot_id: p for p in products},
    )


def problems_of(snapshot: CatalogSnapshot) -> list[CatalogProblem]:
    return [CatalogProblem.model_validate(p) for p in snapshot.problems]


def content_hash(
    producers: list[dict[str, object]],
    products: list[dict[str, object]],
    problems: list[dict[str, object]],
) -> str:
    """SHA-256 of the normalized JSON: sorted keys, sorted by POT ID, no spaces."""
    document = {"producers": producers, "products": products, "problems": problems}
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def refresh(
    session: Session,
    source_config: CatalogSource,
    now: datetime,
    http: requests.Session | None = None,
) -> Refreshed:
    """Read the configured source if it changed, and store a version if new."""
    previous = latest(session)
    if source_config.feed_url is not None:
        fetched = fetch(source_config, previous, http)
        if fetched.unchanged:
            return Refreshed("not-modified", previous)
        return _stored(session, fetched.source, fetched, now, previous)

    path = source_config.sheet
    if path is None:
        raise ConfigError("the catalog source has neither feed_url nor sheet")
    source = sheet_source(path)
    same = previous if previous is not None and previous.source == source else None

    stamp = file_stamp(path)
    if same is not None and same.last_modified == stamp:
        log.debug("catalog.sheet.unchanged", path=source, version=same.id)
        return Refreshed("not-modified", previous)
    if same is not None and same.etag == file_etag(read_bytes(path)):
        same.last_modified = stamp  # touched, not changed
        session.flush()
        log.info("catalog.sheet.touched", path=source, version=same.id)
        return Refreshed("not-modified", previous)

    return _stored(session, source, read_sheet(path), now, previous)


def _stored(
    session: Session,
    source: str,
    read: CatalogRead,
    now: datetime,
    previous: CatalogSnapshot | None,
) -> Refreshed:
    snapshot = store(session, source, read, now)
    if snapshot is None or (previous is not None and snapshot.id == previous.id):
        return Refreshed("identical", snapshot)

    return Refreshed("stored", snapshot)


def _normalized(
    catalog: Catalog, problems: tuple[CatalogProblem, ...]
) -> tuple[list[dict[str, object]], list[dict[str, object]], list[dict[str, object]]]:
    """JSON-ready lists, sorted by POT ID; Decimals as their exact strings."""
    return (
        [
            catalog.producers[k].model_dump(mode="json")
            for k in sorted(catalog.producers)
        ],
        [catalog.products[k].model_dump(mode="json") for k in sorted(catalog.products)],
        [problem.model_dump(mode="json") for problem in problems],
    )


def _fitting(value: str, length: int) -> str:
    # A validator too long for its column is dropped: the next poll reads all.
    return value if len(value) <= length else ""
