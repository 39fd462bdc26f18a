"""Read the labelled corpus (``../shared/corpus/public``) for benchmarks.

Layout: ``pub-NN.yaml`` (sector, campaign, objective, ``script.questions``, ``delivery``,
``crm_note``, ``turns`` with ``speaker`` agent|callee and ``text``, ``labels`` with
``state`` and ``why`` per criterion) and ``audio/pub-NN{.ogg,_stereo.ogg,.json,.rttm}``
(the JSON holds the reference turns with ``id``, ``speaker``, ``text``, ``start``, ``end``).

Only benchmarks read it (tests never do: a user's clone has no ``../shared``)::

    from corpus import load_corpus, utterances
    for call in load_corpus(args.corpus):
        utts = utterances(call)          # reference times when audio/pub-NN.json exists
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script without installing the package
    sys.path.insert(0, str(REPO))

from call_eval.types import Utterance  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "public"


@dataclass(frozen=True)
class Label:
    state: str
    why: str


@dataclass(frozen=True)
class CorpusCall:
    """One labelled call of the corpus."""

    id: str
    path: Path
    title: str
    sector: str
    campaign: str
    objective: str
    script_questions: tuple[str, ...]
    crm_note: str | None
    delivery: Mapping[str, Any]
    turns: tuple[tuple[str, str], ...]  # (role, text) in order
    labels: Mapping[str, Label]
    reference: Mapping[str, Any] | None = None  # audio/<id>.json
    audio_dir: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def mono(self) -> Path | None:
        return self._audio(".ogg")

    @property
    def stereo(self) -> Path | None:
        return self._audio("_stereo.ogg")

    @property
    def rttm(self) -> Path | None:
        return self._audio(".rttm")

    def _audio(self, suffix: str) -> Path | None:
        if self.audio_dir is None:
            return None
        path = self.audio_dir / f"{self.id}{suffix}"
        return path if path.is_file() else None

    def reference_turns(self) -> list[dict[str, Any]]:
        """Reference turns with times (YAML order), or [] without a reference JSON."""
        if not self.reference:
            return []
        turns = self.reference.get("turns") or []
        return sorted(turns, key=lambda t: t.get("id", 0))


def load_call(path: str | Path) -> CorpusCall:
    """One ``pub-NN.yaml`` (and its ``audio/pub-NN.json`` when present)."""
    path = Path(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    call_id = str(data.get("id") or path.stem)
    audio_dir = path.parent / "audio"
    ref_path = audio_dir / f"{call_id}.json"
    reference = json.loads(ref_path.read_text(encoding="utf-8")) if ref_path.is_file() else None
    script = data.get("script") or {}
    questions = script.get("questions") if isinstance(script, Mapping) else script
    labels = {
        cid: Label(str(v.get("state")), str(v.get("why", "")))
        for cid, v in (data.get("labels") or {}).items()
    }
    known = {"id", "title", "sector", "campaign", "objective", "script", "delivery"}
    known |= {"crm_note", "turns", "labels"}
    return CorpusCall(
        id=call_id,
        path=path,
        title=str(data.get("title", "")),
        sector=str(data.get("sector", "")),
        campaign=str(data.get("campaign", "")),
        objective=str(data.get("objective", "")),
        script_questions=tuple(str(q) for q in questions or ()),
        crm_note=data.get("crm_note") or None,
        delivery=data.get("delivery") or {},
        turns=tuple((str(t["speaker"]), str(t["text"])) for t in data.get("turns") or ()),
        labels=labels,
        reference=reference,
        audio_dir=audio_dir if audio_dir.is_dir() else None,
        extra={k: v for k, v in data.items() if k not in known},
    )


def load_corpus(corpus_dir: str | Path = DEFAULT_CORPUS) -> list[CorpusCall]:
    """Every ``*.yaml`` call of a corpus folder, sorted by id."""
    folder = Path(corpus_dir)
    if not folder.is_dir():
        raise SystemExit(f"corpus folder not found: {folder} (pass its path as an argument)")
    calls = [load_call(p) for p in sorted(folder.glob("*.yaml"))]
    if not calls:
        raise SystemExit(f"no *.yaml call in {folder}")
    return calls


def utterances(call: CorpusCall, *, use_reference_times: bool = True) -> tuple[Utterance, ...]:
    """The call's turns as role-labelled utterances (speaker = role, no words).

    Times come from the reference JSON when present and consistent with the YAML turns,
    otherwise they are made up from word counts (0.35 s a word, 0.5 s gaps).
    """
    ref = call.reference_turns() if use_reference_times else []
    consistent = len(ref) == len(call.turns) and all(
        r.get("speaker") == role for r, (role, _) in zip(ref, call.turns, strict=True)
    )
    out: list[Utterance] = []
    clock = 0.5
    for i, (role, text) in enumerate(call.turns):
        if consistent:
            start, end = float(ref[i]["start"]), float(ref[i]["end"])
        else:
            start = clock
            end = start + max(1.0, 0.35 * len(text.split()))
        clock = end + 0.5
        out.append(Utterance(speaker=role, start=start, end=end, text=text, role=role))  # type: ignore[arg-type]
    return tuple(out)


def transcript_dict(call: CorpusCall) -> dict[str, Any]:
    """The call as a transcript JSON (the ``analyze_transcript`` input format)."""
    return {
        "utterances": [
            {"role": u.role, "speaker": u.speaker, "start": u.start, "end": u.end, "text": u.text}
            for u in utterances(call)
        ]
    }


__all__ = [
    "DEFAULT_CORPUS",
    "CorpusCall",
    "Label",
    "load_call",
    "load_corpus",
    "transcript_dict",
    "utterances",
]
