"""clicks: an index to find recent clicks from one address (click spam is counted once per window)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 01:00:00
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_clicks_ip_created", "clicks", ["ip_hash", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_clicks_ip_created", table_name="clicks")
