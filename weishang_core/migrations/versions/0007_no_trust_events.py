"""no trust events: the trust score's "interactions" part is gone, and its table with it

Nothing ever wrote ``trust_events`` (no plugin reported follows or shares), and a count anyone could
inflate must not shorten a hold on money; the score now comes from orders only (docs/decisions.md).

Revision ID: 0007_no_trust_events
Revises: 0006_money_once
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_no_trust_events"
down_revision = "0006_money_once"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_trust_events_identity_id", table_name="trust_events")
    op.drop_table("trust_events")


def downgrade() -> None:
    op.create_table(
        "trust_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"], ["identities.id"], name=op.f("fk_trust_events_identity_id_identities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_events")),
    )
    with op.batch_alter_table("trust_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trust_events_identity_id"), ["identity_id"], unique=False)
