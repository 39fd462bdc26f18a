"""Feedback that teaches: what a trainee did well, what to work on, and how.

Public entry: :func:`build_feedback` (an analysis in the JSON contract shape →
:class:`Feedback`) and :func:`render_feedback_markdown` (export). Also
:func:`compare_self_assessment` (the trainee's own ticks beside the tool's suggestions) and
:func:`progress_table` (one row per attempt, for charts).

For every criterion not met, the advice says *what was missing*, *where* in the call (the
quote and time of the criterion's evidence, the closest finding, or the start/end of the
call) and gives an example of a better wording. What was missing is found by evaluating
the parts of the criterion's rule in the rubric the analysis used (with the public
:func:`call_eval.scoring.score`, on the stored findings and features); the advice texts are
data, ``rubrics/advice_fr.yaml`` (format in its header), matched to a missing part by the
detector or feature it tests. Phrases to avoid come from ``phrases_to_avoid.v1`` findings
(label = category, ``data.effect`` = why).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import settings
from .calibration import (
    criteria_from_dicts,
    features_flat_from_dict,
    findings_from_dicts,
    fmt_number,
    fmt_time,
    normalize_state,
)
from .errors import ConfigError, RubricError
from .types import STATES, CriterionResult, Evidence

if TYPE_CHECKING:  # pragma: no cover
    from .rubric import Condition, Criterion, Rubric

log = logging.getLogger(__name__)

ADVICE_FILE = "advice_fr.yaml"
AT_VALUES = ("start", "end")
MOMENT_VALUES = ("fastest", "slowest", "quietest")
DIRECTIONS = ("high", "low")
PHRASES_DETECTOR = "phrases_to_avoid.v1"
_CRITERION_KEYS = {
    "title",
    "praise",
    "missing",
    "advice",
    "example",
    "at",
    "a_verifier",
    "elements",
}
_ELEMENT_KEYS = {"when", "missing", "advice", "example", "at", "moment"}
_WHEN_KEYS = {"detector", "label", "where", "negated", "feature", "direction"}
_TOP_KEYS = {"version", "language", "rubric", "criteria", "phrases"}


# =========================================================================== advice data
@dataclass(frozen=True)
class AdviceElement:
    """Advice for one part of a criterion's rule (``when`` says which part)."""

    when: Mapping[str, Any]
    missing: str = ""
    advice: str = ""
    example: str = ""
    at: str | None = None
    moment: str | None = None


@dataclass(frozen=True)
class CriterionAdvice:
    id: str
    title: str = ""
    praise: str = ""
    missing: str = ""
    advice: str = ""
    example: str = ""
    at: str | None = None
    a_verifier: str = ""
    elements: tuple[AdviceElement, ...] = ()


@dataclass(frozen=True)
class AdviceBook:
    """The advice texts (``rubrics/advice_fr.yaml``), validated."""

    version: int
    language: str
    rubric_id: str | None
    criteria: Mapping[str, CriterionAdvice]
    categories: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    phrases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    path: str | None = None

    def criterion(self, criterion_id: str) -> CriterionAdvice:
        return self.criteria.get(criterion_id) or CriterionAdvice(criterion_id)


def _text(
    node: Mapping[str, Any], key: str, where: str, problems: list[str], default: str = ""
) -> str:
    value = node.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        problems.append(f"{where}.{key} : doit être un texte (français).")
        return default
    return value.strip()


def _choice(
    node: Mapping[str, Any], key: str, valid: Sequence[str], where: str, problems: list[str]
) -> str | None:
    value = node.get(key)
    if value is None:
        return None
    if value not in valid:
        problems.append(
            f"{where}.{key} : valeur {value!r} invalide. Valeurs valides : {', '.join(valid)}."
        )
        return None
    return str(value)


def _unknown(node: Mapping[str, Any], valid: set[str], where: str, problems: list[str]) -> None:
    for key in node:
        if key not in valid:
            problems.append(
                f"{where} : clé inconnue « {key} ». Clés valides : {', '.join(sorted(valid))}."
            )


def _when(node: Any, where: str, problems: list[str], detectors: set[str] | None) -> dict[str, Any]:
    if not isinstance(node, Mapping):
        problems.append(f"{where} : attendu {{detector: ...}} ou {{feature: ..., direction: ...}}.")
        return {}
    _unknown(node, _WHEN_KEYS, where, problems)
    has_det, has_feat = "detector" in node, "feature" in node
    if has_det == has_feat:
        problems.append(f"{where} : exactement une des clés « detector » ou « feature ».")
        return {}
    out = dict(node)
    if has_det:
        if detectors is not None and node["detector"] not in detectors:
            problems.append(
                f"{where}.detector : détecteur inconnu {node['detector']!r}. Détecteurs "
                f"valides : {', '.join(sorted(detectors))}."
            )
        for key in ("label", "where"):
            if key in node and not isinstance(node[key], str):
                problems.append(f"{where}.{key} : doit être un texte.")
        if "negated" in node and not isinstance(node["negated"], bool):
            problems.append(f"{where}.negated : doit valoir true ou false.")
        if "direction" in node:
            problems.append(f"{where}.direction : réservé aux mesures (feature).")
    else:
        feat = node["feature"]
        if not isinstance(feat, str) or feat.split(".", 1)[0] not in ("agent", "callee", "call"):
            problems.append(
                f"{where}.feature : nom de mesure {feat!r} invalide (agent.…, callee.… ou call.…)."
            )
        if node.get("direction") not in DIRECTIONS:
            problems.append(
                f"{where}.direction : valeur {node.get('direction')!r} invalide. Valeurs "
                f"valides : {', '.join(DIRECTIONS)}."
            )
    return out


