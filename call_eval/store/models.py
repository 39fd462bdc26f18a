"""SQLAlchemy 2 typed ORM models: the database schema.

The schema is created and changed only by Alembic migrations (``call_eval/migrations``);
``tests/test_store.py`` checks that the migrations and these models agree.

Tables
------
candidates, jurors        people; a juror carries their eligibility (years in the trade,
                          date they left it, the 2-hour briefing)
users, user_roles         sign-in accounts (argon2 hash) and their roles; a juror account
                          points at its ``jurors`` row
auth_sessions             signed-in browser sessions (hash of the token, expiry)
recordings                one uploaded call: original file kept in the data directory;
                          ``purpose`` exam (a candidate's, attached to a session) or
                          practice (a trainee's own, ``owner_user_id``)
analyses                  one pipeline run on a recording (full JSON output, reusable by key)
evaluations               one per juror per recording: status, lock
evaluation_items          one per criterion of an evaluation: suggestion, juror's tick, comment
exam_sessions             an exam session: date, place, the two épreuves, manager, status
session_jurors            the jury of a session (FILEA representative or professional)
session_candidates        a candidate sitting a session: recording, attempt, decision
deliberation_items        the jury's final tick per criterion for a session candidate
appeals                   recours filed by a candidate about a session, and their outcome
dysfunctions              fiche de suivi des dysfonctionnements of a session
audit_log                 append-only journal of every change (guarded by triggers)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class CandidateRow(Base):
    __tablename__ = "candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JurorRow(Base):
    __tablename__ = "jurors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Eligibility (référentiel: 3 years in the trade, not left it more than 5 years ago,
    # the 2-hour briefing attended). Unknown values are None (and warned about).
    organisation: Mapped[str | None] = mapped_column(String(200), nullable=True)
    years_experience: Mapped[float | None] = mapped_column(Float, nullable=True)
    left_trade_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    briefing_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class RecordingRow(Base):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(300))
    # Path of the kept original, relative to the data directory (None: no file kept).
    stored_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    format: Mapped[str] = mapped_column(String(20))
    input_kind: Mapped[str] = mapped_column(String(20), default="audio")  # audio | transcript
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    candidate_id: Mapped[int | None] = mapped_column(
        ForeignKey("candidates.id", ondelete="SET NULL"), nullable=True, index=True
    )
    script_questions: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    crm_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # exam: a candidate's call (seen by the jury of its session); practice: a trainee's own.
    purpose: Mapped[str] = mapped_column(String(20), default="exam", server_default="exam")
    # The trainee owning a practice call. A plain integer (users are deactivated, never
    # deleted): adding a foreign key to this existing table would make SQLite rebuild it.
    owner_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)

    candidate: Mapped[CandidateRow | None] = relationship()


class AnalysisRow(Base):
    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    # Hash of (content sha256, models, rubric, options): equal key, reusable analysis.
    cache_key: Mapped[str] = mapped_column(String(64), unique=True)
    schema_version: Mapped[str] = mapped_column(String(20))
    asr_model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    diarization_backend: Mapped[str | None] = mapped_column(String(50), nullable=True)
    nlp_model: Mapped[str | None] = mapped_column(String(100), nullable=True)
    rubric_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    rubric_version: Mapped[str | None] = mapped_column(String(50), nullable=True)
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    timings: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    suggested_acquis: Mapped[int | None] = mapped_column(Integer, nullable=True)
    criteria_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class EvaluationRow(Base):
    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("recording_id", "juror_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    juror_id: Mapped[int] = mapped_column(ForeignKey("jurors.id"), index=True)
    analysis_id: Mapped[int | None] = mapped_column(
        ForeignKey("analyses.id", ondelete="SET NULL"), nullable=True
    )
    # a_analyser | analyse | en_revue | valide
    status: Mapped[str] = mapped_column(String(20), default="analyse")
    pass_ratio: Mapped[float] = mapped_column(Float, default=0.7)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    validated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    items: Mapped[list[EvaluationItemRow]] = relationship(
        back_populates="evaluation",
        order_by="EvaluationItemRow.position",
        cascade="all, delete-orphan",
    )


class EvaluationItemRow(Base):
    __tablename__ = "evaluation_items"
    __table_args__ = (UniqueConstraint("evaluation_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), index=True
    )
    criterion_id: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    manual: Mapped[bool] = mapped_column(default=False)
    suggested: Mapped[str | None] = mapped_column(String(20), nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    tick: Mapped[str | None] = mapped_column(String(20), nullable=True)  # acquis | non_acquis
    comment: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("jurors.id"), nullable=True)

    evaluation: Mapped[EvaluationRow] = relationship(back_populates="items")


class AuditRow(Base):
    """One change. Rows are only ever inserted (triggers reject UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_recording_at", "recording_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    juror_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Plain integers, no foreign keys: the journal outlives what it talks about.
    recording_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    evaluation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    criterion_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    session_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)


