"""Analyses run in a background thread so the app stays usable (no Streamlit here).

The page submits a job, then polls :meth:`JobManager.snapshot` to draw a progress bar by
stage; the worker stores the result with :func:`call_eval.store.save_analysis`. One worker
at a time: analyses are CPU-heavy and the machine may have two cores. A failure keeps the
French message of a :class:`~call_eval.errors.CallEvalError` (never a traceback; unexpected
errors are logged with theirs and shown as a short French sentence).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from call_eval import store
from call_eval.auth import User
from call_eval.errors import CallEvalError
from call_eval.store import Database

log = logging.getLogger(__name__)


STAGE_LABELS = {
    "en attente": "En attente d'un créneau d'analyse",
    "chargement": "Chargement de l'enregistrement",
    "transcription": "Transcription de la parole",
    "diarisation": "Séparation des interlocuteurs",
    "rôles": "Identification du candidat et de l'appelé",
    "mesures audio": "Mesures audio (débit, volume, pauses)",
    "détecteurs": "Recherche des éléments de la grille",
    "notation": "Suggestion des coches",
    "enregistrement": "Enregistrement du résultat",
    "terminé": "Analyse terminée",
    "échec": "Échec de l'analyse",
}
# Share of the total time each stage usually takes on audio (for one overall bar).
_AUDIO_WEIGHTS = {
    "chargement": 0.04,
    "transcription": 0.62,
    "diarisation": 0.08,
    "rôles": 0.02,
    "mesures audio": 0.10,
    "détecteurs": 0.12,
    "notation": 0.02,
}
_TRANSCRIPT_WEIGHTS = {"chargement": 0.05, "rôles": 0.05, "détecteurs": 0.8, "notation": 0.1}


@dataclass(frozen=True)
class JobState:
    """What the page shows about one analysis."""

    id: str
    recording_id: int
    label: str
    kind: str  # audio | transcript
    status: str  # queued | running | done | failed
    stage: str
    stage_fraction: float
    overall: float
    message: str | None
    analysis_id: int | None
    submitted_at: datetime
    finished_at: datetime | None

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def stage_label(self) -> str:
        return STAGE_LABELS.get(self.stage, self.stage)


def _overall(kind: str, stage: str, fraction: float) -> float:
    weights = _TRANSCRIPT_WEIGHTS if kind == "transcript" else _AUDIO_WEIGHTS
    done = 0.0
    for name, weight in weights.items():
        if name == stage:
            return min(1.0, done + weight * max(0.0, min(1.0, fraction)))
        done += weight
    return 0.0


Analyzer = Callable[[Path, str, Any, Callable[[str, float], None]], dict[str, Any]]


def pipeline_analyzer(
    path: Path, kind: str, options: Any, progress: Callable[[str, float], None]
) -> dict[str, Any]:
    """Run call_eval.pipeline on an audio file or a transcript JSON."""
    from call_eval import pipeline

    if kind == "transcript":
        return pipeline.analyze_transcript(path, options=options, progress=progress).to_dict()
    return pipeline.analyze_file(path, options=options, progress=progress).to_dict()


class JobManager:
    """Queue of analyses run one at a time in a worker thread."""

    def __init__(self, analyzer: Analyzer | None = None, max_workers: int = 1) -> None:
        self._analyzer = analyzer or pipeline_analyzer
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="analyse")
        self._lock = threading.Lock()
        self._jobs: dict[str, JobState] = {}

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            self._jobs[job_id] = replace(self._jobs[job_id], **changes)

    def submit(
        self,
        db: Any,
        recording_id: int,
        path: Path,
        *,
        kind: str,
        options: Any,
        cache_key: str,
        label: str,
        actor: str = "app",
    ) -> JobState:
        """Queue an analysis; the same recording already queued or running is not re-run."""
        with self._lock:
            for job in self._jobs.values():
                if job.recording_id == recording_id and job.active:
                    return job
            job = JobState(
                id=uuid.uuid4().hex[:12],
                recording_id=recording_id,
                label=label,
                kind=kind,
                status="queued",
                stage="en attente",
                stage_fraction=0.0,
                overall=0.0,
                message=None,
                analysis_id=None,
                submitted_at=datetime.now(UTC),
                finished_at=None,
            )
            self._jobs[job.id] = job
        self._pool.submit(
            self._run, job.id, db, recording_id, path, kind, options, cache_key, actor
        )
        return job

    def _run(
        self,
        job_id: str,
        db: Any,
        recording_id: int,
        path: Path,
        kind: str,
        options: Any,
        cache_key: str,
        actor: str,
    ) -> None:

        def progress(stage: str, fraction: float) -> None:
            self._update(
                job_id,
                status="running",
                stage=stage,
                stage_fraction=float(fraction),
                overall=_overall(kind, stage, fraction),
            )

        self._update(job_id, status="running", stage="chargement")
        try:
            result = self._analyzer(path, kind, options, progress)
            self._update(job_id, stage="enregistrement", overall=0.99)
            stored = store.save_analysis(
                db,
                recording_id,
                result,
                options=store.reuse_options(options),
                cache_key=cache_key,
                actor=actor,
            )
        except CallEvalError as exc:
            message = str(exc)
            log.info("analysis of recording %s failed: %s", recording_id, message)
        except Exception as exc:  # a bug: keep the traceback in the log, not on screen
            log.exception("analysis of recording %s crashed", recording_id)
            message = (
                f"Erreur inattendue pendant l'analyse ({exc.__class__.__name__}). Le détail "
                "est dans le journal de l'application : réessayez, ou signalez-le avec le "
                "fichier concerné."
            )
        else:
            self._update(
                job_id,
                status="done",
                stage="terminé",
                stage_fraction=1.0,
                overall=1.0,
                analysis_id=stored.id,
                finished_at=datetime.now(UTC),
            )
            return
        self._update(
            job_id,
            status="failed",
            stage="échec",
            message=message,
            finished_at=datetime.now(UTC),
        )
        try:
            store.log_event(
                db,
                action="analysis.fail",
                entity="recording",
                entity_id=recording_id,
                recording_id=recording_id,
                actor=actor,
                note=message,
            )
        except Exception:  # the journal must not hide the original failure
            log.exception("could not log the failed analysis")

    def snapshot(self) -> list[JobState]:
        """Every job, newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.submitted_at, reverse=True)

    def get(self, job_id: str) -> JobState | None:
        with self._lock:
            return self._jobs.get(job_id)

    def for_recording(self, recording_id: int) -> JobState | None:
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.recording_id == recording_id]
        return max(jobs, key=lambda j: j.submitted_at) if jobs else None

    def dismiss(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and not job.active:
                del self._jobs[job_id]

    def wait(self, timeout: float | None = None) -> None:
        """Block until the queue is empty (tests and the CLI)."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while any(j.active for j in self.snapshot()):
            if deadline is not None and time.monotonic() > deadline:
                return
            time.sleep(0.05)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


# --------------------------------------------------------------------------- starting
def analysis_options(db: Database, questions: tuple[str, ...], crm_note: str | None) -> Any:
    """Options of an analysis started from the app: the rubric version in service (set on
    the « Calibration » page; the shipped file when none is)."""
    from call_eval.pipeline import AnalysisOptions

    return AnalysisOptions(
        script_questions=questions,
        crm_note=crm_note or None,
        rubric=store.active_rubric_path(db),
    )


@dataclass(frozen=True)
class AnalysisStart:
    """What :func:`start_analysis` did: reused a stored analysis, or queued a new one."""

    reused: bool
    message: str


def start_analysis(
    db: Database, jobs: JobManager, recording: store.Recording, user: User
) -> AnalysisStart:
    """Reuse a stored analysis with the same key, or queue a new one (French message).

    Only who manages the recording may start it (the queue then stores the result as the
    local process, in the user's name)."""
    from call_eval.auth import AccessDenied

    if not user.can("exam_calls.manage") and recording.owner_user_id != user.id:
        raise AccessDenied(
            "Seuls un responsable de session ou un administrateur lancent une analyse."
        )
    path = store.recording_file(db, recording)
    if path is None:
        raise store.StoreError(
            f"Le fichier de l'appel « {recording.filename} » n'est plus dans le dossier de "
            "données : déposez-le à nouveau."
        )
    options = analysis_options(db, recording.script_questions, recording.crm_note)
    key = store.analysis_key(recording.sha256, store.reuse_options(options))
    existing = store.find_analysis(db, key)
    if existing is not None:
        return AnalysisStart(
            True,
            "Cet appel a déjà été analysé avec les mêmes modèles, la même grille et les mêmes "
            "options : l'analyse enregistrée est réutilisée.",
        )
    who = recording.candidate_name or "Candidat non renseigné"
    if recording.purpose == store.PRACTICE:
        who = "Entraînement"
    label = f"{who} — {recording.filename}"
    jobs.submit(
        db,
        recording.id,
        path,
        kind=recording.input_kind,
        options=options,
        cache_key=key,
        label=label,
        actor=f"{user.display_name} (analyse)",
    )
    return AnalysisStart(
        False,
        "Analyse lancée : suivez sa progression ci-dessus. Vous pouvez continuer à travailler.",
    )