def parse_advice(
    data: Any, source: str = "<conseils>", detectors: set[str] | None = None
) -> tuple[AdviceBook | None, list[str]]:
    """Validate advice data; returns the book (None if invalid) and every problem (French).

    ``detectors``: valid detector names (None: not checked)."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        return None, [f"{source} : le fichier de conseils doit être un dictionnaire YAML."]
    _unknown(data, _TOP_KEYS, source, problems)
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(f"{source} : version : entier ≥ 1 attendu.")
        version = 1
    crits = data.get("criteria")
    if not isinstance(crits, Mapping) or not crits:
        problems.append(f"{source} : « criteria » doit lister les critères (C01: {{...}}).")
        crits = {}
    criteria: dict[str, CriterionAdvice] = {}
    for cid, node in crits.items():
        where = f"{source} : criteria.{cid}"
        if not isinstance(node, Mapping):
            problems.append(f"{where} : attendu un dictionnaire (title, advice, example…).")
            continue
        _unknown(node, _CRITERION_KEYS, where, problems)
        elements: list[AdviceElement] = []
        raw_elements = node.get("elements") or []
        if not isinstance(raw_elements, list):
            problems.append(f"{where}.elements : doit être une liste.")
            raw_elements = []
        for i, el in enumerate(raw_elements, 1):
            at = f"{where}.elements[{i}]"
            if not isinstance(el, Mapping):
                problems.append(f"{at} : attendu un dictionnaire (when, missing, advice…).")
                continue
            _unknown(el, _ELEMENT_KEYS, at, problems)
            elements.append(
                AdviceElement(
                    when=_when(el.get("when"), f"{at}.when", problems, detectors),
                    missing=_text(el, "missing", at, problems),
                    advice=_text(el, "advice", at, problems),
                    example=_text(el, "example", at, problems),
                    at=_choice(el, "at", AT_VALUES, at, problems),
                    moment=_choice(el, "moment", MOMENT_VALUES, at, problems),
                )
            )
            if not elements[-1].advice:
                problems.append(f"{at}.advice : conseil manquant.")
        advice = _text(node, "advice", where, problems)
        if not advice:
            problems.append(f"{where}.advice : conseil manquant.")
        criteria[str(cid)] = CriterionAdvice(
            id=str(cid),
            title=_text(node, "title", where, problems, str(cid)),
            praise=_text(node, "praise", where, problems),
            missing=_text(node, "missing", where, problems),
            advice=advice,
            example=_text(node, "example", where, problems),
            at=_choice(node, "at", AT_VALUES, where, problems),
            a_verifier=_text(node, "a_verifier", where, problems),
            elements=tuple(elements),
        )
    categories: dict[str, dict[str, str]] = {}
    phrases: dict[str, dict[str, str]] = {}
    ph = data.get("phrases") or {}
    if not isinstance(ph, Mapping):
        problems.append(f"{source} : « phrases » doit être un dictionnaire (categories, phrases).")
        ph = {}
    _unknown(ph, {"categories", "phrases"}, f"{source} : phrases", problems)
    for block, out, keys in (
        ("categories", categories, {"title", "why", "better"}),
        ("phrases", phrases, {"why", "better"}),
    ):
        items = ph.get(block) or {}
        if not isinstance(items, Mapping):
            problems.append(f"{source} : phrases.{block} : doit être un dictionnaire.")
            continue
        for name, node in items.items():
            where = f"{source} : phrases.{block}.{name}"
            if not isinstance(node, Mapping):
                problems.append(f"{where} : attendu un dictionnaire ({', '.join(sorted(keys))}).")
                continue
            _unknown(node, keys, where, problems)
            out[str(name)] = {k: _text(node, k, where, problems) for k in keys if k in node}
    if problems:
        return None, problems
    return (
        AdviceBook(
            version=version,
            language=str(data.get("language", "fr")),
            rubric_id=str(data["rubric"]) if data.get("rubric") else None,
            criteria=criteria,
            categories=categories,
            phrases=phrases,
        ),
        [],
    )


def _read_advice(path: Path) -> Any:
    if not path.is_file():
        raise RubricError(
            f"{path} : fichier de conseils introuvable (attendu {settings.rubrics_dir() / ADVICE_FILE})."
        )
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RubricError(f"{path} : YAML invalide ({exc}).") from exc
    except UnicodeDecodeError as exc:
        raise RubricError(f"{path} : le fichier doit être en UTF-8.") from exc


def _known_detectors() -> set[str]:
    from .detectors import registry

    return set(registry())


def check_advice(path: str | Path) -> list[str]:
    """Every problem of an advice file, one French line each (empty list: valid)."""
    p = Path(path)
    try:
        data = _read_advice(p)
    except RubricError as exc:
        return [str(exc)]
    _, problems = parse_advice(data, str(p), _known_detectors())
    return problems


def check_advice_text(text: str, source: str = "<conseils>") -> list[str]:
    """Every problem of advice YAML text (e.g. edited in the app), one French line each."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", ligne {mark.line + 1}" if mark is not None else ""
        return [f"{source}{line} : YAML invalide ({exc})."]
    _, problems = parse_advice(data, source, _known_detectors())
    return problems


