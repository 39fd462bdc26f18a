"""Calibrate a rubric against jurors' ticks: agreement metrics, disagreements, re-scoring.

A *calibration set* is a list of calls with the ticks of one or several jurors
(:class:`CalibrationCall`). It comes from files (:func:`load_calibration_set`, the format of
the labelled corpus, below) or from the store (validated evaluations, built with
:meth:`CalibrationCall.from_analysis`).

Re-scoring reuses what was stored: the utterances (transcript) and the audio features of an
analysis. Only the detectors and the scoring run again (:class:`Rescorer`), so a set of
50 calls re-scores in seconds; a :class:`Rescorer` kept between calls also keeps the spaCy
parses and the findings of every detector whose parameters did not change.

Metrics (pure functions, hand-checkable): :func:`agreement` (share of equal states),
:func:`cohen_kappa` (suggestion vs juror over the three states), :func:`precision_recall_f1`
of ``acquis``, :func:`confusion_matrix` (juror rows, suggestion columns) and
:func:`fleiss_kappa` between jurors. :func:`calibrate` and :func:`compare_rubrics` give
reports with ``to_dict()`` and ``to_markdown()`` (French).

Calibration file format (YAML, one call per file; a folder holds many)::

    id: pub-01                      # default: the file name
    title: "…"                      # optional
    turns:                          # the transcript, in order (start/end optional)
      - {speaker: agent, text: "Bonjour …"}
      - {speaker: callee, text: "Oui ?", start: 3.1, end: 3.6}
    analysis: pub-01.analysis.json  # or: a stored analysis JSON (utterances + features)
    audio: audio/pub-01.ogg         # or: a recording (analysed once, then re-scored)
    script: {questions: ["…", "…"]} # optional (a bare list works too)
    crm_note: "…"                   # optional
    labels:                         # the reference ticks (state, and why)
      C01: {state: acquis, why: "Nom et entreprise donnés d'emblée."}
      C02: non_acquis               # a bare state works too
    jurors:                         # optional: several jurors' ticks (Fleiss' kappa)
      Mme A: {C01: acquis, C03: {state: non_acquis, why: "…"}}
      M. B: {C01: acquis, C03: acquis}

States are ``acquis``, ``non_acquis``, ``a_verifier`` (« non acquis », « à vérifier » are
accepted). Without ``labels``, the reference is the jurors' majority (no reference on a tie).
When ``turns`` have no times and ``audio/<id>.json`` (the corpus' reference turns) sits
beside the file, its times are used; otherwise times are made up from word counts.
"""

from __future__ import annotations

import json
import logging
import math
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .errors import CallEvalError, ConfigError
from .types import STATES, CriterionResult, Evidence, Finding, Score, Utterance, Word

if TYPE_CHECKING:  # pragma: no cover
    from .detectors import CallContext
    from .rubric import Rubric

log = logging.getLogger(__name__)

ACQUIS = "acquis"
STATE_NAMES = {"acquis": "acquis", "non_acquis": "non acquis", "a_verifier": "à vérifier"}
FORMATS = ("md", "json")
_WORD_S = 0.35  # made-up duration of a word when a turn has no times
_GAP_S = 0.5
_WARM_UP = (
    "Bonjour, je vous appelle pour fixer un rendez-vous, avez-vous deux minutes ?",
    "Oui, d'accord, mardi matin.",
    "Quelles sont vos disponibilités ?",
    "Rendez-vous fixé mardi matin.",
)


# A small calibration set shipped with the app (three calls of our own writing, other
# sectors than the public corpus, with two jurors' ticks): the « Calibration » page offers
# it as « Jeu d'exemple », and the tests use it.
EXAMPLE_SET = Path(__file__).resolve().parent / "data" / "calibration_example"


class CalibrationError(CallEvalError):
    """A calibration set (file or record) is malformed; the message names the file and
    field and says what is expected."""

    exit_code = 9


# =========================================================================== metrics
Pair = tuple[str, str]  # (juror's state, suggested state)


def confusion_matrix(
    pairs: Iterable[Pair], states: Sequence[str] = STATES
) -> dict[str, dict[str, int]]:
    """Counts of (juror, suggestion): ``m[juror_state][suggested_state]``."""
    m = {a: {b: 0 for b in states} for a in states}
    for juror, suggested in pairs:
        m.setdefault(juror, {b: 0 for b in states})
        m[juror][suggested] = m[juror].get(suggested, 0) + 1
    return m


def agreement(pairs: Iterable[Pair]) -> float | None:
    """Share of pairs whose two states are equal (None without pairs)."""
    pairs = list(pairs)
    if not pairs:
        return None
    return sum(1 for a, b in pairs if a == b) / len(pairs)


def cohen_kappa(pairs: Iterable[Pair], states: Sequence[str] = STATES) -> float | None:
    """Cohen's kappa between two raters: ``(po − pe) / (1 − pe)``.

    ``po`` is the observed agreement; ``pe = Σ_k p_juror(k) × p_suggested(k)`` the agreement
    expected by chance from each rater's own distribution of states. None without pairs or
    when ``pe = 1`` (both raters used one and the same state throughout: undefined).
    """
    pairs = list(pairs)
    n = len(pairs)
    if n == 0:
        return None
    cats = list(dict.fromkeys([*states, *(a for a, _ in pairs), *(b for _, b in pairs)]))
    rows = Counter(a for a, _ in pairs)
    cols = Counter(b for _, b in pairs)
    po = sum(1 for a, b in pairs if a == b) / n
    pe = sum(rows[k] * cols[k] for k in cats) / (n * n)
    if math.isclose(pe, 1.0):
        return None
    return (po - pe) / (1.0 - pe)


def precision_recall_f1(
    pairs: Iterable[Pair], positive: str = ACQUIS
) -> tuple[float | None, float | None, float | None]:
    """Precision, recall and F1 of the ``positive`` state, the juror being the truth.

    precision = TP / suggested positive; recall = TP / juror positive; F1 their harmonic
    mean. A ratio with a zero denominator is None.
    """
    pairs = list(pairs)
    tp = sum(1 for a, b in pairs if a == positive and b == positive)
    suggested = sum(1 for _, b in pairs if b == positive)
    actual = sum(1 for a, _ in pairs if a == positive)
    precision = tp / suggested if suggested else None
    recall = tp / actual if actual else None
    if precision is None or recall is None:
        f1 = None
    elif precision + recall == 0:
        f1 = 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)
    return precision, recall, f1


def rating_table(
    ratings: Iterable[Sequence[str]], states: Sequence[str] = STATES
) -> list[list[int]]:
    """Per subject, how many raters chose each state (the input of :func:`fleiss_kappa`)."""
    table = []
    for subject in ratings:
        counts = Counter(subject)
        unknown = set(counts) - set(states)
        if unknown:
            raise ValueError(f"unknown states {sorted(unknown)}; expected {list(states)}")
        table.append([counts.get(s, 0) for s in states])
    return table


def fleiss_parts(table: Sequence[Sequence[int]]) -> tuple[float, float, int] | None:
    """``(P̄, P̄e, subjects)`` of Fleiss' kappa: mean observed agreement per subject and
    chance agreement; subjects rated by fewer than two raters are left out. None when no
    subject is left."""
    rows = [list(r) for r in table if sum(r) >= 2]
    if not rows:
        return None
    total = sum(sum(r) for r in rows)
    k = max(len(r) for r in rows)
    p = [sum(r[j] if j < len(r) else 0 for r in rows) / total for j in range(k)]
    per_subject = []
    for r in rows:
        n_i = sum(r)
        per_subject.append((sum(c * c for c in r) - n_i) / (n_i * (n_i - 1)))
    p_bar = sum(per_subject) / len(rows)
    pe_bar = sum(x * x for x in p)
    return p_bar, pe_bar, len(rows)


