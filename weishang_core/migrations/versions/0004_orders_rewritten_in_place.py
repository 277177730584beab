"""orders: rewritten in place — no index on status, half of each page left free (PostgreSQL)

An order is rewritten four times in its life (paid, shipped, delivered, completed). When no changed column
is indexed and the page has room, PostgreSQL rewrites the row on its own page and touches no index (a HOT
update); the index on status, a column of six values that no query needs an index for, made every one of
those rewrites add an entry to each of the table's six indexes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 08:30:00
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_orders_status", table_name="orders")
    if op.get_bind().dialect.name == "postgresql":  # pages written from now on; existing ones as they turn over
        op.execute("ALTER TABLE orders SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE orders RESET (fillfactor)")
    op.create_index("ix_orders_status", "orders", ["status"])