def load_advice(path: str | Path | None = None) -> AdviceBook:
    """Load and validate the advice texts (default ``rubrics/advice_fr.yaml``); raises
    :class:`~call_eval.errors.RubricError` naming the file and field."""
    p = Path(path) if path is not None else settings.rubrics_dir() / ADVICE_FILE
    book, problems = parse_advice(_read_advice(p), str(p))
    if book is None:
        more = f" (+{len(problems) - 1} autre(s) problème(s))" if len(problems) > 1 else ""
        raise RubricError(problems[0] + more)
    return replace(book, path=str(p))


# =========================================================================== feedback types
@dataclass(frozen=True)
class Moment:
    """Where in the call a piece of advice applies. ``kind``: ``preuve`` (what went wrong),
    ``constat proche`` (the closest thing found), ``mesure`` (a voice measure), ``repère``
    (start or end of the call)."""

    start: float
    end: float
    quote: str
    role: str | None
    kind: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 2),
            "end": round(self.end, 2),
            "quote": self.quote,
            "role": self.role,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class AdvicePoint:
    """One thing to improve in a criterion: what was missing, where, how to do better."""

    missing: str
    advice: str
    example: str
    moment: Moment | None
    detail: str = ""  # the tool's own words on this part (e.g. a measure)

    def to_dict(self) -> dict[str, Any]:
        return {
            "missing": self.missing,
            "advice": self.advice,
            "example": self.example,
            "moment": self.moment.to_dict() if self.moment else None,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Improvement:
    """A criterion not met (``non_acquis``), with its advice points."""

    criterion: str
    title: str
    label: str
    reason: str
    points: tuple[AdvicePoint, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "title": self.title,
            "label": self.label,
            "reason": self.reason,
            "points": [p.to_dict() for p in self.points],
        }


@dataclass(frozen=True)
class Strength:
    """A criterion met, with its evidence."""

    criterion: str
    title: str
    label: str
    praise: str
    reason: str
    evidence: tuple[Evidence, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "title": self.title,
            "label": self.label,
            "praise": self.praise,
            "reason": self.reason,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class ToCheck:
    """A criterion the tool cannot decide (``a_verifier``) or the jury judges (interview)."""

    criterion: str
    title: str
    label: str
    reason: str
    advice: str
    example: str
    manual: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "title": self.title,
            "label": self.label,
            "reason": self.reason,
            "advice": self.advice,
            "example": self.example,
            "manual": self.manual,
        }


@dataclass(frozen=True)
class PhraseUsed:
    """A phrase (or attitude) to avoid that the trainee used."""

    category: str
    title: str
    phrase: str
    count: int
    why: str
    tip: str
    better: str
    evidence: tuple[Evidence, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "title": self.title,
            "phrase": self.phrase,
            "count": self.count,
            "why": self.why,
            "tip": self.tip,
            "better": self.better,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class Measure:
    """A voice measure of the trainee beside the rubric's band."""

    feature: str
    name: str
    value: float
    unit: str
    low: float | None
    high: float | None

    @property
    def ok(self) -> bool:
        return (self.low is None or self.value >= self.low) and (
            self.high is None or self.value <= self.high
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "low": self.low,
            "high": self.high,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class Feedback:
    """The trainee's feedback on one call."""

    call_id: str
    source: str
    analyzed_at: str | None
    score: Mapping[str, Any]
    improvements: tuple[Improvement, ...]
    strengths: tuple[Strength, ...]
    to_check: tuple[ToCheck, ...]
    phrases: tuple[PhraseUsed, ...]
    measures: tuple[Measure, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "source": self.source,
            "analyzed_at": self.analyzed_at,
            "score": dict(self.score),
            "improvements": [i.to_dict() for i in self.improvements],
            "strengths": [s.to_dict() for s in self.strengths],
            "to_check": [t.to_dict() for t in self.to_check],
            "phrases": [p.to_dict() for p in self.phrases],
            "measures": [m.to_dict() for m in self.measures],
            "notes": list(self.notes),
        }


# =========================================================================== rubric parts
def _rubric_for(analysis: Mapping[str, Any], rubric: Rubric | str | Path | None) -> Rubric | None:
    """The rubric the analysis was scored with (its recorded path, else the default one
    when the ids match), or the one given. None when it cannot be found."""
    from .rubric import Rubric, load_rubric

    if isinstance(rubric, Rubric):
        return rubric
    if rubric is not None:
        return load_rubric(rubric)
    info = analysis.get("rubric") or {}
    candidates: list[Path | None] = []
    if info.get("path"):
        p = Path(str(info["path"]))
        candidates += [p, settings.home() / p] if not p.is_absolute() else [p]
    candidates.append(None)  # the default rubric
    for cand in candidates:
        if cand is not None and not cand.is_file():
            continue
        try:
            rub = load_rubric(cand)
        except RubricError as exc:
            log.warning("feedback: rubric %s unusable: %s", cand, exc)
            continue
        if info.get("id") and rub.id != info.get("id"):
            continue
        return rub
    log.warning("feedback: rubric %s not found, general advice only", info.get("id"))
    return None


@dataclass(frozen=True)
class _Inputs:
    rubric: Rubric
    findings: tuple[Any, ...]
    features: Mapping[str, float]
    has_crm_note: bool
    has_script: bool


def _evaluate(cond: Condition, crit: Criterion, inp: _Inputs) -> CriterionResult:
    """One part of a rule, scored alone (public scoring on a one-criterion rubric)."""
    from .scoring import score

    part = replace(
        crit,
        rule=cond,
        a_verifier_when=None,
        manual=False,
        uncertain_margin=0.0,
        supporting=None,
    )
    results, _ = score(
        inp.findings,
        inp.features,
        replace(inp.rubric, criteria=(part,)),
        has_crm_note=inp.has_crm_note,
        has_script=inp.has_script,
    )
    return results[0]


def _excluded_by_context(cond: Condition, crit: Criterion, inp: _Inputs) -> bool:
    """An ``all`` branch whose context test fails (e.g. « no script » when one was given)."""
    from .rubric import AllOf, ContextCondition, Not

    if not isinstance(cond, AllOf):
        return False
    for item in cond.items:
        inner = item.item if isinstance(item, Not) else item
        if isinstance(inner, ContextCondition) and _evaluate(item, crit, inp).suggested != "acquis":
            return True
    return False


def missing_parts(
    crit: Criterion, inp: _Inputs, cond: Condition | None = None
) -> list[tuple[Condition, CriterionResult]]:
    """The most specific parts of ``crit``'s rule that are not satisfied, each with its own
    result (reason, closest evidence). Unknown parts (not measured) are left out."""
    from .rubric import AllOf, AnyOf

    cond = cond if cond is not None else crit.rule
    if cond is None:
        return []
    res = _evaluate(cond, crit, inp)
    if res.suggested != "non_acquis":
        return []
    if isinstance(cond, AllOf):
        inner = [x for c in cond.items for x in missing_parts(crit, inp, c)]
        return inner or [(cond, res)]
    if isinstance(cond, AnyOf):
        open_ = [c for c in cond.items if not _excluded_by_context(c, crit, inp)]
        if len(open_) == 1:
            inner = missing_parts(crit, inp, open_[0])
            return inner or [(cond, res)]
    return [(cond, res)]


def _leaves(cond: Condition, negated: bool = False) -> Iterator[tuple[Any, bool]]:
    from .rubric import AllOf, AnyOf, Not

    if isinstance(cond, AllOf | AnyOf):
        for c in cond.items:
            yield from _leaves(c, negated)
    elif isinstance(cond, Not):
        yield from _leaves(cond.item, not negated)
    else:
        yield cond, negated


def _direction(leaf: Any, features: Mapping[str, float]) -> str | None:
    value = features.get(leaf.feature)
    if value is None or not math.isfinite(value):
        return None
    if leaf.high is not None and value > leaf.high:
        return "high"
    if leaf.low is not None and value < leaf.low:
        return "low"
    return None


def _element_matches(
    when: Mapping[str, Any], cond: Condition, features: Mapping[str, float]
) -> bool:
    from .rubric import DetectorCondition, FeatureCondition

    for leaf, negated in _leaves(cond):
        if "detector" in when and isinstance(leaf, DetectorCondition):
            if leaf.detector != when["detector"]:
                continue
            if "label" in when and when["label"] not in leaf.labels:
                continue
            if "where" in when and not any(".".join(p.path) == when["where"] for p in leaf.where):
                continue
            if "negated" in when and bool(when["negated"]) != negated:
                continue
            return True
        if (
            "feature" in when
            and isinstance(leaf, FeatureCondition)
            and leaf.feature == when["feature"]
            and _direction(leaf, features) == when.get("direction")
        ):
            return True
    return False


# =========================================================================== moments
def _utterances(analysis: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [u for u in analysis.get("utterances") or [] if isinstance(u, Mapping)]


def _anchor(analysis: Mapping[str, Any], at: str | None) -> Moment | None:
    agent = [u for u in _utterances(analysis) if u.get("role") == "agent"]
    if not agent or at not in AT_VALUES:
        return None
    u = agent[0] if at == "start" else agent[-1]
    return Moment(
        float(u.get("start") or 0.0),
        float(u.get("end") or 0.0),
        str(u.get("text", "")),
        "agent",
        "repère",
    )


def _measure_moment(analysis: Mapping[str, Any], how: str | None) -> Moment | None:
    """The agent's fastest / slowest / quietest turn, from the features' series."""
    if how not in MOMENT_VALUES:
        return None
    series = (analysis.get("features") or {}).get("series") or {}
    utts = _utterances(analysis)
    pick: Mapping[str, Any] | None = None
    value = ""
    if how in ("fastest", "slowest"):
        rows = [
            r
            for r in ((series.get("rate") or {}).get("agent") or {}).get("per_utterance") or []
            if isinstance(r.get("wpm"), int | float)
        ]
        if rows:
            pick = (max if how == "fastest" else min)(rows, key=lambda r: r["wpm"])
            value = f"{fmt_number(pick['wpm'], 0)} mots/min"
    else:
        rows = [
            r
            for r in (series.get("level") or {}).get("agent") or []
            if isinstance(r.get("dbfs"), int | float)
        ]
        if rows:
            pick = min(rows, key=lambda r: r["dbfs"])
            value = f"{fmt_number(pick['dbfs'], 1)} dBFS"
    if pick is None:
        return None
    start, end = float(pick.get("start") or 0.0), float(pick.get("end") or 0.0)
    idx = pick.get("utterance")
    text = ""
    if isinstance(idx, int) and 0 <= idx < len(utts):
        text = str(utts[idx].get("text", ""))
    else:
        best = max(
            (u for u in utts if u.get("role") == "agent"),
            key=lambda u: (
                min(end, float(u.get("end") or 0)) - max(start, float(u.get("start") or 0))
            ),
            default=None,
        )
        text = str(best.get("text", "")) if best else ""
    quote = f"{text} ({value})" if text else value
    return Moment(start, end, quote, "agent", "mesure")


def _evidence_moment(evidence: Sequence[Evidence], kind: str) -> Moment | None:
    if not evidence:
        return None
    e = evidence[0]
    return Moment(e.start, e.end, e.quote, e.role, kind)


# =========================================================================== building
def _improvement(
    result: CriterionResult,
    advice: CriterionAdvice,
    rubric: Rubric | None,
    inp: _Inputs | None,
    analysis: Mapping[str, Any],
) -> Improvement:
    points: list[AdvicePoint] = []
    crit = None
    if rubric is not None and inp is not None:
        try:
            crit = rubric.criterion(result.id)
        except KeyError:
            crit = None
    if crit is not None and inp is not None and crit.rule is not None:
        used: set[int] = set()
        for cond, part in missing_parts(crit, inp):
            element = next(
                (
                    (i, el)
                    for i, el in enumerate(advice.elements)
                    if _element_matches(el.when, cond, inp.features)
                ),
                None,
            )
            if element is None:
                continue
            i, el = element
            if i in used:
                continue
            used.add(i)
            moment = (
                _measure_moment(analysis, el.moment)
                or _evidence_moment(part.evidence, "preuve")
                or _evidence_moment(result.evidence, "constat proche")
                or _anchor(analysis, el.at or advice.at)
            )
            detail = part.reason if el.when.get("feature") else ""
            points.append(
                AdvicePoint(
                    missing=el.missing or advice.missing,
                    advice=el.advice or advice.advice,
                    example=el.example or advice.example,
                    moment=moment,
                    detail=detail,
                )
            )
    if not points:
        points.append(
            AdvicePoint(
                missing=advice.missing or result.reason,
                advice=advice.advice or result.reason,
                example=advice.example,
                moment=_evidence_moment(result.evidence, "constat proche")
                or _anchor(analysis, advice.at),
            )
        )
    return Improvement(
        criterion=result.id,
        title=advice.title or result.id,
        label=result.label,
        reason=result.reason,
        points=tuple(points),
    )


def _phrases(
    findings: Iterable[Any], book: AdviceBook, label_names: Mapping[str, str]
) -> tuple[PhraseUsed, ...]:
    out = []
    for f in findings:
        if f.detector != PHRASES_DETECTOR or f.role not in (None, "agent"):
            continue
        data = f.data or {}
        category = str(data.get("category") or f.label or "autre")
        phrase = str(data.get("phrase") or category)
        effect = str(data.get("effect") or "").strip()
        why, _, tip = effect.partition(" ; ")
        cat = book.categories.get(category, {})
        specific = book.phrases.get(phrase, {})
        title = cat.get("title") or label_names.get(category) or category
        count = data.get("count")
        out.append(
            PhraseUsed(
                category=category,
                title=title,
                phrase=phrase,
                count=int(count) if isinstance(count, int | float) else max(1, len(f.evidence)),
                why=specific.get("why") or cat.get("why") or why.strip().rstrip("."),
                tip=tip.strip().rstrip("."),
                better=specific.get("better") or cat.get("better") or "",
                evidence=tuple(f.evidence),
            )
        )
    first = {p.phrase: min((e.start for e in p.evidence), default=math.inf) for p in out}
    return tuple(sorted(out, key=lambda p: (first[p.phrase], p.phrase)))


def _measures(rubric: Rubric | None, features: Mapping[str, float]) -> tuple[Measure, ...]:
    """Every agent feature a rubric rule reads, with its band (for the voice section)."""
    from .rubric import FeatureCondition

    if rubric is None:
        return ()
    out: dict[str, Measure] = {}
    for crit in rubric.criteria:
        if crit.rule is None:
            continue
        for leaf, _ in _leaves(crit.rule):
            if not isinstance(leaf, FeatureCondition) or leaf.feature in out:
                continue
            if not leaf.feature.startswith("agent.") or leaf.feature not in features:
                continue
            out[leaf.feature] = Measure(
                feature=leaf.feature,
                name=leaf.name or leaf.feature,
                value=float(features[leaf.feature]),
                unit=leaf.unit,
                low=leaf.low,
                high=leaf.high,
            )
    return tuple(out.values())


def build_feedback(
    analysis: Mapping[str, Any],
    *,
    advice: AdviceBook | str | Path | None = None,
    rubric: Rubric | str | Path | None = None,
) -> Feedback:
    """Feedback for a trainee from an analysis (the JSON contract, with its ``findings``).

    ``advice``: the advice texts (default ``rubrics/advice_fr.yaml``); ``rubric``: the
    rubric to find what was missing (default: the one the analysis records)."""
    if not isinstance(analysis, Mapping) or not isinstance(analysis.get("criteria"), list):
        raise ConfigError(
            "Analyse invalide pour le retour pédagogique : attendu le JSON d'une analyse "
            "(call_eval.pipeline, avec « criteria »)."
        )
    book = advice if isinstance(advice, AdviceBook) else load_advice(advice)
    results = criteria_from_dicts(analysis["criteria"])
    notes: list[str] = []
    has_findings = isinstance(analysis.get("findings"), list)
    findings = findings_from_dicts(analysis.get("findings") or [])
    if not has_findings:
        notes.append(
            "Analyse sans constats détaillés : conseils généraux seulement (réanalysez l'appel "
            "pour des conseils précis)."
        )
    features = features_flat_from_dict(analysis.get("features"))
    rub = _rubric_for(analysis, rubric)
    if rub is None:
        notes.append("Grille de l'analyse introuvable : conseils généraux seulement.")
    rubric_id = rub.id if rub is not None else (analysis.get("rubric") or {}).get("id")
    if book.rubric_id and rubric_id and book.rubric_id != rubric_id:
        notes.append(
            f"Conseils rédigés pour la grille « {book.rubric_id} », analyse notée avec "
            f"« {rubric_id} » : certains conseils peuvent ne pas correspondre."
        )
    options = analysis.get("options") or {}
    inp = (
        _Inputs(
            rub,
            findings,
            features,
            has_crm_note=bool(options.get("crm_note")),
            has_script=bool(options.get("script_questions")),
        )
        if rub is not None and has_findings
        else None
    )
    improvements, strengths, to_check = [], [], []
    for r in results:
        a = book.criterion(r.id)
        if r.manual:
            to_check.append(
                ToCheck(r.id, a.title or r.id, r.label, r.reason, a.advice, a.example, True)
            )
        elif r.suggested == "acquis":
            strengths.append(
                Strength(r.id, a.title or r.id, r.label, a.praise, r.reason, r.evidence[:2])
            )
        elif r.suggested == "non_acquis":
            improvements.append(_improvement(r, a, rub, inp, analysis))
        else:
            to_check.append(
                ToCheck(
                    r.id,
                    a.title or r.id,
                    r.label,
                    r.reason,
                    a.a_verifier or a.advice,
                    "" if a.a_verifier else a.example,
                    False,
                )
            )
    call = analysis.get("call") or {}
    return Feedback(
        call_id=str(call.get("id", "")),
        source=str(call.get("source", "")),
        analyzed_at=call.get("analyzed_at"),
        score=dict(analysis.get("score") or {}),
        improvements=tuple(improvements),
        strengths=tuple(strengths),
        to_check=tuple(to_check),
        phrases=_phrases(findings, book, rub.label_names if rub else {}),
        measures=_measures(rub, features),
        notes=tuple(notes),
    )


# =========================================================================== markdown
def _moment_line(m: Moment) -> str:
    who = {"agent": "vous", "callee": "l'appelé"}.get(m.role or "", "")
    where = {
        "preuve": "Le moment",
        "constat proche": "Le moment le plus proche",
        "mesure": "Mesuré",
        "repère": "À cet endroit",
    }.get(m.kind, "Le moment")
    who_txt = f", {who}" if who else ""
    return f"{where} ({fmt_time(m.start)}{who_txt}) : « {m.quote} »"


def _unit(m: Measure) -> str:
    return f" {m.unit}" if m.unit else ""


def render_feedback_markdown(feedback: Feedback, analysis: Mapping[str, Any] | None = None) -> str:
    """The feedback as a Markdown report (French) for export."""
    analysis = analysis or {}
    s = feedback.score
    lines = ["# Retour sur votre appel d'entraînement", ""]
    src = feedback.source or feedback.call_id
    when = ""
    if feedback.analyzed_at:
        try:
            when = datetime.fromisoformat(str(feedback.analyzed_at)).strftime(" du %d/%m/%Y")
        except ValueError:
            when = ""
    lines.append(f"Appel : {src}{when}.")
    if s:
        verdict = "seuil atteint" if s.get("passed") else "seuil non atteint"
        lines.append(
            f"Critères acquis d'après l'outil : **{s.get('acquis')}/{s.get('total')}** "
            f"(il en faut {s.get('needed')} : {verdict})."
        )
        if s.get("missing"):
            lines.append(f"Il vous manque {s['missing']} critère(s) pour atteindre le seuil.")
    lines.append("Ces suggestions aident à progresser ; seul le jury décide le jour de l'examen.")
    for note in feedback.notes:
        lines.append(f"> {note}")
    lines += ["", f"## Vos points forts ({len(feedback.strengths)})", ""]
    if not feedback.strengths:
        lines.append("Aucun critère acquis pour l'instant : commencez par les conseils ci-dessous.")
    for st in feedback.strengths:
        lines.append(f"- **{st.criterion} — {st.title}** : {st.praise or st.reason}")
        for e in st.evidence:
            lines.append(f"  - {fmt_time(e.start)} : « {e.quote} »")
    lines += ["", f"## À travailler ({len(feedback.improvements)})", ""]
    if not feedback.improvements:
        lines.append("Aucun critère non acquis : bravo !")
    for imp in feedback.improvements:
        lines.append(f"### {imp.criterion} — {imp.title}")
        lines.append("")
        lines.append(f"*{imp.label}*")
        lines.append("")
        for p in imp.points:
            lines.append(f"- **Ce qui manquait** : {p.missing}.")
            if p.moment:
                lines.append(f"  - {_moment_line(p.moment)}")
            if p.detail:
                lines.append(f"  - Mesure : {p.detail}")
            lines.append(f"  - **Conseil** : {p.advice}")
            if p.example:
                lines.append(f"  - **Par exemple** : {p.example}")
        lines.append("")
    lines += [f"## Formulations à éviter ({len(feedback.phrases)})", ""]
    if not feedback.phrases:
        lines.append("Aucune formulation à proscrire relevée : continuez ainsi.")
    for ph in feedback.phrases:
        times = f" ({ph.count} fois)" if ph.count > 1 else ""
        lines.append(f"- **{ph.title}** — « {ph.phrase} »{times}")
        for e in ph.evidence:
            lines.append(f"  - {fmt_time(e.start)} : « {e.quote} »")
        if ph.why:
            lines.append(f"  - Pourquoi l'éviter : {ph.why}.")
        if ph.better:
            lines.append(f"  - Dites plutôt : {ph.better}")
        elif ph.tip:
            lines.append(f"  - Conseil : {ph.tip}.")
    if feedback.measures:
        lines += [
            "",
            "## Votre voix",
            "",
            "| Mesure | Votre valeur | Repère | |",
            "|---|---:|---|---|",
        ]
        for m in feedback.measures:
            if m.low is not None and m.high is not None:
                band = f"{fmt_number(m.low, 0)}–{fmt_number(m.high, 0)}{_unit(m)}"
            elif m.low is not None:
                band = f"≥ {fmt_number(m.low, 1)}{_unit(m)}"
            else:
                band = f"≤ {fmt_number(m.high, 1)}{_unit(m)}"
            lines.append(
                f"| {m.name} | {fmt_number(m.value, 1)}{_unit(m)} | {band} | "
                f"{'✓' if m.ok else '✗'} |"
            )
    if feedback.to_check:
        lines += ["", "## À vérifier et à préparer pour l'entretien", ""]
        for t in feedback.to_check:
            lines.append(f"- **{t.criterion} — {t.title}** : {t.advice or t.reason}")
            if t.example:
                lines.append(f"  - Par exemple : {t.example}")
    return "\n".join(lines).rstrip() + "\n"


# =========================================================================== self-assessment
@dataclass(frozen=True)
class SelfAssessmentRow:
    """The trainee's tick beside the tool's suggestion for one criterion. ``agree`` is None
    when either side is missing or undecided (``a_verifier``)."""

    criterion: str
    label: str
    title: str
    self_tick: str | None
    suggested: str
    agree: bool | None
    confidence: float
    reason: str
    evidence: tuple[Evidence, ...]

    @property
    def gap(self) -> str:
        """« surestimé » (you ticked acquis, the tool did not), « sous-estimé », or ""."""
        if self.agree is not False:
            return ""
        return "surestimé" if self.self_tick == "acquis" else "sous-estimé"

    def to_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "label": self.label,
            "title": self.title,
            "self_tick": self.self_tick,
            "suggested": self.suggested,
            "agree": self.agree,
            "gap": self.gap,
            "confidence": round(self.confidence, 3),
            "reason": self.reason,
            "evidence": [e.to_dict() for e in self.evidence],
        }


def compare_self_assessment(
    self_ticks: Mapping[str, str | None],
    analysis: Mapping[str, Any],
    *,
    advice: AdviceBook | str | Path | None = None,
) -> list[SelfAssessmentRow]:
    """One row per criterion of the analysis: the trainee's tick (``acquis``,
    ``non_acquis``, ``a_verifier`` or None), the tool's suggestion, whether they agree, and
    the evidence. Raises ConfigError for an invalid tick or an unknown criterion."""
    book = advice if isinstance(advice, AdviceBook) else load_advice(advice)
    results = criteria_from_dicts(analysis.get("criteria") or [])
    ids = {r.id for r in results}
    unknown = [c for c in self_ticks if c not in ids]
    if unknown:
        raise ConfigError(
            f"Critère(s) inconnu(s) dans l'auto-évaluation : {', '.join(unknown)}. Critères : "
            f"{', '.join(r.id for r in results)}."
        )
    rows = []
    for r in results:
        raw = self_ticks.get(r.id)
        tick = None
        if raw is not None and raw != "":
            tick = normalize_state(raw)
            if tick is None:
                raise ConfigError(
                    f"Auto-évaluation de {r.id} : {raw!r} invalide. Valeurs valides : "
                    f"{', '.join(STATES)}."
                )
        decided = tick in ("acquis", "non_acquis") and r.suggested in ("acquis", "non_acquis")
        rows.append(
            SelfAssessmentRow(
                criterion=r.id,
                label=r.label,
                title=book.criterion(r.id).title or r.id,
                self_tick=tick,
                suggested=r.suggested,
                agree=(tick == r.suggested) if decided else None,
                confidence=r.confidence,
                reason=r.reason,
                evidence=r.evidence,
            )
        )
    return rows


def self_assessment_summary(rows: Sequence[SelfAssessmentRow]) -> dict[str, int]:
    """Counts for the page: ticked, compared, agree, over- and under-estimated."""
    return {
        "ticked": sum(r.self_tick is not None for r in rows),
        "compared": sum(r.agree is not None for r in rows),
        "agree": sum(r.agree is True for r in rows),
        "surestimé": sum(r.gap == "surestimé" for r in rows),
        "sous-estimé": sum(r.gap == "sous-estimé" for r in rows),
    }


# =========================================================================== progress
@dataclass(frozen=True)
class ProgressRow:
    """One attempt, for the progress charts."""

    attempt: int
    date: str | None
    call_id: str
    source: str
    acquis: int | None
    total: int | None
    needed: int | None
    passed: bool | None
    criteria_met: tuple[str, ...]
    agent_wpm: float | None
    agent_articulation_sps: float | None
    agent_level_vs_callee_db: float | None
    agent_fillers_per_min: float | None
    phrases_to_avoid: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "date": self.date,
            "call_id": self.call_id,
            "source": self.source,
            "acquis": self.acquis,
            "total": self.total,
            "needed": self.needed,
            "passed": self.passed,
            "criteria_met": list(self.criteria_met),
            "agent_wpm": self.agent_wpm,
            "agent_articulation_sps": self.agent_articulation_sps,
            "agent_level_vs_callee_db": self.agent_level_vs_callee_db,
            "agent_fillers_per_min": self.agent_fillers_per_min,
            "phrases_to_avoid": self.phrases_to_avoid,
        }


def _date_key(value: str | None) -> tuple[int, str]:
    if not value:
        return (1, "")
    try:
        return (0, datetime.fromisoformat(str(value)).isoformat())
    except ValueError:
        return (0, str(value))


def progress_table(
    analyses: Sequence[Mapping[str, Any]], dates: Sequence[str | datetime | None] | None = None
) -> list[ProgressRow]:
    """One row per attempt, oldest first (by ``dates`` when given, else the analysis date):
    criteria met, agent speaking rate, articulation, level vs callee, fillers, phrases to
    avoid. Missing measures (a transcript without audio) are None."""
    if dates is not None and len(dates) != len(analyses):
        raise ConfigError(
            f"progress_table : {len(dates)} date(s) pour {len(analyses)} analyse(s) ; "
            "donnez une date par analyse ou aucune."
        )
    items = []
    for i, a in enumerate(analyses):
        call = a.get("call") or {}
        d = dates[i] if dates is not None else call.get("analyzed_at")
        d_txt = d.isoformat() if isinstance(d, datetime) else (str(d) if d else None)
        items.append((d_txt, i, a))
    items.sort(key=lambda t: (_date_key(t[0]), t[1]))
    rows = []
    for n, (d_txt, _, a) in enumerate(items, 1):
        call = a.get("call") or {}
        score = a.get("score") or {}
        feats = features_flat_from_dict(a.get("features"))
        met = tuple(
            str(c.get("id"))
            for c in a.get("criteria") or []
            if isinstance(c, Mapping) and c.get("suggested") == "acquis"
        )
        phrases = sum(
            1
            for f in a.get("findings") or []
            if isinstance(f, Mapping) and f.get("detector") == PHRASES_DETECTOR
        )
        rows.append(
            ProgressRow(
                attempt=n,
                date=d_txt,
                call_id=str(call.get("id", "")),
                source=str(call.get("source", "")),
                acquis=score.get("acquis"),
                total=score.get("total"),
                needed=score.get("needed"),
                passed=score.get("passed"),
                criteria_met=met,
                agent_wpm=feats.get("agent.speech_rate_wpm"),
                agent_articulation_sps=feats.get("agent.articulation_rate_sps"),
                agent_level_vs_callee_db=feats.get("agent.level_vs_callee_db"),
                agent_fillers_per_min=feats.get("agent.fillers_per_min"),
                phrases_to_avoid=phrases,
            )
        )
    return rows


__all__ = [
    "AdviceBook",
    "AdvicePoint",
    "Feedback",
    "Improvement",
    "Measure",
    "Moment",
    "PhraseUsed",
    "ProgressRow",
    "SelfAssessmentRow",
    "Strength",
    "ToCheck",
    "build_feedback",
    "check_advice",
    "check_advice_text",
    "compare_self_assessment",
    "load_advice",
    "parse_advice",
    "progress_table",
    "render_feedback_markdown",
    "self_assessment_summary",
]
