"""Exam sessions: the session (date, place, the two épreuves, manager), its jury, its
candidates with their recording, attempt and decision, the jury's final tick per criterion,
appeals (recours) and the dysfunction log (fiche de suivi des dysfonctionnements).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exam_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("session_date", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("epreuves", sa.JSON(), nullable=True),
        sa.Column("manager_user_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("pass_ratio", sa.Float(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["manager_user_id"],
            ["users.id"],
            name=op.f("fk_exam_sessions_manager_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_sessions")),
    )
    op.create_index(op.f("ix_exam_sessions_manager_user_id"), "exam_sessions", ["manager_user_id"])
    op.create_index(op.f("ix_exam_sessions_session_date"), "exam_sessions", ["session_date"])

    op.create_table(
        "session_jurors",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("juror_id", sa.Integer(), nullable=False),
        sa.Column("quality", sa.String(length=20), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["juror_id"], ["jurors.id"], name=op.f("fk_session_jurors_juror_id_jurors")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["exam_sessions.id"],
            name=op.f("fk_session_jurors_session_id_exam_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "juror_id", name=op.f("pk_session_jurors")),
    )
    op.create_index(op.f("ix_session_jurors_juror_id"), "session_jurors", ["juror_id"])

    op.create_table(
        "session_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("experience_justified", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("acquis", sa.Integer(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("deliberation_note", sa.Text(), nullable=False),
        sa.Column("annulled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_session_candidates_candidate_id_candidates"),
        ),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_session_candidates_recording_id_recordings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["exam_sessions.id"],
            name=op.f("fk_session_candidates_session_id_exam_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_candidates")),
        sa.UniqueConstraint(
            "session_id", "candidate_id", name=op.f("uq_session_candidates_session_id")
        ),
    )
    op.create_index(
        op.f("ix_session_candidates_candidate_id"), "session_candidates", ["candidate_id"]
    )
    op.create_index(
        op.f("ix_session_candidates_recording_id"),
        "session_candidates",
        ["recording_id"],
        unique=True,
    )
    op.create_index(op.f("ix_session_candidates_session_id"), "session_candidates", ["session_id"])

    op.create_table(
        "deliberation_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_candidate_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("tick", sa.String(length=20), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_candidate_id"],
            ["session_candidates.id"],
            name=op.f("fk_deliberation_items_session_candidate_id_session_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliberation_items")),
        sa.UniqueConstraint(
            "session_candidate_id",
            "criterion_id",
            name=op.f("uq_deliberation_items_session_candidate_id"),
        ),
    )
    op.create_index(
        op.f("ix_deliberation_items_session_candidate_id"),
        "deliberation_items",
        ["session_candidate_id"],
    )

    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("session_candidate_id", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("motives", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_candidate_id"],
            ["session_candidates.id"],
            name=op.f("fk_appeals_session_candidate_id_session_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["exam_sessions.id"],
            name=op.f("fk_appeals_session_id_exam_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    op.create_index(op.f("ix_appeals_session_candidate_id"), "appeals", ["session_candidate_id"])
    op.create_index(op.f("ix_appeals_session_id"), "appeals", ["session_id"])

    op.create_table(
        "dysfunctions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["exam_sessions.id"],
            name=op.f("fk_dysfunctions_session_id_exam_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dysfunctions")),
    )
    op.create_index(op.f("ix_dysfunctions_session_id"), "dysfunctions", ["session_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_dysfunctions_session_id"), table_name="dysfunctions")
    op.drop_table("dysfunctions")
    op.drop_index(op.f("ix_appeals_session_id"), table_name="appeals")
    op.drop_index(op.f("ix_appeals_session_candidate_id"), table_name="appeals")
    op.drop_table("appeals")
    op.drop_index(
        op.f("ix_deliberation_items_session_candidate_id"), table_name="deliberation_items"
    )
    op.drop_table("deliberation_items")
    for name in ("session_id", "recording_id", "candidate_id"):
        op.drop_index(op.f(f"ix_session_candidates_{name}"), table_name="session_candidates")
    op.drop_table("session_candidates")
    op.drop_index(op.f("ix_session_jurors_juror_id"), table_name="session_jurors")
    op.drop_table("session_jurors")
    op.drop_index(op.f("ix_exam_sessions_session_date"), table_name="exam_sessions")
    op.drop_index(op.f("ix_exam_sessions_manager_user_id"), table_name="exam_sessions")
    op.drop_table("exam_sessions")
