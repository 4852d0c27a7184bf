"""group orders for producers and members

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import pot_bridge.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consolidated_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("sent_at", pot_bridge.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consolidated_order")),
        sa.UniqueConstraint(
            "identity", "day", name=op.f("uq_consolidated_order_identity")
        ),
    )
    op.create_table(
        "shop_refund",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("coop", sa.String(length=64), nullable=False),
        sa.Column("round_key", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("product_name", sa.String(length=400), nullable=False),
        sa.Column(
            "quantity", pot_bridge.store.types.Quantity(length=32), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("refund_id", sa.BigInteger(), nullable=True),
        sa.Column("amount", pot_bridge.store.types.Rappen(), nullable=True),
        sa.Column("api_refund", sa.Boolean(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", pot_bridge.store.types.UtcDateTime(), nullable=False),
        sa.Column("done_at", pot_bridge.store.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_refund")),
        sa.UniqueConstraint("key", name=op.f("uq_shop_refund_key")),
    )
    with op.batch_alter_table("shop_refund", schema=None) as batch_op:
        batch_op.create_index("ix_shop_refund_due", ["coop", "status"], unique=False)

    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_pk", sa.Integer(), nullable=False),
        sa.Column("producer", sa.String(length=200), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "delivered", pot_bridge.store.types.Quantity(length=32), nullable=False
        ),
        sa.Column("entered_at", pot_bridge.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_pk"], ["round.id"], name=op.f("fk_delivery_round_pk_round")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
        sa.UniqueConstraint(
            "round_pk", "producer", "product_id", name=op.f("uq_delivery_round_pk")
        ),
    )
    op.create_table(
        "member_share",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_order_pk", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("member_name", sa.String(length=400), nullable=False),
        sa.Column("pickup_place", sa.String(length=200), nullable=False),
        sa.Column(
            "ordered", pot_bridge.store.types.Quantity(length=32), nullable=False
        ),
        sa.Column(
            "allocated", pot_bridge.store.types.Quantity(length=32), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_order_pk"],
            ["group_order.id"],
            name=op.f("fk_member_share_group_order_pk_group_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_share")),
    )
    with op.batch_alter_table("member_share", schema=None) as batch_op:
        batch_op.create_index(
            "ix_member_share_order", ["order_id", "item_id"], unique=False
        )

    with op.batch_alter_table("group_order", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status", sa.String(length=20), nullable=False, server_default="sent"
            )
        )
        batch_op.add_column(
            sa.Column("version", sa.Integer(), nullable=False, server_default="1")
        )

    with op.batch_alter_table("group_order_line", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pot_id", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column(
                "pack_size", pot_bridge.store.types.Quantity(length=32), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "packs", pot_bridge.store.types.Quantity(length=32), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "ordered",
                pot_bridge.store.types.Quantity(length=32),
                nullable=False,
                server_default="0",
            )
        )

    # group orders built before this revision ordered what members ordered
    op.execute("UPDATE group_order_line SET ordered = quantity")

    with op.batch_alter_table("shop_order", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "pickup_place", sa.String(length=200), nullable=False, server_default=""
            )
        )


def downgrade() -> None:
    op.drop_table("consolidated_order")
    with op.batch_alter_table("shop_order", schema=None) as batch_op:
        batch_op.drop_column("pickup_place")

    with op.batch_alter_table("group_order_line", schema=None) as batch_op:
        batch_op.drop_column("ordered")
        batch_op.drop_column("packs")
        batch_op.drop_column("pack_size")
        batch_op.drop_column("pot_id")

    with op.batch_alter_table("group_order", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("status")

    with op.batch_alter_table("member_share", schema=None) as batch_op:
        batch_op.drop_index("ix_member_share_order")

    op.drop_table("member_share")
    op.drop_table("delivery")
    with op.batch_alter_table("shop_refund", schema=None) as batch_op:
        batch_op.drop_index("ix_shop_refund_due")

    op.drop_table("shop_refund")
