"""Repository functions: every read and change of the store, with explicit arguments.

Each function takes the :class:`~call_eval.store.db.Database` first, opens its own
session and commits before returning, so a juror's tick is saved the moment it is made.
Functions return frozen dataclasses (never live ORM objects). Every change appends a row
to the audit log in the same transaction.

Functions that read or change protected data take the acting
:class:`~call_eval.auth.User` second and check it (:mod:`call_eval.store.access`): a juror
reaches the candidates of their sessions, a trainee their own practice calls. The ingest
functions used by the command line and the background analyses (:func:`add_recording`,
:func:`save_analysis`, :func:`import_analysis`) take ``actor=`` either a ``User`` (checked)
or the name of the trusted local process (``"cli"``); pages always pass the signed-in user.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from call_eval.auth import SYSTEM, AccessDenied, User, require
from call_eval.errors import CallEvalError
from call_eval.store import access
from call_eval.store.db import Database
from call_eval.store.models import (
    AnalysisRow,
    AuditRow,
    CandidateRow,
    EvaluationItemRow,
    EvaluationRow,
    JurorRow,
    RecordingRow,
    SessionCandidateRow,
    UserRow,
    utcnow,
)

log = logging.getLogger(__name__)

TICKS = ("acquis", "non_acquis")
STATUSES = ("a_analyser", "analyse", "en_revue", "valide")
STATUS_LABELS = {
    "a_analyser": "À analyser",
    "analyse": "Analysé",
    "en_revue": "En cours de revue",
    "valide": "Validé",
}
DEFAULT_PASS_RATIO = 0.7

# Who acts: the signed-in user, or (ingest functions only) the name of a local process.
Actor = User | str


class StoreError(CallEvalError):
    """A change the store refuses (locked evaluation, unknown recording...)."""

    exit_code = 8


def actor_user(actor: Actor) -> User:
    """The ``User`` acting: a process name stands for the trusted local system."""
    if isinstance(actor, User):
        return access.check_active(actor)
    return SYSTEM


def actor_name(actor: Actor) -> str:
    if isinstance(actor, User):
        return actor.display_name if not actor.is_system else "système"
    return str(actor or "app")


def actor_id(actor: Actor) -> int | None:
    return actor.id if isinstance(actor, User) and not actor.is_system else None


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Candidate:
    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Juror:
    id: int
    name: str
    created_at: datetime
    organisation: str | None = None
    years_experience: float | None = None
    left_trade_on: date | None = None
    briefing_on: date | None = None
    user_id: int | None = None
    username: str | None = None


@dataclass(frozen=True)
class Recording:
    id: int
    sha256: str
    filename: str
    stored_path: str | None
    format: str
    input_kind: str
    size_bytes: int
    duration: float | None
    candidate_id: int | None
    candidate_name: str | None
    script_questions: tuple[str, ...]
    crm_note: str | None
    created_at: datetime
    created_by: str | None
    purpose: str = "exam"
    owner_user_id: int | None = None

    @property
    def call_id(self) -> str:
        """The short id the analysis JSON uses (first 16 hex of the sha256)."""
        return self.sha256[:16]


@dataclass(frozen=True)
class StoredAnalysis:
    id: int
    recording_id: int
    cache_key: str
    schema_version: str
    asr_model: str | None
    diarization_backend: str | None
    nlp_model: str | None
    rubric_id: str | None
    rubric_version: str | None
    options: dict[str, Any] | None
    timings: dict[str, Any] | None
    suggested_acquis: int | None
    criteria_total: int | None
    created_at: datetime
    result: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Mark:
    """One criterion of an evaluation: the suggestion and the juror's decision."""

    criterion_id: str
    position: int
    label: str
    source: str
    manual: bool
    suggested: str | None
    confidence: float | None
    tick: str | None
    comment: str
    updated_at: datetime | None
    updated_by: int | None


@dataclass(frozen=True)
class JurorScore:
    """The juror's running total against the pass threshold."""

    acquis: int
    non_acquis: int
    unticked: int
    total: int
    pass_ratio: float
    needed: int
    ratio: float
    missing: int
    complete: bool

    @property
    def passed(self) -> bool:
        return self.acquis >= self.needed

    @property
    def decision(self) -> str:
        """``certifié`` / ``non certifié`` once every criterion is ticked, else ``incomplet``."""
        if not self.complete:
            return "incomplet"
        return "certifié" if self.passed else "non certifié"


@dataclass(frozen=True)
class Evaluation:
    id: int
    recording_id: int
    juror_id: int
    juror_name: str
    analysis_id: int | None
    status: str
    pass_ratio: float
    created_at: datetime
    updated_at: datetime
    validated_at: datetime | None
    marks: tuple[Mark, ...]

    @property
    def locked(self) -> bool:
        return self.status == "valide"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    def mark(self, criterion_id: str) -> Mark:
        for m in self.marks:
            if m.criterion_id == criterion_id:
                return m
        raise KeyError(criterion_id)

    @property
    def score(self) -> JurorScore:
        return juror_score([m.tick for m in self.marks], self.pass_ratio)


@dataclass(frozen=True)
class CallListing:
    """One line of the "Appels" list."""

    recording: Recording
    status: str
    analysis_id: int | None
    suggested_acquis: int | None
    criteria_total: int | None
    evaluation_id: int | None
    juror_acquis: int | None
    juror_ticked: int | None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    juror_id: int | None
    action: str
    entity: str
    entity_id: int | None
    recording_id: int | None
    evaluation_id: int | None
    criterion_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None
    user_id: int | None = None
    session_id: int | None = None


@dataclass(frozen=True)
class ImportResult:
    recording: Recording
    analysis: StoredAnalysis
    reused: bool


