"""One e-mail per delivery day for a producer who supplies several coops.

A producer listed with the same `identity` in several coops, and with
`consolidate = true`, gets one order for a delivery day: each coop's
quantities and delivery point, and the total. Each coop's own group order and
distribution list stay separate (its group order is `pooled`, not mailed). The
mail goes out once every coop that has a round on that day has closed it; a
later change in any of them sends one correction, as for a single coop.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from pot_bridge import documents, outbox, pdf
from pot_bridge.config import CoopConfig, ProducerConfig, Settings
from pot_bridge.group_order import GroupOrderView, ProductTotal, empty_view
from pot_bridge.group_order_store import stored_lines
from pot_bridge.money import ZERO
from pot_bridge.store.schema import ConsolidatedOrder, GroupOrder, Round

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Member:
    """One coop's entry for a network producer."""

    coop: CoopConfig
    producer: ProducerConfig


def network(settings: Settings) -> dict[str, list[Member]]:
    """Producers who asked for one mail, by identity, with the coops they supply."""
    found: dict[str, list[Member]] = {}
    for coop in settings.coops:
        for producer in coop.producers:
            if producer.identity and producer.consolidate:
                found.setdefault(producer.identity, []).append(Member(coop, producer))
    return found


def consolidate(settings: Settings, session: Session, now: datetime) -> int:
    """Queue the consolidated mails (and corrections) that are due; their count."""
    queued = 0
    for identity, members in sorted(network(settings).items()):
        for day in _open_days(session, members):
            queued += _one_day(session, identity, members, day, now)
    return queued


def _open_days(session: Session, members: Sequence[Member]) -> list[date]:
    """Delivery days with a pooled group order of this producer."""
    days: set[date] = set()
    for member in members:
        rows = session.execute(
            select(Round.distribution_day)
            .join(GroupOrder, GroupOrder.round_pk == Round.id)
            .where(
                Round.coop == member.coop.slug,
                GroupOrder.producer == member.producer.name,
                GroupOrder.status == "pooled",
                Round.distribution_day.is_not(None),
            )
        )
        days.update(day for (day,) in rows if day is not None)
    return sorted(days)


def _one_day(
    session: Session,
    identity: str,
    members: Sequence[Member],
    day: date,
    now: datetime,
) -> int:
    views = []
    for member in members:
        rounds = list(
            session.scalars(
                select(Round).where(
                    Round.coop == member.coop.slug, Round.distribution_day == day
                )
            )
        )
        if any(r.closed_at is None for r in rounds):
            return 0  # a coop still takes orders for this day: wait for it
        for round_ in rounds:
            row = next(
                (
                    g
                    for g in round_.group_orders
                    if g.producer == member.producer.name and g.status == "pooled"
                ),
                None,
            )
            if row is not None and row.lines:
                views.append(view_of(member.coop, round_, row))
    if not views:
        return 0

    totals = totals_of(views)
    digest = hashlib.sha256(
        "\n".join(f"{v.coop_slug}|{v.round_key}|{_hash(v)}" for v in views).encode()
    ).hexdigest()
    sent = session.scalars(
        select(ConsolidatedOrder).where(
            ConsolidatedOrder.identity == identity, ConsolidatedOrder.day == day
        )
    ).one_or_none()
    if sent is not None and sent.content_hash == digest:
        return 0

    contact = members[0].producer
    if not contact.email:
        return 0
    lang = contact.language
    zone = members[0].coop.zone
    if sent is None:
        subject, body = documents.consolidated_email(views, lang, zone)
        sent = ConsolidatedOrder(identity=identity, day=day, version=1, lines=[])
        session.add(sent)
        key = f"consolidated:{identity}:{day.isoformat()}"
    else:
        previous = [_from_json(line) for line in sent.lines]
        sent.version += 1
        subject, body = documents.correction_email(
            previous,
            totals,
            sent.version - 1,
            lang,
            zone,
            files={
                "pdf": documents.consolidated_name(views, "pdf"),
                "csv": documents.consolidated_name(views, "csv"),
                "members_csv": None,
            },
        )
        key = f"consolidated:{identity}:{day.isoformat()}:v{sent.version}"
    sent.content_hash = digest
    sent.lines = [_to_json(line) for line in totals.lines]
    sent.sent_at = now

    outbox.enqueue(
        session,
        key=key,
        coop=members[0].coop.slug,
        recipient=contact.email,
        subject=subject,
        body=body,
        attachments=[
            outbox.Attachment(
                filename=documents.consolidated_name(views, "pdf"),
                content_type="application/pdf",
                content=pdf.consolidated_pdf(views, lang, zone),
            ),
            outbox.Attachment(
                filename=documents.consolidated_name(views, "csv"),
                content_type="text/csv; charset=utf-8",
                content=documents.consolidated_csv(views, lang),
            ),
        ],
        now=now,
    )
    session.flush()
    log.info(
        "consolidated.queued",
        identity=identity,
        day=day.isoformat(),
        version=sent.version,
        coops=len(views),
        total=str(totals.total),
    )
    return 1


