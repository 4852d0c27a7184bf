"""central catalog snapshots and items

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import pot_bridge.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coop", sa.String(length=64), nullable=False),
        sa.Column("pot_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=True),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("pushed", sa.JSON(), nullable=False),
        sa.Column("owned", sa.JSON(), nullable=False),
        sa.Column("image_src", sa.String(length=1000), nullable=False),
        sa.Column("image_id", sa.BigInteger(), nullable=True),
        sa.Column("held", sa.JSON(), nullable=False),
        sa.Column("snapshot_pk", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("updated_at", pot_bridge.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_item")),
        sa.UniqueConstraint("coop", "pot_id", name=op.f("uq_catalog_item_coop")),
    )
    op.create_table(
        "catalog_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("fetched_at", pot_bridge.store.types.UtcDateTime(), nullable=False),
        sa.Column("etag", sa.String(length=200), nullable=False),
        sa.Column("last_modified", sa.String(length=100), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("producers", sa.JSON(), nullable=False),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_snapshot")),
    )


def downgrade() -> None:
    op.drop_table("catalog_snapshot")
    op.drop_table("catalog_item")
