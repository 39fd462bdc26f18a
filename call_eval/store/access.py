"""Object-level access rules, applied by every store function that takes an acting user.

Role permissions (which role may do what at all) are in :mod:`call_eval.auth`; here is
*which objects* a person reaches:

- **recordings** — an administrator (and the system) sees all; a session manager every
  exam recording; a juror the exam recordings of the candidates of the sessions they sit
  on; a trainer every practice recording; a trainee only their own practice recordings.
- **evaluations** — a juror reads and writes their own; another juror's grid of the same
  candidate only once their own is validated (each juror scores independently); managers
  and administrators read all of their exam recordings.
- **exam sessions** — managers and administrators read all; a juror only those they sit
  on; only the session's manager (or an administrator) changes it; its jury and its
  manager deliberate.

Refusals raise :class:`~call_eval.auth.AccessDenied` with a French message.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from call_eval.auth import ADMIN, JUROR, TRAINEE, AccessDenied, User
from call_eval.store.models import (
    EvaluationRow,
    ExamSessionRow,
    RecordingRow,
    SessionCandidateRow,
    SessionJurorRow,
)

EXAM = "exam"
PRACTICE = "practice"
PURPOSES = (EXAM, PRACTICE)


def check_active(actor: User | None) -> User:
    if actor is None:
        raise AccessDenied("Connectez-vous pour accéder à cette fonction.")
    if not actor.active:
        raise AccessDenied("Compte désactivé : adressez-vous à un administrateur.")
    return actor


def _is_root(actor: User) -> bool:
    return actor.is_system or ADMIN in actor.roles


# --------------------------------------------------------------------------- recordings
def juror_recording_ids(juror_id: int) -> ColumnElement[bool]:
    """Recordings of the candidates of the sessions a juror sits on (SQL condition)."""
    sub = (
        select(SessionCandidateRow.recording_id)
        .join(SessionJurorRow, SessionJurorRow.session_id == SessionCandidateRow.session_id)
        .where(SessionJurorRow.juror_id == juror_id, SessionCandidateRow.recording_id.is_not(None))
    )
    return RecordingRow.id.in_(sub)


def visible_recordings(actor: User) -> ColumnElement[bool] | None:
    """SQL condition on ``RecordingRow`` selecting what ``actor`` may see (None: all)."""
    check_active(actor)
    if _is_root(actor):
        return None
    clauses: list[ColumnElement[bool]] = []
    if actor.can("exam_calls.manage"):
        clauses.append(RecordingRow.purpose == EXAM)
    if JUROR in actor.roles and actor.juror_id is not None:
        clauses.append(and_(RecordingRow.purpose == EXAM, juror_recording_ids(actor.juror_id)))
    if actor.can("practice.read_all"):
        clauses.append(RecordingRow.purpose == PRACTICE)
    if TRAINEE in actor.roles:
        clauses.append(
            and_(RecordingRow.purpose == PRACTICE, RecordingRow.owner_user_id == actor.id)
        )
    return or_(*clauses) if clauses else false()


def can_view_recording(s: Session, actor: User, row: RecordingRow) -> bool:
    condition = visible_recordings(actor)
    if condition is None:
        return True
    return (
        s.scalars(select(RecordingRow.id).where(RecordingRow.id == row.id, condition)).first()
        is not None
    )


def check_recording_read(s: Session, actor: User, row: RecordingRow) -> None:
    if not can_view_recording(s, actor, row):
        raise AccessDenied(_recording_refusal(actor, row))


def check_recording_write(s: Session, actor: User, row: RecordingRow) -> None:
    """Change a recording's details (candidate, script, analysis): who manages it."""
    check_active(actor)
    if _is_root(actor):
        return
    if row.purpose == EXAM and actor.can("exam_calls.manage"):
        return
    if row.purpose == PRACTICE and (
        actor.can("practice.read_all") or (TRAINEE in actor.roles and row.owner_user_id == actor.id)
    ):
        return
    raise AccessDenied(_recording_refusal(actor, row, write=True))


def _recording_refusal(actor: User, row: RecordingRow, *, write: bool = False) -> str:
    if row.purpose == PRACTICE:
        return "Accès refusé : cet appel d'entraînement appartient à un autre stagiaire."
    if write:
        return (
            "Accès refusé : seuls un responsable de session ou un administrateur modifient "
            "les appels d'examen."
        )
    return "Accès refusé : cet appel ne fait pas partie des sessions dont vous êtes juré."


def check_recording_add(actor: User, purpose: str, owner_user_id: int | None) -> None:
    check_active(actor)
    if purpose not in PURPOSES:
        raise AccessDenied(f"Usage d'enregistrement inconnu « {purpose} » : exam ou practice.")
    if _is_root(actor):
        return
    if purpose == EXAM:
        if not actor.can("exam_calls.manage"):
            raise AccessDenied(
                "Seuls un responsable de session ou un administrateur déposent des appels d'examen."
            )
        return
    if TRAINEE in actor.roles and owner_user_id in (None, actor.id):
        return
    if actor.can("practice.read_all"):
        return
    raise AccessDenied("Un stagiaire ne dépose des appels d'entraînement que pour lui-même.")


