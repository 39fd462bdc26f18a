"""Practice calls: a trainee's self-assessment, and their attempts over time.

A trainee ticks their own assessment of each criterion *before* seeing the tool's
suggestions; asking to see them (:func:`reveal_suggestions`) freezes the ticks, so the
side-by-side comparison stays honest. Only the trainee who owns a practice call ticks it;
a trainer (or an administrator) reads every trainee's calls, another trainee none
(:mod:`.access`). Every change is in the audit log and committed at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from call_eval.auth import TRAINEE, AccessDenied, User, require
from call_eval.store import access
from call_eval.store.db import Database
from call_eval.store.models import (
    AnalysisRow,
    RecordingRow,
    SelfAssessmentRow,
    UserRoleRow,
    UserRow,
    utcnow,
)
from call_eval.store.repo import (
    TICKS,
    Recording,
    StoreError,
    _audit,
    _recording,
    _recording_row,
    _utc,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SelfAssessment:
    """A trainee's own ticks on one practice call (``{criterion id: acquis|non_acquis}``)."""

    recording_id: int
    user_id: int | None
    ticks: Mapping[str, str] = field(default_factory=dict)
    updated_at: datetime | None = None
    revealed_at: datetime | None = None

    @property
    def revealed(self) -> bool:
        """True once the trainee has seen the suggestions (the ticks are then frozen)."""
        return self.revealed_at is not None


@dataclass(frozen=True)
class PracticeAttempt:
    """One practice call of a trainee, with what the progress view needs."""

    recording: Recording
    owner_name: str
    analysis_id: int | None
    analyzed_at: datetime | None
    suggested_acquis: int | None
    criteria_total: int | None
    self_assessment: SelfAssessment


@dataclass(frozen=True)
class Trainee:
    id: int
    username: str
    display_name: str
    practice_calls: int


def _self_assessment(row: SelfAssessmentRow | None, recording_id: int) -> SelfAssessment:
    if row is None:
        return SelfAssessment(recording_id=recording_id, user_id=None)
    return SelfAssessment(
        recording_id=row.recording_id,
        user_id=row.user_id,
        ticks=dict(row.ticks or {}),
        updated_at=_utc(row.updated_at),
        revealed_at=_utc(row.revealed_at),
    )


def _practice_row(s: Session, actor: User, recording_id: int) -> RecordingRow:
    row = _recording_row(s, recording_id)
    access.check_recording_read(s, actor, row)
    if row.purpose != access.PRACTICE:
        raise StoreError(
            "Cet appel est un appel d'examen : l'auto-évaluation ne concerne que les appels "
            "d'entraînement (page « Mes entraînements »)."
        )
    return row


def _owned_row(s: Session, actor: User, recording_id: int) -> RecordingRow:
    """The practice recording if ``actor`` is the trainee who owns it."""
    row = _practice_row(s, actor, recording_id)
    if TRAINEE not in actor.roles or row.owner_user_id != actor.id:
        raise AccessDenied(
            "Seul le stagiaire qui a déposé cet appel d'entraînement fait son auto-évaluation."
        )
    return row


def _latest_analysis_row(s: Session, recording_id: int) -> AnalysisRow | None:
    return s.scalars(
        select(AnalysisRow)
        .where(AnalysisRow.recording_id == recording_id)
        .order_by(AnalysisRow.id.desc())
        .limit(1)
    ).first()


def _valid_criteria(s: Session, recording: RecordingRow) -> list[str]:
    """Criterion ids a tick may name: those of the latest analysis, else of the rubric new
    analyses use."""
    analysis = _latest_analysis_row(s, recording.id)
    if analysis is not None:
        ids = [
            str(c.get("id"))
            for c in (analysis.result or {}).get("criteria") or []
            if isinstance(c, Mapping)
        ]
        if ids:
            return ids
    from call_eval.store.rubrics import active_criteria_ids

    return active_criteria_ids(s)


def get_self_assessment(db: Database, actor: User, recording_id: int) -> SelfAssessment:
    """The self-assessment of a practice call (empty when nothing is ticked yet)."""
    with db.session() as s:
        _practice_row(s, actor, recording_id)
        row = s.scalars(
            select(SelfAssessmentRow).where(SelfAssessmentRow.recording_id == recording_id)
        ).first()
        return _self_assessment(row, recording_id)


def _assessment_row(s: Session, actor: User, recording_id: int) -> SelfAssessmentRow:
    row = s.scalars(
        select(SelfAssessmentRow).where(SelfAssessmentRow.recording_id == recording_id)
    ).first()
    if row is None:
        row = SelfAssessmentRow(recording_id=recording_id, user_id=actor.id, ticks={})
        s.add(row)
        s.flush()
    return row