def fleiss_kappa(table: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa from a subjects × categories table of rater counts.

    ``P_i = (Σ_j n_ij² − n_i) / (n_i (n_i − 1))``, ``P̄`` their mean, ``p_j`` the share of
    all ratings in category j, ``P̄e = Σ_j p_j²``, kappa ``= (P̄ − P̄e) / (1 − P̄e)``. The
    number of raters may vary by subject (at least two). None when undefined (no subject,
    or every rating in one category).
    """
    parts = fleiss_parts(table)
    if parts is None:
        return None
    p_bar, pe_bar, _ = parts
    if math.isclose(pe_bar, 1.0):
        return None
    return (p_bar - pe_bar) / (1.0 - pe_bar)


def majority(states: Iterable[str]) -> str | None:
    """The state most jurors chose, or None on a tie (or without states)."""
    counts = Counter(states).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


# =========================================================================== records
def normalize_state(value: Any) -> str | None:
    """``acquis`` / ``non_acquis`` / ``a_verifier`` from a tolerant spelling, else None."""
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKD", value.strip().lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("-", " ").replace("_", " ")
    text = " ".join(text.split())
    aliases = {
        "acquis": "acquis",
        "non acquis": "non_acquis",
        "a verifier": "a_verifier",
    }
    return aliases.get(text)


def _states_error(where: str, value: Any) -> CalibrationError:
    return CalibrationError(
        f"{where} : état {value!r} invalide. Valeurs valides : {', '.join(STATES)}."
    )


def _clean_ticks(ticks: Mapping[str, Any], where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for cid, value in ticks.items():
        state = normalize_state(value)
        if state is None:
            raise _states_error(f"{where}.{cid}", value)
        out[str(cid)] = state
    return out


def utterances_from_dicts(items: Iterable[Mapping[str, Any]]) -> tuple[Utterance, ...]:
    """Utterances back from the ``utterances`` of an analysis JSON (roles and words kept)."""
    out = []
    for u in items:
        words = tuple(
            Word(
                float(w.get("start", u.get("start", 0.0))),
                float(w.get("end", u.get("end", 0.0))),
                str(w.get("text", "")),
                float(w.get("probability", 1.0) if w.get("probability") is not None else 1.0),
            )
            for w in u.get("words") or ()
        )
        role = u.get("role")
        out.append(
            Utterance(
                speaker=str(u.get("speaker") or role or ""),
                start=float(u.get("start", 0.0)),
                end=float(u.get("end", 0.0)),
                text=str(u.get("text", "")),
                words=words,
                role=role if role in ("agent", "callee") else None,
            )
        )
    return tuple(out)


def evidence_from_dict(e: Mapping[str, Any]) -> Evidence:
    role = e.get("role")
    return Evidence(
        role=role if role in ("agent", "callee") else None,
        start=float(e.get("start") or 0.0),
        end=float(e.get("end") or 0.0),
        quote=str(e.get("quote", "")),
        speaker=e.get("speaker"),
    )


def findings_from_dicts(items: Iterable[Mapping[str, Any]]) -> tuple[Finding, ...]:
    """Findings back from the ``findings`` of an analysis JSON."""
    out = []
    for f in items:
        role = f.get("role")
        out.append(
            Finding(
                detector=str(f.get("detector", "")),
                role=role if role in ("agent", "callee") else None,
                score=float(f.get("score", 0.0)),
                reason=str(f.get("reason", "")),
                evidence=tuple(evidence_from_dict(e) for e in f.get("evidence") or ()),
                label=str(f.get("label") or ""),
                utterance_index=f.get("utterance_index"),
                data=dict(f.get("data") or {}),
            )
        )
    return tuple(out)


def criteria_from_dicts(items: Iterable[Mapping[str, Any]]) -> tuple[CriterionResult, ...]:
    """Criterion results back from the ``criteria`` of an analysis JSON."""
    out = []
    for c in items:
        state = normalize_state(c.get("suggested")) or "a_verifier"
        out.append(
            CriterionResult(
                id=str(c.get("id", "")),
                label=str(c.get("label", "")),
                source=str(c.get("source", "call")),
                suggested=state,  # type: ignore[arg-type]
                confidence=float(c.get("confidence") or 0.0),
                reason=str(c.get("reason", "")),
                evidence=tuple(evidence_from_dict(e) for e in c.get("evidence") or ()),
                manual=bool(c.get("manual", False)),
            )
        )
    return tuple(out)


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def features_flat_from_dict(features: Mapping[str, Any] | None) -> dict[str, float]:
    """The flat feature names of :meth:`CallFeatures.flat` from its ``to_dict()`` output.

    ``{"agent": {"speech_rate_wpm": 156}, "call": {"turns": 17}}`` → ``{"agent.speech_rate_wpm":
    156.0, "call.turns": 17.0}``: finite numbers only (booleans, lists, None left out), as the
    rubric reads them. An already flat mapping (``"agent.speech_rate_wpm": 156``) is kept.
    """
    out: dict[str, float] = {}
    if not features:
        return out
    for section in ("agent", "callee", "call"):
        values = features.get(section)
        if not isinstance(values, Mapping):
            continue
        for key, v in values.items():
            if _finite_number(v):
                out[f"{section}.{key}"] = float(v)
    for key, v in features.items():
        if isinstance(key, str) and "." in key and _finite_number(v):
            out[key] = float(v)
    return out


@dataclass(frozen=True)
class CalibrationCall:
    """One call of a calibration set: its transcript (utterances, or a stored analysis in
    the JSON contract shape), script, CRM note, audio features, and jurors' ticks.

    ``labels`` are the reference ticks (``{criterion id: state}``) the suggestions are
    measured against; ``juror_labels`` the ticks of each juror (``{name: {id: state}}``),
    for the agreement between jurors. Without ``labels``, the reference is the jurors'
    majority. Given ``analysis``, the utterances, features, script and CRM note are read
    from it when not given. States are checked: an invalid one raises
    :class:`CalibrationError`.
    """

    call_id: str
    utterances: tuple[Utterance, ...] = ()
    analysis: Mapping[str, Any] | None = None
    script_questions: tuple[str, ...] = ()
    crm_note: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    juror_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    features_flat: Mapping[str, float] = field(default_factory=dict)
    label_why: Mapping[str, str] = field(default_factory=dict)
    juror_why: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    title: str = ""
    source: str = ""
    audio_path: str | None = None
    nlp_model: str | None = None

    def __post_init__(self) -> None:
        where = self.source or self.call_id
        set_ = object.__setattr__
        set_(self, "labels", _clean_ticks(self.labels or {}, f"{where} : labels"))
        set_(
            self,
            "juror_labels",
            {
                str(name): _clean_ticks(ticks or {}, f"{where} : jurors.{name}")
                for name, ticks in (self.juror_labels or {}).items()
            },
        )
        set_(self, "utterances", tuple(self.utterances))
        set_(self, "script_questions", tuple(self.script_questions))
        a = self.analysis
        if a is not None:
            if not isinstance(a, Mapping):
                raise CalibrationError(f"{where} : « analysis » doit être un objet JSON.")
            if not self.utterances:
                set_(self, "utterances", utterances_from_dicts(a.get("utterances") or ()))
            if not self.features_flat:
                set_(self, "features_flat", features_flat_from_dict(a.get("features")))
            options = a.get("options") or {}
            if not self.script_questions and options.get("script_questions"):
                set_(
                    self,
                    "script_questions",
                    tuple(str(q) for q in options["script_questions"]),
                )
            if self.crm_note is None and options.get("crm_note"):
                set_(self, "crm_note", str(options["crm_note"]))
            if self.nlp_model is None and isinstance((a.get("models") or {}).get("nlp"), str):
                set_(self, "nlp_model", a["models"]["nlp"])
        set_(self, "features_flat", dict(self.features_flat or {}))
        if not self.utterances and not self.audio_path:
            raise CalibrationError(
                f"{where} : aucune transcription. Donnez des énoncés (turns / utterances), "
                "une analyse enregistrée (analysis) ou un enregistrement (audio)."
            )
        if self.utterances and not any(u.role == "agent" for u in self.utterances):
            raise CalibrationError(
                f"{where} : aucun énoncé du candidat (role « agent ») dans la transcription."
            )

    @classmethod
    def from_analysis(
        cls,
        analysis: Mapping[str, Any],
        *,
        labels: Mapping[str, str] | None = None,
        juror_labels: Mapping[str, Mapping[str, str]] | None = None,
        label_why: Mapping[str, str] | None = None,
        juror_why: Mapping[str, Mapping[str, str]] | None = None,
        call_id: str | None = None,
        title: str = "",
        source: str = "",
    ) -> CalibrationCall:
        """A call from a stored analysis (the JSON contract) and jurors' ticks."""
        cid = call_id or str((analysis.get("call") or {}).get("id") or "appel")
        return cls(
            call_id=cid,
            analysis=analysis,
            labels=dict(labels or {}),
            juror_labels={k: dict(v) for k, v in (juror_labels or {}).items()},
            label_why=dict(label_why or {}),
            juror_why={k: dict(v) for k, v in (juror_why or {}).items()},
            title=title or str((analysis.get("call") or {}).get("source") or ""),
            source=source or cid,
        )

    def reference(self) -> dict[str, str]:
        """The ticks suggestions are measured against: ``labels``, else the jurors'
        majority per criterion (criteria where jurors tie are left out)."""
        if self.labels:
            return dict(self.labels)
        out: dict[str, str] = {}
        ids = dict.fromkeys(cid for ticks in self.juror_labels.values() for cid in ticks)
        for cid in ids:
            state = majority(t[cid] for t in self.juror_labels.values() if cid in t)
            if state is not None:
                out[cid] = state
        return out

    def why(self, criterion_id: str) -> str:
        """The juror's explanation for the reference tick (jurors' ones joined)."""
        if criterion_id in self.label_why:
            return self.label_why[criterion_id]
        parts = [
            f"{name} : {w[criterion_id]}"
            for name, w in self.juror_why.items()
            if w.get(criterion_id)
        ]
        return " ; ".join(parts)


# =========================================================================== loading files
def _made_up_times(turns: Sequence[tuple[str, str]]) -> list[tuple[float, float]]:
    out = []
    clock = _GAP_S
    for _, text in turns:
        end = clock + max(1.0, _WORD_S * len(text.split()))
        out.append((clock, end))
        clock = end + _GAP_S
    return out


def _reference_times(
    path: Path, call_id: str, turns: Sequence[tuple[str, str]]
) -> list[tuple[float, float]] | None:
    """Turn times from ``audio/<id>.json`` beside the file (the corpus' reference turns),
    when its turns match the YAML turns one to one."""
    ref = path.parent / "audio" / f"{call_id}.json"
    if not ref.is_file():
        return None
    try:
        data = json.loads(ref.read_text(encoding="utf-8"))
        items = sorted(data.get("turns") or [], key=lambda t: t.get("id", 0))
        if len(items) != len(turns) or any(
            t.get("speaker") != role for t, (role, _) in zip(items, turns, strict=True)
        ):
            return None
        return [(float(t["start"]), float(t["end"])) for t in items]
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("%s: reference turn times unreadable, made-up times used", ref)
        return None


def _parse_turns(raw: Any, where: str, path: Path, call_id: str) -> tuple[Utterance, ...]:
    if not isinstance(raw, list) or not raw:
        raise CalibrationError(
            f"{where} : « turns » doit être une liste non vide d'énoncés "
            "{speaker: agent|callee, text: ...}."
        )
    turns: list[tuple[str, str]] = []
    given: list[tuple[float, float] | None] = []
    for i, t in enumerate(raw, 1):
        at = f"{where} : turns[{i}]"
        if not isinstance(t, Mapping):
            raise CalibrationError(f"{at} : attendu {{speaker: agent|callee, text: ...}}.")
        role = t.get("speaker", t.get("role"))
        if role not in ("agent", "callee"):
            raise CalibrationError(
                f"{at} : locuteur {role!r} invalide. Valeurs valides : agent, callee."
            )
        text = str(t.get("text") or "").strip()
        if not text:
            raise CalibrationError(f"{at} : « text » manquant ou vide.")
        turns.append((role, text))
        if "start" in t or "end" in t:
            try:
                start, end = float(t["start"]), float(t["end"])
            except (KeyError, TypeError, ValueError) as exc:
                raise CalibrationError(
                    f"{at} : « start » et « end » doivent être deux nombres de secondes."
                ) from exc
            if end < start:
                raise CalibrationError(f"{at} : « end » ({end}) est avant « start » ({start}).")
            given.append((start, end))
        else:
            given.append(None)
    if all(g is not None for g in given):
        times = [g for g in given if g is not None]
    else:
        times = _reference_times(path, call_id, turns) or _made_up_times(turns)
    return tuple(
        Utterance(speaker=role, start=s, end=e, text=text, role=role)  # type: ignore[arg-type]
        for (role, text), (s, e) in zip(turns, times, strict=True)
    )


def _parse_label_block(raw: Any, where: str) -> tuple[dict[str, str], dict[str, str]]:
    """``{C01: {state, why} | state}`` → (states, whys)."""
    if not isinstance(raw, Mapping):
        raise CalibrationError(
            f"{where} : attendu un dictionnaire {{C01: {{state: acquis, why: ...}}, ...}}."
        )
    states: dict[str, str] = {}
    whys: dict[str, str] = {}
    for cid, value in raw.items():
        at = f"{where}.{cid}"
        if isinstance(value, Mapping):
            if "state" not in value:
                raise CalibrationError(
                    f"{at} : « state » manquant (acquis, non_acquis, a_verifier)."
                )
            state, why = value.get("state"), value.get("why")
        else:
            state, why = value, None
        norm = normalize_state(state)
        if norm is None:
            raise _states_error(f"{at}.state" if isinstance(value, Mapping) else at, state)
        states[str(cid)] = norm
        if why:
            whys[str(cid)] = str(why)
    return states, whys


def _script(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    questions = raw.get("questions") if isinstance(raw, Mapping) else raw
    if questions is None:
        return ()
    if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
        raise CalibrationError(
            f'{where} : « script » doit être {{questions: ["…", …]}} ou une liste de questions.'
        )
    return tuple(q.strip() for q in questions if q.strip())


def load_calibration_file(path: str | Path) -> CalibrationCall:
    """One call of a calibration set from its YAML file (format in the module docstring)."""
    p = Path(path)
    where = p.name
    if not p.is_file():
        raise CalibrationError(f"Fichier d'appel introuvable : {p}.")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", ligne {mark.line + 1}" if mark is not None else ""
        raise CalibrationError(f"{where}{line} : YAML invalide ({exc}).") from exc
    except UnicodeDecodeError as exc:
        raise CalibrationError(f"{where} : le fichier doit être en UTF-8.") from exc
    if not isinstance(data, Mapping):
        raise CalibrationError(
            f"{where} : un appel de calibration est un dictionnaire YAML (id, turns, labels…)."
        )
    call_id = str(data.get("id") or p.stem)
    labels, whys = ({}, {})
    if data.get("labels") is not None:
        labels, whys = _parse_label_block(data["labels"], f"{where} : labels")
    jurors: dict[str, dict[str, str]] = {}
    juror_why: dict[str, dict[str, str]] = {}
    if data.get("jurors") is not None:
        if not isinstance(data["jurors"], Mapping) or not data["jurors"]:
            raise CalibrationError(
                f"{where} : « jurors » doit être un dictionnaire {{nom du juré: {{C01: acquis, "
                "...}}}}."
            )
        for name, block in data["jurors"].items():
            jurors[str(name)], juror_why[str(name)] = _parse_label_block(
                block, f"{where} : jurors.{name}"
            )
    if not labels and not jurors:
        raise CalibrationError(
            f"{where} : aucune coche de juré. Ajoutez « labels: {{C01: {{state: acquis, why: "
            "...}}}} » ou « jurors: ... »."
        )
    crm = data.get("crm_note")
    if crm is not None and not isinstance(crm, str):
        raise CalibrationError(f"{where} : « crm_note » doit être un texte.")
    analysis: Mapping[str, Any] | None = None
    utterances: tuple[Utterance, ...] = ()
    audio_path: str | None = None
    if data.get("analysis"):
        a_path = p.parent / str(data["analysis"])
        if not a_path.is_file():
            raise CalibrationError(f"{where} : analyse introuvable : {a_path}.")
        try:
            analysis = json.loads(a_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CalibrationError(
                f"{where} : {a_path.name} n'est pas un JSON valide ({exc})."
            ) from exc
        if not isinstance(analysis, Mapping) or not analysis.get("utterances"):
            raise CalibrationError(
                f"{where} : {a_path.name} n'a pas d'« utterances » : attendu le JSON d'une "
                "analyse (call-eval analyze)."
            )
    elif data.get("turns") is not None or data.get("utterances") is not None:
        utterances = _parse_turns(data.get("turns", data.get("utterances")), where, p, call_id)
    elif data.get("audio"):
        a = p.parent / str(data["audio"])
        if not a.is_file():
            raise CalibrationError(f"{where} : enregistrement introuvable : {a}.")
        audio_path = str(a)
    else:
        raise CalibrationError(
            f"{where} : aucune transcription. Ajoutez « turns » (liste de {{speaker: "
            "agent|callee, text: ...}}), « analysis » (JSON d'analyse) ou « audio »."
        )
    return CalibrationCall(
        call_id=call_id,
        utterances=utterances,
        analysis=analysis,
        script_questions=_script(data.get("script"), f"{where} : script"),
        crm_note=crm.strip() if isinstance(crm, str) and crm.strip() else None,
        labels=labels,
        juror_labels=jurors,
        label_why=whys,
        juror_why=juror_why,
        title=str(data.get("title") or ""),
        source=str(p),
        audio_path=audio_path,
    )


def load_calibration_set(path: str | Path | Sequence[str | Path]) -> list[CalibrationCall]:
    """Calls of a calibration set: a folder (every ``*.yaml``/``*.yml``, by name), one file,
    or a list of files. Raises :class:`CalibrationError` (French, naming the file and field)
    for a missing or malformed file, and for two calls with the same id."""
    if isinstance(path, str | Path):
        p = Path(path)
        if p.is_dir():
            files = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
            if not files:
                raise CalibrationError(
                    f"{p} : aucun fichier d'appel (*.yaml) dans ce dossier de calibration."
                )
        elif p.is_file():
            files = [p]
        else:
            raise CalibrationError(
                f"Jeu de calibration introuvable : {p}. Indiquez un dossier de fichiers YAML "
                "ou un fichier."
            )
    else:
        files = [Path(x) for x in path]
        if not files:
            raise CalibrationError("Jeu de calibration vide : aucun fichier donné.")
    calls = [load_calibration_file(f) for f in files]
    seen: dict[str, str] = {}
    for c in calls:
        if c.call_id in seen:
            raise CalibrationError(
                f"Identifiant d'appel « {c.call_id} » en double : {seen[c.call_id]} et "
                f"{c.source}. Chaque appel doit avoir un « id » unique."
            )
        seen[c.call_id] = c.source
    return calls


# =========================================================================== re-scoring
@dataclass(frozen=True)
class RescoredCall:
    """The suggestions of one call under one rubric (detectors + scoring run again)."""

    call_id: str
    criteria: tuple[CriterionResult, ...]
    score: Score
    findings: tuple[Finding, ...]
    seconds: float

    def result(self, criterion_id: str) -> CriterionResult | None:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        return None

    def suggestions(self) -> dict[str, str]:
        return {c.id: c.suggested for c in self.criteria}


def _as_rubric(rubric: Rubric | str | Path | None) -> Rubric:
    from .rubric import Rubric, load_rubric

    if isinstance(rubric, Rubric):
        return rubric
    return load_rubric(rubric)


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


class Rescorer:
    """Re-scores a calibration set under any rubric, reusing what does not change.

    Each call's transcript is parsed by spaCy once; each detector's findings are kept per
    call and per detector parameters (``rubric.detector_overrides()``), so comparing two
    rubrics that differ in bands or rules runs the detectors once, and one whose phrase
    list changed re-runs only that detector. Keep one instance while a trainer edits a
    rubric (the app may cache it). Calls with only a recording are analysed once (full
    pipeline) the first time they are needed.
    """

    def __init__(self, calls: Sequence[CalibrationCall]) -> None:
        if not calls:
            raise CalibrationError("Jeu de calibration vide : aucun appel à évaluer.")
        ids = [c.call_id for c in calls]
        dup = [i for i, n in Counter(ids).items() if n > 1]
        if dup:
            raise CalibrationError(
                f"Identifiants d'appel en double dans le jeu : {', '.join(dup)}."
            )
        self.calls: list[CalibrationCall] = list(calls)
        self._contexts: dict[tuple[str, str], CallContext] = {}
        self._findings: dict[tuple[str, str, str], tuple[Finding, ...]] = {}
        self.models_s = 0.0
        self.audio_s = 0.0  # full pipeline on calls given as recordings only
        self._warm = False

    # -- preparation
    def _ensure_transcripts(self) -> None:
        for i, call in enumerate(self.calls):
            if call.utterances or not call.audio_path:
                continue
            from .pipeline import AnalysisOptions, analyze_file

            log.info("calibration: analysing %s (no stored transcript)", call.audio_path)
            t0 = time.perf_counter()
            analysis = analyze_file(
                call.audio_path,
                AnalysisOptions(script_questions=call.script_questions, crm_note=call.crm_note),
            ).to_dict()
            self.audio_s += time.perf_counter() - t0
            self.calls[i] = replace(
                call,
                analysis=analysis,
                utterances=utterances_from_dicts(analysis["utterances"]),
                features_flat=features_flat_from_dict(analysis.get("features")),
            )

    def _context(self, call: CalibrationCall, overrides_key: str) -> CallContext:
        """One context per call and detector parameters; the spaCy parse is shared."""
        from .detectors import CallContext
        from .nlp import DEFAULT_MODEL

        key = (call.call_id, overrides_key)
        if key in self._contexts:
            return self._contexts[key]
        ctx = CallContext(
            utterances=call.utterances,
            script_questions=call.script_questions,
            crm_note=call.crm_note,
            features=dict(call.features_flat),
            nlp_model=call.nlp_model or DEFAULT_MODEL,
        )
        base = next((c for (cid, _), c in self._contexts.items() if cid == call.call_id), None)
        if base is not None and "docs" in vars(base):
            # CallContext.docs is a cached_property: share the parse instead of redoing it.
            vars(ctx)["docs"] = base.docs
        self._contexts[key] = ctx
        return ctx

    def _detect(self, call: CalibrationCall, rubric: Rubric) -> tuple[Finding, ...]:
        from .detectors import run_detectors

        overrides = rubric.detector_overrides()
        ctx = self._context(call, _key(overrides))
        found: list[Finding] = []
        for name in rubric.detector_names():
            ov = overrides.get(name)
            key = (call.call_id, name, _key(ov))
            if key not in self._findings:
                self._findings[key] = run_detectors(
                    ctx, names=[name], overrides={name: ov} if ov else None
                )
            found.extend(self._findings[key])
        return tuple(found)

    def warm_up(self, rubric: Rubric | None = None) -> float:
        """Load what detectors need once (spaCy, lexicons, sentence encoder) by running the
        rubric's detectors on a two-line call; returns the seconds it took. Re-scoring times
        exclude it (the app loads models once per process)."""
        from .detectors import CallContext, run_detectors
        from .nlp import DEFAULT_MODEL, load_nlp

        t0 = time.perf_counter()
        for model in {c.nlp_model or DEFAULT_MODEL for c in self.calls}:
            load_nlp(model)
        if rubric is not None and not self._warm:
            tiny = CallContext(
                utterances=(
                    Utterance("agent", 0.0, 4.0, _WARM_UP[0], role="agent"),
                    Utterance("callee", 4.5, 6.0, _WARM_UP[1], role="callee"),
                ),
                script_questions=(_WARM_UP[2],),
                crm_note=_WARM_UP[3],
            )
            run_detectors(tiny, rubric.detector_names(), rubric.detector_overrides())
            self._warm = True
        seconds = time.perf_counter() - t0
        self.models_s += seconds
        return seconds

    # -- public
    def rescore(self, rubric: Rubric | str | Path | None) -> list[RescoredCall]:
        """Detectors + scoring of every call under ``rubric``."""
        from .scoring import score

        rub = _as_rubric(rubric)
        self._ensure_transcripts()
        self.warm_up(rub)
        out = []
        for call in self.calls:
            t0 = time.perf_counter()
            findings = self._detect(call, rub)
            criteria, total = score(
                findings,
                call.features_flat,
                rub,
                has_crm_note=bool(call.crm_note),
                has_script=bool(call.script_questions),
            )
            out.append(
                RescoredCall(call.call_id, criteria, total, findings, time.perf_counter() - t0)
            )
        return out

    def calibrate(
        self, rubric: Rubric | str | Path | None, criteria: Sequence[str] | None = None
    ) -> CalibrationReport:
        rub = _as_rubric(rubric)
        self._ensure_transcripts()
        self.warm_up(rub)
        t0 = time.perf_counter()
        results = self.rescore(rub)
        elapsed = time.perf_counter() - t0
        report = _report(rub, self.calls, results, criteria, elapsed, self.models_s)
        if self.audio_s:
            report = replace(report, timings={**report.timings, "audio_analysis_s": self.audio_s})
        return report

    def compare(
        self,
        rubric_a: Rubric | str | Path | None,
        rubric_b: Rubric | str | Path | None,
        criteria: Sequence[str] | None = None,
    ) -> RubricComparison:
        a, b = _as_rubric(rubric_a), _as_rubric(rubric_b)
        before = self.calibrate(a, criteria)
        after = self.calibrate(b, criteria)
        return _comparison(before, after, self.calls)


def rescore(
    rubric: Rubric | str | Path | None, calls: Sequence[CalibrationCall]
) -> list[RescoredCall]:
    """Detectors + scoring of each call under ``rubric`` (stored transcripts and features)."""
    return Rescorer(calls).rescore(rubric)


def rescore_analysis(
    analysis: Mapping[str, Any], rubric: Rubric | str | Path | None
) -> dict[str, Any]:
    """A stored analysis re-scored under another rubric: a new analysis dict (the JSON
    contract) with ``findings``, ``criteria``, ``score``, ``rubric`` and the detector and
    scoring ``timings`` replaced; transcript, features and roles are kept. The original is
    not modified (earlier analyses keep their rubric version)."""
    from datetime import UTC, datetime

    rub = _as_rubric(rubric)
    call = CalibrationCall.from_analysis(analysis)
    t0 = time.perf_counter()
    (res,) = Rescorer([call]).rescore(rub)
    out = json.loads(json.dumps(analysis, ensure_ascii=False))
    out["findings"] = [f.to_dict() for f in res.findings]
    out["criteria"] = [c.to_dict() for c in res.criteria]
    out["score"] = res.score.to_dict()
    out["rubric"] = rub.describe()
    out["rescored"] = {
        "from_rubric": dict(analysis.get("rubric") or {}),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    timings = dict(out.get("timings") or {})
    timings["rescoring"] = round(res.seconds, 3)
    out["timings"] = timings
    return out


# =========================================================================== reports
def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(x, nd)


@dataclass(frozen=True)
class CriterionMetrics:
    """Suggestions vs the reference ticks for one criterion (or all, ``id="ensemble"``)."""

    id: str
    label: str
    n: int
    agree: int
    agreement: float | None
    kappa: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    confusion: Mapping[str, Mapping[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "n": self.n,
            "agree": self.agree,
            "agreement": _r(self.agreement),
            "kappa": _r(self.kappa),
            "precision": _r(self.precision),
            "recall": _r(self.recall),
            "f1": _r(self.f1),
            "confusion": {a: dict(row) for a, row in self.confusion.items()},
        }


def criterion_metrics(cid: str, label: str, pairs: Sequence[Pair]) -> CriterionMetrics:
    """All suggestion-vs-juror metrics of a list of (juror, suggested) pairs."""
    p, r, f1 = precision_recall_f1(pairs)
    return CriterionMetrics(
        id=cid,
        label=label,
        n=len(pairs),
        agree=sum(1 for a, b in pairs if a == b),
        agreement=agreement(pairs),
        kappa=cohen_kappa(pairs),
        precision=p,
        recall=r,
        f1=f1,
        confusion=confusion_matrix(pairs),
    )


@dataclass(frozen=True)
class JurorAgreement:
    """Agreement between jurors on one criterion (or all, ``id="ensemble"``)."""

    id: str
    label: str
    subjects: int  # calls (or call × criterion) ticked by at least two jurors
    observed: float | None  # Fleiss' P̄: mean share of agreeing juror pairs
    fleiss_kappa: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "subjects": self.subjects,
            "observed": _r(self.observed),
            "fleiss_kappa": _r(self.fleiss_kappa),
        }


@dataclass(frozen=True)
class JurorVsSuggestion:
    """Suggestions measured against one juror's own ticks."""

    juror: str
    n: int
    agreement: float | None
    kappa: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "juror": self.juror,
            "n": self.n,
            "agreement": _r(self.agreement),
            "kappa": _r(self.kappa),
        }


def _kind(juror: str, suggested: str) -> str:
    if suggested == "a_verifier":
        return "suggestion indécise (à vérifier)"
    if juror == "a_verifier":
        return "juré : à vérifier"
    if suggested == ACQUIS:
        return "acquis à tort"
    return "non acquis à tort"


@dataclass(frozen=True)
class Disagreement:
    """A call and criterion where the suggestion differs from the reference tick: the
    tool's reason and evidence beside the juror's ``why``."""

    call_id: str
    criterion: str
    label: str
    juror_state: str
    suggested: str
    confidence: float
    reason: str
    evidence: tuple[Evidence, ...]
    juror_why: str
    title: str = ""

    @property
    def kind(self) -> str:
        return _kind(self.juror_state, self.suggested)

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "title": self.title,
            "criterion": self.criterion,
            "label": self.label,
            "juror_state": self.juror_state,
            "suggested": self.suggested,
            "kind": self.kind,
            "confidence": round(self.confidence, 3),
            "reason": self.reason,
            "evidence": [e.to_dict() for e in self.evidence],
            "juror_why": self.juror_why,
        }


@dataclass(frozen=True)
class JurorDisagreement:
    """A call and criterion the jurors ticked differently."""

    call_id: str
    criterion: str
    states: Mapping[str, str]  # juror → state
    whys: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "criterion": self.criterion,
            "states": dict(self.states),
            "whys": dict(self.whys),
        }


@dataclass(frozen=True)
class CallSummary:
    """One call: suggested vs reference acquis over the compared criteria."""

    call_id: str
    title: str
    compared: int
    agree: int
    suggested_acquis: int
    juror_acquis: int
    score: Score

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "title": self.title,
            "compared": self.compared,
            "agree": self.agree,
            "suggested_acquis": self.suggested_acquis,
            "juror_acquis": self.juror_acquis,
            "score": self.score.to_dict(),
        }