# --------------------------------------------------------------------------- accounts
class UserRow(Base):
    """A sign-in account. ``password_hash`` is an argon2id hash (never a password)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    juror_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurors.id", ondelete="SET NULL"), nullable=True, unique=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )

    roles: Mapped[list[UserRoleRow]] = relationship(
        cascade="all, delete-orphan", order_by="UserRoleRow.role", lazy="selectin"
    )


class UserRoleRow(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class AuthSessionRow(Base):
    """A signed-in browser session: only the SHA-256 of its random token is stored."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# --------------------------------------------------------------------------- exam sessions
class ExamSessionRow(Base):
    __tablename__ = "exam_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    session_date: Mapped[date] = mapped_column(Date, index=True)
    place: Mapped[str] = mapped_column(String(300))
    # {"mise_en_situation": {"heure": "09:00", "salle": "…", "sujet": "…"},
    #  "entretien_technique": {...}}
    epreuves: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    manager_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="preparation")  # | close
    pass_ratio: Mapped[float] = mapped_column(Float, default=0.7)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_by: Mapped[int | None] = mapped_column(Integer, nullable=True)


class SessionJurorRow(Base):
    __tablename__ = "session_jurors"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    juror_id: Mapped[int] = mapped_column(ForeignKey("jurors.id"), primary_key=True, index=True)
    quality: Mapped[str] = mapped_column(String(20))  # filea | professionnel
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SessionCandidateRow(Base):
    __tablename__ = "session_candidates"
    __table_args__ = (UniqueConstraint("session_id", "candidate_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), index=True
    )
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    recording_id: Mapped[int | None] = mapped_column(
        ForeignKey("recordings.id", ondelete="SET NULL"), nullable=True, unique=True, index=True
    )
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    origin: Mapped[str] = mapped_column(String(20), default="initiale")  # | rattrapage | recours
    experience_justified: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="inscrit")  # | absent | decide
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    acquis: Mapped[int | None] = mapped_column(Integer, nullable=True)
    total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    deliberation_note: Mapped[str] = mapped_column(Text, default="")
    # A well-founded appeal voids the sitting: it no longer counts as an attempt.
    annulled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    items: Mapped[list[DeliberationItemRow]] = relationship(
        order_by="DeliberationItemRow.position", cascade="all, delete-orphan"
    )


class DeliberationItemRow(Base):
    __tablename__ = "deliberation_items"
    __table_args__ = (UniqueConstraint("session_candidate_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_candidate_id: Mapped[int] = mapped_column(
        ForeignKey("session_candidates.id", ondelete="CASCADE"), index=True
    )
    criterion_id: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    tick: Mapped[str | None] = mapped_column(String(20), nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_by: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AppealRow(Base):
    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), index=True
    )
    session_candidate_id: Mapped[int] = mapped_column(
        ForeignKey("session_candidates.id", ondelete="CASCADE"), index=True
    )
    received_on: Mapped[date] = mapped_column(Date)
    motives: Mapped[str] = mapped_column(Text)
    # recu | en_instruction | fonde | non_recevable
    status: Mapped[str] = mapped_column(String(20), default="recu")
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decided_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    decided_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DysfunctionRow(Base):
    __tablename__ = "dysfunctions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), index=True
    )
    observed_on: Mapped[date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text, default="")  # corrective action
    status: Mapped[str] = mapped_column(String(20), default="ouvert")  # | en_cours | traite
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SelfAssessmentRow(Base):
    """A trainee's own ticks on one of their practice calls, made before they see the
    tool's suggestions (``revealed_at`` set: the ticks are frozen)."""

    __tablename__ = "self_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), unique=True, index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    ticks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RubricVersionRow(Base):
    """One saved version of a rubric (and the advice texts that go with it). Rows are never
    changed once written, except ``active`` (the version new analyses use)."""

    __tablename__ = "rubric_versions"
    __table_args__ = (UniqueConstraint("rubric_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rubric_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    advice_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(300), default="")  # file path, or "édition"
    based_on: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
