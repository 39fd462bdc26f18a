"""Exam sessions: jury, candidates, deliberation, decisions, retakes, appeals, dysfunctions.

The référentiel's « Organisation des épreuves » made operational (rules as data in
``call_eval/data/exam_rules.yaml``):

- a **session** has a date, a place, the two épreuves (mise en situation professionnelle,
  entretien technique), a manager (responsable de session) and a status (en préparation,
  close);
- its **jury**: one FILEA representative and one or two professionals; each juror's
  eligibility (3 years in the trade, not left it more than 5 years before the session,
  the 2-hour briefing attended before it) is checked and *warned about*, not blocked;
- its **candidates**, each with the recording of their call, their attempt (first,
  retake, new sitting after a well-founded appeal) and the jury's decision;
- **deliberation**: each juror scores independently (their own evaluation); the jury
  sees where they disagree per criterion, records the final tick per criterion (the
  technical interview's C13–C15 are entered here) and the decision: certified at
  ≥ 70 % of the criteria;
- **retakes**: a failed candidate may sit once more, within one year of the failed
  session; a second failure ends the path (enforced when registering);
- **appeals** (recours) and the **dysfunction log** (fiche de suivi des
  dysfonctionnements), attached to the session;
- the **annual review** (conseil de perfectionnement): statistics across sessions.

Every function takes the database and the acting :class:`~call_eval.auth.User` first and
checks them (:mod:`call_eval.store.access`).
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from call_eval.auth import JUROR, MANAGER, AccessDenied, User, require
from call_eval.store import access
from call_eval.store.db import Database
from call_eval.store.models import (
    AnalysisRow,
    AppealRow,
    CandidateRow,
    DeliberationItemRow,
    DysfunctionRow,
    EvaluationRow,
    ExamSessionRow,
    JurorRow,
    RecordingRow,
    SessionCandidateRow,
    SessionJurorRow,
    UserRow,
    utcnow,
)
from call_eval.store.repo import (
    TICKS,
    Candidate,
    Juror,
    JurorScore,
    StoreError,
    _audit,
    _candidate,
    _clean_name,
    _get_or_create_candidate,
    _juror,
    _utc,
    juror_score,
    required_reason,
)

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "exam_rules.yaml"

QUALITIES = ("filea", "professionnel")
QUALITY_LABELS = {"filea": "Représentant de FILEA", "professionnel": "Professionnel"}
SESSION_STATUSES = ("preparation", "close")
SESSION_STATUS_LABELS = {"preparation": "En préparation", "close": "Close"}
EPREUVES = (
    ("mise_en_situation", "Mise en situation professionnelle"),
    ("entretien_technique", "Entretien technique"),
)
EPREUVE_FIELDS = ("heure", "salle", "sujet")
ORIGINS = ("initiale", "rattrapage", "recours")
ORIGIN_LABELS = {
    "initiale": "Première présentation",
    "rattrapage": "Rattrapage",
    "recours": "Nouvelle présentation après recours",
}
CANDIDATE_STATUSES = ("inscrit", "absent", "decide")
CANDIDATE_STATUS_LABELS = {"inscrit": "Inscrit", "absent": "Absent", "decide": "Décision prise"}
DECISIONS = ("certifie", "non_certifie")
DECISION_LABELS = {"certifie": "Certifié", "non_certifie": "Non certifié"}
APPEAL_STATUSES = ("recu", "en_instruction", "fonde", "non_recevable")
APPEAL_STATUS_LABELS = {
    "recu": "Reçu",
    "en_instruction": "En instruction",
    "fonde": "Fondé : nouvelle session pour le candidat",
    "non_recevable": "Non recevable (notifié par écrit)",
}
APPEAL_FINAL = ("fonde", "non_recevable")
DYSFUNCTION_CATEGORIES = ("materiel", "organisation", "jury", "candidat", "outil", "autre")
DYSFUNCTION_CATEGORY_LABELS = {
    "materiel": "Matériel, locaux",
    "organisation": "Organisation, planning",
    "jury": "Jury",
    "candidat": "Candidat",
    "outil": "Outil d'évaluation",
    "autre": "Autre",
}
DYSFUNCTION_STATUSES = ("ouvert", "en_cours", "traite")
DYSFUNCTION_STATUS_LABELS = {"ouvert": "Ouvert", "en_cours": "En cours", "traite": "Traité"}
_UNSET: Any = object()


# =========================================================================== rules
@dataclass(frozen=True)
class ExamRules:
    min_years_experience: float = 3
    max_years_since_left: int = 5
    briefing_hours: float = 2
    filea_min: int = 1
    filea_max: int = 1
    professional_min: int = 1
    professional_max: int = 2
    pass_ratio: float = 0.7
    max_failures: int = 2
    window_months: int = 12
    communication_days: int = 10


@lru_cache(maxsize=4)
def _rules_from(path: str, mtime: float) -> ExamRules:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise StoreError(f"Règles d'examen illisibles ({path}) : {exc}.") from exc
    juror = data.get("juror") or {}
    jury = data.get("jury") or {}
    filea = jury.get("filea") or {}
    pro = jury.get("professionnel") or {}
    defaults = ExamRules()
    try:
        return ExamRules(
            min_years_experience=float(
                juror.get("min_years_experience", defaults.min_years_experience)
            ),
            max_years_since_left=int(
                juror.get("max_years_since_left", defaults.max_years_since_left)
            ),
            briefing_hours=float(juror.get("briefing_hours", defaults.briefing_hours)),
            filea_min=int(filea.get("min", defaults.filea_min)),
            filea_max=int(filea.get("max", defaults.filea_max)),
            professional_min=int(pro.get("min", defaults.professional_min)),
            professional_max=int(pro.get("max", defaults.professional_max)),
            pass_ratio=float(
                (data.get("certification") or {}).get("pass_ratio", defaults.pass_ratio)
            ),
            max_failures=int((data.get("retake") or {}).get("max_failures", defaults.max_failures)),
            window_months=int(
                (data.get("retake") or {}).get("window_months", defaults.window_months)
            ),
            communication_days=int(
                (data.get("results") or {}).get("communication_days", defaults.communication_days)
            ),
        )
    except (TypeError, ValueError) as exc:
        raise StoreError(f"Règles d'examen invalides ({path}) : {exc}.") from exc


def exam_rules(path: str | Path | None = None) -> ExamRules:
    """The exam rules (``call_eval/data/exam_rules.yaml`` unless another file is given)."""
    target = Path(path) if path is not None else RULES_FILE
    return _rules_from(str(target), target.stat().st_mtime)


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months (the 29 February of a leap year becomes the 28th)."""
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def format_day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def as_date(value: date | datetime | str | None, what: str = "date") -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise StoreError(f"{what.capitalize()} invalide « {value} » : attendu JJ/MM/AAAA.")


# --------------------------------------------------------------------------- eligibility
def juror_warnings(juror: Juror, on: date, rules: ExamRules | None = None) -> list[str]:
    """What keeps ``juror`` from meeting the référentiel's rules for a session on ``on``."""
    rules = rules or exam_rules()
    out: list[str] = []
    years = juror.years_experience
    if years is None:
        out.append("Expérience dans le métier non renseignée (3 ans au moins sont requis).")
    elif years < rules.min_years_experience:
        out.append(
            f"Moins de {rules.min_years_experience:g} ans d'expérience dans le métier "
            f"({years:g} an{'s' if years >= 2 else ''})."
        )
    if juror.left_trade_on is not None and juror.left_trade_on <= on:
        limit = add_months(juror.left_trade_on, 12 * rules.max_years_since_left)
        if on > limit:
            out.append(
                f"A quitté la fonction le {format_day(juror.left_trade_on)} : plus de "
                f"{rules.max_years_since_left} ans avant la session."
            )
    if juror.briefing_on is None:
        out.append(
            f"Session d'information de {rules.briefing_hours:g} heures non suivie (ou non "
            "renseignée)."
        )
    elif juror.briefing_on > on:
        out.append(
            f"Session d'information prévue le {format_day(juror.briefing_on)}, après la "
            "session d'examen : elle doit avoir lieu en amont."
        )
    return out


def jury_warnings(qualities: Sequence[str], rules: ExamRules | None = None) -> list[str]:
    """Composition of a jury against the référentiel (one FILEA, one or two professionals)."""
    rules = rules or exam_rules()
    counts = Counter(qualities)
    filea, pro = counts.get("filea", 0), counts.get("professionnel", 0)
    out: list[str] = []
    if filea < rules.filea_min:
        out.append("Aucun représentant de FILEA dans le jury : le référentiel en prévoit un.")
    elif filea > rules.filea_max:
        out.append(f"{filea} représentants de FILEA : le référentiel en prévoit {rules.filea_max}.")
    if pro < rules.professional_min:
        out.append(
            "Aucun professionnel (représentant du monde économique) dans le jury : il en faut "
            f"{rules.professional_min} ou {rules.professional_max}."
        )
    elif pro > rules.professional_max:
        out.append(
            f"{pro} professionnels dans le jury : {rules.professional_max} au plus selon le "
            "référentiel."
        )
    return out


# =========================================================================== records
@dataclass(frozen=True)
class ExamSession:
    id: int
    title: str | None
    session_date: date
    place: str
    epreuves: dict[str, dict[str, str]]
    manager_user_id: int | None
    manager_name: str | None
    status: str
    pass_ratio: float
    notes: str
    created_at: datetime
    closed_at: datetime | None
    jurors: int = 0
    candidates: int = 0
    decided: int = 0
    certified: int = 0

    @property
    def closed(self) -> bool:
        return self.status == "close"

    @property
    def status_label(self) -> str:
        return SESSION_STATUS_LABELS.get(self.status, self.status)

    @property
    def label(self) -> str:
        title = f" — {self.title}" if self.title else ""
        return f"{self.short_label}{title}"

    @property
    def short_label(self) -> str:
        return f"Session du {format_day(self.session_date)} — {self.place}"


@dataclass(frozen=True)
class JuryMember:
    juror: Juror
    quality: str
    warnings: tuple[str, ...]

    @property
    def quality_label(self) -> str:
        return QUALITY_LABELS.get(self.quality, self.quality)


@dataclass(frozen=True)
class JurorProgress:
    """Where one juror stands on one candidate's call."""

    juror_id: int
    name: str
    evaluation_id: int | None
    status: str | None  # None: not opened; analyse | en_revue | valide
    acquis: int
    ticked: int

    @property
    def validated(self) -> bool:
        return self.status == "valide"