# --------------------------------------------------------------------------- sessions
@dataclass(frozen=True)
class SessionRights:
    """What ``actor`` may do with one exam session."""

    read: bool
    manage: bool  # change it: the session's manager or an administrator
    jury_member: bool
    deliberate: bool  # its jury, its manager, an administrator

    @property
    def any(self) -> bool:
        return self.read


def session_rights(s: Session, actor: User, row: ExamSessionRow) -> SessionRights:
    check_active(actor)
    root = _is_root(actor)
    is_manager = actor.can("sessions.create") and row.manager_user_id == actor.id
    member = False
    if JUROR in actor.roles and actor.juror_id is not None:
        member = (
            s.get(SessionJurorRow, {"session_id": row.id, "juror_id": actor.juror_id}) is not None
        )
    read = root or actor.can("sessions.read_all") or member
    manage = root or is_manager
    return SessionRights(read=read, manage=manage, jury_member=member, deliberate=manage or member)


def check_session_read(s: Session, actor: User, row: ExamSessionRow) -> SessionRights:
    rights = session_rights(s, actor, row)
    if not rights.read:
        raise AccessDenied("Accès refusé : vous n'êtes pas membre du jury de cette session.")
    return rights


def check_session_manage(s: Session, actor: User, row: ExamSessionRow) -> SessionRights:
    rights = check_session_read(s, actor, row)
    if not rights.manage:
        raise AccessDenied(
            "Accès refusé : seul le responsable de cette session (ou un administrateur) la modifie."
        )
    return rights


def check_session_deliberate(s: Session, actor: User, row: ExamSessionRow) -> SessionRights:
    rights = check_session_read(s, actor, row)
    if not rights.deliberate:
        raise AccessDenied(
            "Accès refusé : seuls le jury de la session et son responsable délibèrent."
        )
    return rights


def visible_sessions(actor: User) -> ColumnElement[bool] | None:
    """SQL condition on ``ExamSessionRow`` (None: all)."""
    check_active(actor)
    if _is_root(actor) or actor.can("sessions.read_all"):
        return None
    if JUROR in actor.roles and actor.juror_id is not None:
        sub = select(SessionJurorRow.session_id).where(SessionJurorRow.juror_id == actor.juror_id)
        return ExamSessionRow.id.in_(sub)
    return false()


def session_of_recording(s: Session, recording_id: int) -> ExamSessionRow | None:
    return s.scalars(
        select(ExamSessionRow)
        .join(SessionCandidateRow, SessionCandidateRow.session_id == ExamSessionRow.id)
        .where(SessionCandidateRow.recording_id == recording_id)
    ).first()


# --------------------------------------------------------------------------- evaluations
def can_read_evaluation(s: Session, actor: User, row: EvaluationRow) -> bool:
    check_active(actor)
    if _is_root(actor):
        return True
    recording = s.get(RecordingRow, row.recording_id)
    if recording is None or not can_view_recording(s, actor, recording):
        return False
    if actor.juror_id is not None and row.juror_id == actor.juror_id:
        return True
    if recording.purpose == EXAM and actor.can("exam_calls.manage"):
        return True
    if JUROR in actor.roles and actor.juror_id is not None:
        own = s.scalars(
            select(EvaluationRow.status).where(
                EvaluationRow.recording_id == row.recording_id,
                EvaluationRow.juror_id == actor.juror_id,
            )
        ).first()
        return own == "valide"
    return False


def check_evaluation_read(s: Session, actor: User, row: EvaluationRow) -> None:
    if not can_read_evaluation(s, actor, row):
        raise AccessDenied(
            "Accès refusé : la grille d'un autre juré n'est visible qu'une fois la vôtre "
            "validée (chaque juré note indépendamment)."
        )


def check_scoring(s: Session, actor: User, recording: RecordingRow) -> int:
    """The actor's juror id when they may score ``recording`` (else AccessDenied)."""
    check_active(actor)
    if JUROR not in actor.roles or actor.juror_id is None:
        raise AccessDenied(
            "Seuls les jurés notent les appels : votre compte n'a pas le rôle de juré."
        )
    if recording.purpose != EXAM:
        raise AccessDenied("Les appels d'entraînement ne sont pas notés par les jurés.")
    if not can_view_recording(s, actor, recording):
        raise AccessDenied(_recording_refusal(actor, recording))
    session = session_of_recording(s, recording.id)
    if session is not None and session.status == "close":
        raise AccessDenied(
            "Session close : les grilles ne sont plus modifiables (rouverte seulement par son "
            "responsable, motif au journal)."
        )
    return actor.juror_id
