"""money once: unpaid orders' hold deadline, the store's idempotency hash, console form nonces

``orders.expires_at`` is when an unpaid order's hold on its stock ends; orders placed before this
migration have none and keep their stock until the seller acts, as before. ``orders.idempotency_hash``
is the hash of what a store request with an idempotency key asked for. ``form_nonces`` records each
console form that took effect, so a second post of it is answered with the first result.

Revision ID: 0005_money_once
Revises: 0004
Create Date: 2026-11-30 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_money_once"
down_revision = "0005_identity_by_proof"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (SQLite has them): a batch rebuild would drop a table other tables point at.
    op.add_column("orders", sa.Column("idempotency_hash", sa.String(length=64), nullable=True))
    op.add_column("orders", sa.Column("expires_at", sa.DateTime(), nullable=True))
    op.create_table(
        "form_nonces",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_form_nonces")),
    )


def downgrade() -> None:
    op.drop_table("form_nonces")
    op.drop_column("orders", "expires_at")  # SQLite ≥ 3.35 drops a column in place
    op.drop_column("orders", "idempotency_hash")
