"""The store: a mirror of what the shops hold, and the bridge's own state.

Mirrored rows (members, products, orders, lines, refunds) are upserted by the
shop's ids and may be overwritten by a later pull. The bridge's own rows (cursors,
rounds, group orders, outgoing mail, problems) are only ever written here.
Money is integer Rappen (see `types.Rappen`), quantities exact decimal text.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from pot_bridge.store.types import Quantity, Rappen, UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Member(Base):
    """A WooCommerce customer of one coop."""

    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("coop", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coop: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(BigInteger)
    email: Mapped[str] = mapped_column(String(254), default="")
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    modified_gmt: Mapped[datetime | None] = mapped_column(UtcDateTime())
    synced_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Product(Base):
    """A shop product as last pulled, for the producer of lines that lack it."""

    __tablename__ = "product"
    __table_args__ = (UniqueConstraint("coop", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coop: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[int] = mapped_column(BigInteger)
    sku: Mapped[str] = mapped_column(String(100), default="")
    name: Mapped[str] = mapped_column(String(400), default="")
    producer: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(100), default="")
    pack_size: Mapped[str] = mapped_column(String(32), default="")
    pot_id: Mapped[str] = mapped_column(String(64), default="")
    synced_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Order(Base):
    """A member's order as the shop holds it, with the round it belongs to."""

    __tablename__ = "shop_order"
    __table_args__ = (
        UniqueConstraint("coop", "order_id"),
        Index("ix_shop_order_round", "coop", "round_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coop: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int] = mapped_column(BigInteger, default=0)
    email: Mapped[str] = mapped_column(String(254), default="")
    member_name: Mapped[str] = mapped_column(String(400), default="")
    payment_method: Mapped[str] = mapped_column(String(100), default="")
    pickup_place: Mapped[str] = mapped_column(String(200), default="")
    created_via: Mapped[str] = mapped_column(String(40), default="")
    plugin_round_id: Mapped[int | None] = mapped_column(BigInteger)
    round_key: Mapped[str | None] = mapped_column(String(64))
    created_gmt: Mapped[datetime | None] = mapped_column(UtcDateTime())
    modified_gmt: Mapped[datetime | None] = mapped_column(UtcDateTime())
    total: Mapped[Decimal] = mapped_column(Rappen())
    content_hash: Mapped[str] = mapped_column(String(64))
    synced_at: Mapped[datetime] = mapped_column(UtcDateTime())

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="OrderLine.item_id",
    )


class OrderLine(Base):
    """One line of an order; `amount` is what the member paid (total plus tax)."""

    __tablename__ = "order_line"
    __table_args__ = (UniqueConstraint("order_pk", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_pk: Mapped[int] = mapped_column(
        ForeignKey("shop_order.id", ondelete="CASCADE")
    )
    item_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int] = mapped_column(BigInteger, default=0)
    variation_id: Mapped[int] = mapped_column(BigInteger, default=0)
    name: Mapped[str] = mapped_column(String(400))
    sku: Mapped[str] = mapped_column(String(100), default="")
    unit: Mapped[str] = mapped_column(String(100), default="")
    producer: Mapped[str | None] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    amount: Mapped[Decimal] = mapped_column(Rappen())

    order: Mapped[Order] = relationship(back_populates="lines")


class Refund(Base):
    """A refund on an order, keyed by the shop's refund id."""

    __tablename__ = "refund"
    __table_args__ = (UniqueConstraint("coop", "refund_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coop: Mapped[str] = mapped_column(String(64))
    refund_id: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal] = mapped_column(Rappen())
    reason: Mapped[str] = mapped_column(Text, default="")
    # the shop's `refunded_payment`: the gateway paid it back (for the POT
    # wallet: credited the member); None for refunds pulled before it was kept
    refunded_payment: Mapped[bool | None] = mapped_column(Boolean)
    created_gmt: Mapped[datetime | None] = mapped_column(UtcDateTime())
    synced_at: Mapped[datetime] = mapped_column(UtcDateTime())

    lines: Mapped[list[RefundLine]] = relationship(
        back_populates="refund", cascade="all, delete-orphan"
    )


class RefundLine(Base):
    """What a refund takes back from one order line (negative numbers)."""

    __tablename__ = "refund_line"
    __table_args__ = (UniqueConstraint("refund_pk", "line_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_pk: Mapped[int] = mapped_column(ForeignKey("refund.id", ondelete="CASCADE"))
    line_id: Mapped[int] = mapped_column(BigInteger)
    item_id: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    amount: Mapped[Decimal] = mapped_column(Rappen())

    refund: Mapped[Refund] = relationship(back_populates="lines")


class SyncCursor(Base):
    """How far a stream of a coop has been pulled completely."""

    __tablename__ = "sync_cursor"

    coop: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream: Mapped[str] = mapped_column(String(40), primary_key=True)
    cursor_gmt: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Round(Base):
    """An ordering round of a coop; `key` is `plugin:<id>` or `schedule:<date>`."""

    __tablename__ = "round"
    __table_args__ = (UniqueConstraint("coop", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coop: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    opens_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closes_at: Mapped[datetime] = mapped_column(UtcDateTime())
    distribution_day: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    group_orders: Mapped[list[GroupOrder]] = relationship(
        back_populates="round", order_by="GroupOrder.producer"
    )


class GroupOrder(Base):
    """One producer's order for one round, as last mailed (or held) by the bridge.

    `status`: `sent` (queued to the producer), `held` (below the producer's
    minimum, waiting for the admin), `cancelled` (below the minimum and not
    ordered), `pooled` (goes out in the producer's consolidated e-mail).
    `version` counts the e-mails: 1 is the order, every further one a correction.
    """

    __tablename__ = "group_order"
    __table_args__ = (UniqueConstraint("round_pk", "producer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_pk: Mapped[int] = mapped_column(ForeignKey("round.id"))
    producer: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="sent")
    version: Mapped[int] = mapped_column(Integer, default=1)
    total: Mapped[Decimal] = mapped_column(Rappen())
    content_hash: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[datetime] = mapped_column(UtcDateTime())

    round: Mapped[Round] = relationship(back_populates="group_orders")
    lines: Mapped[list[GroupOrderLine]] = relationship(
        back_populates="group_order",
        cascade="all, delete-orphan",
        order_by="GroupOrderLine.position",
    )
    shares: Mapped[list[MemberShare]] = relationship(
        back_populates="group_order",
        cascade="all, delete-orphan",
        order_by="MemberShare.id",
    )


class GroupOrderLine(Base):
    """One product of a group order: what members ordered, what the producer gets.

    `ordered` is the members' total; `quantity` what is ordered from the
    producer after the pack policy (`packs` whole packs of `pack_size`).
    """

    __tablename__ = "group_order_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_order_pk: Mapped[int] = mapped_column(
        ForeignKey("group_order.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(BigInteger, default=0)
    sku: Mapped[str] = mapped_column(String(100), default="")
    pot_id: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(400))
    unit: Mapped[str] = mapped_column(String(100), default="")
    pack_size: Mapped[Decimal | None] = mapped_column(Quantity())
    packs: Mapped[Decimal | None] = mapped_column(Quantity())
    ordered: Mapped[Decimal] = mapped_column(Quantity())
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_price: Mapped[Decimal] = mapped_column(Rappen())
    amount: Mapped[Decimal] = mapped_column(Rappen())

    group_order: Mapped[GroupOrder] = relationship(back_populates="lines")


class MemberShare(Base):
    """What one member's order line gets of a group order, and why."""

    __tablename__ = "member_share"
    __table_args__ = (Index("ix_member_share_order", "order_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_order_pk: Mapped[int] = mapped_column(
        ForeignKey("group_order.id", ondelete="CASCADE")
    )
    order_id: Mapped[int] = mapped_column(BigInteger)
    item_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int] = mapped_column(BigInteger, default=0)
    customer_id: Mapped[int] = mapped_column(BigInteger, default=0)
    member_name: Mapped[str] = mapped_column(String(400), default="")
    pickup_place: Mapped[str] = mapped_column(String(200), default="")
    ordered: Mapped[Decimal] = mapped_column(Quantity())
    allocated: Mapped[Decimal] = mapped_column(Quantity())
    reason: Mapped[str] = mapped_column(Text, default="")

    group_order: Mapped[GroupOrder] = relationship(back_populates="shares")


class Delivery(Base):
    """What a producer really delivered of one product, entered by an admin."""

    __tablename__ = "delivery"
    __table_args__ = (UniqueConstraint("round_pk", "producer", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_pk: Mapped[int] = mapped_column(ForeignKey("round.id"))
    producer: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[int] = mapped_column(BigInteger)
    delivered: Mapped[Decimal] = mapped_column(Quantity())
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ConsolidatedOrder(Base):
    """One producer's e-mail for several coops' group orders of one delivery day.

    `lines` keeps what the producer was last told (per product, over all coops),
    to show what a correction changes.
    """

    __tablename__ = "consolidated_order"
    __table_args__ = (UniqueConstraint("identity", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identity: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))
    lines: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ShopRefund(Base):
    """A refund the bridge creates in the shop: written here first, then sent.

    `key` names the cause (a member's line and the quantity it should have been
    refunded in total), so the same refund is never asked for twice. `status`:
    `pending` (not yet confirmed by the shop), `created` (the shop's refund id is
    known), `failed` (the shop refused it; an admin looks at it).
    """

    __tablename__ = "shop_refund"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_shop_refund_due", "coop", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    coop: Mapped[str] = mapped_column(String(64))
    round_key: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int] = mapped_column(BigInteger)
    item_id: Mapped[int] = mapped_column(BigInteger)
    product_name: Mapped[str] = mapped_column(String(400), default="")
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    refund_id: Mapped[int | None] = mapped_column(BigInteger)
    amount: Mapped[Decimal | None] = mapped_column(Rappen())
    api_refund: Mapped[bool | None] = mapped_column(Boolean)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CatalogSnapshot(Base):
    """One import of the central catalog, kept as it was read.

    `etag` and `last_modified` make the next fetch conditional; `problems` are
    the rows that could not be read (line, column, message).
    """

    __tablename__ = "catalog_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(500))
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime())
    etag: Mapped[str] = mapped_column(String(200), default="")
    last_modified: Mapped[str] = mapped_column(String(100), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    producers: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    products: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    problems: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)


class CatalogItem(Base):
    """A central product in one coop's shop, as the bridge last pushed it.

    `pushed` holds the value of each field the bridge wrote; when the shop's
    value differs from it later, the coop edited that field itself and it joins
    `owned`, never to be overwritten. `held` is a price change waiting for an
    open round to close.
    """

    __tablename__ = "catalog_item"
    __table_args__ = (UniqueConstraint("coop", "pot_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coop: Mapped[str] = mapped_column(String(64))
    pot_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[int | None] = mapped_column(BigInteger)
    sku: Mapped[str] = mapped_column(String(100), default="")
    listed: Mapped[bool] = mapped_column(Boolean, default=True)
    pushed: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    owned: Mapped[list[str]] = mapped_column(JSON, default=list)
    image_src: Mapped[str] = mapped_column(String(1000), default="")
    image_id: Mapped[int | None] = mapped_column(BigInteger)
    held: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    snapshot_pk: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OutboxMessage(Base):
    """An e-mail to send exactly once; `key` names its cause and makes it unique.

    States: queued → sending → sent, or failing (retried with backoff), or
    uncertain (the bridge stopped while the SMTP server had the message: an
    admin decides, since sending again could give the producer a duplicate).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    coop: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    attachments: Mapped[list[OutboxAttachment]] = relationship(
        back_populates="message",
        cascade="all, delete-orphan",
        order_by="OutboxAttachment.id",
    )


class OutboxAttachment(Base):
    __tablename__ = "outbox_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)

    message: Mapped[OutboxMessage] = relationship(back_populates="attachments")


class Problem(Base):
    """Something a coop admin must look at, reported once and counted after."""

    __tablename__ = "problem"
    __table_args__ = (UniqueConstraint("coop", "kind", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coop: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    times_seen: Mapped[int] = mapped_column(Integer, default=1)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class LedgerAccount(Base):
    """One account of a coop's credit ledger, with its balance kept current.

    `code` is `member:<WordPress user id>` for a member's credit or one of the
    coop's fixed accounts (`bank`, `sales`, `fees`, `corrections`, `refunds`).
    `balance` is changed only together with the postings (see `pot_bridge.ledger`).
    """

    __tablename__ = "ledger_account"
    __table_args__ = (UniqueConstraint("coop", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coop: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))
    balance: Mapped[Decimal] = mapped_column(Rappen(), default=Decimal(0))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())


class JournalEntry(Base):
    """One booked cause (a top-up, an order, a refund, a wallet row): never changed.

    `key` names the cause, so it is booked once per coop; `reversal_of` points at
    the entry a reversal takes back, and at most one reversal may do so.
    """

    __tablename__ = "ledger_entry"
    __table_args__ = (UniqueConstraint("coop", "key"), UniqueConstraint("reversal_of"))

    id: Mapped[int] = mapped_column(primary_key=True)
    coop: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    booked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    effective: Mapped[date] = mapped_column(Date)
    reversal_of: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))

    postings: Mapped[list[Posting]] = relationship(
        back_populates="entry", order_by="Posting.id"
    )


class Posting(Base):
    """One line of an entry: + credits the account, − debits it."""

    __tablename__ = "ledger_posting"
    __table_args__ = (
        Index("ix_ledger_posting_entry", "entry_pk"),
        Index("ix_ledger_posting_account", "account_pk"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_pk: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"))
    account_pk: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    amount: Mapped[Decimal] = mapped_column(Rappen())

    entry: Mapped[JournalEntry] = relationship(back_populates="postings")
    account: Mapped[LedgerAccount] = relationship()


class BankCredit(Base):
    """A credit read from a bank file (camt.053/054): a possible member top-up.

    Keyed by the account's IBAN and the bank's reference, so reading a file again
    adds nothing. `status`: `review` (no member, or a doubt; an admin decides),
    `matched` (a member, not yet booked), `booked` (in the ledger; the wallet
    row is a `WalletWrite` keyed by `entry_key`), `ignored` (not a top-up).
    """

    __tablename__ = "bank_credit"
    __table_args__ = (
        UniqueConstraint("coop", "iban", "bank_ref"),
        Index("ix_bank_credit_status", "coop", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coop: Mapped[str] = mapped_column(String(64))
    iban: Mapped[str] = mapped_column(String(34))
    bank_ref: Mapped[str] = mapped_column(String(120))
    amount: Mapped[Decimal] = mapped_column(Rappen())
    currency: Mapped[str] = mapped_column(String(3), default="CHF")
    booked_on: Mapped[date | None] = mapped_column(Date)
    value_on: Mapped[date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text, default="")
    debtor: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(400), default="")
    member: Mapped[int | None] = mapped_column(BigInteger)
    matched_by: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    entry_key: Mapped[str | None] = mapped_column(String(200))
    read_at: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_note: Mapped[str] = mapped_column(Text, default="")


class WalletWrite(Base):
    """A row the bridge must add to the plugin's wallet exactly once.

    Stored in the transaction that books its ledger entry, before the shop is
    asked; `key` (the entry's key) is written into the row's details, so after
    a crash the member's rows tell whether the shop already holds it.
    `status`: `pending`, `sending` (a flush claimed it at `claimed_at`; other
    processes leave it alone until the claim's lease runs out), `written`
    (`row_id` set) or `failed` (`last_error`).
    """

    __tablename__ = "wallet_write"
    __table_args__ = (
        UniqueConstraint("coop", "key"),
        Index("ix_wallet_write_status", "coop", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coop: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    member: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal] = mapped_column(Rappen())
    details: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    row_id: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    written_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WalletLink(Base):
    """What one of the plugin's wallet rows was taken as: matched to a ledger
    entry booked from the shop (`matched`), booked from the row itself
    (`booked`), or neither yet (`unmatched`, a reconciliation finding)."""

    __tablename__ = "wallet_link"
    __table_args__ = (
        UniqueConstraint("coop", "row_id"),
        Index("ix_wallet_link_entry", "coop", "entry_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coop: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[int] = mapped_column(BigInteger)
    member: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal] = mapped_column(Rappen())
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    entry_key: Mapped[str | None] = mapped_column(String(200))
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Reconciliation(Base):
    """One reconciliation of a coop's credit: the ledger against the shop."""

    __tablename__ = "reconciliation"
    __table_args__ = (Index("ix_reconciliation_coop", "coop", "ran_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coop: Mapped[str] = mapped_column(String(64))
    ran_at: Mapped[datetime] = mapped_column(UtcDateTime())
    members: Mapped[int] = mapped_column(Integer, default=0)
    wallet_rows: Mapped[int] = mapped_column(Integer, default=0)
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    findings: Mapped[list[ReconciliationFinding]] = relationship(
        back_populates="run", order_by="ReconciliationFinding.id"
    )


class ReconciliationFinding(Base):
    """Something that does not add up, with its exact amount and, where one
    fits, the correction proposed for the member (`correction`, + credits)."""

    __tablename__ = "reconciliation_finding"
    __table_args__ = (Index("ix_reconciliation_finding_run", "run_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("reconciliation.id"))
    kind: Mapped[str] = mapped_column(String(40))
    member: Mapped[int | None] = mapped_column(BigInteger)
    amount: Mapped[Decimal | None] = mapped_column(Rappen())
    row_id: Mapped[int | None] = mapped_column(BigInteger)
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str] = mapped_column(Text, default="")
    correction: Mapped[Decimal | None] = mapped_column(Rappen())
    correction_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open")

    run: Mapped[Reconciliation] = relationship(back_populates="findings")


class PublishedBalance(Base):
    """Ledger mode: the balance last written to a member's customer meta_data."""

    __tablename__ = "published_balance"
    __table_args__ = (UniqueConstraint("coop", "member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coop: Mapped[str] = mapped_column(String(64))
    member: Mapped[int] = mapped_column(BigInteger)
    balance: Mapped[Decimal] = mapped_column(Rappen())
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())
