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
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("is_staff", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "spent_tokens",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("spent_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_spent_tokens")),
    )


def downgrade() -> None:
    op.drop_table("spent_tokens")
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("is_staff")