@dataclass(frozen=True)
class CalibrationReport:
    """How a rubric's suggestions agree with the jurors on a calibration set."""

    rubric: Mapping[str, Any]
    calls: tuple[CallSummary, ...]
    criteria: tuple[CriterionMetrics, ...]
    overall: CriterionMetrics
    disagreements: tuple[Disagreement, ...]
    jurors: tuple[str, ...]
    juror_criteria: tuple[JurorAgreement, ...]
    juror_overall: JurorAgreement | None
    juror_disagreements: tuple[JurorDisagreement, ...]
    per_juror: tuple[JurorVsSuggestion, ...]
    suggestions: Mapping[str, Mapping[str, str]]  # call → criterion → suggested
    timings: Mapping[str, float]
    warnings: tuple[str, ...] = ()
    results: tuple[RescoredCall, ...] = field(default=(), repr=False)  # full suggestions

    def result(self, call_id: str, criterion_id: str) -> CriterionResult | None:
        """The suggestion (state, reason, evidence) of one call and criterion."""
        for r in self.results:
            if r.call_id == call_id:
                return r.result(criterion_id)
        return None

    def metrics(self, criterion_id: str) -> CriterionMetrics | None:
        for m in self.criteria:
            if m.id == criterion_id:
                return m
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rubric": dict(self.rubric),
            "calls": [c.to_dict() for c in self.calls],
            "criteria": [m.to_dict() for m in self.criteria],
            "overall": self.overall.to_dict(),
            "disagreements": [d.to_dict() for d in self.disagreements],
            "jurors": list(self.jurors),
            "juror_criteria": [j.to_dict() for j in self.juror_criteria],
            "juror_overall": self.juror_overall.to_dict() if self.juror_overall else None,
            "juror_disagreements": [d.to_dict() for d in self.juror_disagreements],
            "per_juror": [j.to_dict() for j in self.per_juror],
            "suggestions": {k: dict(v) for k, v in self.suggestions.items()},
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "warnings": list(self.warnings),
        }

    def to_markdown(self) -> str:
        return _report_markdown(self)