def set_self_tick(
    db: Database, actor: User, recording_id: int, criterion_id: str, tick: str | None
) -> SelfAssessment:
    """Record the trainee's own tick (``acquis``, ``non_acquis``, or None to clear) at once.

    Refused once the suggestions have been shown (the self-assessment is then frozen)."""
    if tick is not None and tick not in TICKS:
        raise StoreError(
            f"Coche invalide « {tick} » : valeurs possibles {', '.join(TICKS)} (ou vide)."
        )
    with db.session() as s:
        recording = _owned_row(s, actor, recording_id)
        valid = _valid_criteria(s, recording)
        if criterion_id not in valid:
            raise StoreError(
                f"Critère inconnu « {criterion_id} ». Critères valides : {', '.join(valid)}."
            )
        row = _assessment_row(s, actor, recording_id)
        if row.revealed_at is not None:
            raise StoreError(
                "Auto-évaluation figée : vous avez déjà affiché les suggestions de l'outil. "
                "Déposez un nouvel appel pour une nouvelle auto-évaluation."
            )
        ticks = dict(row.ticks or {})
        before = ticks.get(criterion_id)
        if before == tick:
            return _self_assessment(row, recording_id)
        if tick is None:
            ticks.pop(criterion_id, None)
        else:
            ticks[criterion_id] = tick
        row.ticks = ticks
        row.updated_at = utcnow()
        _audit(
            s,
            actor=actor,
            action="self.tick",
            entity="self_assessment",
            entity_id=row.id,
            recording_id=recording_id,
            criterion_id=criterion_id,
            before={"tick": before},
            after={"tick": tick},
        )
        s.commit()
        return _self_assessment(row, recording_id)


def reveal_suggestions(db: Database, actor: User, recording_id: int) -> SelfAssessment:
    """The trainee asks to see the tool's suggestions: their ticks are frozen from now on.

    Needs a finished analysis. Calling it again changes nothing."""
    with db.session() as s:
        _owned_row(s, actor, recording_id)
        if _latest_analysis_row(s, recording_id) is None:
            raise StoreError(
                "L'analyse de cet appel n'est pas terminée : les suggestions s'afficheront "
                "quand elle le sera. Continuez votre auto-évaluation en attendant."
            )
        row = _assessment_row(s, actor, recording_id)
        if row.revealed_at is None:
            row.revealed_at = utcnow()
            _audit(
                s,
                actor=actor,
                action="self.reveal",
                entity="self_assessment",
                entity_id=row.id,
                recording_id=recording_id,
                after={"ticked": len(row.ticks or {})},
            )
            s.commit()
        return _self_assessment(row, recording_id)


def list_practice_attempts(
    db: Database, actor: User, owner_user_id: int | None = None
) -> list[PracticeAttempt]:
    """Practice calls ``actor`` may see, oldest first: a trainee's own; a trainer's (or an
    administrator's) every trainee's, or one trainee's with ``owner_user_id``."""
    condition = access.visible_recordings(actor)
    with db.session() as s:
        query = select(RecordingRow).where(RecordingRow.purpose == access.PRACTICE)
        if condition is not None:
            query = query.where(condition)
        if owner_user_id is not None:
            query = query.where(RecordingRow.owner_user_id == owner_user_id)
        rows = list(s.scalars(query.order_by(RecordingRow.created_at, RecordingRow.id)))
        ids = [r.id for r in rows]
        latest: dict[int, tuple[int, datetime, int | None, int | None]] = {}
        if ids:
            for a_id, rec_id, created, acquis, total in s.execute(
                select(
                    AnalysisRow.id,
                    AnalysisRow.recording_id,
                    AnalysisRow.created_at,
                    AnalysisRow.suggested_acquis,
                    AnalysisRow.criteria_total,
                )
                .where(AnalysisRow.recording_id.in_(ids))
                .order_by(AnalysisRow.id)
            ):
                latest[rec_id] = (a_id, created, acquis, total)
            assessments = {
                a.recording_id: a
                for a in s.scalars(
                    select(SelfAssessmentRow).where(SelfAssessmentRow.recording_id.in_(ids))
                )
            }
        else:
            assessments = {}
        owners = {
            u.id: u.display_name
            for u in s.scalars(
                select(UserRow).where(UserRow.id.in_({r.owner_user_id for r in rows} - {None}))
            )
        }
        out = []
        for r in rows:
            a = latest.get(r.id)
            out.append(
                PracticeAttempt(
                    recording=_recording(r),
                    owner_name=owners.get(r.owner_user_id or -1, "—"),
                    analysis_id=a[0] if a else None,
                    analyzed_at=_utc(a[1]) if a else None,
                    suggested_acquis=a[2] if a else None,
                    criteria_total=a[3] if a else None,
                    self_assessment=_self_assessment(assessments.get(r.id), r.id),
                )
            )
        return out


def list_trainees(db: Database, actor: User) -> list[Trainee]:
    """Trainee accounts with their number of practice calls (trainers, administrators)."""
    require(actor, "practice.read_all")
    with db.session() as s:
        users = list(
            s.scalars(
                select(UserRow)
                .join(UserRoleRow, UserRoleRow.user_id == UserRow.id)
                .where(UserRoleRow.role == TRAINEE)
                .order_by(UserRow.display_name)
            )
        )
        counts: dict[int, int] = {}
        for owner in s.scalars(
            select(RecordingRow.owner_user_id).where(RecordingRow.purpose == access.PRACTICE)
        ):
            if owner is not None:
                counts[owner] = counts.get(owner, 0) + 1
        return [Trainee(u.id, u.username, u.display_name, counts.get(u.id, 0)) for u in users]


__all__ = [
    "PracticeAttempt",
    "SelfAssessment",
    "Trainee",
    "get_self_assessment",
    "list_practice_attempts",
    "list_trainees",
    "reveal_suggestions",
    "set_self_tick",
]
