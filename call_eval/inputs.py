"""Text inputs: a transcript JSON instead of audio, a call script, a CRM note.

Transcript JSON (same utterance shape as the analysis output)::

    {"utterances": [{"role": "agent", "start": 0.5, "end": 3.2, "text": "Bonjour ..."},
                    {"speaker": "B", "start": 3.4, "end": 4.0, "text": "Oui ?",
                     "words": [{"start": 3.4, "end": 3.7, "text": "Oui", "probability": 0.9}]}]}

A bare list of utterances is accepted too. Each utterance needs ``text`` and ``role``
(``agent`` | ``callee``) or ``speaker``; ``start``/``end`` are optional (then utterances are
spaced one second apart, and audio features are not computed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .errors import TranscriptError
from .types import ROLES, Utterance, Word


def _num(value: Any, where: str, field: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise TranscriptError(
            f"{where} : « {field} » doit être un nombre de secondes, reçu {value!r}."
        ) from exc


def parse_transcript(
    data: Any, source: str = "transcription"
) -> tuple[tuple[Utterance, ...], dict[str, str]]:
    """Utterances from transcript data, and the speaker → role labels it gives (maybe empty)."""
    items = data.get("utterances") if isinstance(data, Mapping) else data
    if not isinstance(items, list) or not items:
        raise TranscriptError(
            f"{source} : attendu une liste « utterances » non vide (chaque élément avec text, "
            "role ou speaker, start, end)."
        )
    utterances: list[Utterance] = []
    labels: dict[str, str] = {}
    clock = 0.0
    for i, item in enumerate(items):
        where = f"{source}, énoncé {i + 1}"
        if not isinstance(item, Mapping):
            raise TranscriptError(f"{where} : attendu un objet, reçu {type(item).__name__}.")
        text = str(item.get("text", "")).strip()
        if not text:
            raise TranscriptError(f"{where} : champ « text » manquant ou vide.")
        role = item.get("role")
        if role is not None and role not in ROLES:
            raise TranscriptError(
                f"{where} : role {role!r} invalide. Valeurs valides : {', '.join(ROLES)}."
            )
        speaker = str(item.get("speaker") or role or "")
        if not speaker:
            raise TranscriptError(f"{where} : il faut « role » (agent | callee) ou « speaker ».")
        if role is not None:
            if labels.get(speaker, role) != role:
                raise TranscriptError(f"{where} : le locuteur {speaker!r} a deux rôles différents.")
            labels[speaker] = role
        if "start" in item:
            start = _num(item["start"], where, "start")
            end = _num(item.get("end", start + max(1.0, len(text.split()) * 0.35)), where, "end")
        else:
            start, end = clock, clock + max(1.0, len(text.split()) * 0.35)
        if end < start:
            raise TranscriptError(f"{where} : end ({end}) est avant start ({start}).")
        clock = end + 0.5
        words = tuple(
            Word(
                _num(w.get("start", start), where, "words.start"),
                _num(w.get("end", end), where, "words.end"),
                str(w.get("text", "")),
                float(w.get("probability", 1.0)),
            )
            for w in item.get("words") or []
        )
        utterances.append(Utterance(speaker=speaker, start=start, end=end, text=text, words=words))
    return tuple(utterances), labels


def load_transcript(path: str | Path) -> tuple[tuple[Utterance, ...], dict[str, str]]:
    p = Path(path)
    if not p.is_file():
        raise TranscriptError(
            f"Transcription introuvable : {p}. Vérifiez le chemin du fichier JSON."
        )
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"{p.name} n'est pas un JSON valide : {exc}.") from exc
    return parse_transcript(data, p.name)


def parse_script(text: str, source: str = "script") -> tuple[str, ...]:
    """Script questions from plain text (one per line) or YAML (a list, or ``questions:``)."""
    stripped = text.strip()
    if not stripped:
        return ()
    data: Any = None
    if stripped.startswith(("-", "questions:", "{", "[", "script:")):
        try:
            data = yaml.safe_load(stripped)
        except yaml.YAMLError:
            data = None
    if isinstance(data, Mapping):
        data = data.get("questions") or (data.get("script") or {}).get("questions")
    if isinstance(data, list):
        return tuple(str(q).strip() for q in data if str(q).strip())
    lines = (line.strip().lstrip("-•*0123456789.) ").strip() for line in stripped.splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


def load_script(path: str | Path) -> tuple[str, ...]:
    p = Path(path)
    if not p.is_file():
        raise TranscriptError(f"Script d'appel introuvable : {p}.")
    questions = parse_script(p.read_text(encoding="utf-8"), p.name)
    if not questions:
        raise TranscriptError(
            f"{p.name} ne contient aucune question (une par ligne, ou une liste YAML)."
        )
    return questions


def load_crm_note(path: str | Path) -> str:
    p = Path(path)
    if not p.is_file():
        raise TranscriptError(f"Note CRM introuvable : {p}.")
    return p.read_text(encoding="utf-8").strip()