def _report(
    rubric: Rubric,
    calls: Sequence[CalibrationCall],
    results: Sequence[RescoredCall],
    only: Sequence[str] | None,
    elapsed: float,
    models_s: float,
) -> CalibrationReport:
    by_call = {r.call_id: r for r in results}
    refs = {c.call_id: c.reference() for c in calls}
    rubric_ids = [c.id for c in rubric.criteria]
    labels = {c.id: c.label for c in rubric.criteria}
    manual = {c.id for c in rubric.criteria if c.manual}
    warnings: list[str] = []
    ticked = {cid for ref in refs.values() for cid in ref}
    ticked |= {cid for c in calls for t in c.juror_labels.values() for cid in t}
    unknown = sorted(ticked - set(rubric_ids))
    if unknown:
        warnings.append(
            f"Coches ignorées : critère(s) absent(s) de la grille {rubric.id} : "
            + ", ".join(unknown)
            + "."
        )
    if only is not None:
        bad = [c for c in only if c not in rubric_ids]
        if bad:
            raise ConfigError(
                f"Critère(s) inconnu(s) : {', '.join(bad)}. Critères de la grille : "
                f"{', '.join(rubric_ids)}."
            )
        compared = [c for c in rubric_ids if c in only]
    else:
        compared = [c for c in rubric_ids if c not in manual]
    compared = [c for c in compared if any(c in ref for ref in refs.values())]
    if not compared:
        warnings.append("Aucun critère comparable : aucune coche sur les critères de la grille.")

    per_crit: dict[str, list[Pair]] = {c: [] for c in compared}
    disagreements: list[Disagreement] = []
    summaries: list[CallSummary] = []
    for call in calls:
        res = by_call[call.call_id]
        ref = refs[call.call_id]
        n = agree = sugg_acq = jur_acq = 0
        for cid in compared:
            if cid not in ref:
                continue
            r = res.result(cid)
            if r is None:
                continue
            per_crit[cid].append((ref[cid], r.suggested))
            n += 1
            agree += ref[cid] == r.suggested
            sugg_acq += r.suggested == ACQUIS
            jur_acq += ref[cid] == ACQUIS
            if ref[cid] != r.suggested:
                disagreements.append(
                    Disagreement(
                        call_id=call.call_id,
                        criterion=cid,
                        label=labels[cid],
                        juror_state=ref[cid],
                        suggested=r.suggested,
                        confidence=r.confidence,
                        reason=r.reason,
                        evidence=r.evidence,
                        juror_why=call.why(cid),
                        title=call.title,
                    )
                )
        summaries.append(
            CallSummary(call.call_id, call.title, n, agree, sugg_acq, jur_acq, res.score)
        )
    order = {c: i for i, c in enumerate(rubric_ids)}
    disagreements.sort(key=lambda d: (order[d.criterion], d.call_id))
    metrics = tuple(criterion_metrics(c, labels[c], per_crit[c]) for c in compared)
    overall = criterion_metrics(
        "ensemble", "Tous les critères comparés", [p for c in compared for p in per_crit[c]]
    )

    # -- between jurors
    jurors = tuple(dict.fromkeys(j for c in calls for j in c.juror_labels))
    juror_crit: list[JurorAgreement] = []
    juror_dis: list[JurorDisagreement] = []
    pooled: list[list[str]] = []
    for cid in [c for c in rubric_ids if c in ticked]:
        subjects = []
        for call in calls:
            states = {j: t[cid] for j, t in call.juror_labels.items() if cid in t}
            if len(states) < 2:
                continue
            subjects.append(list(states.values()))
            if len(set(states.values())) > 1:
                whys = {j: w[cid] for j, w in call.juror_why.items() if w.get(cid)}
                juror_dis.append(JurorDisagreement(call.call_id, cid, states, whys))
        if subjects:
            pooled.extend(subjects)
            juror_crit.append(_juror_agreement(cid, labels[cid], subjects))
    juror_overall = _juror_agreement("ensemble", "Tous les critères", pooled) if pooled else None
    per_juror = []
    for j in jurors:
        pairs = []
        for call in calls:
            ticks = call.juror_labels.get(j, {})
            res = by_call[call.call_id]
            for cid in compared:
                r = res.result(cid)
                if cid in ticks and r is not None:
                    pairs.append((ticks[cid], r.suggested))
        per_juror.append(JurorVsSuggestion(j, len(pairs), agreement(pairs), cohen_kappa(pairs)))
    return CalibrationReport(
        rubric={**rubric.describe(), "title": rubric.title},
        calls=tuple(summaries),
        criteria=metrics,
        overall=overall,
        disagreements=tuple(disagreements),
        jurors=jurors,
        juror_criteria=tuple(juror_crit),
        juror_overall=juror_overall,
        juror_disagreements=tuple(juror_dis),
        per_juror=tuple(per_juror),
        suggestions={r.call_id: r.suggestions() for r in results},
        timings={
            "rescoring_s": elapsed,
            "models_s": models_s,
            "calls": float(len(results)),
            "slowest_call_s": max((r.seconds for r in results), default=0.0),
        },
        warnings=tuple(warnings),
        results=tuple(results),
    )


