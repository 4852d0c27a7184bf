"""Members: the shop's customers, mirrored for names and e-mail addresses.

WooCommerce cannot filter customers by modification date, so the whole list is
read, in id order, but only every few hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pot_bridge.config import CoopConfig
from pot_bridge.cursor import SyncResult, advance, skip
from pot_bridge.errors import SkipItemError
from pot_bridge.shop.client import ShopClient
from pot_bridge.shop.wire import Customer, parse_customer
from pot_bridge.store.schema import Member, SyncCursor

MEMBER_SCAN_EVERY = timedelta(hours=6)


def pull_members(
    coop: CoopConfig,
    client: ShopClient,
    sessions: sessionmaker[Session],
    now: datetime,
    result: SyncResult,
) -> None:
    """Customers have no modified filter: scan them all, but only every few hours."""
    with sessions() as session:
        cursor = session.get(SyncCursor, (coop.slug, "members"))
        if cursor is not None and now - cursor.cursor_gmt < MEMBER_SCAN_EVERY:
            return
    params = {"role": "all", "orderby": "id", "order": "asc", "per_page": 100}
    for page in client.iter_pages("customers", params):
        with sessions.begin() as session, session.no_autoflush:
            ids = [r["id"] for r in page.items if isinstance(r, dict) and "id" in r]
            members = {
                m.customer_id: m
                for m in session.scalars(
                    select(Member).where(
                        Member.coop == coop.slug, Member.customer_id.in_(ids)
                    )
                )
            }
            for raw in page.items:
                try:
                    customer = parse_customer(raw, coop.slug)
                except SkipItemError as exc:
                    ident = raw.get("id") if isinstance(raw, dict) else "?"
                    skip(session, coop, f"customer {ident}", str(exc), now, result)
                    continue
                upsert_member(session, coop.slug, customer, now, members)
                result.members_seen += 1
    with sessions.begin() as session:
        advance(session, coop.slug, "members", now, now)


def upsert_member(
    session: Session,
    coop: str,
    customer: Customer,
    now: datetime,
    members: dict[int, Member],
) -> None:
    row = members.get(customer.id)
    if row is None:
        row = members[customer.id] = Member(coop=coop, customer_id=customer.id)
        session.add(row)
    row.email = (customer.email or "").strip().lower()
    row.first_name = customer.first_name or ""
    row.last_name = customer.last_name or ""
    row.modified_gmt = customer.date_modified_gmt
    row.synced_at = now