@dataclass(frozen=True)
class SessionCandidate:
    id: int
    session_id: int
    candidate_id: int
    candidate_name: str
    recording_id: int | None
    recording_filename: str | None
    analysed: bool
    attempt: int
    origin: str
    experience_justified: bool
    status: str
    decision: str | None
    acquis: int | None
    total: int | None
    decided_at: datetime | None
    decided_by_name: str | None
    annulled: bool
    deliberation_note: str
    progress: tuple[JurorProgress, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def origin_label(self) -> str:
        return ORIGIN_LABELS.get(self.origin, self.origin)

    @property
    def status_label(self) -> str:
        if self.annulled:
            return "Annulée (recours fondé)"
        return CANDIDATE_STATUS_LABELS.get(self.status, self.status)

    @property
    def decision_label(self) -> str:
        if self.annulled:
            return "Annulée (recours fondé)"
        if self.status == "absent":
            return "Absent"
        return DECISION_LABELS.get(self.decision or "", "En attente")

    @property
    def decided(self) -> bool:
        return self.status == "decide"


@dataclass(frozen=True)
class Appeal:
    id: int
    session_id: int
    session_candidate_id: int
    candidate_name: str
    received_on: date
    motives: str
    status: str
    decision_note: str
    decided_on: date | None
    decided_by_name: str | None
    created_at: datetime

    @property
    def status_label(self) -> str:
        return APPEAL_STATUS_LABELS.get(self.status, self.status)

    @property
    def final(self) -> bool:
        return self.status in APPEAL_FINAL


@dataclass(frozen=True)
class Dysfunction:
    id: int
    session_id: int
    observed_on: date
    category: str
    description: str
    action: str
    status: str
    reported_by_name: str | None
    created_at: datetime
    closed_at: datetime | None

    @property
    def category_label(self) -> str:
        return DYSFUNCTION_CATEGORY_LABELS.get(self.category, self.category)

    @property
    def status_label(self) -> str:
        return DYSFUNCTION_STATUS_LABELS.get(self.status, self.status)


@dataclass(frozen=True)
class SessionFile:
    """Everything the session's page shows, read in one go."""

    session: ExamSession
    jury: tuple[JuryMember, ...]
    jury_warnings: tuple[str, ...]
    candidates: tuple[SessionCandidate, ...]
    appeals: tuple[Appeal, ...]
    dysfunctions: tuple[Dysfunction, ...]
    rights: access.SessionRights


@dataclass(frozen=True)
class Attempt:
    """One sitting of a candidate (for the retake rules)."""

    session_id: int
    session_date: date
    place: str
    session_candidate_id: int
    attempt: int
    origin: str
    status: str
    decision: str | None
    annulled: bool
    session_closed: bool

    @property
    def counts_as_failure(self) -> bool:
        return self.decision == "non_certifie" and not self.annulled

    @property
    def certified(self) -> bool:
        return self.decision == "certifie" and not self.annulled

    @property
    def pending(self) -> bool:
        return self.status == "inscrit" and not self.annulled


@dataclass(frozen=True)
class RetakeDecision:
    """May the candidate sit a session on a given date, and as which attempt."""

    allowed: bool
    attempt: int
    origin: str
    reason: str
    deadline: date | None = None


@dataclass(frozen=True)
class CandidatePath:
    candidate: Candidate
    attempts: tuple[Attempt, ...]
    state: str  # nouveau | en_cours | certifie | rattrapage_possible | rattrapage_expire | termine
    message: str
    deadline: date | None


@dataclass(frozen=True)
class DeliberationRow:
    criterion_id: str
    position: int
    label: str
    source: str
    suggested: str | None
    confidence: float | None
    juror_ticks: tuple[tuple[str, str | None, bool], ...]  # (juror name, tick, validated)
    juror_comments: tuple[tuple[str, str], ...]
    final_tick: str | None
    comment: str

    @property
    def interview(self) -> bool:
        return self.source == "interview"

    @property
    def validated_ticks(self) -> list[str]:
        return [t for _, t, ok in self.juror_ticks if ok and t is not None]

    @property
    def disagreement(self) -> bool:
        """Jurors who validated their grid ticked this criterion differently."""
        return len(set(self.validated_ticks)) > 1

    @property
    def unanimous_tick(self) -> str | None:
        """The tick every juror gave (every grid validated, at least two), else None."""
        ticks = [t for _, t, _ in self.juror_ticks]
        if len(ticks) < 2 or not all(ok for _, _, ok in self.juror_ticks):
            return None
        return ticks[0] if ticks[0] is not None and len(set(ticks)) == 1 else None


@dataclass(frozen=True)
class Deliberation:
    session: ExamSession
    candidate: SessionCandidate
    jurors: tuple[JurorProgress, ...]
    rows: tuple[DeliberationRow, ...]
    score: JurorScore
    can_write: bool

    @property
    def disagreements(self) -> list[str]:
        return [r.criterion_id for r in self.rows if r.disagreement]

    @property
    def decided(self) -> bool:
        return self.candidate.decided


# =========================================================================== helpers
def _session_row(s: Session, session_id: int) -> ExamSessionRow:
    row = s.get(ExamSessionRow, session_id)
    if row is None:
        raise StoreError(f"Session n° {session_id} introuvable.")
    return row


def _sc_row(s: Session, session_candidate_id: int) -> SessionCandidateRow:
    row = s.get(SessionCandidateRow, session_candidate_id)
    if row is None:
        raise StoreError(f"Inscription n° {session_candidate_id} introuvable.")
    return row


def _user_name(s: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    row = s.get(UserRow, user_id)
    return row.display_name if row else None


def _not_closed(row: ExamSessionRow) -> None:
    if row.status == "close":
        raise StoreError(
            "Session close : elle n'est plus modifiable. Son responsable peut la rouvrir "
            "(motif obligatoire, conservé au journal)."
        )


def _epreuves(raw: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for code, _label in EPREUVES:
        values = (raw or {}).get(code) or {}
        out[code] = {k: str(values.get(k) or "").strip()[:300] for k in EPREUVE_FIELDS}
    return out


def _session(s: Session, row: ExamSessionRow, counts: bool = True) -> ExamSession:
    jurors = candidates = decided = certified = 0
    if counts:
        jurors = len(
            s.scalars(
                select(SessionJurorRow.juror_id).where(SessionJurorRow.session_id == row.id)
            ).all()
        )
        for sc in s.scalars(
            select(SessionCandidateRow).where(SessionCandidateRow.session_id == row.id)
        ):
            candidates += 1
            if sc.status == "decide" and not sc.annulled:
                decided += 1
                certified += sc.decision == "certifie"
    return ExamSession(
        id=row.id,
        title=row.title,
        session_date=row.session_date,
        place=row.place,
        epreuves=_epreuves(row.epreuves),
        manager_user_id=row.manager_user_id,
        manager_name=_user_name(s, row.manager_user_id),
        status=row.status,
        pass_ratio=row.pass_ratio,
        notes=row.notes or "",
        created_at=_utc(row.created_at),  # type: ignore[arg-type]
        closed_at=_utc(row.closed_at),
        jurors=jurors,
        candidates=candidates,
        decided=decided,
        certified=certified,
    )


def _jury_rows(s: Session, session_id: int) -> list[tuple[SessionJurorRow, JurorRow]]:
    return list(
        s.execute(
            select(SessionJurorRow, JurorRow)
            .join(JurorRow, JurorRow.id == SessionJurorRow.juror_id)
            .where(SessionJurorRow.session_id == session_id)
            .order_by(SessionJurorRow.quality, JurorRow.name)
        ).all()
    )


def _jury(s: Session, row: ExamSessionRow, rules: ExamRules) -> list[JuryMember]:
    users = {u.juror_id: u for u in s.scalars(select(UserRow).where(UserRow.juror_id.is_not(None)))}
    out = []
    for member, juror_row in _jury_rows(s, row.id):
        juror = _juror(juror_row, users.get(juror_row.id))
        out.append(
            JuryMember(
                juror=juror,
                quality=member.quality,
                warnings=tuple(juror_warnings(juror, row.session_date, rules)),
            )
        )
    return out


def _progress(s: Session, session_id: int, recording_id: int | None) -> tuple[JurorProgress, ...]:
    members = _jury_rows(s, session_id)
    evaluations: dict[int, EvaluationRow] = {}
    if recording_id is not None:
        for e in s.scalars(select(EvaluationRow).where(EvaluationRow.recording_id == recording_id)):
            evaluations[e.juror_id] = e
    out = []
    for _member, juror in members:
        e = evaluations.get(juror.id)
        ticks = [i.tick for i in e.items] if e is not None else []
        out.append(
            JurorProgress(
                juror_id=juror.id,
                name=juror.name,
                evaluation_id=e.id if e is not None else None,
                status=e.status if e is not None else None,
                acquis=sum(1 for t in ticks if t == "acquis"),
                ticked=sum(1 for t in ticks if t is not None),
            )
        )
    return tuple(out)


def _session_candidate(
    s: Session, row: SessionCandidateRow, *, with_progress: bool = True
) -> SessionCandidate:
    candidate = s.get(CandidateRow, row.candidate_id)
    recording = s.get(RecordingRow, row.recording_id) if row.recording_id else None
    analysed = (
        recording is not None
        and s.scalars(
            select(AnalysisRow.id).where(AnalysisRow.recording_id == recording.id).limit(1)
        ).first()
        is not None
    )
    warnings: list[str] = []
    if row.origin == "rattrapage" and not row.experience_justified:
        warnings.append(
            "Rattrapage : le justificatif d'expérience professionnelle sur le métier n'est "
            "pas encore enregistré."
        )
    if row.status == "inscrit" and row.recording_id is None:
        warnings.append("Aucun enregistrement de la mise en situation rattaché.")
    elif row.status == "inscrit" and not analysed:
        warnings.append("Enregistrement pas encore analysé.")
    return SessionCandidate(
        id=row.id,
        session_id=row.session_id,
        candidate_id=row.candidate_id,
        candidate_name=candidate.name if candidate else "?",
        recording_id=row.recording_id,
        recording_filename=recording.filename if recording else None,
        analysed=analysed,
        attempt=row.attempt,
        origin=row.origin,
        experience_justified=bool(row.experience_justified),
        status=row.status,
        decision=row.decision,
        acquis=row.acquis,
        total=row.total,
        decided_at=_utc(row.decided_at),
        decided_by_name=_user_name(s, row.decided_by),
        annulled=bool(row.annulled),
        deliberation_note=row.deliberation_note or "",
        progress=_progress(s, row.session_id, row.recording_id) if with_progress else (),
        warnings=tuple(warnings),
    )


def _appeal(s: Session, row: AppealRow) -> Appeal:
    sc = s.get(SessionCandidateRow, row.session_candidate_id)
    candidate = s.get(CandidateRow, sc.candidate_id) if sc else None
    return Appeal(
        id=row.id,
        session_id=row.session_id,
        session_candidate_id=row.session_candidate_id,
        candidate_name=candidate.name if candidate else "?",
        received_on=row.received_on,
        motives=row.motives,
        status=row.status,
        decision_note=row.decision_note or "",
        decided_on=row.decided_on,
        decided_by_name=_user_name(s, row.decided_by),
        created_at=_utc(row.created_at),  # type: ignore[arg-type]
    )


def _dysfunction(s: Session, row: DysfunctionRow) -> Dysfunction:
    return Dysfunction(
        id=row.id,
        session_id=row.session_id,
        observed_on=row.observed_on,
        category=row.category,
        description=row.description,
        action=row.action or "",
        status=row.status,
        reported_by_name=_user_name(s, row.created_by),
        created_at=_utc(row.created_at),  # type: ignore[arg-type]
        closed_at=_utc(row.closed_at),
    )


def _text(value: str | None, what: str, *, required: bool = True, limit: int = 4000) -> str:
    text = " ".join(str(value or "").split()) if limit <= 300 else str(value or "").strip()
    if required and not text:
        raise StoreError(f"Champ obligatoire : {what}. Remplissez-le.")
    if len(text) > limit:
        raise StoreError(f"Texte trop long ({what}) : {limit} caractères au plus.")
    return text


# =========================================================================== sessions
def create_session(
    db: Database,
    actor: User,
    *,
    session_date: date | str,
    place: str,
    title: str | None = None,
    epreuves: Mapping[str, Any] | None = None,
    manager_user_id: int | None = None,
    notes: str = "",
) -> ExamSession:
    """A new session in preparation. Its manager is the acting manager (an administrator
    may designate another account holding the manager role)."""
    require(actor, "sessions.create")
    day = as_date(session_date, "date de la session")
    if day is None:
        raise StoreError("Date de la session manquante : saisissez-la (JJ/MM/AAAA).")
    where = _text(place, "lieu de la session", limit=300)
    with db.session() as s:
        manager_id = manager_user_id
        if manager_id is None:
            manager_id = actor.id if MANAGER in actor.roles else None
        elif manager_id != actor.id and not actor.is_admin:
            raise AccessDenied("Seul un administrateur désigne un autre responsable de session.")
        if manager_id is not None:
            _check_manager_account(s, manager_id)
        row = ExamSessionRow(
            title=_text(title, "intitulé", required=False, limit=200) or None,
            session_date=day,
            place=where,
            epreuves=_epreuves(epreuves),
            manager_user_id=manager_id,
            status="preparation",
            pass_ratio=exam_rules().pass_ratio,
            notes=_text(notes, "notes", required=False),
            created_at=utcnow(),
            created_by=actor.id or None,
        )
        s.add(row)
        s.flush()
        _audit(s, actor=actor, action="session.create", entity="session", entity_id=row.id,
               session_id=row.id, after={"date": day.isoformat(), "place": where,
                                         "manager_user_id": manager_id})  # fmt: skip
        s.commit()
        return _session(s, row)


def _check_manager_account(s: Session, user_id: int) -> None:
    user = s.get(UserRow, user_id)
    if user is None or MANAGER not in {r.role for r in user.roles} or not user.active:
        raise StoreError(
            "Le responsable désigné doit être un compte actif ayant le rôle « Responsable de "
            "session »."
        )


def update_session(
    db: Database,
    actor: User,
    session_id: int,
    *,
    session_date: date | str = _UNSET,
    place: str = _UNSET,
    title: str | None = _UNSET,
    epreuves: Mapping[str, Any] = _UNSET,
    notes: str = _UNSET,
    manager_user_id: int = _UNSET,
) -> ExamSession:
    """Change what is given (the session's manager or an administrator; not once closed)."""
    with db.session() as s:
        row = _session_row(s, session_id)
        access.check_session_manage(s, actor, row)
        _not_closed(row)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}

        def change(name: str, value: Any) -> None:
            old = getattr(row, name)
            if old != value:
                before[name] = old.isoformat() if isinstance(old, date) else old
                after[name] = value.isoformat() if isinstance(value, date) else value
                setattr(row, name, value)

        if session_date is not _UNSET:
            day = as_date(session_date, "date de la session")
            if day is None:
                raise StoreError("Date de la session manquante.")
            change("session_date", day)
        if place is not _UNSET:
            change("place", _text(place, "lieu de la session", limit=300))
        if title is not _UNSET:
            change("title", _text(title, "intitulé", required=False, limit=200) or None)
        if epreuves is not _UNSET:
            change("epreuves", _epreuves(epreuves))
        if notes is not _UNSET:
            change("notes", _text(notes, "notes", required=False))
        if manager_user_id is not _UNSET:
            if not actor.is_admin:
                raise AccessDenied("Seul un administrateur change le responsable d'une session.")
            _check_manager_account(s, manager_user_id)
            change("manager_user_id", manager_user_id)
        if after:
            _audit(s, actor=actor, action="session.update", entity="session", entity_id=row.id,
                   session_id=row.id, before=before, after=after)  # fmt: skip
            s.commit()
        return _session(s, row)


def list_sessions(db: Database, actor: User) -> list[ExamSession]:
    """The sessions ``actor`` may see, the most recent date first."""
    condition = access.visible_sessions(actor)
    with db.session() as s:
        query = select(ExamSessionRow).order_by(
            ExamSessionRow.session_date.desc(), ExamSessionRow.id.desc()
        )
        if condition is not None:
            query = query.where(condition)
        return [_session(s, row) for row in s.scalars(query)]


def get_session(db: Database, actor: User, session_id: int) -> ExamSession:
    with db.session() as s:
        row = _session_row(s, session_id)
        access.check_session_read(s, actor, row)
        return _session(s, row)


def session_file(db: Database, actor: User, session_id: int) -> SessionFile:
    """The session with its jury (and warnings), candidates, appeals and dysfunctions."""
    rules = exam_rules()
    with db.session() as s:
        row = _session_row(s, session_id)
        rights = access.check_session_read(s, actor, row)
        jury = _jury(s, row, rules)
        candidates = [
            _session_candidate(s, sc)
            for sc in s.scalars(
                select(SessionCandidateRow)
                .join(CandidateRow, CandidateRow.id == SessionCandidateRow.candidate_id)
                .where(SessionCandidateRow.session_id == row.id)
                .order_by(CandidateRow.name)
            )
        ]
        see_office = rights.manage or actor.can("sessions.read_all")
        appeals = (
            [_appeal(s, a) for a in s.scalars(
                select(AppealRow).where(AppealRow.session_id == row.id).order_by(AppealRow.id))]
            if see_office else []
        )  # fmt: skip
        dysfunctions = [
            _dysfunction(s, d)
            for d in s.scalars(
                select(DysfunctionRow)
                .where(DysfunctionRow.session_id == row.id)
                .order_by(DysfunctionRow.observed_on, DysfunctionRow.id)
            )
        ]
        return SessionFile(
            session=_session(s, row),
            jury=tuple(jury),
            jury_warnings=tuple(jury_warnings([m.quality for m in jury], rules)),
            candidates=tuple(candidates),
            appeals=tuple(appeals),
            dysfunctions=tuple(dysfunctions),
            rights=rights,
        )


def close_session(db: Database, actor: User, session_id: int) -> ExamSession:
    """Close the session once every candidate has a decision (or is marked absent): the
    minutes become final and nothing in the session changes any more."""
    with db.session() as s:
        row = _session_row(s, session_id)
        access.check_session_manage(s, actor, row)
        _not_closed(row)
        rows = s.scalars(
            select(SessionCandidateRow).where(SessionCandidateRow.session_id == row.id)
        ).all()
        if not rows:
            raise StoreError("Impossible de clore une session sans candidat.")
        pending = [
            s.get(CandidateRow, sc.candidate_id).name  # type: ignore[union-attr]
            for sc in rows
            if sc.status == "inscrit"
        ]
        if pending:
            raise StoreError(
                "Impossible de clore la session : décision du jury manquante pour "
                + ", ".join(sorted(pending))
                + ". Délibérez (ou marquez le candidat absent) d'abord."
            )
        row.status = "close"
        row.closed_at = utcnow()
        row.closed_by = actor.id or None
        _audit(s, actor=actor, action="session.close", entity="session", entity_id=row.id,
               session_id=row.id, before={"status": "preparation"}, after={"status": "close"})  # fmt: skip
        s.commit()
        return _session(s, row)


def reopen_session(db: Database, actor: User, session_id: int, reason: str) -> ExamSession:
    text = required_reason(
        reason, "Motif de réouverture obligatoire : expliquez pourquoi la session est rouverte."
    )
    with db.session() as s:
        row = _session_row(s, session_id)
        access.check_session_manage(s, actor, row)
        if row.status != "close":
            raise StoreError("Cette session n'est pas close : rien à rouvrir.")
        row.status = "preparation"
        row.closed_at = None
        row.closed_by = None
        _audit(s, actor=actor, action="session.reopen", entity="session", entity_id=row.id,
               session_id=row.id, before={"status": "close"}, after={"status": "preparation"},
               note=text)  # fmt: skip
        s.commit()
        return _session(s, row)


@dataclass(frozen=True)
class Assignment:
    """The session a recording's candidate sits (for the calls list)."""

    recording_id: int
    session_id: int
    session_label: str
    session_candidate_id: int
    session_closed: bool
    decided: bool


def recording_assignments(db: Database, actor: User) -> dict[int, Assignment]:
    """Which session each recording ``actor`` may see is attached to, by recording id."""
    condition = access.visible_recordings(actor)
    with db.session() as s:
        query = (
            select(SessionCandidateRow, ExamSessionRow)
            .join(ExamSessionRow, ExamSessionRow.id == SessionCandidateRow.session_id)
            .join(RecordingRow, RecordingRow.id == SessionCandidateRow.recording_id)
        )
        if condition is not None:
            query = query.where(condition)
        out = {}
        for sc, row in s.execute(query):
            session = _session(s, row, counts=False)
            out[sc.recording_id] = Assignment(
                recording_id=sc.recording_id,  # type: ignore[arg-type]
                session_id=row.id,
                session_label=session.label,
                session_candidate_id=sc.id,
                session_closed=row.status == "close",
                decided=sc.status == "decide",
            )
        return out


# =========================================================================== jury
def create_juror(
    db: Database,
    actor: User,
    *,
    name: str,
    organisation: str | None = None,
    years_experience: float | None = None,
    left_trade_on: date | str | None = None,
    briefing_on: date | str | None = None,
) -> Juror:
    """A juror record with their eligibility (managers and administrators)."""
    require(actor, "jurors.manage")
    cleaned = _clean_name(name, "juré")
    with db.session() as s:
        if s.scalars(select(JurorRow.id).where(JurorRow.name == cleaned)).first() is not None:
            raise StoreError(
                f"Un juré « {cleaned} » existe déjà : choisissez-le dans la liste des jurés."
            )
        row = JurorRow(name=cleaned, created_at=utcnow())
        _set_eligibility(row, organisation, years_experience, left_trade_on, briefing_on)
        s.add(row)
        s.flush()
        _audit(s, actor=actor, action="juror.create", entity="juror", entity_id=row.id,
               juror_id=row.id, after=_eligibility_dict(row) | {"name": cleaned})  # fmt: skip
        s.commit()
        return _juror(row)


def _set_eligibility(
    row: JurorRow,
    organisation: str | None,
    years_experience: float | None,
    left_trade_on: date | str | None,
    briefing_on: date | str | None,
) -> None:
    if years_experience is not None:
        try:
            years = float(years_experience)
        except (TypeError, ValueError):
            raise StoreError("Années d'expérience : nombre attendu (ex. 4).") from None
        if not 0 <= years <= 60:
            raise StoreError("Années d'expérience : valeur de 0 à 60 attendue.")
        row.years_experience = years
    else:
        row.years_experience = None
    row.organisation = _text(organisation, "organisation", required=False, limit=200) or None
    row.left_trade_on = as_date(left_trade_on, "date de départ du métier")
    row.briefing_on = as_date(briefing_on, "date de la session d'information")


def _eligibility_dict(row: JurorRow) -> dict[str, Any]:
    return {
        "organisation": row.organisation,
        "years_experience": row.years_experience,
        "left_trade_on": row.left_trade_on.isoformat() if row.left_trade_on else None,
        "briefing_on": row.briefing_on.isoformat() if row.briefing_on else None,
    }


def update_juror(
    db: Database,
    actor: User,
    juror_id: int,
    *,
    organisation: str | None,
    years_experience: float | None,
    left_trade_on: date | str | None,
    briefing_on: date | str | None,
) -> Juror:
    """Record a juror's eligibility (all four values, None for unknown)."""
    require(actor, "jurors.manage")
    with db.session() as s:
        row = s.get(JurorRow, juror_id)
        if row is None:
            raise StoreError(f"Juré n° {juror_id} introuvable.")
        before = _eligibility_dict(row)
        _set_eligibility(row, organisation, years_experience, left_trade_on, briefing_on)
        after = _eligibility_dict(row)
        if after != before:
            _audit(s, actor=actor, action="juror.update", entity="juror", entity_id=row.id,
                   juror_id=row.id, before=before, after=after)  # fmt: skip
            s.commit()
        user = s.scalars(select(UserRow).where(UserRow.juror_id == row.id)).first()
        return _juror(row, user)


def add_jury_member(
    db: Database, actor: User, session_id: int, juror_id: int, quality: str
) -> JuryMember:
    """Seat a juror on the session's jury as FILEA representative or professional.

    Returns the member with the eligibility warnings for the session's date (a warning
    does not stop the seating: the manager decides, and the warnings stay visible).
    """
    if quality not in QUALITIES:
        raise StoreError(f"Qualité du juré invalide « {quality} » : filea ou professionnel.")
    with db.session() as s:
        row = _session_row(s, session_id)
        access.check_session_manage(s, actor, row)
        _not_closed(row)
        juror_row = s.get(JurorRow, juror_id)
        if juror_row is None:
            raise StoreError(f"Juré n° {juror_id} introuvable.")
        if s.get(SessionJurorRow, {"session_id": row.id, "juror_id": juror_id}) is not None:
            raise StoreError(f"{juror_row.name} fait déjà partie du jury de cette session.")
        s.add(SessionJurorRow(session_id=row.id, juror_id=juror_id, quality=quality,
                              added_at=utcnow()))  # fmt: skip
        juror = _juror(
            juror_row, s.scalars(select(UserRow).where(UserRow.juror_id == juror_id)).first()
        )
        warnings = juror_warnings(juror, row.session_date)
        _audit(s, actor=actor, action="jury.add", entity="session", entity_id=row.id,
               session_id=row.id, juror_id=juror_id,
               after={"juror": juror_row.name, "quality": quality, "warnings": warnings})  # fmt: skip
        s.commit()
        return JuryMember(juror=juror, quality=quality, warnings=tuple(warnings))


def remove_jury_member(db: Database, actor: User, session_id: int, juror_id: int) -> None:
    with db.session() as s:
        row = _session_row(s, session_id)
        access.check_session_manage(s, actor, row)
        _not_closed(row)
        member = s.get(SessionJurorRow, {"session_id": row.id, "juror_id": juror_id})
        if member is None:
            raise StoreError("Ce juré ne fait pas partie du jury de cette session.")
        recordings = [
            r
            for r in s.scalars(
                select(SessionCandidateRow.recording_id).where(
                    SessionCandidateRow.session_id == row.id
                )
            )
            if r is not None
        ]
        if (
            recordings
            and s.scalars(
                select(EvaluationRow.id).where(
                    EvaluationRow.juror_id == juror_id, EvaluationRow.recording_id.in_(recordings)
                )
            ).first()
        ):
            raise StoreError(
                "Ce juré a déjà commencé à noter des candidats de la session : il reste au jury "
                "(ses grilles sont conservées)."
            )
        s.delete(member)
        _audit(s, actor=actor, action="jury.remove", entity="session", entity_id=row.id,
               session_id=row.id, juror_id=juror_id)  # fmt: skip
        s.commit()


def list_jurors_for(db: Database, actor: User) -> list[Juror]:
    """Every juror record (to seat on a jury), with their account's identifier."""
    require(actor, "jurors.manage")
    with db.session() as s:
        users = {
            u.juror_id: u for u in s.scalars(select(UserRow).where(UserRow.juror_id.is_not(None)))
        }
        return [
            _juror(r, users.get(r.id)) for r in s.scalars(select(JurorRow).order_by(JurorRow.name))
        ]


# =========================================================================== candidates
def _attempts(s: Session, candidate_id: int, exclude_session: int | None = None) -> list[Attempt]:
    out = []
    for sc, session in s.execute(
        select(SessionCandidateRow, ExamSessionRow)
        .join(ExamSessionRow, ExamSessionRow.id == SessionCandidateRow.session_id)
        .where(SessionCandidateRow.candidate_id == candidate_id)
        .order_by(ExamSessionRow.session_date, SessionCandidateRow.id)
    ):
        if exclude_session is not None and session.id == exclude_session:
            continue
        out.append(
            Attempt(
                session_id=session.id,
                session_date=session.session_date,
                place=session.place,
                session_candidate_id=sc.id,
                attempt=sc.attempt,
                origin=sc.origin,
                status=sc.status,
                decision=sc.decision,
                annulled=bool(sc.annulled),
                session_closed=session.status == "close",
            )
        )
    return out


def retake_decision(
    attempts: Sequence[Attempt], on: date, rules: ExamRules | None = None
) -> RetakeDecision:
    """May a candidate with these earlier sittings sit a session on ``on``?

    - already certified, or registered in a session not yet decided → no;
    - ``max_failures`` failures (2) → no: the path is over;
    - one failure → a retake, on a date after the failed session and at most
      ``window_months`` (12) after it;
    - a sitting voided by a well-founded appeal does not count; the next one is a new
      sitting after appeal.
    """
    rules = rules or exam_rules()
    counted = sorted(attempts, key=lambda a: (a.session_date, a.session_candidate_id))
    if any(a.certified for a in counted):
        done = next(a for a in counted if a.certified)
        return RetakeDecision(
            False, 0, "", f"Candidat déjà certifié (session du {format_day(done.session_date)})."
        )
    pending = [a for a in counted if a.pending]
    if pending:
        return RetakeDecision(
            False,
            0,
            "",
            f"Candidat déjà inscrit à la session du {format_day(pending[0].session_date)}, "
            "sans décision du jury pour l'instant.",
        )
    failures = [a for a in counted if a.counts_as_failure]
    if len(failures) >= rules.max_failures:
        return RetakeDecision(
            False,
            0,
            "",
            f"{len(failures)} échecs (sessions du "
            + ", ".join(format_day(a.session_date) for a in failures)
            + ") : le candidat n'est plus admis à se présenter.",
        )
    last = counted[-1] if counted else None
    if failures:
        failed = failures[-1]
        deadline = add_months(failed.session_date, rules.window_months)
        if on <= failed.session_date:
            return RetakeDecision(
                False,
                0,
                "",
                f"La session de rattrapage doit avoir lieu après la session échouée du "
                f"{format_day(failed.session_date)}.",
                deadline,
            )
        if on > deadline:
            return RetakeDecision(
                False,
                0,
                "",
                f"Délai de rattrapage dépassé : le candidat avait jusqu'au "
                f"{format_day(deadline)} (un an après l'échec du "
                f"{format_day(failed.session_date)}).",
                deadline,
            )
        origin = "recours" if last is not None and last.annulled else "rattrapage"
        return RetakeDecision(
            True,
            len(failures) + 1,
            origin,
            f"Rattrapage autorisé jusqu'au {format_day(deadline)}.",
            deadline,
        )
    if last is not None and last.annulled:
        return RetakeDecision(
            True, 1, "recours", "Nouvelle présentation après un recours jugé fondé."
        )
    return RetakeDecision(True, 1, "initiale", "Première présentation.")


def candidate_path(
    db: Database, actor: User, candidate_id: int, on: date | None = None
) -> CandidatePath:
    """A candidate's sittings and where their path stands (on ``on``, default today)."""
    require(actor, "sessions.read_all")
    today = on or datetime.now(UTC).date()
    with db.session() as s:
        row = s.get(CandidateRow, candidate_id)
        if row is None:
            raise StoreError(f"Candidat n° {candidate_id} introuvable.")
        attempts = _attempts(s, candidate_id)
    rules = exam_rules()
    failures = [a for a in attempts if a.counts_as_failure]
    deadline = None
    if any(a.certified for a in attempts):
        state, message = "certifie", "Certifié."
    elif any(a.pending for a in attempts):
        p = next(a for a in attempts if a.pending)
        state, message = "en_cours", f"Inscrit à la session du {format_day(p.session_date)}."
    elif len(failures) >= rules.max_failures:
        state = "termine"
        message = "Deux échecs : le candidat n'est plus admis à se présenter."
    elif failures:
        deadline = add_months(failures[-1].session_date, rules.window_months)
        if today <= deadline:
            state, message = (
                "rattrapage_possible",
                f"Échec le {format_day(failures[-1].session_date)} : rattrapage possible "
                f"jusqu'au {format_day(deadline)}.",
            )
        else:
            state, message = (
                "rattrapage_expire",
                f"Échec le {format_day(failures[-1].session_date)} : délai de rattrapage "
                f"expiré le {format_day(deadline)}.",
            )
    else:
        state, message = "nouveau", "Pas encore présenté."
    return CandidatePath(_candidate(row), tuple(attempts), state, message, deadline)


def register_candidate(
    db: Database,
    actor: User,
    session_id: int,
    candidate: str | int,
    *,
    recording_id: int | None = None,
    experience_justified: bool = False,
) -> SessionCandidate:
    """Register a candidate (by name or id) in a session, applying the retake rules.

    Refused (French reason) when the candidate is already certified, already registered in
    an undecided session, has failed twice, or asks for a retake outside the year after
    their failure.
    """
    with db.session() as s:
        row = _session_row(s, session_id)
        access.check_session_manage(s, actor, row)
        _not_closed(row)
        if isinstance(candidate, int):
            candidate_row = s.get(CandidateRow, candidate)
            if candidate_row is None:
                raise StoreError(f"Candidat n° {candidate} introuvable.")
        else:
            candidate_row = _get_or_create_candidate(s, candidate, actor)
        if s.scalars(
            select(SessionCandidateRow.id).where(
                SessionCandidateRow.session_id == row.id,
                SessionCandidateRow.candidate_id == candidate_row.id,
            )
        ).first():
            raise StoreError(f"{candidate_row.name} est déjà inscrit(e) à cette session.")
        decision = retake_decision(_attempts(s, candidate_row.id), row.session_date)
        if not decision.allowed:
            raise StoreError(f"Inscription refusée pour {candidate_row.name} : {decision.reason}")
        sc = SessionCandidateRow(
            session_id=row.id,
            candidate_id=candidate_row.id,
            attempt=decision.attempt,
            origin=decision.origin,
            experience_justified=bool(experience_justified),
            status="inscrit",
            deliberation_note="",
            annulled=False,
            created_at=utcnow(),
        )
        s.add(sc)
        s.flush()
        if recording_id is not None:
            _attach_recording(s, actor, sc, recording_id)
        _audit(s, actor=actor, action="candidate.register", entity="session_candidate",
               entity_id=sc.id, session_id=row.id, recording_id=sc.recording_id,
               after={"candidate": candidate_row.name, "attempt": sc.attempt,
                      "origin": sc.origin, "recording_id": sc.recording_id})  # fmt: skip
        s.commit()
        return _session_candidate(s, sc)


def _attach_recording(
    s: Session, actor: User, sc: SessionCandidateRow, recording_id: int | None
) -> None:
    if recording_id is None:
        sc.recording_id = None
        return
    rec = s.get(RecordingRow, recording_id)
    if rec is None:
        raise StoreError(f"Appel n° {recording_id} introuvable.")
    access.check_recording_write(s, actor, rec)
    if rec.purpose != access.EXAM:
        raise StoreError(
            "Un appel d'entraînement ne peut pas être rattaché à une session d'examen."
        )
    other = s.scalars(
        select(SessionCandidateRow).where(
            SessionCandidateRow.recording_id == recording_id, SessionCandidateRow.id != sc.id
        )
    ).first()
    if other is not None:
        raise StoreError(
            f"L'appel « {rec.filename} » est déjà rattaché à un autre candidat (inscription "
            f"n° {other.id})."
        )
    sc.recording_id = recording_id
    if rec.candidate_id != sc.candidate_id:
        rec.candidate_id = sc.candidate_id


def set_candidate_recording(
    db: Database, actor: User, session_candidate_id: int, recording_id: int | None
) -> SessionCandidate:
    with db.session() as s:
        sc = _sc_row(s, session_candidate_id)
        row = _session_row(s, sc.session_id)
        access.check_session_manage(s, actor, row)
        _not_closed(row)
        if sc.status == "decide":
            raise StoreError("Décision déjà prise : l'enregistrement ne peut plus changer.")
        before = sc.recording_id
        _attach_recording(s, actor, sc, recording_id)
        _audit(s, actor=actor, action="candidate.recording", entity="session_candidate",
               entity_id=sc.id, session_id=row.id, recording_id=recording_id,
               before={"recording_id": before}, after={"recording_id": recording_id})  # fmt: skip
        s.commit()
        return _session_candidate(s, sc)


def set_experience_justified(
    db: Database, actor: User, session_candidate_id: int, justified: bool
) -> SessionCandidate:
    with db.session() as s:
        sc = _sc_row(s, session_candidate_id)
        row = _session_row(s, sc.session_id)
        access.check_session_manage(s, actor, row)
        _not_closed(row)
        sc.experience_justified = bool(justified)
        _audit(s, actor=actor, action="candidate.experience", entity="session_candidate",
               entity_id=sc.id, session_id=row.id, after={"justified": bool(justified)})  # fmt: skip
        s.commit()
        return _session_candidate(s, sc)


def mark_absent(
    db: Database, actor: User, session_candidate_id: int, absent: bool = True
) -> SessionCandidate:
    """An absent candidate gets no decision (the sitting does not count as an attempt)."""
    with db.session() as s:
        sc = _sc_row(s, session_candidate_id)
        row = _session_row(s, sc.session_id)
        access.check_session_manage(s, actor, row)
        _not_closed(row)
        if sc.status == "decide":
            raise StoreError("Décision déjà prise : le candidat ne peut plus être marqué absent.")
        sc.status = "absent" if absent else "inscrit"
        _audit(s, actor=actor, action="candidate.absent", entity="session_candidate",
               entity_id=sc.id, session_id=row.id, after={"absent": bool(absent)})  # fmt: skip
        s.commit()
        return _session_candidate(s, sc)


def unregister_candidate(db: Database, actor: User, session_candidate_id: int) -> None:
    with db.session() as s:
        sc = _sc_row(s, session_candidate_id)
        row = _session_row(s, sc.session_id)
        access.check_session_manage(s, actor, row)
        _not_closed(row)
        if sc.status == "decide":
            raise StoreError("Décision déjà prise : l'inscription ne peut plus être retirée.")
        if (
            sc.recording_id is not None
            and s.scalars(
                select(EvaluationRow.id).where(EvaluationRow.recording_id == sc.recording_id)
            ).first()
        ):
            raise StoreError(
                "Des jurés ont déjà ouvert la grille de ce candidat : marquez-le absent plutôt "
                "que de retirer l'inscription."
            )
        name = s.get(CandidateRow, sc.candidate_id).name  # type: ignore[union-attr]
        s.delete(sc)
        _audit(s, actor=actor, action="candidate.unregister", entity="session_candidate",
               entity_id=session_candidate_id, session_id=row.id, after={"candidate": name})  # fmt: skip
        s.commit()


# =========================================================================== deliberation
def _criteria_for(s: Session, sc: SessionCandidateRow) -> list[dict[str, Any]]:
    """The grid's criteria for a candidate: from their call's analysis, else the rubric."""
    if sc.recording_id is not None:
        analysis = s.scalars(
            select(AnalysisRow)
            .where(AnalysisRow.recording_id == sc.recording_id)
            .order_by(AnalysisRow.id.desc())
            .limit(1)
        ).first()
        if analysis is not None and analysis.result.get("criteria"):
            return [dict(c) for c in analysis.result["criteria"]]
    return _rubric_criteria()


@lru_cache(maxsize=1)
def _rubric_criteria_cached(path: str, mtime: float) -> tuple[tuple[str, str, str], ...]:
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return tuple(
        (str(c.get("id")), str(c.get("label", "")), str(c.get("source", "call")))
        for c in data.get("criteria") or []
        if isinstance(c, Mapping) and c.get("id")
    )


def _rubric_criteria() -> list[dict[str, Any]]:
    from call_eval import settings

    path = settings.default_rubric_path()
    try:
        rows = _rubric_criteria_cached(str(path), path.stat().st_mtime)
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"Grille introuvable ({path}) : impossible de préparer la délibération sans appel "
            "analysé."
        ) from exc
    return [{"id": i, "label": label, "source": source} for i, label, source in rows]


def _ensure_items(s: Session, sc: SessionCandidateRow) -> None:
    if sc.items:
        return
    for position, c in enumerate(_criteria_for(s, sc)):
        sc.items.append(
            DeliberationItemRow(
                criterion_id=str(c["id"]),
                position=position,
                label=str(c.get("label", "")),
                source=str(c.get("source", "call")),
                tick=None,
                comment="",
            )
        )
    s.flush()


def _check_independence(s: Session, actor: User, rights: access.SessionRights,
                        sc: SessionCandidateRow) -> None:  # fmt: skip
    """A juror sees the others' grids only once their own is validated."""
    if rights.manage or actor.can("sessions.read_all") or sc.recording_id is None:
        return
    if JUROR in actor.roles and actor.juror_id is not None:
        own = s.scalars(
            select(EvaluationRow.status).where(
                EvaluationRow.recording_id == sc.recording_id,
                EvaluationRow.juror_id == actor.juror_id,
            )
        ).first()
        if own != "valide":
            raise AccessDenied(
                "Validez d'abord votre propre grille pour ce candidat : chaque juré note "
                "indépendamment, la délibération vient ensuite."
            )


def get_deliberation(db: Database, actor: User, session_candidate_id: int) -> Deliberation:
    """The deliberation on one candidate: each juror's tick per criterion, where they
    disagree, the jury's final ticks and the running total against the threshold."""
    with db.session() as s:
        sc = _sc_row(s, session_candidate_id)
        row = _session_row(s, sc.session_id)
        rights = access.check_session_deliberate(s, actor, row)
        _check_independence(s, actor, rights, sc)
        if not sc.items and row.status != "close" and not sc.annulled:
            _ensure_items(s, sc)
            s.commit()
        analysis_criteria = {str(c["id"]): c for c in _criteria_for(s, sc)}
        members = _jury_rows(s, row.id)
        evaluations: dict[int, EvaluationRow] = {}
        if sc.recording_id is not None:
            for e in s.scalars(
                select(EvaluationRow).where(EvaluationRow.recording_id == sc.recording_id)
            ):
                evaluations[e.juror_id] = e
        juror_marks: list[tuple[str, dict[str, tuple[str | None, str]], bool]] = []
        for _member, juror in members:
            e = evaluations.get(juror.id)
            marks = {i.criterion_id: (i.tick, i.comment or "") for i in e.items} if e else {}
            juror_marks.append((juror.name, marks, e is not None and e.status == "valide"))
        rows = []
        for item in sc.items:
            c = analysis_criteria.get(item.criterion_id, {})
            rows.append(
                DeliberationRow(
                    criterion_id=item.criterion_id,
                    position=item.position,
                    label=item.label,
                    source=item.source,
                    suggested=c.get("suggested"),
                    confidence=c.get("confidence"),
                    juror_ticks=tuple(
                        (name, marks.get(item.criterion_id, (None, ""))[0], ok)
                        for name, marks, ok in juror_marks
                    ),
                    juror_comments=tuple(
                        (name, marks[item.criterion_id][1])
                        for name, marks, _ok in juror_marks
                        if marks.get(item.criterion_id, (None, ""))[1]
                    ),
                    final_tick=item.tick,
                    comment=item.comment or "",
                )
            )
        return Deliberation(
            session=_session(s, row, counts=False),
            candidate=_session_candidate(s, sc),
            jurors=_progress(s, row.id, sc.recording_id),
            rows=tuple(rows),
            score=juror_score([r.final_tick for r in rows], row.pass_ratio),
            can_write=rights.deliberate
            and row.status != "close"
            and sc.status == "inscrit"
            and not sc.annulled,
        )


def _writable_deliberation(
    s: Session, actor: User, session_candidate_id: int
) -> tuple[SessionCandidateRow, ExamSessionRow]:
    sc = _sc_row(s, session_candidate_id)
    row = _session_row(s, sc.session_id)
    rights = access.check_session_deliberate(s, actor, row)
    _check_independence(s, actor, rights, sc)
    _not_closed(row)
    if sc.status == "decide":
        raise StoreError(
            "Décision déjà enregistrée : le responsable de session peut la rouvrir (motif "
            "obligatoire) pour la modifier."
        )
    if sc.status == "absent":
        raise StoreError("Candidat marqué absent : pas de délibération.")
    _ensure_items(s, sc)
    return sc, row


def _deliberation_item(sc: SessionCandidateRow, criterion_id: str) -> DeliberationItemRow:
    for item in sc.items:
        if item.criterion_id == criterion_id:
            return item
    raise StoreError(
        f"Critère {criterion_id} absent de la grille. Critères valides : "
        + ", ".join(i.criterion_id for i in sc.items)
    )


def set_final_tick(
    db: Database, actor: User, session_candidate_id: int, criterion_id: str, tick: str | None
) -> None:
    """The jury's final tick on one criterion (acquis, non_acquis, or None to clear)."""
    if tick is not None and tick not in TICKS:
        raise StoreError(f"Coche invalide « {tick} » : acquis ou non_acquis (ou vide).")
    with db.session() as s:
        sc, row = _writable_deliberation(s, actor, session_candidate_id)
        item = _deliberation_item(sc, criterion_id)
        if item.tick == tick:
            s.commit()
            return
        before = item.tick
        item.tick = tick
        item.updated_at = utcnow()
        item.updated_by = actor.id or None
        _audit(s, actor=actor, action="deliberation.tick", entity="deliberation_item",
               entity_id=item.id, session_id=row.id, recording_id=sc.recording_id,
               criterion_id=criterion_id, before={"tick": before}, after={"tick": tick})  # fmt: skip
        s.commit()


def set_final_comment(
    db: Database, actor: User, session_candidate_id: int, criterion_id: str, comment: str
) -> None:
    text = (comment or "").strip()
    if len(text) > 4000:
        raise StoreError("Commentaire trop long : 4000 caractères au plus.")
    with db.session() as s:
        sc, row = _writable_deliberation(s, actor, session_candidate_id)
        item = _deliberation_item(sc, criterion_id)
        if (item.comment or "") == text:
            s.commit()
            return
        before = item.comment
        item.comment = text
        item.updated_at = utcnow()
        item.updated_by = actor.id or None
        _audit(s, actor=actor, action="deliberation.comment", entity="deliberation_item",
               entity_id=item.id, session_id=row.id, recording_id=sc.recording_id,
               criterion_id=criterion_id, before={"comment": before}, after={"comment": text})  # fmt: skip
        s.commit()


def adopt_unanimous(db: Database, actor: User, session_candidate_id: int) -> list[str]:
    """Fill the criteria still without a final tick where every juror validated the same
    tick. Returns the criteria filled; disagreements stay for the jury to settle."""
    deliberation = get_deliberation(db, actor, session_candidate_id)
    adopted: list[str] = []
    with db.session() as s:
        sc, row = _writable_deliberation(s, actor, session_candidate_id)
        by_id = {r.criterion_id: r for r in deliberation.rows}
        for item in sc.items:
            unanimous = by_id.get(item.criterion_id)
            tick = unanimous.unanimous_tick if unanimous else None
            if item.tick is None and tick is not None:
                item.tick = tick
                item.updated_at = utcnow()
                item.updated_by = actor.id or None
                adopted.append(item.criterion_id)
                _audit(s, actor=actor, action="deliberation.tick", entity="deliberation_item",
                       entity_id=item.id, session_id=row.id, recording_id=sc.recording_id,
                       criterion_id=item.criterion_id, before={"tick": None},
                       after={"tick": tick}, note="coche unanime des jurés")  # fmt: skip
        s.commit()
    return adopted


def record_decision(
    db: Database, actor: User, session_candidate_id: int, note: str = ""
) -> SessionCandidate:
    """The jury's decision: certified when at least 70 % of the criteria are acquis.

    Every criterion needs its final tick. The decision is stored with the count and locks
    the deliberation (the session's manager may reopen it, with a reason).
    """
    with db.session() as s:
        sc, row = _writable_deliberation(s, actor, session_candidate_id)
        missing = [i.criterion_id for i in sc.items if i.tick not in TICKS]
        if missing:
            raise StoreError(
                "Décision impossible : coche finale manquante pour "
                + ", ".join(missing)
                + ". Le jury doit statuer sur chaque critère (acquis ou non acquis)."
            )
        score = juror_score([i.tick for i in sc.items], row.pass_ratio)
        sc.decision = "certifie" if score.passed else "non_certifie"
        sc.acquis = score.acquis
        sc.total = score.total
        sc.status = "decide"
        sc.decided_at = utcnow()
        sc.decided_by = actor.id or None
        sc.deliberation_note = _text(note, "note de délibération", required=False)
        _audit(s, actor=actor, action="deliberation.decide", entity="session_candidate",
               entity_id=sc.id, session_id=row.id, recording_id=sc.recording_id,
               after={"decision": sc.decision, "acquis": score.acquis, "total": score.total,
                      "needed": score.needed})  # fmt: skip
        s.commit()
        return _session_candidate(s, sc)


def reopen_decision(
    db: Database, actor: User, session_candidate_id: int, reason: str
) -> SessionCandidate:
    text = required_reason(
        reason, "Motif obligatoire : expliquez pourquoi la décision est rouverte."
    )
    with db.session() as s:
        sc = _sc_row(s, session_candidate_id)
        row = _session_row(s, sc.session_id)
        access.check_session_manage(s, actor, row)
        _not_closed(row)
        if sc.status != "decide":
            raise StoreError("Aucune décision enregistrée pour ce candidat : rien à rouvrir.")
        before = sc.decision
        sc.status = "inscrit"
        sc.decision = None
        sc.acquis = sc.total = None
        sc.decided_at = None
        sc.decided_by = None
        _audit(s, actor=actor, action="deliberation.reopen", entity="session_candidate",
               entity_id=sc.id, session_id=row.id, before={"decision": before},
               after={"decision": None}, note=text)  # fmt: skip
        s.commit()
        return _session_candidate(s, sc)


# =========================================================================== appeals
def file_appeal(
    db: Database,
    actor: User,
    session_candidate_id: int,
    *,
    received_on: date | str,
    motives: str,
) -> Appeal:
    """Record an appeal (recours) received by the centre about a candidate's session."""
    with db.session() as s:
        sc = _sc_row(s, session_candidate_id)
        row = _session_row(s, sc.session_id)
        access.check_session_manage(s, actor, row)
        day = as_date(received_on, "date de réception")
        if day is None:
            raise StoreError("Date de réception du recours manquante.")
        if day < row.session_date:
            raise StoreError(
                "Un recours porte sur une session passée : la date de réception précède la session."
            )
        now = utcnow()
        appeal = AppealRow(
            session_id=row.id,
            session_candidate_id=sc.id,
            received_on=day,
            motives=_text(motives, "motifs du recours"),
            status="recu",
            decision_note="",
            created_at=now,
            created_by=actor.id or None,
            updated_at=now,
        )
        s.add(appeal)
        s.flush()
        _audit(s, actor=actor, action="appeal.create", entity="appeal", entity_id=appeal.id,
               session_id=row.id, after={"session_candidate_id": sc.id,
                                         "received_on": day.isoformat()})  # fmt: skip
        s.commit()
        return _appeal(s, appeal)


def decide_appeal(
    db: Database,
    actor: User,
    appeal_id: int,
    *,
    status: str,
    note: str = "",
    decided_on: date | str | None = None,
) -> Appeal:
    """Move an appeal on: ``en_instruction``, then ``fonde`` (the sitting is voided and the
    candidate may sit a new session) or ``non_recevable`` (notified in writing)."""
    if status not in APPEAL_STATUSES or status == "recu":
        raise StoreError(
            f"Statut de recours invalide « {status} » : en_instruction, fonde ou non_recevable."
        )
    with db.session() as s:
        appeal = s.get(AppealRow, appeal_id)
        if appeal is None:
            raise StoreError(f"Recours n° {appeal_id} introuvable.")
        row = _session_row(s, appeal.session_id)
        access.check_session_manage(s, actor, row)
        if appeal.status in APPEAL_FINAL:
            raise StoreError("Ce recours est déjà tranché : sa décision ne change plus.")
        text = _text(note, "motivation de la décision", required=status in APPEAL_FINAL)
        before = appeal.status
        appeal.status = status
        appeal.decision_note = text
        appeal.updated_at = utcnow()
        if status in APPEAL_FINAL:
            appeal.decided_on = as_date(decided_on, "date de décision") or datetime.now(UTC).date()
            appeal.decided_by = actor.id or None
        if status == "fonde":
            sc = _sc_row(s, appeal.session_candidate_id)
            sc.annulled = True
            _audit(s, actor=actor, action="candidate.annul", entity="session_candidate",
                   entity_id=sc.id, session_id=row.id, note=f"recours n° {appeal.id} fondé")  # fmt: skip
        _audit(s, actor=actor, action="appeal.update", entity="appeal", entity_id=appeal.id,
               session_id=row.id, before={"status": before}, after={"status": status},
               note=text or None)  # fmt: skip
        s.commit()
        return _appeal(s, appeal)


def list_appeals(db: Database, actor: User, session_id: int | None = None) -> list[Appeal]:
    require(actor, "sessions.read_all")
    with db.session() as s:
        query = select(AppealRow).order_by(AppealRow.received_on.desc(), AppealRow.id.desc())
        if session_id is not None:
            access.check_session_read(s, actor, _session_row(s, session_id))
            query = query.where(AppealRow.session_id == session_id)
        return [_appeal(s, a) for a in s.scalars(query)]


# =========================================================================== dysfunctions
def log_dysfunction(
    db: Database,
    actor: User,
    session_id: int,
    *,
    observed_on: date | str,
    category: str,
    description: str,
    action: str = "",
) -> Dysfunction:
    """Add a line to the session's dysfunction log (fiche de suivi des dysfonctionnements)."""
    if category not in DYSFUNCTION_CATEGORIES:
        raise StoreError(
            f"Catégorie inconnue « {category} » : " + ", ".join(DYSFUNCTION_CATEGORIES) + "."
        )
    with db.session() as s:
        row = _session_row(s, session_id)
        access.check_session_manage(s, actor, row)
        day = as_date(observed_on, "date du constat")
        if day is None:
            raise StoreError("Date du constat manquante.")
        now = utcnow()
        item = DysfunctionRow(
            session_id=row.id,
            observed_on=day,
            category=category,
            description=_text(description, "description du dysfonctionnement"),
            action=_text(action, "action corrective", required=False),
            status="ouvert",
            created_at=now,
            created_by=actor.id or None,
            updated_at=now,
        )
        s.add(item)
        s.flush()
        _audit(s, actor=actor, action="dysfunction.create", entity="dysfunction",
               entity_id=item.id, session_id=row.id, after={"category": category})  # fmt: skip
        s.commit()
        return _dysfunction(s, item)


def update_dysfunction(
    db: Database,
    actor: User,
    dysfunction_id: int,
    *,
    status: str | None = None,
    action: str | None = None,
) -> Dysfunction:
    """Track a dysfunction: its corrective action and status (ouvert, en_cours, traite)."""
    if status is not None and status not in DYSFUNCTION_STATUSES:
        raise StoreError(f"Statut inconnu « {status} » : " + ", ".join(DYSFUNCTION_STATUSES) + ".")
    with db.session() as s:
        item = s.get(DysfunctionRow, dysfunction_id)
        if item is None:
            raise StoreError(f"Dysfonctionnement n° {dysfunction_id} introuvable.")
        row = _session_row(s, item.session_id)
        access.check_session_manage(s, actor, row)
        before = {"status": item.status, "action": item.action}
        if action is not None:
            item.action = _text(action, "action corrective", required=False)
        if status is not None:
            if status == "traite" and not (item.action or "").strip():
                raise StoreError(
                    "Indiquez l'action corrective avant de marquer le dysfonctionnement traité."
                )
            item.status = status
            item.closed_at = utcnow() if status == "traite" else None
        item.updated_at = utcnow()
        _audit(s, actor=actor, action="dysfunction.update", entity="dysfunction",
               entity_id=item.id, session_id=row.id, before=before,
               after={"status": item.status, "action": item.action})  # fmt: skip
        s.commit()
        return _dysfunction(s, item)


# =========================================================================== documents
def _require_document_reader(s: Session, actor: User, row: ExamSessionRow) -> access.SessionRights:
    rights = access.check_session_read(s, actor, row)
    if not (rights.deliberate or actor.can("sessions.read_all")):
        raise AccessDenied("Accès refusé : documents réservés au jury et au responsable.")
    return rights


def minutes_export(db: Database, actor: User, session_id: int) -> dict[str, Any]:
    """Everything the session minutes (procès-verbal) need, as plain JSON-able data.

    Feed it to :func:`call_eval.report.build_session_minutes`.
    """
    rules = exam_rules()
    with db.session() as s:
        row = _session_row(s, session_id)
        _require_document_reader(s, actor, row)
        session = _session(s, row)
        jury = _jury(s, row, rules)
        candidates = [
            _session_candidate(s, sc, with_progress=False)
            for sc in s.scalars(
                select(SessionCandidateRow)
                .join(CandidateRow, CandidateRow.id == SessionCandidateRow.candidate_id)
                .where(SessionCandidateRow.session_id == row.id)
                .order_by(CandidateRow.name)
            )
        ]
        items = {
            sc_id: {i.criterion_id: i.tick for i in rows}
            for sc_id, rows in _items_by_candidate(s, [c.id for c in candidates]).items()
        }
        dysfunctions = s.scalars(
            select(DysfunctionRow).where(DysfunctionRow.session_id == row.id)
        ).all()
        appeals = s.scalars(select(AppealRow).where(AppealRow.session_id == row.id)).all()
    return {
        "session": {
            "id": session.id,
            "title": session.title,
            "date": session.session_date.isoformat(),
            "place": session.place,
            "epreuves": [
                {"code": code, "label": label, **session.epreuves.get(code, {})}
                for code, label in EPREUVES
            ],
            "status": session.status,
            "closed_at": session.closed_at.isoformat() if session.closed_at else None,
            "pass_ratio": session.pass_ratio,
            "manager": session.manager_name,
        },
        "jury": [
            {
                "name": m.juror.name,
                "quality": m.quality,
                "quality_label": m.quality_label,
                "organisation": m.juror.organisation,
                "warnings": list(m.warnings),
            }
            for m in jury
        ],
        "jury_warnings": jury_warnings([m.quality for m in jury], rules),
        "candidates": [
            {
                "name": c.candidate_name,
                "attempt": c.attempt,
                "origin": c.origin,
                "origin_label": c.origin_label,
                "status": c.status,
                "decision": c.decision if not c.annulled else None,
                "decision_label": c.decision_label,
                "acquis": c.acquis,
                "total": c.total,
                "annulled": c.annulled,
                "decided_at": c.decided_at.isoformat() if c.decided_at else None,
                "ticks": items.get(c.id, {}),
            }
            for c in candidates
        ],
        "dysfunctions": {
            "count": len(dysfunctions),
            "open": sum(1 for d in dysfunctions if d.status != "traite"),
        },
        "appeals": {"count": len(appeals)},
        "rules": {"communication_days": rules.communication_days},
    }


def _items_by_candidate(s: Session, ids: Sequence[int]) -> dict[int, list[DeliberationItemRow]]:
    out: dict[int, list[DeliberationItemRow]] = {}
    if not ids:
        return out
    for item in s.scalars(
        select(DeliberationItemRow)
        .where(DeliberationItemRow.session_candidate_id.in_(list(ids)))
        .order_by(DeliberationItemRow.position)
    ):
        out.setdefault(item.session_candidate_id, []).append(item)
    return out


def jury_sheet_export(db: Database, actor: User, session_candidate_id: int) -> dict[str, Any]:
    """The individual result sheet of a session candidate: the jury's final ticks, the
    decision, the jurors and the manager (for :func:`call_eval.report.build_result_sheet`)."""
    with db.session() as s:
        sc = _sc_row(s, session_candidate_id)
        row = _session_row(s, sc.session_id)
        _require_document_reader(s, actor, row)
        candidate = _session_candidate(s, sc, with_progress=False)
        session = _session(s, row, counts=False)
        jury = _jury(s, row, exam_rules())
        items = list(sc.items)
        if not items:
            items_data = [
                {"id": c["id"], "label": c.get("label", ""), "source": c.get("source", "call"),
                 "tick": None, "comment": ""}
                for c in _criteria_for(s, sc)
            ]  # fmt: skip
        else:
            items_data = [
                {"id": i.criterion_id, "label": i.label, "source": i.source, "tick": i.tick,
                 "comment": i.comment or ""}
                for i in items
            ]  # fmt: skip
        recording = s.get(RecordingRow, sc.recording_id) if sc.recording_id else None
        analysis = (
            s.scalars(
                select(AnalysisRow)
                .where(AnalysisRow.recording_id == recording.id)
                .order_by(AnalysisRow.id.desc())
                .limit(1)
            ).first()
            if recording is not None
            else None
        )
    result = analysis.result if analysis is not None else {}
    return {
        "candidate": {"id": candidate.candidate_id, "name": candidate.candidate_name},
        "recording": {
            "id": recording.id if recording else None,
            "call_id": recording.sha256[:16] if recording else None,
            "sha256": recording.sha256 if recording else None,
            "filename": recording.filename if recording else None,
            "duration": recording.duration if recording else None,
            "uploaded_at": _utc(recording.created_at).isoformat() if recording else None,  # type: ignore[union-attr]
        },
        "analysis": {
            "id": analysis.id if analysis is not None else None,
            "analyzed_at": (result.get("call") or {}).get("analyzed_at"),
            "rubric": result.get("rubric"),
        },
        "evaluation": {
            "id": None,
            "status": "valide" if candidate.decided else "en_revue",
            "validated_at": candidate.decided_at.isoformat() if candidate.decided_at else None,
            "updated_at": utcnow().isoformat(),
            "pass_ratio": session.pass_ratio,
        },
        "juror": {"id": None, "name": ", ".join(m.juror.name for m in jury)},
        "jury": [{"name": m.juror.name, "quality_label": m.quality_label} for m in jury],
        "manager": session.manager_name,
        "session": {
            "id": session.id,
            "date": session.session_date.isoformat(),
            "place": session.place,
            "label": session.label,
        },
        "attempt": {"number": candidate.attempt, "origin_label": candidate.origin_label},
        "annulled": candidate.annulled,
        "absent": candidate.status == "absent",
        "criteria": items_data,
    }


RESULT_COLUMNS = (
    "session_date",
    "lieu",
    "candidat",
    "presentation",
    "statut",
    "criteres_acquis",
    "criteres_total",
    "pourcentage",
    "decision",
    "date_deliberation",
)


def results_rows(db: Database, actor: User, session_id: int) -> list[dict[str, Any]]:
    """One row per candidate for the office (CSV): decision, count, per-criterion ticks."""
    minutes = minutes_export(db, actor, session_id)
    session = minutes["session"]
    out = []
    for c in minutes["candidates"]:
        ratio = (c["acquis"] / c["total"]) if c["acquis"] is not None and c["total"] else None
        row: dict[str, Any] = {
            "session_date": session["date"],
            "lieu": session["place"],
            "candidat": c["name"],
            "presentation": c["origin_label"] + (f" (n° {c['attempt']})" if c["attempt"] else ""),
            "statut": "absent" if c["status"] == "absent" else c["status"],
            "criteres_acquis": c["acquis"] if c["acquis"] is not None else "",
            "criteres_total": c["total"] if c["total"] is not None else "",
            "pourcentage": f"{ratio * 100:.0f}" if ratio is not None else "",
            "decision": c["decision_label"],
            "date_deliberation": (c["decided_at"] or "")[:10],
        }
        for cid, tick in sorted(c["ticks"].items()):
            row[cid] = {"acquis": "A", "non_acquis": "NA"}.get(tick or "", "")
        out.append(row)
    return out


# =========================================================================== annual review
@dataclass(frozen=True)
class CriterionStats:
    criterion_id: str
    label: str
    final_acquis: int
    final_ticked: int
    tool_pairs: int  # juror tick vs an acquis/non acquis suggestion
    tool_agree: int
    tool_kappa: float | None
    tool_a_verifier: int
    jury_subjects: int  # candidates with ≥ 2 validated grids
    jury_unanimous: int
    jury_kappa: float | None

    @property
    def acquis_rate(self) -> float | None:
        return self.final_acquis / self.final_ticked if self.final_ticked else None

    @property
    def tool_agreement(self) -> float | None:
        return self.tool_agree / self.tool_pairs if self.tool_pairs else None

    @property
    def jury_unanimity(self) -> float | None:
        return self.jury_unanimous / self.jury_subjects if self.jury_subjects else None


@dataclass(frozen=True)
class AnnualReview:
    """Statistics across sessions for the conseil de perfectionnement."""

    start: date
    end: date
    sessions: int
    registered: int
    absent: int
    decided: int
    certified: int
    first_decided: int
    first_certified: int
    retake_decided: int
    retake_certified: int
    annulled: int
    criteria: tuple[CriterionStats, ...]
    tool_pairs: int
    tool_agree: int
    tool_kappa: float | None
    jury_kappa: float | None
    jury_subjects: int
    appeals: dict[str, int] = field(default_factory=dict)
    dysfunctions: dict[str, int] = field(default_factory=dict)
    jury_warnings: int = 0

    @property
    def success_rate(self) -> float | None:
        return self.certified / self.decided if self.decided else None

    @property
    def first_success_rate(self) -> float | None:
        return self.first_certified / self.first_decided if self.first_decided else None

    @property
    def retake_success_rate(self) -> float | None:
        return self.retake_certified / self.retake_decided if self.retake_decided else None

    @property
    def tool_agreement(self) -> float | None:
        return self.tool_agree / self.tool_pairs if self.tool_pairs else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        data["success_rate"] = self.success_rate
        data["first_success_rate"] = self.first_success_rate
        data["retake_success_rate"] = self.retake_success_rate
        data["tool_agreement"] = self.tool_agreement
        for c, stats in zip(data["criteria"], self.criteria, strict=True):
            c["acquis_rate"] = stats.acquis_rate
            c["tool_agreement"] = stats.tool_agreement
            c["jury_unanimity"] = stats.jury_unanimity
        return data


def annual_review(
    db: Database,
    actor: User,
    year: int | None = None,
    *,
    start: date | None = None,
    end: date | None = None,
) -> AnnualReview:
    """Success rate, per-criterion acquis rate, juror–tool and juror–juror agreement over
    the sessions of a year (or ``start``…``end``), for the yearly review of the grid.

    - acquis rate: the jury's final ticks of decided candidates;
    - juror–tool: each validated juror grid against the tool's suggestion where it was
      acquis or non acquis (agreement and Cohen's kappa; « à vérifier » counted apart);
    - juror–juror: candidates with at least two validated grids (Fleiss' kappa per
      criterion and pooled, and the share of unanimous criteria).
    """
    from call_eval.calibration import cohen_kappa, fleiss_kappa

    require(actor, "review.read")
    if year is not None:
        start, end = date(year, 1, 1), date(year, 12, 31)
    if start is None or end is None:
        raise StoreError("Période du bilan manquante : une année ou des dates de début et de fin.")
    if end < start:
        raise StoreError("Période du bilan invalide : la fin précède le début.")
    rules = exam_rules()
    with db.session() as s:
        sessions = s.scalars(
            select(ExamSessionRow).where(
                ExamSessionRow.session_date >= start, ExamSessionRow.session_date <= end
            )
        ).all()
        session_ids = [r.id for r in sessions]
        scs = (
            s.scalars(
                select(SessionCandidateRow).where(SessionCandidateRow.session_id.in_(session_ids))
            ).all()
            if session_ids
            else []
        )
        counted = [sc for sc in scs if not sc.annulled]
        decided = [sc for sc in counted if sc.status == "decide"]
        first = [sc for sc in decided if sc.origin != "rattrapage"]
        retake = [sc for sc in decided if sc.origin == "rattrapage"]
        labels: dict[str, str] = {}
        order: dict[str, int] = {}
        final: dict[str, list[str]] = {}
        for sc_id, items in _items_by_candidate(s, [sc.id for sc in decided]).items():
            del sc_id
            for item in items:
                labels.setdefault(item.criterion_id, item.label)
                order.setdefault(item.criterion_id, item.position)
                if item.tick in TICKS:
                    final.setdefault(item.criterion_id, []).append(item.tick)
        recordings = [sc.recording_id for sc in counted if sc.recording_id is not None]
        tool_pairs: dict[str, list[tuple[str, str]]] = {}
        tool_unsure: Counter[str] = Counter()
        per_recording: dict[int, list[dict[str, str]]] = {}
        if recordings:
            for e in s.scalars(
                select(EvaluationRow).where(
                    EvaluationRow.recording_id.in_(recordings), EvaluationRow.status == "valide"
                )
            ):
                ticks: dict[str, str] = {}
                for item in e.items:
                    labels.setdefault(item.criterion_id, item.label)
                    order.setdefault(item.criterion_id, item.position)
                    if item.tick not in TICKS:
                        continue
                    ticks[item.criterion_id] = item.tick
                    if item.suggested in TICKS:
                        tool_pairs.setdefault(item.criterion_id, []).append(
                            (item.tick, item.suggested)
                        )
                    elif item.suggested == "a_verifier":
                        tool_unsure[item.criterion_id] += 1
                per_recording.setdefault(e.recording_id, []).append(ticks)
        appeals = Counter(
            a.status
            for a in (
                s.scalars(select(AppealRow).where(AppealRow.session_id.in_(session_ids))).all()
                if session_ids
                else []
            )
        )
        dysfunctions = Counter(
            d.category
            for d in (
                s.scalars(
                    select(DysfunctionRow).where(DysfunctionRow.session_id.in_(session_ids))
                ).all()
                if session_ids
                else []
            )
        )
        warned = 0
        for row in sessions:
            jury = _jury(s, row, rules)
            warned += sum(1 for m in jury if m.warnings)
    multi = [grids for grids in per_recording.values() if len(grids) >= 2]
    criteria_stats = []
    pooled_table: list[list[int]] = []
    for cid in sorted(labels, key=lambda c: (order.get(c, 99), c)):
        table = []
        unanimous = 0
        for grids in multi:
            states = [g[cid] for g in grids if cid in g]
            if len(states) < 2:
                continue
            table.append([states.count("acquis"), states.count("non_acquis")])
            unanimous += len(set(states)) == 1
        pooled_table.extend(table)
        pairs = tool_pairs.get(cid, [])
        finals = final.get(cid, [])
        criteria_stats.append(
            CriterionStats(
                criterion_id=cid,
                label=labels[cid],
                final_acquis=finals.count("acquis"),
                final_ticked=len(finals),
                tool_pairs=len(pairs),
                tool_agree=sum(1 for a, b in pairs if a == b),
                tool_kappa=cohen_kappa(pairs, states=TICKS) if pairs else None,
                tool_a_verifier=tool_unsure.get(cid, 0),
                jury_subjects=len(table),
                jury_unanimous=unanimous,
                jury_kappa=fleiss_kappa(table) if table else None,
            )
        )
    all_pairs = [p for pairs in tool_pairs.values() for p in pairs]
    return AnnualReview(
        start=start,
        end=end,
        sessions=len(sessions),
        registered=len(counted),
        absent=sum(1 for sc in counted if sc.status == "absent"),
        decided=len(decided),
        certified=sum(1 for sc in decided if sc.decision == "certifie"),
        first_decided=len(first),
        first_certified=sum(1 for sc in first if sc.decision == "certifie"),
        retake_decided=len(retake),
        retake_certified=sum(1 for sc in retake if sc.decision == "certifie"),
        annulled=sum(1 for sc in scs if sc.annulled),
        criteria=tuple(criteria_stats),
        tool_pairs=len(all_pairs),
        tool_agree=sum(1 for a, b in all_pairs if a == b),
        tool_kappa=cohen_kappa(all_pairs, states=TICKS) if all_pairs else None,
        jury_kappa=fleiss_kappa(pooled_table) if pooled_table else None,
        jury_subjects=len(multi),
        appeals=dict(appeals),
        dysfunctions=dict(dysfunctions),
        jury_warnings=warned,
    )


def review_years(db: Database, actor: User) -> list[int]:
    """Years that have sessions (newest first), for the review's year picker."""
    require(actor, "review.read")
    with db.session() as s:
        years = {d.year for d in s.scalars(select(ExamSessionRow.session_date))}
    return sorted(years, reverse=True)
