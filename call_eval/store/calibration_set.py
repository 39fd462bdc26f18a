"""A calibration set from the database: exam calls with validated juror grids.

For each exam recording with at least one *validated* evaluation and a stored analysis:
the analysis (transcript, features, script and CRM note: re-scoring reuses them, only
detectors and scoring run again), each juror's ticks and comments, and — when the jury
has decided — the final ticks of the deliberation as the reference (otherwise the
jurors' majority, see :class:`~call_eval.calibration.CalibrationCall`). Manual criteria
(entretien technique) have no suggestion and are left out by the report itself.

Trainers and administrators only (``calibration.use``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import select

from call_eval.auth import User, require
from call_eval.store import access
from call_eval.store.db import Database
from call_eval.store.models import (
    AnalysisRow,
    DeliberationItemRow,
    EvaluationRow,
    JurorRow,
    RecordingRow,
    SessionCandidateRow,
)

if TYPE_CHECKING:  # pragma: no cover
    from call_eval.calibration import CalibrationCall

log = logging.getLogger(__name__)


def calibration_calls(db: Database, actor: User) -> list[CalibrationCall]:
    """The stored exam calls that jurors validated, as a calibration set (oldest first)."""
    from call_eval.calibration import CalibrationCall, CalibrationError

    require(actor, "calibration.use")
    with db.session() as s:
        evaluations = list(
            s.scalars(
                select(EvaluationRow)
                .join(RecordingRow, RecordingRow.id == EvaluationRow.recording_id)
                .where(EvaluationRow.status == "valide", RecordingRow.purpose == access.EXAM)
                .order_by(EvaluationRow.recording_id, EvaluationRow.id)
            )
        )
        by_recording: dict[int, list[EvaluationRow]] = defaultdict(list)
        for ev in evaluations:
            by_recording[ev.recording_id].append(ev)
        jurors = {j.id: j.name for j in s.scalars(select(JurorRow))}
        calls: list[CalibrationCall] = []
        for recording_id, evs in by_recording.items():
            recording = s.get(RecordingRow, recording_id)
            analysis_id = next((e.analysis_id for e in evs if e.analysis_id), None)
            analysis = s.get(AnalysisRow, analysis_id) if analysis_id else None
            if analysis is None:
                analysis = s.scalars(
                    select(AnalysisRow)
                    .where(AnalysisRow.recording_id == recording_id)
                    .order_by(AnalysisRow.id.desc())
                ).first()
            if analysis is None or recording is None:
                continue
            juror_labels: dict[str, dict[str, str]] = {}
            juror_why: dict[str, dict[str, str]] = {}
            for ev in evs:
                name = jurors.get(ev.juror_id, f"juré {ev.juror_id}")
                juror_labels[name] = {i.criterion_id: i.tick for i in ev.items if i.tick}
                juror_why[name] = {i.criterion_id: i.comment for i in ev.items if i.comment}
            labels: dict[str, str] = {}
            sc = s.scalars(
                select(SessionCandidateRow).where(
                    SessionCandidateRow.recording_id == recording_id,
                    SessionCandidateRow.status == "decide",
                )
            ).first()
            if sc is not None:
                labels = {
                    i.criterion_id: i.tick
                    for i in s.scalars(
                        select(DeliberationItemRow).where(
                            DeliberationItemRow.session_candidate_id == sc.id
                        )
                    )
                    if i.tick
                }
            who = recording.candidate.name if recording.candidate is not None else None
            title = f"{who} — {recording.filename}" if who else recording.filename
            try:
                call = CalibrationCall.from_analysis(
                    analysis.result,
                    labels=labels,
                    juror_labels=juror_labels,
                    juror_why=juror_why,
                    call_id=f"appel-{recording_id}",
                    title=title,
                    source=f"base : appel n° {recording_id}",
                )
            except CalibrationError as exc:
                log.warning("calibration set: recording %s left out: %s", recording_id, exc)
                continue
            calls.append(call)
        return calls


__all__ = ["calibration_calls"]