def _juror_agreement(cid: str, label: str, subjects: Sequence[Sequence[str]]) -> JurorAgreement:
    table = rating_table(subjects)
    parts = fleiss_parts(table)
    return JurorAgreement(
        id=cid,
        label=label,
        subjects=len(subjects),
        observed=parts[0] if parts else None,
        fleiss_kappa=fleiss_kappa(table),
    )


# -- comparison
@dataclass(frozen=True)
class SuggestionChange:
    """A call and criterion whose suggestion changes from rubric A to rubric B."""

    call_id: str
    criterion: str
    before: str
    after: str
    juror: str | None
    reason_before: str
    reason_after: str

    @property
    def effect(self) -> str:
        if self.juror is None:
            return "sans coche de référence"
        if self.after == self.juror:
            return "corrigée"
        if self.before == self.juror:
            return "dégradée"
        return "toujours en désaccord"

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "criterion": self.criterion,
            "before": self.before,
            "after": self.after,
            "juror": self.juror,
            "effect": self.effect,
            "reason_before": self.reason_before,
            "reason_after": self.reason_after,
        }


@dataclass(frozen=True)
class CriterionDelta:
    id: str
    label: str
    n_before: int
    n_after: int
    agreement_before: float | None
    agreement_after: float | None
    kappa_before: float | None
    kappa_after: float | None
    changed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "n_before": self.n_before,
            "n_after": self.n_after,
            "agreement_before": _r(self.agreement_before),
            "agreement_after": _r(self.agreement_after),
            "kappa_before": _r(self.kappa_before),
            "kappa_after": _r(self.kappa_after),
            "changed": self.changed,
        }