# --------------------------------------------------------------------------- helpers
def _utc(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; they were stored in UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def juror_score(ticks: Sequence[str | None], pass_ratio: float = DEFAULT_PASS_RATIO) -> JurorScore:
    """Count ticks against the threshold: ``needed`` = ceil(pass_ratio × total)."""
    total = len(ticks)
    acquis = sum(1 for t in ticks if t == "acquis")
    non_acquis = sum(1 for t in ticks if t == "non_acquis")
    needed = math.ceil(pass_ratio * total - 1e-9) if total else 0
    return JurorScore(
        acquis=acquis,
        non_acquis=non_acquis,
        unticked=total - acquis - non_acquis,
        total=total,
        pass_ratio=pass_ratio,
        needed=needed,
        ratio=acquis / total if total else 0.0,
        missing=max(0, needed - acquis),
        complete=total > 0 and acquis + non_acquis == total,
    )


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _canonical(value: Any) -> Any:
    """A JSON-able, order-stable form of options (dataclasses, paths, tuples...)."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_canonical(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, set | frozenset) else items
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if callable(value):
        return None  # progress callbacks and the like do not change the result
    return str(value)


def canonical_options(options: Any) -> dict[str, Any]:
    """Options as a plain dict with sorted keys (what is stored and hashed)."""
    result = _canonical(options) if options is not None else {}
    return result if isinstance(result, dict) else {"value": result}


def reuse_options(options: Any) -> dict[str, Any]:
    """Analysis options with their defaults made explicit, as stored and hashed.

    For ``AnalysisOptions`` (or a mapping with its fields): an unset ASR model becomes
    ``CALL_EVAL_ASR_MODEL`` (or ``base``), and the rubric path is resolved and fingerprinted
    by content, so that a changed rubric file makes a new analysis. Other mappings are
    only canonicalised.
    """
    import os

    from call_eval import settings

    opts = canonical_options(options)
    if "asr_model" not in opts and "rubric" not in opts:
        return opts
    if opts.get("asr_model") in (None, ""):
        opts["asr_model"] = os.environ.get("CALL_EVAL_ASR_MODEL", "base")
    rubric = Path(opts.get("rubric") or settings.default_rubric_path())
    opts["rubric"] = str(rubric)
    try:
        opts["rubric_sha256"] = hashlib.sha256(rubric.read_bytes()).hexdigest()
    except OSError:
        opts["rubric_sha256"] = None
    # detectors' phrase lists and model/feature parameters change results too: a new code
    # version or an edited lexicon must not reuse an old analysis
    from call_eval import __version__

    opts["code_version"] = __version__
    opts["rules_sha256"] = _rules_fingerprint(settings.rubrics_dir(), settings.models_dir())
    return opts


def _rules_fingerprint(*folders: Path) -> str:
    h = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.rglob("*.yaml")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def analysis_key(sha256: str, options: Any) -> str:
    """The reuse key: same content hash + same models, rubric and options → same key.

    ``options`` may be a mapping or a dataclass; pass ``reuse_options(AnalysisOptions)``
    so that defaults (ASR model, rubric file content) are part of the key.
    """
    payload = json.dumps(
        {"sha256": sha256, "options": canonical_options(options)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _audit(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None,
    juror_id: int | None = None,
    recording_id: int | None = None,
    evaluation_id: int | None = None,
    criterion_id: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str | None = None,
    session_id: int | None = None,
) -> None:
    session.add(
        AuditRow(
            at=utcnow(),
            actor=actor_name(actor)[:200],
            user_id=actor_id(actor),
            session_id=session_id,
            juror_id=juror_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            recording_id=recording_id,
            evaluation_id=evaluation_id,
            criterion_id=criterion_id,
            before=dict(before) if before is not None else None,
            after=dict(after) if after is not None else None,
            note=note,
        )
    )


def _candidate(row: CandidateRow) -> Candidate:
    return Candidate(id=row.id, name=row.name, created_at=_utc(row.created_at))  # type: ignore[arg-type]


def _juror(row: JurorRow, user: UserRow | None = None) -> Juror:
    return Juror(
        id=row.id,
        name=row.name,
        created_at=_utc(row.created_at),  # type: ignore[arg-type]
        organisation=row.organisation,
        years_experience=row.years_experience,
        left_trade_on=row.left_trade_on,
        briefing_on=row.briefing_on,
        user_id=user.id if user is not None else None,
        username=user.username if user is not None else None,
    )


def _juror_with_user(s: Session, row: JurorRow) -> Juror:
    user = s.scalars(select(UserRow).where(UserRow.juror_id == row.id)).first()
    return _juror(row, user)


def _recording(row: RecordingRow, candidate_name: str | None = None) -> Recording:
    if candidate_name is None and row.candidate is not None:
        candidate_name = row.candidate.name
    return Recording(
        id=row.id,
        sha256=row.sha256,
        filename=row.filename,
        stored_path=row.stored_path,
        format=row.format,
        input_kind=row.input_kind,
        size_bytes=row.size_bytes,
        duration=row.duration,
        candidate_id=row.candidate_id,
        candidate_name=candidate_name,
        script_questions=tuple(row.script_questions or ()),
        crm_note=row.crm_note,
        created_at=_utc(row.created_at),  # type: ignore[arg-type]
        created_by=row.created_by,
        purpose=row.purpose or "exam",
        owner_user_id=row.owner_user_id,
    )


def _analysis(row: AnalysisRow) -> StoredAnalysis:
    return StoredAnalysis(
        id=row.id,
        recording_id=row.recording_id,
        cache_key=row.cache_key,
        schema_version=row.schema_version,
        asr_model=row.asr_model,
        diarization_backend=row.diarization_backend,
        nlp_model=row.nlp_model,
        rubric_id=row.rubric_id,
        rubric_version=row.rubric_version,
        options=row.options,
        timings=row.timings,
        suggested_acquis=row.suggested_acquis,
        criteria_total=row.criteria_total,
        created_at=_utc(row.created_at),  # type: ignore[arg-type]
        result=row.result,
    )


def _mark(row: EvaluationItemRow) -> Mark:
    return Mark(
        criterion_id=row.criterion_id,
        position=row.position,
        label=row.label,
        source=row.source,
        manual=row.manual,
        suggested=row.suggested,
        confidence=row.confidence,
        tick=row.tick,
        comment=row.comment or "",
        updated_at=_utc(row.updated_at),
        updated_by=row.updated_by,
    )


def _evaluation(row: EvaluationRow, juror_name: str) -> Evaluation:
    return Evaluation(
        id=row.id,
        recording_id=row.recording_id,
        juror_id=row.juror_id,
        juror_name=juror_name,
        analysis_id=row.analysis_id,
        status=row.status,
        pass_ratio=row.pass_ratio,
        created_at=_utc(row.created_at),  # type: ignore[arg-type]
        updated_at=_utc(row.updated_at),  # type: ignore[arg-type]
        validated_at=_utc(row.validated_at),
        marks=tuple(_mark(i) for i in row.items),
    )


def _clean_name(name: str, what: str) -> str:
    cleaned = " ".join(str(name or "").split())
    if not cleaned:
        raise StoreError(f"Le nom du {what} est vide : saisissez un nom (prénom et nom).")
    if len(cleaned) > 200:
        raise StoreError(f"Le nom du {what} est trop long (200 caractères au plus).")
    return cleaned


# --------------------------------------------------------------------------- people
def _get_or_create_named(
    s: Session, model: Any, name: str, what: str, entity: str, actor: Actor
) -> Any:
    """The row of ``model`` (candidate or juror) with this name, created (and audited) if new."""
    cleaned = _clean_name(name, what)
    row = s.scalars(select(model).where(model.name == cleaned).order_by(model.id)).first()
    if row is None:
        row = model(name=cleaned, created_at=utcnow())
        s.add(row)
        s.flush()
        _audit(
            s,
            actor=actor,
            action=f"{entity}.create",
            entity=entity,
            entity_id=row.id,
            juror_id=row.id if entity == "juror" else None,
            after={"name": cleaned},
        )
    return row


def _get_or_create_candidate(s: Session, name: str, actor: Actor) -> CandidateRow:
    return _get_or_create_named(s, CandidateRow, name, "candidat", "candidate", actor)


def get_or_create_candidate(db: Database, actor: User, name: str) -> Candidate:
    """The candidate with this exact name (spaces normalised), created if new."""
    require(actor, "exam_calls.manage")
    with db.session() as s:
        row = _get_or_create_candidate(s, name, actor)
        s.commit()
        return _candidate(row)


def list_candidates(db: Database, actor: User) -> list[Candidate]:
    require(actor, "exam_calls.manage")
    with db.session() as s:
        return [_candidate(r) for r in s.scalars(select(CandidateRow).order_by(CandidateRow.name))]


def _get_or_create_juror(s: Session, name: str, actor: Actor) -> JurorRow:
    return _get_or_create_named(s, JurorRow, name, "juré", "juror", actor)


def get_or_create_juror(db: Database, actor: User, name: str) -> Juror:
    """The juror record with this name, created if new (managers and administrators)."""
    require(actor, "jurors.manage")
    with db.session() as s:
        try:
            row = _get_or_create_juror(s, name, actor)
            s.commit()
        except IntegrityError:  # created meanwhile by another session
            s.rollback()
            row = s.scalars(
                select(JurorRow).where(JurorRow.name == _clean_name(name, "juré"))
            ).one()
        return _juror_with_user(s, row)


def get_juror(db: Database, actor: User, juror_id: int) -> Juror:
    """A juror record: managers and administrators, or the juror themself."""
    access.check_active(actor)
    if not (actor.can("jurors.manage") or actor.juror_id == juror_id):
        raise AccessDenied("Accès refusé : seule votre propre fiche de juré vous est ouverte.")
    with db.session() as s:
        row = s.get(JurorRow, juror_id)
        if row is None:
            raise StoreError(f"Juré n° {juror_id} introuvable.")
        return _juror_with_user(s, row)


def list_jurors(db: Database, actor: User) -> list[Juror]:
    require(actor, "jurors.manage")
    with db.session() as s:
        users = {
            u.juror_id: u for u in s.scalars(select(UserRow).where(UserRow.juror_id.is_not(None)))
        }
        return [
            _juror(r, users.get(r.id)) for r in s.scalars(select(JurorRow).order_by(JurorRow.name))
        ]


# --------------------------------------------------------------------------- recordings
def _create_recording_row(
    s: Session,
    actor: Actor,
    *,
    sha256: str,
    filename: str,
    stored_path: str | None,
    format: str,
    input_kind: str,
    size_bytes: int,
    duration: float | None,
    candidate_id: int | None,
    script_questions: Sequence[str] | None,
    crm_note: str | None,
    purpose: str,
    owner_user_id: int | None,
) -> RecordingRow:
    """Insert a recording (its file kept or not) and log its creation; not committed."""
    row = RecordingRow(
        sha256=sha256,
        filename=filename,
        stored_path=stored_path,
        format=format,
        input_kind=input_kind,
        size_bytes=size_bytes,
        duration=duration,
        candidate_id=candidate_id,
        script_questions=list(script_questions or []) or None,
        crm_note=crm_note or None,
        created_at=utcnow(),
        created_by=actor_name(actor),
        purpose=purpose,
        owner_user_id=owner_user_id if purpose == access.PRACTICE else None,
    )
    s.add(row)
    s.flush()
    _audit(
        s,
        actor=actor,
        action="recording.create",
        entity="recording",
        entity_id=row.id,
        recording_id=row.id,
        after={
            "filename": filename,
            "sha256": sha256,
            "format": format,
            "input_kind": input_kind,
            "candidate_id": candidate_id,
            "purpose": purpose,
            "owner_user_id": row.owner_user_id,
            "stored": stored_path is not None,
        },
    )
    return row


def add_recording(
    db: Database,
    source: str | Path,
    *,
    filename: str | None = None,
    candidate: str | int | None = None,
    script_questions: Sequence[str] | None = None,
    crm_note: str | None = None,
    duration: float | None = None,
    format: str | None = None,
    input_kind: str = "audio",
    actor: Actor = "app",
    purpose: str = access.EXAM,
    owner_user_id: int | None = None,
) -> Recording:
    """Keep a copy of ``source`` in the data directory and register it.

    ``purpose`` is ``exam`` (a candidate's call: managers and administrators) or
    ``practice`` (a trainee's own call; ``owner_user_id`` defaults to the acting trainee).
    The same content (sha256) uploaded again returns the existing recording; a candidate,
    script or CRM note given now fills what it lacked (and is logged). Content already
    stored elsewhere that the actor may not see is refused without saying whose it is.
    """
    user = actor_user(actor)
    if purpose == access.PRACTICE and owner_user_id is None and not user.is_system:
        owner_user_id = user.id
    access.check_recording_add(user, purpose, owner_user_id)
    if purpose == access.PRACTICE and candidate not in (None, ""):
        raise StoreError(
            "Un appel d'entraînement n'a pas de candidat : il appartient au stagiaire qui le "
            "dépose."
        )
    source = Path(source)
    if not source.is_file():
        raise StoreError(f"Fichier introuvable : {source}. Vérifiez le chemin.")
    sha = file_sha256(source)
    name = filename or source.name
    fmt = (format or Path(name).suffix.lstrip(".") or "bin").lower()
    questions = [q for q in (script_questions or []) if str(q).strip()]
    with db.session() as s:
        candidate_id = _resolve_candidate(s, candidate, actor=actor)
        row = s.scalars(select(RecordingRow).where(RecordingRow.sha256 == sha)).first()
        if row is not None:
            if not access.can_view_recording(s, user, row) or row.purpose != purpose:
                raise StoreError(
                    "Ce fichier est déjà enregistré dans un autre espace de l'application : "
                    "il ne peut pas être déposé ici. Vérifiez qu'il s'agit du bon enregistrement."
                )
            changes: dict[str, Any] = {}
            if candidate_id is not None and row.candidate_id != candidate_id:
                access.check_recording_write(s, user, row)
                changes["candidate_id"] = (row.candidate_id, candidate_id)
                row.candidate_id = candidate_id
            if questions and list(row.script_questions or []) != questions:
                changes["script_questions"] = (row.script_questions, questions)
                row.script_questions = questions
            if crm_note and crm_note != row.crm_note:
                changes["crm_note"] = (row.crm_note, crm_note)
                row.crm_note = crm_note
            if duration is not None and row.duration is None:
                row.duration = duration
            if changes:
                access.check_recording_write(s, user, row)
                _audit(
                    s,
                    actor=actor,
                    action="recording.update",
                    entity="recording",
                    entity_id=row.id,
                    recording_id=row.id,
                    before={k: v[0] for k, v in changes.items()},
                    after={k: v[1] for k, v in changes.items()},
                )
            s.commit()
            s.refresh(row)
            return _recording(row)

        relative = Path("recordings") / sha[:2] / f"{sha}.{fmt}"
        target = db.data_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
        row = _create_recording_row(
            s,
            actor,
            sha256=sha,
            filename=name,
            stored_path=relative.as_posix(),
            format=fmt,
            input_kind=input_kind,
            size_bytes=target.stat().st_size,
            duration=duration,
            candidate_id=candidate_id,
            script_questions=questions,
            crm_note=crm_note,
            purpose=purpose,
            owner_user_id=owner_user_id,
        )
        s.commit()
        s.refresh(row)
        return _recording(row)


def _resolve_candidate(s: Session, candidate: str | int | None, *, actor: Actor) -> int | None:
    if candidate is None or candidate == "":
        return None
    if isinstance(candidate, int):
        if s.get(CandidateRow, candidate) is None:
            raise StoreError(f"Candidat n° {candidate} introuvable.")
        return candidate
    return _get_or_create_candidate(s, candidate, actor).id


def set_recording_candidate(
    db: Database, actor: User, recording_id: int, candidate: str | int
) -> Recording:
    with db.session() as s:
        row = _recording_row(s, recording_id)
        access.check_recording_write(s, actor, row)
        candidate_id = _resolve_candidate(s, candidate, actor=actor)
        before = row.candidate_id
        row.candidate_id = candidate_id
        _audit(
            s,
            actor=actor,
            action="recording.update",
            entity="recording",
            entity_id=row.id,
            recording_id=row.id,
            before={"candidate_id": before},
            after={"candidate_id": candidate_id},
        )
        s.commit()
        s.refresh(row)
        return _recording(row)


def _recording_row(s: Session, recording_id: int) -> RecordingRow:
    row = s.get(RecordingRow, recording_id)
    if row is None:
        raise StoreError(
            f"Appel n° {recording_id} introuvable : il a peut-être été supprimé. "
            "Revenez à la liste des appels."
        )
    return row


def get_recording(db: Database, actor: User, recording_id: int) -> Recording:
    with db.session() as s:
        row = _recording_row(s, recording_id)
        access.check_recording_read(s, actor, row)
        return _recording(row)


def find_recording(db: Database, actor: User, ref: str | int) -> Recording | None:
    """A recording the actor may see: by id, call id (16 hex), full sha256 or unique prefix."""
    text = str(ref).strip().lower()
    if not text:
        return None
    with db.session() as s:
        if text.isdigit() and len(text) < 12:
            row = s.get(RecordingRow, int(text))
            if row is not None and access.can_view_recording(s, actor, row):
                return _recording(row)
        if len(text) >= 6 and all(c in "0123456789abcdef" for c in text):
            rows = list(
                s.scalars(select(RecordingRow).where(RecordingRow.sha256.startswith(text))).all()
            )
            if len(rows) == 1 and access.can_view_recording(s, actor, rows[0]):
                return _recording(rows[0])
    return None


def recording_file(db: Database, recording: Recording) -> Path | None:
    """The kept original file of a recording already obtained (checked) from the store."""
    if not recording.stored_path:
        return None
    path = db.data_dir / recording.stored_path
    return path if path.is_file() else None


def list_recordings(
    db: Database,
    actor: User,
    juror_id: int | None = None,
    *,
    purpose: str | None = None,
    owner_user_id: int | None = None,
) -> list[CallListing]:
    """The recordings ``actor`` may see, newest first, with their status and score.

    With ``juror_id`` (by default the acting juror's own), status and score are that
    juror's; otherwise the most advanced evaluation's (validated > being reviewed >
    analysed > to analyse). ``purpose`` and ``owner_user_id`` narrow the list.
    """
    condition = access.visible_recordings(actor)
    if juror_id is None and actor.juror_id is not None and not actor.can("exam_calls.manage"):
        juror_id = actor.juror_id
    if juror_id is not None and juror_id != actor.juror_id and not actor.can("exam_calls.manage"):
        raise AccessDenied("Accès refusé : les grilles des autres jurés ne sont pas listées ici.")
    rank = {s: i for i, s in enumerate(STATUSES)}
    with db.session() as s:
        query = (
            select(RecordingRow, CandidateRow.name)
            .outerjoin(CandidateRow, RecordingRow.candidate_id == CandidateRow.id)
            .order_by(RecordingRow.created_at.desc(), RecordingRow.id.desc())
        )
        if condition is not None:
            query = query.where(condition)
        if purpose is not None:
            query = query.where(RecordingRow.purpose == purpose)
        if owner_user_id is not None:
            query = query.where(RecordingRow.owner_user_id == owner_user_id)
        recordings = list(s.execute(query).all())
        ids = [row.id for row, _ in recordings]
        if not ids:
            return []
        # Light columns only: the full JSON result stays in the database.
        latest: dict[int, Any] = {}
        for a in s.execute(
            select(
                AnalysisRow.id,
                AnalysisRow.recording_id,
                AnalysisRow.suggested_acquis,
                AnalysisRow.criteria_total,
            )
            .where(AnalysisRow.recording_id.in_(ids))
            .order_by(AnalysisRow.id)
        ):
            latest[a.recording_id] = a  # ascending id: the last one wins
        evals_query = select(EvaluationRow).where(EvaluationRow.recording_id.in_(ids))
        if juror_id is not None:
            evals_query = evals_query.where(EvaluationRow.juror_id == juror_id)
        evaluations: dict[int, EvaluationRow] = {}
        for e in s.scalars(evals_query):
            current = evaluations.get(e.recording_id)
            if current is None or rank.get(e.status, 0) > rank.get(current.status, 0):
                evaluations[e.recording_id] = e
        tick_counts: dict[int, tuple[int, int]] = {}
        if evaluations:
            eval_ids = [e.id for e in evaluations.values()]
            for eval_id, acquis, ticked in s.execute(
                select(
                    EvaluationItemRow.evaluation_id,
                    func.sum(case((EvaluationItemRow.tick == "acquis", 1), else_=0)),
                    func.count(EvaluationItemRow.tick),
                )
                .where(EvaluationItemRow.evaluation_id.in_(eval_ids))
                .group_by(EvaluationItemRow.evaluation_id)
            ):
                tick_counts[eval_id] = (int(acquis or 0), int(ticked or 0))
        out: list[CallListing] = []
        for row, candidate_name in recordings:
            a = latest.get(row.id)
            e = evaluations.get(row.id)
            status = e.status if e is not None else ("analyse" if a is not None else "a_analyser")
            acq, ticked = tick_counts.get(e.id, (0, 0)) if e is not None else (None, None)
            out.append(
                CallListing(
                    recording=_recording(row, candidate_name),
                    status=status,
                    analysis_id=a.id if a else None,
                    suggested_acquis=a.suggested_acquis if a else None,
                    criteria_total=a.criteria_total if a else None,
                    evaluation_id=e.id if e else None,
                    juror_acquis=acq,
                    juror_ticked=ticked,
                )
            )
        return out


# --------------------------------------------------------------------------- analyses
def find_analysis(db: Database, cache_key: str) -> StoredAnalysis | None:
    """A stored analysis with this reuse key (see :func:`analysis_key`).

    For the ingest side (command line, analysis queue): the key is a hash of the file's
    content and the options, so only someone holding the file can ask for it.
    """
    with db.session() as s:
        row = s.scalars(select(AnalysisRow).where(AnalysisRow.cache_key == cache_key)).first()
        return _analysis(row) if row else None


def get_analysis(db: Database, actor: User, analysis_id: int) -> StoredAnalysis:
    with db.session() as s:
        row = s.get(AnalysisRow, analysis_id)
        if row is None:
            raise StoreError(f"Analyse n° {analysis_id} introuvable.")
        access.check_recording_read(s, actor, _recording_row(s, row.recording_id))
        return _analysis(row)


def check_analysis_access(db: Database, actor: User, analysis_id: int) -> int:
    """The recording id of an analysis ``actor`` may read (light: the JSON is not loaded)."""
    with db.session() as s:
        recording_id = s.scalars(
            select(AnalysisRow.recording_id).where(AnalysisRow.id == analysis_id)
        ).first()
        if recording_id is None:
            raise StoreError(f"Analyse n° {analysis_id} introuvable.")
        access.check_recording_read(s, actor, _recording_row(s, recording_id))
        return recording_id


def latest_analysis_id(db: Database, actor: User, recording_id: int) -> int | None:
    """The id of a recording's latest analysis, without loading its JSON."""
    with db.session() as s:
        access.check_recording_read(s, actor, _recording_row(s, recording_id))
        return s.scalars(
            select(AnalysisRow.id)
            .where(AnalysisRow.recording_id == recording_id)
            .order_by(AnalysisRow.id.desc())
            .limit(1)
        ).first()


def latest_analysis(db: Database, actor: User, recording_id: int) -> StoredAnalysis | None:
    with db.session() as s:
        access.check_recording_read(s, actor, _recording_row(s, recording_id))
        row = s.scalars(
            select(AnalysisRow)
            .where(AnalysisRow.recording_id == recording_id)
            .order_by(AnalysisRow.id.desc())
            .limit(1)
        ).first()
        return _analysis(row) if row else None


def _check_analysis(analysis: Mapping[str, Any]) -> None:
    problems = []
    if not isinstance(analysis, Mapping):
        raise StoreError("L'analyse à enregistrer n'est pas un objet JSON.")
    if not isinstance(analysis.get("call"), Mapping):
        problems.append("« call » manquant")
    criteria = analysis.get("criteria")
    if not isinstance(criteria, list) or not criteria:
        problems.append("« criteria » manquant ou vide")
    else:
        for i, c in enumerate(criteria):
            if not isinstance(c, Mapping) or not c.get("id") or "label" not in c:
                problems.append(f"critère n° {i + 1} sans « id » ou « label »")
                break
    if problems:
        raise StoreError(
            "Analyse invalide (" + ", ".join(problems) + ") : attendu le JSON produit par "
            "call_eval.pipeline (schema_version 1.0)."
        )


def default_options_from_analysis(analysis: Mapping[str, Any]) -> dict[str, Any]:
    """Reuse options read back from an analysis: its models and rubric."""
    return {
        "models": analysis.get("models"),
        "rubric": {k: (analysis.get("rubric") or {}).get(k) for k in ("id", "version")},
    }


def save_analysis(
    db: Database,
    recording_id: int,
    analysis: Mapping[str, Any],
    *,
    options: Any = None,
    cache_key: str | None = None,
    actor: Actor = "app",
) -> StoredAnalysis:
    """Store a pipeline result for a recording; return the existing one for the same key.

    ``actor``: the user who asked for the analysis (checked) or the local process name.
    """
    _check_analysis(analysis)
    with db.session() as s:
        rec = _recording_row(s, recording_id)
        access.check_recording_write(s, actor_user(actor), rec)
        opts = (
            reuse_options(options)
            if options is not None
            else canonical_options(default_options_from_analysis(analysis))
        )
        key = cache_key or analysis_key(rec.sha256, opts)
        existing = s.scalars(select(AnalysisRow).where(AnalysisRow.cache_key == key)).first()
        if existing is not None:
            return _analysis(existing)
        models = analysis.get("models") or {}
        asr = models.get("asr") or {}
        rubric = analysis.get("rubric") or {}
        score = analysis.get("score") or {}
        call = analysis.get("call") or {}
        criteria = analysis.get("criteria") or []
        row = AnalysisRow(
            recording_id=rec.id,
            cache_key=key,
            schema_version=str(analysis.get("schema_version", "")),
            asr_model=asr.get("name") if isinstance(asr, Mapping) else None,
            diarization_backend=(models.get("diarization") or {}).get("backend"),
            nlp_model=models.get("nlp") if isinstance(models.get("nlp"), str) else None,
            rubric_id=rubric.get("id"),
            rubric_version=str(rubric["version"]) if rubric.get("version") is not None else None,
            options=opts,
            timings=dict(analysis.get("timings") or {}),
            suggested_acquis=score.get("acquis"),
            criteria_total=score.get("total", len(criteria)),
            result=json.loads(json.dumps(analysis)),
            created_at=utcnow(),
            created_by=actor_name(actor),
        )
        s.add(row)
        if rec.duration is None and isinstance(call.get("duration"), int | float):
            rec.duration = float(call["duration"])
        s.flush()
        _audit(
            s,
            actor=actor,
            action="analysis.create",
            entity="analysis",
            entity_id=row.id,
            recording_id=rec.id,
            after={
                "cache_key": key,
                "rubric": rubric.get("id"),
                "rubric_version": rubric.get("version"),
                "asr": asr.get("name") if isinstance(asr, Mapping) else None,
                "suggested_acquis": score.get("acquis"),
            },
        )
        s.commit()
        return _analysis(row)


def import_analysis(
    db: Database,
    analysis: Mapping[str, Any],
    audio_path: str | Path | None,
    *,
    candidate: str | None = None,
    script_questions: Sequence[str] | None = None,
    crm_note: str | None = None,
    options: Any = None,
    actor: Actor = "cli",
    purpose: str = access.EXAM,
    owner_user_id: int | None = None,
) -> ImportResult:
    """Register a recording and its analysis in one go (used by the CLI before the app).

    ``actor``: a signed-in user (checked as :func:`add_recording` does) or the name of
    the local process; ``purpose``/``owner_user_id`` as in :func:`add_recording`.

    ``audio_path`` is the analysed file (kept in the data directory); without it, the
    analysis is kept with no playable audio. Pass the ``AnalysisOptions`` the analysis
    ran with: the app builds ``AnalysisOptions(script_questions=..., crm_note=...)`` for an
    upload, so a later upload of the same file with the same script and note reuses this
    analysis. Without options the key is made of the analysis' models and rubric.
    """
    _check_analysis(analysis)
    call = analysis.get("call") or {}
    input_kind = str(call.get("input") or "audio")
    if audio_path is not None:
        recording = add_recording(
            db,
            audio_path,
            filename=str(call.get("source") or Path(audio_path).name),
            candidate=candidate,
            script_questions=script_questions,
            crm_note=crm_note,
            duration=call.get("duration"),
            input_kind=input_kind,
            actor=actor,
            purpose=purpose,
            owner_user_id=owner_user_id,
        )
    else:
        access.check_recording_add(actor_user(actor), purpose, owner_user_id)
        recording = _register_without_file(
            db, analysis, candidate=candidate, script_questions=script_questions,
            crm_note=crm_note, actor=actor, purpose=purpose, owner_user_id=owner_user_id,
        )  # fmt: skip
    before = find_analysis(
        db,
        analysis_key(
            recording.sha256,
            reuse_options(options)
            if options is not None
            else canonical_options(default_options_from_analysis(analysis)),
        ),
    )
    stored = save_analysis(db, recording.id, analysis, options=options, actor=actor)
    return ImportResult(
        recording=get_recording(db, actor_user(actor), recording.id),
        analysis=stored,
        reused=before is not None,
    )


def _register_without_file(
    db: Database,
    analysis: Mapping[str, Any],
    *,
    candidate: str | None,
    script_questions: Sequence[str] | None,
    crm_note: str | None,
    actor: Actor,
    purpose: str,
    owner_user_id: int | None,
) -> Recording:
    call = analysis.get("call") or {}
    sha = str(call.get("sha256") or "")
    if len(sha) != 64:
        sha = hashlib.sha256(json.dumps(analysis, sort_keys=True).encode()).hexdigest()
    user = actor_user(actor)
    if purpose == access.PRACTICE and owner_user_id is None and not user.is_system:
        owner_user_id = user.id
    with db.session() as s:
        candidate_id = _resolve_candidate(s, candidate, actor=actor)
        row = s.scalars(select(RecordingRow).where(RecordingRow.sha256 == sha)).first()
        if row is not None and not access.can_view_recording(s, user, row):
            raise StoreError(
                "Cette analyse est déjà enregistrée dans un autre espace de l'application."
            )
        if row is None:
            row = _create_recording_row(
                s,
                actor,
                sha256=sha,
                filename=str(call.get("source") or f"{sha[:16]}.json"),
                stored_path=None,
                format=str(call.get("format") or "json"),
                input_kind=str(call.get("input") or "transcript"),
                size_bytes=0,
                duration=call.get("duration"),
                candidate_id=candidate_id,
                script_questions=script_questions,
                crm_note=crm_note,
                purpose=purpose,
                owner_user_id=owner_user_id,
            )
        s.commit()
        s.refresh(row)
        return _recording(row)


# --------------------------------------------------------------------------- evaluations
def _evaluation_row(s: Session, evaluation_id: int) -> EvaluationRow:
    row = s.get(EvaluationRow, evaluation_id)
    if row is None:
        raise StoreError(f"Évaluation n° {evaluation_id} introuvable.")
    return row


def _juror_name(s: Session, juror_id: int) -> str:
    row = s.get(JurorRow, juror_id)
    if row is None:
        raise StoreError(f"Juré n° {juror_id} introuvable : choisissez un juré existant.")
    return row.name


def _session_id_of(s: Session, recording_id: int) -> int | None:
    return s.scalars(
        select(SessionCandidateRow.session_id).where(
            SessionCandidateRow.recording_id == recording_id
        )
    ).first()


def find_evaluation(
    db: Database, actor: User, recording_id: int, juror_id: int | None = None
) -> Evaluation | None:
    """A juror's evaluation of a recording (by default the acting juror's own)."""
    juror_id = actor.juror_id if juror_id is None else juror_id
    if juror_id is None:
        return None
    with db.session() as s:
        access.check_recording_read(s, actor, _recording_row(s, recording_id))
        row = s.scalars(
            select(EvaluationRow).where(
                EvaluationRow.recording_id == recording_id, EvaluationRow.juror_id == juror_id
            )
        ).first()
        if row is None:
            return None
        access.check_evaluation_read(s, actor, row)
        return _evaluation(row, _juror_name(s, juror_id))


def open_evaluation(db: Database, actor: User, recording_id: int) -> Evaluation:
    """The acting juror's evaluation of a recording, created from its latest analysis if new.

    Only a juror of the session the recording's candidate sits may open one.
    """
    with db.session() as s:
        rec = _recording_row(s, recording_id)
        juror_id = access.check_scoring(s, actor, rec)
    existing = find_evaluation(db, actor, recording_id, juror_id)
    if existing is not None:
        return existing
    with db.session() as s:
        rec = _recording_row(s, recording_id)
        name = _juror_name(s, juror_id)
        analysis = s.scalars(
            select(AnalysisRow)
            .where(AnalysisRow.recording_id == recording_id)
            .order_by(AnalysisRow.id.desc())
            .limit(1)
        ).first()
        if analysis is None:
            raise StoreError(
                "Cet appel n'a pas encore été analysé : lancez l'analyse depuis la page "
                "« Appels » avant de le noter."
            )
        result = analysis.result
        pass_ratio = float((result.get("score") or {}).get("pass_ratio") or DEFAULT_PASS_RATIO)
        now = utcnow()
        row = EvaluationRow(
            recording_id=rec.id,
            juror_id=juror_id,
            analysis_id=analysis.id,
            status="analyse",
            pass_ratio=pass_ratio,
            created_at=now,
            updated_at=now,
        )
        for position, c in enumerate(result.get("criteria") or []):
            row.items.append(
                EvaluationItemRow(
                    criterion_id=str(c["id"]),
                    position=position,
                    label=str(c.get("label", "")),
                    source=str(c.get("source", "call")),
                    manual=bool(c.get("manual", False)),
                    suggested=c.get("suggested"),
                    confidence=c.get("confidence"),
                    tick=None,
                    comment="",
                )
            )
        s.add(row)
        try:
            s.flush()
        except IntegrityError:  # opened at the same moment in another tab
            s.rollback()
            found = find_evaluation(db, actor, recording_id, juror_id)
            assert found is not None
            return found
        _audit(
            s,
            actor=actor,
            action="evaluation.create",
            entity="evaluation",
            entity_id=row.id,
            juror_id=juror_id,
            recording_id=rec.id,
            evaluation_id=row.id,
            session_id=_session_id_of(s, rec.id),
            after={"analysis_id": analysis.id, "criteria": len(row.items)},
        )
        s.commit()
        s.refresh(row)
        return _evaluation(row, name)


def get_evaluation(db: Database, actor: User, evaluation_id: int) -> Evaluation:
    with db.session() as s:
        row = _evaluation_row(s, evaluation_id)
        access.check_evaluation_read(s, actor, row)
        return _evaluation(row, _juror_name(s, row.juror_id))


def list_evaluations(db: Database, actor: User, recording_id: int) -> list[Evaluation]:
    """The evaluations of a recording that ``actor`` may read (a juror: their own, and the
    others' once theirs is validated)."""
    with db.session() as s:
        access.check_recording_read(s, actor, _recording_row(s, recording_id))
        rows = s.scalars(
            select(EvaluationRow)
            .where(EvaluationRow.recording_id == recording_id)
            .order_by(EvaluationRow.id)
        ).all()
        return [
            _evaluation(r, _juror_name(s, r.juror_id))
            for r in rows
            if access.can_read_evaluation(s, actor, r)
        ]


def _item_row(s: Session, evaluation: EvaluationRow, criterion_id: str) -> EvaluationItemRow:
    for item in evaluation.items:
        if item.criterion_id == criterion_id:
            return item
    raise StoreError(
        f"Critère {criterion_id} absent de cette évaluation. Critères valides : "
        + ", ".join(i.criterion_id for i in evaluation.items)
    )


def _writable_row(s: Session, actor: User, evaluation_id: int) -> EvaluationRow:
    """The evaluation row if ``actor`` is its juror and may still change it."""
    row = _evaluation_row(s, evaluation_id)
    juror_id = access.check_scoring(s, actor, _recording_row(s, row.recording_id))
    if row.juror_id != juror_id:
        raise StoreError(
            "Cette évaluation appartient à un autre juré : chaque juré note sa propre grille."
        )
    if row.status == "valide":
        raise StoreError(
            "Évaluation validée : elle est verrouillée. Déverrouillez-la (motif obligatoire) "
            "pour la modifier."
        )
    return row


def set_tick(
    db: Database, actor: User, evaluation_id: int, criterion_id: str, tick: str | None
) -> Mark:
    """Record the acting juror's tick (``acquis``, ``non_acquis`` or None to clear) at once."""
    if tick is not None and tick not in TICKS:
        raise StoreError(
            f"Coche invalide « {tick} » : valeurs possibles acquis, non_acquis (ou vide)."
        )
    return _update_item(db, actor, evaluation_id, criterion_id, "tick", tick)


def set_comment(
    db: Database, actor: User, evaluation_id: int, criterion_id: str, comment: str
) -> Mark:
    text = (comment or "").strip()
    if len(text) > 4000:
        raise StoreError("Commentaire trop long : 4000 caractères au plus.")
    return _update_item(db, actor, evaluation_id, criterion_id, "comment", text)


def _update_item(
    db: Database, actor: User, evaluation_id: int, criterion_id: str, field: str, value: str | None
) -> Mark:
    """Set one field (``tick`` or ``comment``) of a criterion, audit it, commit at once."""
    with db.session() as s:
        row = _writable_row(s, actor, evaluation_id)
        item = _item_row(s, row, criterion_id)
        before = getattr(item, field)
        if (before or None) == (value or None):
            return _mark(item)
        now = utcnow()
        setattr(item, field, value)
        item.updated_at = now
        item.updated_by = row.juror_id
        row.updated_at = now
        if row.status == "analyse":
            row.status = "en_revue"
        after: dict[str, Any] = {field: value}
        if field == "tick":
            after["suggested"] = item.suggested
        _audit(
            s,
            actor=actor,
            action=f"item.{field}",
            entity="evaluation_item",
            entity_id=item.id,
            juror_id=row.juror_id,
            recording_id=row.recording_id,
            evaluation_id=row.id,
            criterion_id=criterion_id,
            before={field: before},
            after=after,
        )
        s.commit()
        return _mark(item)


def accept_suggestions(db: Database, actor: User, evaluation_id: int) -> list[str]:
    """Tick every unticked criterion with its suggestion (acquis / non acquis only).

    Criteria suggested ``a_verifier`` and manual ones stay unticked. Returns the ids ticked.
    """
    ticked: list[str] = []
    with db.session() as s:
        row = _writable_row(s, actor, evaluation_id)
        now = utcnow()
        for item in row.items:
            if item.tick is None and not item.manual and item.suggested in TICKS:
                item.tick = item.suggested
                item.updated_at = now
                item.updated_by = row.juror_id
                ticked.append(item.criterion_id)
                _audit(
                    s,
                    actor=actor,
                    action="item.tick",
                    entity="evaluation_item",
                    entity_id=item.id,
                    juror_id=row.juror_id,
                    recording_id=row.recording_id,
                    evaluation_id=row.id,
                    criterion_id=item.criterion_id,
                    before={"tick": None},
                    after={"tick": item.tick, "suggested": item.suggested},
                    note="suggestion acceptée",
                )
        if ticked:
            row.updated_at = now
            if row.status == "analyse":
                row.status = "en_revue"
        s.commit()
    return ticked


def validate_evaluation(db: Database, actor: User, evaluation_id: int) -> Evaluation:
    """Lock the evaluation. Every criterion must be ticked acquis or non acquis."""
    with db.session() as s:
        row = _writable_row(s, actor, evaluation_id)
        missing = [i.criterion_id for i in row.items if i.tick not in TICKS]
        if missing:
            raise StoreError(
                "Impossible de valider : critère(s) non coché(s) "
                + ", ".join(missing)
                + ". Cochez « acquis » ou « non acquis » pour chacun."
            )
        name = _juror_name(s, row.juror_id)
        score = juror_score([i.tick for i in row.items], row.pass_ratio)
        before = row.status
        now = utcnow()
        row.status = "valide"
        row.validated_at = now
        row.updated_at = now
        _audit(
            s,
            actor=actor,
            action="evaluation.validate",
            entity="evaluation",
            entity_id=row.id,
            juror_id=row.juror_id,
            recording_id=row.recording_id,
            evaluation_id=row.id,
            session_id=_session_id_of(s, row.recording_id),
            before={"status": before},
            after={
                "status": "valide",
                "acquis": score.acquis,
                "total": score.total,
                "decision": score.decision,
            },
        )
        s.commit()
        s.refresh(row)
        return _evaluation(row, name)


def required_reason(reason: str | None, message: str) -> str:
    """The reason given for reopening something, whitespace tidied; ``message`` (French,
    saying why a reason is needed) raised as StoreError when it is missing or too short."""
    text = " ".join((reason or "").split())
    if len(text) < 3:
        raise StoreError(message)
    return text


def unlock_evaluation(db: Database, actor: User, evaluation_id: int, reason: str) -> Evaluation:
    """Reopen a validated evaluation (its own juror only); the reason is mandatory and logged."""
    text = required_reason(
        reason,
        "Motif de déverrouillage obligatoire : expliquez pourquoi l'évaluation est rouverte.",
    )
    with db.session() as s:
        row = _evaluation_row(s, evaluation_id)
        juror_id = access.check_scoring(s, actor, _recording_row(s, row.recording_id))
        if row.juror_id != juror_id:
            raise StoreError("Seul le juré auteur de l'évaluation peut la déverrouiller.")
        if row.status != "valide":
            raise StoreError("Cette évaluation n'est pas validée : rien à déverrouiller.")
        name = _juror_name(s, juror_id)
        row.status = "en_revue"
        row.validated_at = None
        row.updated_at = utcnow()
        _audit(
            s,
            actor=actor,
            action="evaluation.unlock",
            entity="evaluation",
            entity_id=row.id,
            juror_id=juror_id,
            recording_id=row.recording_id,
            evaluation_id=row.id,
            session_id=_session_id_of(s, row.recording_id),
            before={"status": "valide"},
            after={"status": "en_revue"},
            note=text,
        )
        s.commit()
        s.refresh(row)
        return _evaluation(row, name)


# --------------------------------------------------------------------------- audit
def log_event(
    db: Database,
    *,
    action: str,
    entity: str,
    entity_id: int | None = None,
    actor: Actor = "app",
    juror_id: int | None = None,
    recording_id: int | None = None,
    evaluation_id: int | None = None,
    criterion_id: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str | None = None,
    session_id: int | None = None,
) -> None:
    """Append an event that changes no table (a failed analysis, an export...)."""
    with db.session() as s:
        _audit(
            s,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            juror_id=juror_id,
            recording_id=recording_id,
            evaluation_id=evaluation_id,
            criterion_id=criterion_id,
            before=before,
            after=after,
            note=note,
            session_id=session_id,
        )
        s.commit()


def audit_entries(
    db: Database,
    actor: User,
    *,
    recording_id: int | None = None,
    evaluation_id: int | None = None,
    session_id: int | None = None,
    actions: Iterable[str] | None = None,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Journal rows, oldest first, optionally filtered.

    A recording's journal is open to whoever sees the recording (a juror does not see the
    other jurors' ticks before validating their own grid); an evaluation's to whoever
    reads it; a session's to its readers who manage calls (managers, administrators);
    the whole journal to administrators.
    """
    from call_eval.store.models import ExamSessionRow

    query = select(AuditRow).order_by(AuditRow.id)
    hide_other_jurors: int | None = None
    with db.session() as s:
        if recording_id is not None:
            rec = _recording_row(s, recording_id)
            access.check_recording_read(s, actor, rec)
            query = query.where(AuditRow.recording_id == recording_id)
            if not actor.can("exam_calls.manage") and actor.juror_id is not None:
                own = s.scalars(
                    select(EvaluationRow.status).where(
                        EvaluationRow.recording_id == recording_id,
                        EvaluationRow.juror_id == actor.juror_id,
                    )
                ).first()
                if own != "valide":
                    hide_other_jurors = actor.juror_id
        if evaluation_id is not None:
            access.check_evaluation_read(s, actor, _evaluation_row(s, evaluation_id))
            query = query.where(AuditRow.evaluation_id == evaluation_id)
        if session_id is not None:
            row = s.get(ExamSessionRow, session_id)
            if row is None:
                raise StoreError(f"Session n° {session_id} introuvable.")
            access.check_session_read(s, actor, row)
            require(actor, "sessions.read_all")
            query = query.where(AuditRow.session_id == session_id)
        if recording_id is None and evaluation_id is None and session_id is None:
            require(actor, "users.manage")
        if actions is not None:
            query = query.where(AuditRow.action.in_(list(actions)))
        if hide_other_jurors is not None:
            query = query.where(
                (AuditRow.juror_id.is_(None)) | (AuditRow.juror_id == hide_other_jurors)
            )
        if limit is not None:
            query = query.order_by(None).order_by(AuditRow.id.desc()).limit(limit)
        rows = list(s.scalars(query))
    if limit is not None:
        rows.reverse()
    return [
        AuditEntry(
            id=r.id,
            at=_utc(r.at),  # type: ignore[arg-type]
            actor=r.actor,
            juror_id=r.juror_id,
            action=r.action,
            entity=r.entity,
            entity_id=r.entity_id,
            recording_id=r.recording_id,
            evaluation_id=r.evaluation_id,
            criterion_id=r.criterion_id,
            before=r.before,
            after=r.after,
            note=r.note,
            user_id=r.user_id,
            session_id=r.session_id,
        )
        for r in rows
    ]


# --------------------------------------------------------------------------- export
def evaluation_export(db: Database, actor: User, evaluation_id: int) -> dict[str, Any]:
    """Everything a juror's result sheet needs, as plain JSON-able data.

    Feed it to :func:`call_eval.report.build_result_sheet`.
    """
    evaluation = get_evaluation(db, actor, evaluation_id)
    recording = get_recording(db, actor, evaluation.recording_id)
    analysis = get_analysis(db, actor, evaluation.analysis_id) if evaluation.analysis_id else None
    result = analysis.result if analysis else {}
    return {
        "candidate": {"id": recording.candidate_id, "name": recording.candidate_name},
        "recording": {
            "id": recording.id,
            "call_id": recording.call_id,
            "sha256": recording.sha256,
            "filename": recording.filename,
            "format": recording.format,
            "duration": recording.duration,
            "uploaded_at": recording.created_at.isoformat(),
            "crm_note": recording.crm_note,
        },
        "analysis": {
            "id": analysis.id if analysis else None,
            "analyzed_at": (result.get("call") or {}).get("analyzed_at"),
            "rubric": result.get("rubric"),
            "models": result.get("models"),
        },
        "evaluation": {
            "id": evaluation.id,
            "status": evaluation.status,
            "validated_at": evaluation.validated_at.isoformat()
            if evaluation.validated_at
            else None,
            "updated_at": evaluation.updated_at.isoformat(),
            "pass_ratio": evaluation.pass_ratio,
        },
        "juror": {"id": evaluation.juror_id, "name": evaluation.juror_name},
        "criteria": [
            {
                "id": m.criterion_id,
                "label": m.label,
                "source": m.source,
                "manual": m.manual,
                "suggested": m.suggested,
                "confidence": m.confidence,
                "tick": m.tick,
                "comment": m.comment,
                "updated_at": m.updated_at.isoformat() if m.updated_at else None,
            }
            for m in evaluation.marks
        ],
    }
