"""identity by proof: display names, identifiers, server-side sessions, sign-in codes

A person used to be the name typed at checkout. Now a name is only a display name; the seller's own
people (seller, resellers, staff, owners of outlet accounts) keep their handle for the CLI, and plain
buyers lose theirs. Each old ``contact`` becomes an unverified identifier of its person (phone-shaped →
phone, email-shaped → email, else a WeChat ID), and the column goes. Ids are kept.

SQLite cannot drop NOT NULL in place, and rebuilding ``identities`` (which every other table points
at) under foreign keys is not possible inside the migration's transaction; so ``handle`` loses its NOT
NULL by SQLite's documented procedure for removing a NOT NULL constraint (rewrite the table's schema
text under ``writable_schema``, bump ``schema_version``, check integrity): the stored rows do not change.

Revision ID: 0005_identity_by_proof
Revises: 0004
Create Date: 2026-11-24 09:00:00
"""

import re

import sqlalchemy as sa
from alembic import op

from weishang_core.identifiers import classify

revision = "0005_identity_by_proof"
down_revision = "0004"
branch_labels = None
depends_on = None


def _sqlite_handle_nullable(nullable: bool) -> None:
    bind = op.get_bind()
    sql = str(bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type='table' AND name='identities'").scalar())
    strict, loose = r"handle VARCHAR\(64\) NOT NULL", "handle VARCHAR(64)"
    if nullable:
        changed, count = re.subn(strict, loose, sql)
    else:
        changed, count = re.subn(r"handle VARCHAR\(64\)(?! NOT NULL)", "handle VARCHAR(64) NOT NULL", sql)
    if count != 1:
        raise RuntimeError(f"identities: unexpected schema for the handle column: {sql}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type='table' AND name='identities'", (changed,))
    bind.exec_driver_sql(f"PRAGMA schema_version={int(str(version)) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")
    problems = bind.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"identities: integrity check failed after the schema change: {problems}")


def _new_tables() -> None:
    op.create_table(
        "identifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["identity_id"], ["identities.id"], name=op.f("fk_identifiers_identity_id_identities")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identifiers")),
    )
    op.create_index(op.f("ix_identifiers_identity_id"), "identifiers", ["identity_id"])
    op.create_index("ix_identifiers_kind_value", "identifiers", ["kind", "value"])
    op.create_index(
        "uq_identifiers_verified",
        "identifiers",
        ["kind", "scope", "value"],
        unique=True,
        sqlite_where=sa.text("verified"),
        postgresql_where=sa.text("verified"),
    )
    op.create_table(
        "visitor_people",
        sa.Column("visitor_id", sa.String(length=64), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"], ["identities.id"], name=op.f("fk_visitor_people_identity_id_identities")
        ),
        sa.PrimaryKeyConstraint("visitor_id", name=op.f("pk_visitor_people")),
    )
    op.create_index(op.f("ix_visitor_people_identity_id"), "visitor_people", ["identity_id"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["identity_id"], ["identities.id"], name=op.f("fk_sessions_identity_id_identities")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sessions_token_hash")),
    )
    op.create_index(op.f("ix_sessions_identity_id"), "sessions", ["identity_id"])
    op.create_table(
        "signin_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_codes")),
    )
    op.create_index("ix_signin_codes_kind_value", "signin_codes", ["kind", "value", "created_at"])


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # A plain ADD COLUMN (SQLite has it): a batch rebuild would drop a table other tables point at.
    op.add_column("identities", sa.Column("display_name", sa.String(length=64), nullable=False, server_default=""))
    op.execute("UPDATE identities SET display_name = handle")
    if sqlite:
        _sqlite_handle_nullable(True)
    else:
        op.alter_column("identities", "handle", existing_type=sa.String(length=64), nullable=True)
    op.execute(
        "UPDATE identities SET handle = NULL WHERE NOT (is_seller OR is_reseller OR is_staff)"
        " AND id NOT IN (SELECT owner_id FROM outlet_accounts)"
    )
    _new_tables()
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, contact, created_at FROM identities WHERE contact IS NOT NULL")).all()
    moved = []
    for person_id, contact, created_at in rows:
        value = classify(contact)
        if value is not None:
            moved.append({"i": person_id, "k": value.kind, "v": value.value, "t": created_at})
    if moved:
        bind.execute(
            sa.text(
                "INSERT INTO identifiers (identity_id, kind, scope, value, verified, created_at)"
                " VALUES (:i, :k, '', :v, false, :t)"
            ),
            moved,
        )
    if sqlite:  # SQLite ≥ 3.35 drops a plain column in place; no table rebuild
        op.execute("ALTER TABLE identities DROP COLUMN contact")
    else:
        op.drop_column("identities", "contact")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column("identities", sa.Column("contact", sa.String(length=200), nullable=True))
    op.execute(
        "UPDATE identities SET contact = (SELECT value FROM identifiers WHERE identity_id = identities.id"
        " ORDER BY verified DESC, id LIMIT 1)"
    )
    # Plain buyers get a handle back; two buyers of one name get their id after it, as handles are unique.
    op.execute(
        "UPDATE identities SET handle = display_name WHERE handle IS NULL AND display_name NOT IN"
        " (SELECT handle FROM identities WHERE handle IS NOT NULL) AND id = (SELECT min(id) FROM identities o"
        " WHERE o.display_name = identities.display_name AND o.handle IS NULL)"
    )
    op.execute(
        "UPDATE identities SET handle = substr(display_name, 1, 50) || '#' || CAST(id AS VARCHAR(12))"
        " WHERE handle IS NULL"
    )
    for table in ("signin_codes", "sessions", "visitor_people", "identifiers"):
        op.drop_table(table)
    if sqlite:
        _sqlite_handle_nullable(False)
        op.execute("ALTER TABLE identities DROP COLUMN display_name")
    else:
        op.alter_column("identities", "handle", existing_type=sa.String(length=64), nullable=False)
        op.drop_column("identities", "display_name")