@dataclass(frozen=True)
class RubricComparison:
    """Two rubrics on the same set: suggestions that change, agreement before and after."""

    before: CalibrationReport
    after: CalibrationReport
    changes: tuple[SuggestionChange, ...]
    criteria: tuple[CriterionDelta, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rubric_a": dict(self.before.rubric),
            "rubric_b": dict(self.after.rubric),
            "criteria": [c.to_dict() for c in self.criteria],
            "overall": {
                "agreement_before": _r(self.before.overall.agreement),
                "agreement_after": _r(self.after.overall.agreement),
                "kappa_before": _r(self.before.overall.kappa),
                "kappa_after": _r(self.after.overall.kappa),
            },
            "changes": [c.to_dict() for c in self.changes],
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
        }

    def to_markdown(self) -> str:
        return _comparison_markdown(self)


def _comparison(
    before: CalibrationReport, after: CalibrationReport, calls: Sequence[CalibrationCall]
) -> RubricComparison:
    refs = {c.call_id: c.reference() for c in calls}
    ids = list(dict.fromkeys([*(m.id for m in before.criteria), *(m.id for m in after.criteria)]))
    labels = {m.id: m.label for m in (*before.criteria, *after.criteria)}
    changes: list[SuggestionChange] = []
    changed: Counter[str] = Counter()
    for call in calls:
        sa = before.suggestions.get(call.call_id, {})
        sb = after.suggestions.get(call.call_id, {})
        for cid in dict.fromkeys([*sa, *sb]):
            a, b = sa.get(cid), sb.get(cid)
            if a == b:
                continue
            changed[cid] += 1
            changes.append(
                SuggestionChange(
                    call_id=call.call_id,
                    criterion=cid,
                    before=a or "—",
                    after=b or "—",
                    juror=refs[call.call_id].get(cid),
                    reason_before=_reason(before, call.call_id, cid),
                    reason_after=_reason(after, call.call_id, cid),
                )
            )
    deltas = []
    for cid in ids:
        ma, mb = before.metrics(cid), after.metrics(cid)
        deltas.append(
            CriterionDelta(
                id=cid,
                label=labels[cid],
                n_before=ma.n if ma else 0,
                n_after=mb.n if mb else 0,
                agreement_before=ma.agreement if ma else None,
                agreement_after=mb.agreement if mb else None,
                kappa_before=ma.kappa if ma else None,
                kappa_after=mb.kappa if mb else None,
                changed=changed.get(cid, 0),
            )
        )
    return RubricComparison(before, after, tuple(changes), tuple(deltas))


