"""console: staff identities and spent single-use sign-in tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 21:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite has it): a batch rebuild would drop a table other tables point at.
    op.add_column("identities", sa.Column("is_staff", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "spent_tokens",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("spent_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_spent_tokens")),
    )


def downgrade() -> None:
    op.drop_table("spent_tokens")
    if op.get_bind().dialect.name == "sqlite":  # SQLite ≥ 3.35 drops a column in place; no table rebuild
        op.execute("ALTER TABLE identities DROP COLUMN is_staff")
    else:
        op.drop_column("identities", "is_staff")