def view_of(coop: CoopConfig, round_: Round, row: GroupOrder) -> GroupOrderView:
    """A coop's pooled group order as it was stored."""
    lines = stored_lines(row)
    return replace(
        empty_view(coop, round_, row.producer),
        lines=lines,
        total=sum((line.amount for line in lines), ZERO),
    )


def totals_of(views: Sequence[GroupOrderView]) -> GroupOrderView:
    """All coops' quantities summed per product: what the producer delivers in all."""
    summed: dict[tuple[str, str, str], ProductTotal] = {}
    for view in views:
        for line in view.lines:
            key = (line.pot_id or line.sku or line.name, line.name, line.unit)
            seen = summed.get(key)
            if seen is None:
                summed[key] = line
                continue
            summed[key] = ProductTotal(
                product_id=seen.product_id,
                sku=seen.sku,
                pot_id=seen.pot_id,
                name=seen.name,
                unit=seen.unit,
                pack_size=seen.pack_size,
                packs=_add(seen.packs, line.packs),
                ordered=seen.ordered + line.ordered,
                quantity=seen.quantity + line.quantity,
                unit_price=seen.unit_price,
                amount=seen.amount + line.amount,
                by_weight=seen.by_weight,
            )
    lines = tuple(sorted(summed.values(), key=lambda p: (p.name.casefold(), p.sku)))
    first = views[0]
    return GroupOrderView(
        coop_slug=first.coop_slug,
        coop_name=", ".join(v.coop_name for v in views),
        coop_email=first.coop_email,
        producer=first.producer,
        round_key=first.round_key,
        round_name=first.round_name,
        closes_at=max(v.closes_at for v in views),
        distribution_day=first.distribution_day,
        lines=lines,
        total=sum((p.amount for p in lines), ZERO),
    )


def _add(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return None if a is None or b is None else a + b


def _hash(view: GroupOrderView) -> str:
    return "|".join(f"{p.product_id}:{p.quantity}:{p.amount}" for p in view.lines)


def _to_json(line: ProductTotal) -> dict[str, str]:
    return {
        "product_id": str(line.product_id),
        "sku": line.sku,
        "pot_id": line.pot_id,
        "name": line.name,
        "unit": line.unit,
        "pack_size": "" if line.pack_size is None else str(line.pack_size),
        "packs": "" if line.packs is None else str(line.packs),
        "ordered": str(line.ordered),
        "quantity": str(line.quantity),
        "unit_price": str(line.unit_price),
        "amount": str(line.amount),
    }


def _from_json(data: dict[str, str]) -> ProductTotal:
    return ProductTotal(
        product_id=int(data["product_id"]),
        sku=data["sku"],
        pot_id=data["pot_id"],
        name=data["name"],
        unit=data["unit"],
        pack_size=Decimal(data["pack_size"]) if data["pack_size"] else None,
        packs=Decimal(data["packs"]) if data["packs"] else None,
        ordered=Decimal(data["ordered"]),
        quantity=Decimal(data["quantity"]),
        unit_price=Decimal(data["unit_price"]),
        amount=Decimal(data["amount"]),
    )