def _reason(report: CalibrationReport, call_id: str, cid: str) -> str:
    r = report.result(call_id, cid)
    return r.reason if r is not None else ""


def calibrate(
    rubric: Rubric | str | Path | None,
    calls: Sequence[CalibrationCall],
    *,
    criteria: Sequence[str] | None = None,
) -> CalibrationReport:
    """Re-score ``calls`` under ``rubric`` and measure the suggestions against the jurors.

    ``criteria`` restricts the comparison (default: every criterion of the rubric that is
    not manual and has at least one tick)."""
    return Rescorer(calls).calibrate(rubric, criteria)


def compare_rubrics(
    rubric_a: Rubric | str | Path | None,
    rubric_b: Rubric | str | Path | None,
    calls: Sequence[CalibrationCall],
    *,
    criteria: Sequence[str] | None = None,
) -> RubricComparison:
    """Re-score ``calls`` under two rubrics: which suggestions change (per call and
    criterion, with the juror's tick) and the agreement per criterion before and after."""
    return Rescorer(calls).compare(rubric_a, rubric_b, criteria)


def calibrate_command(
    rubric_path: str | Path | None,
    set_path: str | Path | None,
    compare_path: str | Path | None = None,
    fmt: str = "md",
    *,
    calls: Sequence[CalibrationCall] | None = None,
) -> str:
    """What ``call-eval calibrate --rubric R --set SET [--compare R2] [--format md|json]``
    prints: the calibration report of R (or the comparison R → R2), Markdown or JSON.
    ``calls`` (e.g. the database's validated grids) replaces ``set_path``."""
    if fmt not in FORMATS:
        raise ConfigError(f"Format {fmt!r} inconnu. Valeurs valides : {', '.join(FORMATS)}.")
    if calls is None:
        if set_path is None:
            raise ConfigError(
                "Donnez un jeu de calibration : --set DOSSIER_OU_FICHIER ou --from-db."
            )
        calls = load_calibration_set(set_path)
    rescorer = Rescorer(calls)
    result: CalibrationReport | RubricComparison
    if compare_path is not None:
        result = rescorer.compare(rubric_path, compare_path)
    else:
        result = rescorer.calibrate(rubric_path)
    if fmt == "json":
        return json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
    return result.to_markdown()


# =========================================================================== markdown
def fmt_ratio(x: float | None) -> str:
    """« 87,5 % », or « — »."""
    if x is None:
        return "—"
    text = f"{100 * x:.1f}".replace(".", ",")
    return f"{text.removesuffix(',0')} %"


def fmt_number(x: float | None, nd: int = 2) -> str:
    """« 0,71 », « −0,12 », or « — »."""
    if x is None:
        return "—"
    return f"{x:.{nd}f}".replace(".", ",").replace("-", "−")


def fmt_time(seconds: float) -> str:
    """« 1:05 » (minutes:seconds)."""
    s = max(0, int(round(seconds)))
    return f"{s // 60}:{s % 60:02d}"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def evidence_line(e: Evidence) -> str:
    who = {"agent": "candidat", "callee": "appelé"}.get(e.role or "", e.speaker or "?")
    return f"[{fmt_time(e.start)}–{fmt_time(e.end)}] {who} : « {e.quote} »"


def _confusion_md(m: Mapping[str, Mapping[str, int]]) -> list[str]:
    head = "| juré \\ suggestion | " + " | ".join(STATE_NAMES[s] for s in STATES) + " |"
    lines = [head, "|---|" + "---:|" * len(STATES)]
    for a in STATES:
        row = m.get(a, {})
        lines.append(
            f"| {STATE_NAMES[a]} | " + " | ".join(str(row.get(b, 0)) for b in STATES) + " |"
        )
    return lines


def _rubric_title(rubric: Mapping[str, Any]) -> str:
    return f"« {rubric.get('id')} » version {rubric.get('version')}"


