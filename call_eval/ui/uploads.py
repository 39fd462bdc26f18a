"""Checks on an uploaded file before it is kept or analysed (no Streamlit here).

A bad upload (not audio, empty, unreadable, too long, malformed transcript) raises an
:class:`~call_eval.errors.AudioError` or :class:`~call_eval.errors.TranscriptError` whose
French message the page shows as is.
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from call_eval import settings, store
from call_eval.auth import User
from call_eval.errors import AudioError, TranscriptError
from call_eval.report import format_duration

TRANSCRIPT_EXTENSIONS = ("json",)


def audio_extensions() -> tuple[str, ...]:
    from call_eval.audio import SUPPORTED

    return tuple(SUPPORTED)


def accepted_extensions() -> list[str]:
    """For ``st.file_uploader(type=...)``: audio formats and transcript JSON."""
    return [*audio_extensions(), *TRANSCRIPT_EXTENSIONS]


@dataclass(frozen=True)
class UploadCheck:
    kind: str  # "audio" | "transcript"
    format: str
    duration: float | None
    transcript: Any = None  # the parsed JSON, for a transcript


def _formats_text() -> str:
    return ", ".join(audio_extensions())


def check_upload(filename: str, data: bytes, *, max_duration_s: float | None = None) -> UploadCheck:
    """Validate an upload; return its kind, format and (probed) duration."""
    name = Path(filename or "fichier").name
    ext = Path(name).suffix.lower().lstrip(".")
    if not data:
        raise AudioError(
            f"Le fichier « {name} » est vide (0 octet) : réexportez l'enregistrement puis "
            "déposez-le à nouveau."
        )
    if ext in TRANSCRIPT_EXTENSIONS:
        return _check_transcript(name, data)
    if ext not in audio_extensions():
        raise AudioError(
            f"« {name} » n'est pas un enregistrement audio accepté. Formats acceptés : "
            f"{_formats_text()} — ou une transcription .json."
        )
    duration = probe_duration(name, data)
    limit = settings.max_duration_s() if max_duration_s is None else float(max_duration_s)
    if duration is not None and duration > limit:
        raise AudioError(
            f"Enregistrement trop long : « {name} » dure {format_duration(duration)}, le "
            f"maximum est {format_duration(limit)} (réglable par CALL_EVAL_MAX_DURATION_S). "
            "Découpez l'appel ou déposez seulement l'appel du candidat."
        )
    return UploadCheck(kind="audio", format=ext, duration=duration)


def probe_duration(name: str, data: bytes) -> float | None:
    """Duration read from the container (PyAV, no full decode). Unreadable → AudioError."""
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.audio:
                raise AudioError(
                    f"« {name} » ne contient aucune piste audio. Déposez l'enregistrement de "
                    f"l'appel ({_formats_text()})."
                )
            stream = container.streams.audio[0]
            if container.duration:
                return container.duration / 1_000_000
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
            # No duration in the header: count decoded samples.
            total = 0
            rate = stream.codec_context.sample_rate or 0
            for frame in container.decode(stream):
                total += frame.samples
            return total / rate if rate else None
    except AudioError:
        raise
    except Exception as exc:  # PyAV raises many error types for a non-audio file
        raise AudioError(
            f"« {name} » n'est pas un fichier audio lisible ({exc.__class__.__name__}). "
            f"Vérifiez le fichier ou convertissez-le en WAV ou MP3 ({_formats_text()})."
        ) from exc


def _check_transcript(name: str, data: bytes) -> UploadCheck:
    from call_eval.inputs import parse_transcript

    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TranscriptError(
            f"« {name} » n'est pas un JSON valide ({exc}). Attendu : "
            '{"utterances": [{"role": "agent", "start": 0.5, "end": 3.2, "text": "…"}]}.'
        ) from exc
    utterances, _labels = parse_transcript(parsed, name)
    duration = max((u.end for u in utterances), default=0.0)
    return UploadCheck(kind="transcript", format="json", duration=duration, transcript=parsed)


def parse_script_upload(filename: str, data: bytes) -> tuple[str, ...]:
    """Questions of an uploaded call script (.txt one per line, or a YAML list)."""
    from call_eval.inputs import parse_script

    name = Path(filename or "script").name
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranscriptError(
            f"Le script « {name} » n'est pas un texte UTF-8 : enregistrez-le en UTF-8 (.txt "
            "une question par ligne, ou .yaml)."
        ) from exc
    questions = parse_script(text, name)
    if not questions:
        raise TranscriptError(
            f"Le script « {name} » ne contient aucune question (une par ligne, ou une liste YAML)."
        )
    return questions


def store_upload(
    db: store.Database,
    user: User,
    upload: Any,
    script: Any = None,
    crm_note: str | None = None,
    *,
    candidate: str | None = None,
    purpose: str = store.EXAM,
) -> store.Recording:
    """Check an uploaded call (an object with ``name`` and ``getvalue()``, as Streamlit's
    uploads), with its optional script upload and CRM note, and keep it in the store.

    Raises the French :class:`~call_eval.errors.CallEvalError` of the first problem."""
    data = upload.getvalue()
    check = check_upload(upload.name, data)
    questions: tuple[str, ...] = ()
    if script is not None:
        questions = parse_script_upload(script.name, script.getvalue())
    uploads_dir = db.data_dir / "uploads"
    uploads_dir.mkdir(parents=True, exist_ok=True)
    suffix = Path(upload.name).suffix.lower()
    with tempfile.NamedTemporaryFile(dir=uploads_dir, suffix=suffix, delete=False) as handle:
        handle.write(data)
        temp = Path(handle.name)
    try:
        return store.add_recording(
            db,
            temp,
            filename=Path(upload.name).name,
            candidate=(candidate or "").strip() or None,
            script_questions=questions,
            crm_note=(crm_note or "").strip() or None,
            duration=check.duration,
            format=check.format,
            input_kind=check.kind,
            actor=user,
            purpose=purpose,
        )
    finally:
        temp.unlink(missing_ok=True)
