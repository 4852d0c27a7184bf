"""The e-mails a group order causes: to the producer, and to the coop's admin.

Every mail is queued in the outbox under a key naming its cause, in the same
transaction as the group order it tells of, so it goes out exactly once.

The PDFs of a big round take a while to lay out. They depend on nothing but
the group order, so they are kept by content: `close.prepare` lays them out
before the closing transaction begins, and the transaction finds them ready
instead of holding the store's write lock while ReportLab works.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from pot_bridge import documents, outbox, pdf
from pot_bridge.config import CoopConfig, Language, ProducerConfig
from pot_bridge.group_order import GroupOrderView, ProductTotal


@lru_cache(maxsize=256)
def _group_order_pdf(view: GroupOrderView, lang: Language, zone: ZoneInfo) -> bytes:
    return pdf.group_order_pdf(view, lang, zone)


@lru_cache(maxsize=4)
def _distribution_pdf(
    views: tuple[GroupOrderView, ...], lang: Language, zone: ZoneInfo
) -> bytes:
    return pdf.distribution_pdf(views, lang, zone)


def order_key(view: GroupOrderView, version: int = 1) -> str:
    key = f"group-order:{view.coop_slug}:{view.round_key}:{view.producer}"
    return key if version == 1 else f"{key}:v{version}"


def attachments(
    view: GroupOrderView, contact: ProducerConfig, zone_coop: CoopConfig
) -> list[outbox.Attachment]:
    """The group order as PDF to read and CSV to import (and by member, if packed so)."""
    lang = contact.language
    files = [
        outbox.Attachment(
            filename=documents.attachment_name(view, "pdf"),
            content_type="application/pdf",
            content=_group_order_pdf(view, lang, zone_coop.zone),
        ),
        outbox.Attachment(
            filename=documents.attachment_name(view, "csv"),
            content_type="text/csv; charset=utf-8",
            content=documents.group_order_csv(view, lang),
        ),
    ]
    if view.per_member:
        files.append(
            outbox.Attachment(
                filename=documents.attachment_name(view, "csv", part="members"),
                content_type="text/csv; charset=utf-8",
                content=documents.member_csv(view, lang),
            )
        )
    return files


def queue_order(
    session: Session,
    coop: CoopConfig,
    view: GroupOrderView,
    contact: ProducerConfig,
    now: datetime,
) -> None:
    """The producer's order for the round, the first mail of its group order."""
    assert contact.email is not None
    subject, body = documents.producer_email(view, contact.language, zone=coop.zone)
    outbox.enqueue(
        session,
        key=order_key(view),
        coop=coop.slug,
        recipient=contact.email,
        subject=subject,
        body=body,
        attachments=attachments(view, contact, coop),
        now=now,
    )


def queue_resend(
    session: Session,
    coop: CoopConfig,
    view: GroupOrderView,
    contact: ProducerConfig,
    now: datetime,
) -> int:
    """The producer's current order once more, by an admin's hand; its number."""
    assert contact.email is not None
    prefix = f"{order_key(view)}:resend"
    number = outbox.count_keys(session, prefix) + 1
    subject, body = documents.producer_email(view, contact.language, zone=coop.zone)
    outbox.enqueue(
        session,
        key=f"{prefix}{number}",
        coop=coop.slug,
        recipient=contact.email,
        subject=subject,
        body=body,
        attachments=attachments(view, contact, coop),
        now=now,
    )
    return number


def queue_correction(
    session: Session,
    coop: CoopConfig,
    previous: Sequence[ProductTotal],
    view: GroupOrderView,
    version: int,
    contact: ProducerConfig,
    now: datetime,
) -> None:
    """What changed since the producer's last mail, with the new documents."""
    assert contact.email is not None
    # version 2 is the first correction: the producer reads "correction 1"
    subject, body = documents.correction_email(
        previous, view, version - 1, contact.language, coop.zone
    )
    outbox.enqueue(
        session,
        key=order_key(view, version),
        coop=coop.slug,
        recipient=contact.email,
        subject=subject,
        body=body,
        attachments=attachments(view, contact, coop) if view.lines else [],
        now=now,
    )


def queue_minimum_notice(
    session: Session,
    coop: CoopConfig,
    view: GroupOrderView,
    minimum: tuple[Decimal | None, Decimal | None],
    now: datetime,
) -> bool:
    """Tell the admin at once that a producer's order is below its minimum."""
    if not coop.admin_email:
        return False
    subject, body = documents.minimum_email(
        view, minimum[0], minimum[1], coop.below_minimum, coop.language, coop.zone
    )
    outbox.enqueue(
        session,
        key=f"minimum:{coop.slug}:{view.round_key}:{view.producer}",
        coop=coop.slug,
        recipient=coop.admin_email,
        subject=subject,
        body=body,
        attachments=[
            outbox.Attachment(
                filename=documents.attachment_name(view, "pdf"),
                content_type="application/pdf",
                content=_group_order_pdf(view, coop.language, coop.zone),
            )
        ],
        now=now,
    )
    return True


def queue_distribution(
    session: Session,
    coop: CoopConfig,
    round_key: str,
    views: Sequence[GroupOrderView],
    now: datetime,
) -> bool:
    """The list for the people who hand out the goods, to the coop's admin.

    Keyed by what it says: after a short delivery, a correction or an admin's
    decision the list is queued again only if who gets what has changed.
    """
    if not coop.admin_email or not views:
        return False
    key = f"distribution:{coop.slug}:{round_key}:{distribution_digest(views)}"
    if outbox.exists(session, key):
        return False
    subject, body = documents.distribution_email(views, coop.language, coop.zone)
    outbox.enqueue(
        session,
        key=key,
        coop=coop.slug,
        recipient=coop.admin_email,
        subject=subject,
        body=body,
        attachments=[distribution_attachment(coop, views)],
        now=now,
    )
    return True


def distribution_digest(views: Sequence[GroupOrderView]) -> str:
    """A short fingerprint of who collects what, and what comes from whom."""
    text = (
        "\n".join(
            f"{view.producer}|{share.order_id}|{share.item_id}|{share.allocated}"
            for view in views
            for share in view.shares
        )
        + "\n"
        + "\n".join(
            f"{view.producer}|{line.product_id}|{line.quantity}"
            for view in views
            for line in view.lines
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def distribution_attachment(
    coop: CoopConfig, views: Sequence[GroupOrderView]
) -> outbox.Attachment:
    return outbox.Attachment(
        filename=documents.distribution_name(views[0]),
        content_type="application/pdf",
        content=_distribution_pdf(tuple(views), coop.language, coop.zone),
    )