def _report_markdown(r: CalibrationReport) -> str:
    lines = [f"# Calibration de la grille {_rubric_title(r.rubric)}", ""]
    n_calls = len(r.calls)
    lines.append(
        f"{n_calls} appel(s), {len(r.criteria)} critère(s) comparé(s), "
        f"{r.overall.n} coche(s) de juré confrontée(s) aux suggestions."
    )
    if r.jurors:
        lines.append(f"Jurés : {', '.join(r.jurors)}.")
    lines.append(
        f"Re-notation (détecteurs + notation) : {fmt_number(r.timings.get('rescoring_s'), 1)} s"
        f" (chargement des modèles : {fmt_number(r.timings.get('models_s'), 1)} s)."
    )
    if r.timings.get("audio_analysis_s"):
        lines.append(
            "Analyse complète des enregistrements sans transcription : "
            f"{fmt_number(r.timings['audio_analysis_s'], 1)} s."
        )
    for w in r.warnings:
        lines.append(f"> ⚠ {w}")
    o = r.overall
    lines += [
        "",
        "## Accord global (suggestions / juré)",
        "",
        "| Accord | Kappa de Cohen | Précision « acquis » | Rappel « acquis » | F1 |",
        "|---:|---:|---:|---:|---:|",
        f"| {fmt_ratio(o.agreement)} ({o.agree}/{o.n}) | {fmt_number(o.kappa)} | "
        f"{fmt_ratio(o.precision)} | {fmt_ratio(o.recall)} | {fmt_number(o.f1)} |",
        "",
        "Matrice de confusion (lignes : coche du juré, colonnes : suggestion) :",
        "",
        *_confusion_md(o.confusion),
        "",
        "## Accord par critère",
        "",
        "| Critère | n | Accord | Kappa | Précision | Rappel | F1 | Confusion (juré→suggestion) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    short = {"acquis": "A", "non_acquis": "NA", "a_verifier": "AV"}
    for m in r.criteria:
        conf = ", ".join(
            f"{short[a]}→{short[b]} {m.confusion[a][b]}"
            for a in STATES
            for b in STATES
            if m.confusion.get(a, {}).get(b)
        )
        lines.append(
            f"| {m.id} | {m.n} | {fmt_ratio(m.agreement)} | {fmt_number(m.kappa)} | "
            f"{fmt_ratio(m.precision)} | {fmt_ratio(m.recall)} | {fmt_number(m.f1)} | {conf} |"
        )
    lines += [
        "",
        "Kappa « — » : non défini (le juré et l'outil n'ont employé qu'un seul et même état). "
        "A = acquis, NA = non acquis, AV = à vérifier.",
        "",
        "## Par appel",
        "",
        "| Appel | Accord | Acquis suggérés | Acquis du juré | Score suggéré |",
        "|---|---:|---:|---:|---|",
    ]
    for c in r.calls:
        verdict = "réussi" if c.score.passed else "non réussi"
        lines.append(
            f"| {_cell(c.call_id)} | {c.agree}/{c.compared} | {c.suggested_acquis} | "
            f"{c.juror_acquis} | {c.score.acquis}/{c.score.total} ({verdict}) |"
        )
    lines += ["", f"## Désaccords ({len(r.disagreements)})", ""]
    if not r.disagreements:
        lines.append("Aucun : toutes les suggestions concordent avec les coches du juré.")
    for d in r.disagreements:
        lines.append(
            f"### {d.criterion} — {_cell(d.call_id)} : juré « {STATE_NAMES[d.juror_state]} », "
            f"suggestion « {STATE_NAMES[d.suggested]} » — {d.kind}"
        )
        lines.append("")
        lines.append(f"- Raison de l'outil (confiance {fmt_number(d.confidence)}) : {d.reason}")
        if d.evidence:
            lines.append("- Preuves :")
            lines += [f"  - {evidence_line(e)}" for e in d.evidence]
        else:
            lines.append("- Preuves : aucune citation (rien de trouvé dans l'appel).")
        lines.append(f"- Juré : {d.juror_why or '(pas de justification)'}")
        lines.append("")
    if r.juror_criteria:
        lines += [
            "## Accord entre jurés (kappa de Fleiss)",
            "",
            "| Critère | Appels notés par ≥ 2 jurés | Accord observé | Kappa de Fleiss |",
            "|---|---:|---:|---:|",
        ]
        for j in (*r.juror_criteria, *([r.juror_overall] if r.juror_overall else [])):
            name = "Ensemble" if j.id == "ensemble" else j.id
            lines.append(
                f"| {name} | {j.subjects} | {fmt_ratio(j.observed)} | {fmt_number(j.fleiss_kappa)} |"
            )
        lines += ["", "Suggestions comparées à chaque juré :", ""]
        lines += ["| Juré | n | Accord | Kappa de Cohen |", "|---|---:|---:|---:|"]
        for pj in r.per_juror:
            lines.append(
                f"| {_cell(pj.juror)} | {pj.n} | {fmt_ratio(pj.agreement)} | {fmt_number(pj.kappa)} |"
            )
        if r.juror_disagreements:
            lines += ["", "Désaccords entre jurés :", ""]
            for jd in r.juror_disagreements:
                states = ", ".join(f"{k} : {STATE_NAMES[v]}" for k, v in jd.states.items())
                lines.append(f"- {jd.criterion} — {_cell(jd.call_id)} : {states}")
                for k, w in jd.whys.items():
                    lines.append(f"  - {k} : {w}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _comparison_markdown(c: RubricComparison) -> str:
    a, b = c.before, c.after
    lines = [
        f"# Comparaison de grilles : {_rubric_title(a.rubric)} → {_rubric_title(b.rubric)}",
        "",
        f"{len(a.calls)} appel(s). Accord global : {fmt_ratio(a.overall.agreement)} → "
        f"{fmt_ratio(b.overall.agreement)} ; kappa : {fmt_number(a.overall.kappa)} → "
        f"{fmt_number(b.overall.kappa)}. {len(c.changes)} suggestion(s) changent.",
        "",
        "## Accord par critère, avant et après",
        "",
        "| Critère | Accord avant | Accord après | Kappa avant | Kappa après | Suggestions changées |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for d in c.criteria:
        lines.append(
            f"| {d.id} | {fmt_ratio(d.agreement_before)} | {fmt_ratio(d.agreement_after)} | "
            f"{fmt_number(d.kappa_before)} | {fmt_number(d.kappa_after)} | {d.changed} |"
        )
    lines += ["", f"## Suggestions qui changent ({len(c.changes)})", ""]
    if not c.changes:
        lines.append("Aucune : les deux grilles donnent les mêmes suggestions sur ce jeu.")
    else:
        lines += [
            "| Appel | Critère | Avant | Après | Juré | Effet |",
            "|---|---|---|---|---|---|",
        ]
        for ch in c.changes:
            juror = STATE_NAMES.get(ch.juror or "", "—")
            lines.append(
                f"| {_cell(ch.call_id)} | {ch.criterion} | {STATE_NAMES.get(ch.before, ch.before)} | "
                f"{STATE_NAMES.get(ch.after, ch.after)} | {juror} | {ch.effect} |"
            )
        lines.append("")
        for ch in c.changes:
            if ch.reason_before or ch.reason_after:
                lines.append(f"- {ch.criterion} — {_cell(ch.call_id)} :")
                lines.append(f"  - avant : {ch.reason_before or '—'}")
                lines.append(f"  - après : {ch.reason_after or '—'}")
    return "\n".join(lines).rstrip() + "\n"


__all__ = [
    "CalibrationCall",
    "CalibrationError",
    "CalibrationReport",
    "CriterionMetrics",
    "Disagreement",
    "JurorAgreement",
    "RescoredCall",
    "Rescorer",
    "RubricComparison",
    "SuggestionChange",
    "agreement",
    "calibrate",
    "calibrate_command",
    "cohen_kappa",
    "compare_rubrics",
    "confusion_matrix",
    "features_flat_from_dict",
    "findings_from_dicts",
    "fleiss_kappa",
    "load_calibration_file",
    "load_calibration_set",
    "precision_recall_f1",
    "rating_table",
    "rescore",
    "rescore_analysis",
    "utterances_from_dicts",
]
