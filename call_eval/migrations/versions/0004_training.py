"""Training and calibration: a trainee's self-assessment of a practice call (frozen once
they see the suggestions), and saved rubric versions (text + advice, one active for new
analyses).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "self_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ticks", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_self_assessments_recording_id_recordings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_self_assessments_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_assessments")),
    )
    op.create_index(
        op.f("ix_self_assessments_recording_id"), "self_assessments", ["recording_id"], unique=True
    )
    op.create_index(op.f("ix_self_assessments_user_id"), "self_assessments", ["user_id"])

    op.create_table(
        "rubric_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rubric_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("advice_text", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rubric_versions")),
        sa.UniqueConstraint("rubric_id", "version", name=op.f("uq_rubric_versions_rubric_id")),
    )
    op.create_index(op.f("ix_rubric_versions_rubric_id"), "rubric_versions", ["rubric_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rubric_versions_rubric_id"), table_name="rubric_versions")
    op.drop_table("rubric_versions")
    op.drop_index(op.f("ix_self_assessments_user_id"), table_name="self_assessments")
    op.drop_index(op.f("ix_self_assessments_recording_id"), table_name="self_assessments")
    op.drop_table("self_assessments")
