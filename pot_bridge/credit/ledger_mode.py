"""Ledger mode: a shop without the POT plugin, where the bridge's ledger is the book.

Orders paid with the coop's credit methods and their refunds are booked by
`pot_bridge.credit.orders.book_orders` as in plugin mode. Members see their
credit because the bridge publishes each balance into their WooCommerce
customer's `meta_data` (under `credit.balance_meta_key`, as "12.50"), for the
shop's theme to show. A balance is written only when it differs from the one
last published (`PublishedBalance`); the row is stored after the shop took the
value, so a crash in between only writes the same value once more.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge import problems
from pot_bridge.config import CoopConfig
from pot_bridge.errors import ConfigError, ShopNotFound, ShopRejected
from pot_bridge.ledger import balances
from pot_bridge.ledger.accounts import member_id
from pot_bridge.money import format_chf
from pot_bridge.shop.client import ShopClient
from pot_bridge.store.schema import PublishedBalance

log = structlog.get_logger(__name__)

UNKNOWN_CUSTOMER = "credit.customer_unknown"
NOT_PUBLISHED = "credit.balance_not_published"


def meta_value(balance: Decimal) -> str:
    """A balance as the meta value: plain digits, a point, two places."""
    return f"{balance:.2f}"


def due_balances(session: Session, coop: str) -> list[tuple[int, Decimal]]:
    """(member, balance) for each member whose balance differs from the one
    last published, or was never published; by member number."""
    published = dict(
        session.execute(
            select(PublishedBalance.member, PublishedBalance.balance).where(
                PublishedBalance.coop == coop
            )
        )
        .tuples()
        .all()
    )
    due = []
    for code, balance in balances(session, coop).items():
        number = member_id(code)
        if number is not None and published.get(number) != balance:
            due.append((number, balance))

    return sorted(due)


def publish_balances(
    sessions: sessionmaker[Session],
    coop: CoopConfig,
    client: ShopClient,
    now: datetime,
) -> int:
    """Write every changed balance to its customer; the number written.

    A customer the shop does not know (404) or refuses to update is a problem
    naming the coop and the member, and the others go on. A shop that is down
    stops the run (`RetryLaterError`); what was written stays recorded.
    """
    if coop.credit.mode != "ledger":
        raise ConfigError(
            "balances are published only in ledger mode; in plugin mode the "
            "plugin's wallet shows them",
            coop=coop.slug,
        )
    with sessions() as session:
        due = due_balances(session, coop.slug)

    written = 0
    for number, balance in due:
        if _publish(sessions, coop, client, number, balance, now):
            written += 1

    log.info("credit.balances.published", coop=coop.slug, due=len(due), written=written)
    return written


def _publish(
    sessions: sessionmaker[Session],
    coop: CoopConfig,
    client: ShopClient,
    number: int,
    balance: Decimal,
    now: datetime,
) -> bool:
    key = coop.credit.balance_meta_key
    value = meta_value(balance)
    subject = f"member {number}"
    try:
        client.put(f"customers/{number}", {"meta_data": [{"key": key, "value": value}]})
    except ShopNotFound:
        _problem(
            sessions,
            coop,
            UNKNOWN_CUSTOMER,
            subject,
            f"member {number} has a balance of {format_chf(balance)} CHF in the "
            f"ledger, but the shop has no customer {number}: the balance is not "
            "published",
            now,
        )
        return False
    except ShopRejected as refused:
        _problem(
            sessions,
            coop,
            NOT_PUBLISHED,
            subject,
            f"the shop refused the balance of member {number}: {refused.message}",
            now,
        )
        return False

    with sessions.begin() as session:
        _remember(session, coop.slug, number, balance, now)
        for kind in (UNKNOWN_CUSTOMER, NOT_PUBLISHED):
            problems.resolve(
                session, coop=coop.slug, kind=kind, subject=subject, now=now
            )
    log.debug("credit.balance.published", coop=coop.slug, member=number, value=value)
    return True


def _remember(
    session: Session, coop: str, number: int, balance: Decimal, now: datetime
) -> None:
    row = session.scalars(
        select(PublishedBalance).where(
            PublishedBalance.coop == coop, PublishedBalance.member == number
        )
    ).one_or_none()
    if row is None:
        row = PublishedBalance(coop=coop, member=number)
        session.add(row)
    row.balance = balance
    row.published_at = now


def _problem(
    sessions: sessionmaker[Session],
    coop: CoopConfig,
    kind: str,
    subject: str,
    text: str,
    now: datetime,
) -> None:
    with sessions.begin() as session:
        problems.report(
            session,
            coop=coop.slug,
            kind=kind,
            subject=subject,
            message=f"coop {coop.slug}: {text}",
            now=now,
        )
