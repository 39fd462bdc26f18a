"""Accounts and ownership: users with roles (argon2 hashes), signed-in sessions, the
juror's eligibility, practice recordings owned by a trainee, and who/which session in the
audit log.

Existing tables only gain plain columns (``ALTER TABLE … ADD COLUMN``): SQLite never
rebuilds them, so the audit log keeps its triggers and no cascade can fire.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _drop_columns(table: str, columns: Sequence[str]) -> None:
    """Drop plain columns without rebuilding the table (SQLite ≥ 3.35 drops natively)."""
    if op.get_bind().dialect.name == "sqlite":
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        for column in columns:
            op.drop_column(table, column)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("juror_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["juror_id"],
            ["jurors.id"],
            name=op.f("fk_users_juror_id_jurors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_juror_id"), "users", ["juror_id"], unique=True)

    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_roles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_user_roles")),
    )

    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_auth_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_sessions_token_hash")),
    )
    op.create_index(op.f("ix_auth_sessions_user_id"), "auth_sessions", ["user_id"], unique=False)

    op.add_column("jurors", sa.Column("organisation", sa.String(length=200), nullable=True))
    op.add_column("jurors", sa.Column("years_experience", sa.Float(), nullable=True))
    op.add_column("jurors", sa.Column("left_trade_on", sa.Date(), nullable=True))
    op.add_column("jurors", sa.Column("briefing_on", sa.Date(), nullable=True))

    op.add_column(
        "recordings",
        sa.Column("purpose", sa.String(length=20), server_default="exam", nullable=False),
    )
    op.add_column("recordings", sa.Column("owner_user_id", sa.Integer(), nullable=True))
    op.create_index(
        op.f("ix_recordings_owner_user_id"), "recordings", ["owner_user_id"], unique=False
    )

    op.add_column("audit_log", sa.Column("user_id", sa.Integer(), nullable=True))
    op.add_column("audit_log", sa.Column("session_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_audit_log_session_id"), "audit_log", ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_log_session_id"), table_name="audit_log")
    _drop_columns("audit_log", ["session_id", "user_id"])
    op.drop_index(op.f("ix_recordings_owner_user_id"), table_name="recordings")
    _drop_columns("recordings", ["owner_user_id", "purpose"])
    _drop_columns("jurors", ["briefing_on", "left_trade_on", "years_experience", "organisation"])
    op.drop_index(op.f("ix_auth_sessions_user_id"), table_name="auth_sessions")
    op.drop_table("auth_sessions")
    op.drop_table("user_roles")
    op.drop_index(op.f("ix_users_juror_id"), table_name="users")
    op.drop_table("users")
