"""member credit ledger

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import pot_bridge.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coop", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("balance", pot_bridge.store.types.Rappen(), nullable=False),
        sa.Column("opened_at", pot_bridge.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_account")),
        sa.UniqueConstraint("coop", "code", name=op.f("uq_ledger_account_coop")),
    )
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coop", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("booked_at", pot_bridge.store.types.UtcDateTime(), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("reversal_of", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reversal_of"],
            ["ledger_entry.id"],
            name=op.f("fk_ledger_entry_reversal_of_ledger_entry"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entry")),
        sa.UniqueConstraint("coop", "key", name=op.f("uq_ledger_entry_coop")),
        sa.UniqueConstraint("reversal_of", name=op.f("uq_ledger_entry_reversal_of")),
    )
    op.create_table(
        "ledger_posting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_pk", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("amount", pot_bridge.store.types.Rappen(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_pk"],
            ["ledger_account.id"],
            name=op.f("fk_ledger_posting_account_pk_ledger_account"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_pk"],
            ["ledger_entry.id"],
            name=op.f("fk_ledger_posting_entry_pk_ledger_entry"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_posting")),
    )
    with op.batch_alter_table("ledger_posting", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_posting_account", ["account_pk"], unique=False)
        batch_op.create_index("ix_ledger_posting_entry", ["entry_pk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger_posting", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_posting_entry")
        batch_op.drop_index("ix_ledger_posting_account")

    op.drop_table("ledger_posting")
    op.drop_table("ledger_entry")
    op.drop_table("ledger_account")
