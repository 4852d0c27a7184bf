"""Shared fixtures: the store on SQLite and on PostgreSQL, and a clock.

Every test that takes `engine` runs twice, once per database. PostgreSQL is the
machine's server on 127.0.0.1:5432 (database `test`); each pytest session works
in a database of its own, created here and dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from pot_bridge.mailcatcher import MailCatcher
from pot_bridge.sandbox import SandboxShop, seed_coop
from pot_bridge.store import make_engine, migrate
from pot_bridge.store.schema import Base

PG_SERVER = os.environ.get(
    "POT_BRIDGE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session, migrated once."""
    name = f"pot_bridge_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:  # pragma: no cover - depends on the machine
        pytest.fail(f"PostgreSQL at {PG_SERVER} is not usable: {exc}")
    url = PG_SERVER.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()

    yield url

    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies, instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # the last connection to close folds the WAL into the file
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """The URL of an empty, migrated store, once per database kind."""
    if request.param == "sqlite":
        path = tmp_path / "store.sqlite3"
        path.write_bytes(sqlite_template.read_bytes())
        yield f"sqlite:///{path}"
        return

    url = request.getfixturevalue("pg_url")
    yield url
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def shop() -> Iterator[SandboxShop]:
    """The seeded sandbox coop on a loopback port (real clock: OAuth checks it)."""
    with SandboxShop(seed_coop(datetime.now(UTC))) as running:
        yield running


@pytest.fixture
def mail() -> Iterator[MailCatcher]:
    """A real SMTP server on loopback."""
    with MailCatcher() as running:
        yield running
