"""Suggest a state for every criterion of a rubric, with confidence, reason and evidence.

:func:`score` is a pure function of the detectors' findings, the flat audio features and
the rubric. Rules are evaluated in a graded (fuzzy, three-valued) logic:

* every condition has a *truth* in [0, 1] (0.5 is the decision boundary) or is *unknown*
  (a feature that was not measured, e.g. on the transcript path);
* a detector condition counts matching findings: when satisfied its truth grows with the
  score of the weakest finding it needed (``0.5 + score / 2``); when not, it falls with how
  far the findings were from satisfying it (none at all gives 0);
* a feature condition's truth fades linearly from 1 to 0 over ``tolerance`` on either side
  of the band edge, so a value just inside a band is a weak acquis;
* ``all`` is the minimum, ``any`` the maximum, ``not`` the complement; an unknown child
  makes the result unknown unless the known children already decide it.

The criterion is ``acquis`` when the rule's truth reaches its threshold (0.5), otherwise
``non_acquis``; unknown → ``a_verifier``; ``a_verifier_when`` true → ``a_verifier``.
Confidence = ``base + span * margin`` where margin is the distance of the truth from the
threshold (scaled to [0, 1]) and ``base``/``span`` are the per-criterion, per-state
settings of the rubric (calibrated on labelled calls: see benchmarks/bench_criteria.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from .rubric import (
    AllOf,
    AsrDiscount,
    Condition,
    ContextCondition,
    Criterion,
    DetectorCondition,
    FeatureCondition,
    Not,
    Rubric,
    describe,
)
from .types import CriterionResult, Evidence, Finding, Score, State

_NEAR_WEIGHT = 0.8  # how much a near miss (score just under min_score) counts toward truth
_QUOTE_MAX = 90


@dataclass
class _Eval:
    """The outcome of one condition."""

    truth: float | None
    support: list[Finding] = field(default_factory=list)  # findings that make it true
    against: list[Finding] = field(default_factory=list)  # findings showing why it is false
    found: list[str] = field(default_factory=list)  # names of what was found
    missing: list[str] = field(default_factory=list)  # names of what is missing
    unknown: list[str] = field(default_factory=list)  # names of what could not be judged
    measures: list[str] = field(default_factory=list)  # feature values, formatted
    ignorable: bool = False  # unknown and optional: dropped by its parent combinator
    absent: bool = False  # false because something was not found (ASR-sensitive)

    @property
    def holds(self) -> bool:
        return self.truth is not None and self.truth >= 0.5


@dataclass(frozen=True)
class _Inputs:
    findings: Sequence[Finding]
    features: Mapping[str, float]
    has_crm_note: bool
    has_script: bool
    label_names: Mapping[str, str] = field(default_factory=dict)
    asr_discount: AsrDiscount | None = None


# --------------------------------------------------------------------------- leaves
def _label_ok(finding: Finding, cond: DetectorCondition) -> bool:
    return not cond.labels or any(fnmatchcase(finding.label, pat) for pat in cond.labels)


def _role_ok(finding: Finding, cond: DetectorCondition) -> bool:
    return cond.role == "any" or finding.role == cond.role


def _position_ok(finding: Finding, cond: DetectorCondition) -> bool:
    if cond.max_utterance is None:
        return True
    return finding.utterance_index is not None and finding.utterance_index <= cond.max_utterance


def _where_ok(finding: Finding, cond: DetectorCondition) -> bool:
    return all(pred.test(finding.data or {}) for pred in cond.where)


def _distinct(findings: Sequence[Finding], how: str) -> list[Finding]:
    """Best-scored finding per distinct key (finding, utterance or label), best first."""
    ranked = sorted(findings, key=lambda f: -f.score)
    if how == "finding":
        return ranked
    seen: set[Any] = set()
    out: list[Finding] = []
    for f in ranked:
        key: Any = f.utterance_index if how == "utterance" else f.label
        if key is None:
            key = id(f)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _eval_detector(cond: DetectorCondition, inp: _Inputs) -> _Eval:
    own = [f for f in inp.findings if f.detector == cond.detector and _role_ok(f, cond)]
    shaped = [f for f in own if _label_ok(f, cond) and _position_ok(f, cond)]
    qualified = [f for f in shaped if _where_ok(f, cond)]
    hits = _distinct([f for f in qualified if f.score >= cond.min_score], cond.distinct)
    weak = [f for f in qualified if f.score < cond.min_score]
    near_ratio = max((f.score / cond.min_score for f in weak), default=0.0) if cond.min_score else 0
    n = len(hits)
    lo, hi = cond.min, cond.max
    label = describe(cond)
    if n >= lo and (hi is None or n <= hi):
        if lo > 0:
            truth = 0.5 + 0.5 * hits[lo - 1].score
            return _Eval(truth, support=hits, found=[label])
        # an absence (or a bounded count): certainty drops with near misses
        truth = 0.5 + 0.5 * (1.0 - _NEAR_WEIGHT * min(1.0, near_ratio))
        return _Eval(truth, support=hits, found=[label])
    if n < lo:
        closeness = max(n / lo, _NEAR_WEIGHT * min(1.0, near_ratio))
        truth = 0.5 * closeness * 0.9
        # closest evidence: partial hits, then near misses, then the detector's other findings
        near = hits + sorted(weak, key=lambda f: -f.score)
        near += sorted((f for f in shaped if f not in qualified), key=lambda f: -f.score)
        near += sorted((f for f in own if f not in shaped), key=lambda f: -f.score)
        return _Eval(truth, against=near, missing=[label], absent=True)
    # too many (a forbidden thing happened): the (hi+1)-th finding says how sure
    assert hi is not None
    truth = 0.5 - 0.5 * hits[hi].score
    return _Eval(truth, against=hits, missing=[label])


def _num(value: float) -> str:
    """French number: 152, 4,8, −12."""
    if abs(value - round(value)) < 1e-9 or abs(value) >= 100:
        text = f"{round(value):d}"
    elif abs(value) < 1:
        text = f"{value:.2f}".replace(".", ",")
    else:
        text = f"{value:.1f}".replace(".", ",")
    return text.replace("-", "−")


def _expected(cond: FeatureCondition) -> str:
    unit = f" {cond.unit}" if cond.unit else ""
    if cond.low is not None and cond.high is not None:
        return f"attendu {_num(cond.low)}–{_num(cond.high)}{unit}"
    if cond.low is not None:
        return f"attendu ≥ {_num(cond.low)}{unit}"
    assert cond.high is not None
    return f"attendu ≤ {_num(cond.high)}{unit}"


def _eval_feature(cond: FeatureCondition, inp: _Inputs) -> _Eval:
    name = cond.name or cond.feature
    raw = inp.features.get(cond.feature)
    value: float | None
    try:
        value = float(raw) if raw is not None else None
    except (TypeError, ValueError):
        value = None
    if value is None or math.isnan(value):
        return _Eval(None, unknown=[f"{name} non mesuré"], ignorable=cond.optional)
    inside = math.inf
    if cond.low is not None:
        inside = min(inside, value - cond.low)
    if cond.high is not None:
        inside = min(inside, cond.high - value)
    truth = 0.5 + 0.5 * max(-1.0, min(1.0, inside / cond.tolerance))
    unit = f" {cond.unit}" if cond.unit else ""
    measure = f"{name} {_num(value)}{unit} ({_expected(cond)})"
    if inside >= 0:
        return _Eval(truth, found=[measure], measures=[measure])
    return _Eval(truth, missing=[measure], measures=[measure])


def _eval_context(cond: ContextCondition, inp: _Inputs) -> _Eval:
    present = inp.has_crm_note if cond.context == "crm_note" else inp.has_script
    label = describe(cond)
    return _Eval(1.0, found=[label]) if present else _Eval(0.0, missing=[label])


# --------------------------------------------------------------------------- combinators
def _merge(evals: Iterable[_Eval], attr: str) -> list[Any]:
    out: list[Any] = []
    for e in evals:
        for item in getattr(e, attr):
            if not any(item is x for x in out) and (not isinstance(item, str) or item not in out):
                out.append(item)
    return out


def _evaluate(cond: Condition, inp: _Inputs) -> _Eval:
    if isinstance(cond, DetectorCondition):
        result = _eval_detector(cond, inp)
    elif isinstance(cond, FeatureCondition):
        result = _eval_feature(cond, inp)
    elif isinstance(cond, ContextCondition):
        result = _eval_context(cond, inp)
    elif isinstance(cond, Not):
        inner = _evaluate(cond.item, inp)
        truth = None if inner.truth is None else 1.0 - inner.truth
        result = _Eval(
            truth,
            support=[],  # an absence has no quote of its own
            against=inner.support,
            unknown=inner.unknown,
            measures=inner.measures,
            ignorable=inner.ignorable,
        )
        if truth is not None:
            (result.found if truth >= 0.5 else result.missing).append(describe(cond))
    else:
        evaluated = [_evaluate(c, inp) for c in cond.items]
        children = [c for c in evaluated if not (c.ignorable and c.truth is None)]
        if not children:  # every child was an optional, unmeasured feature
            return _Eval(None, unknown=_merge(evaluated, "unknown"), ignorable=True)
        known = [c for c in children if c.truth is not None]
        unknown = [c for c in children if c.truth is None]
        true_children = [c for c in known if c.holds]
        false_children = [c for c in known if not c.holds]
        measures = _merge(children, "measures")
        if isinstance(cond, AllOf):
            if false_children:
                truth: float | None = min(c.truth for c in known)  # type: ignore[type-var]
            elif unknown:
                truth = None
            else:
                truth = min(c.truth for c in known)  # type: ignore[type-var]
            result = _Eval(
                truth,
                support=_merge(true_children, "support"),
                against=_merge(false_children, "against"),
                found=_merge(true_children, "found"),
                missing=_merge(false_children, "missing"),
                unknown=_merge(unknown, "unknown"),
                measures=measures,
                absent=bool(false_children) and all(c.absent for c in false_children),
            )
        else:
            if true_children:
                truth = max(c.truth for c in known)  # type: ignore[type-var]
            elif unknown:
                truth = None
            else:
                truth = max(c.truth for c in known)  # type: ignore[type-var]
            if true_children:
                result = _Eval(
                    truth,
                    support=_merge(true_children, "support"),
                    found=_merge(true_children, "found"),
                    measures=measures,
                )
            else:
                missing = [" ou ".join(_merge(false_children, "missing"))] if false_children else []
                result = _Eval(
                    truth,
                    against=_merge(false_children, "against"),
                    missing=missing,
                    unknown=_merge(unknown, "unknown"),
                    measures=measures,
                    absent=any(c.absent for c in false_children),
                )
    if cond.name and result.truth is not None and not isinstance(cond, Not | FeatureCondition):
        if result.holds:
            result.found = [cond.name]
        else:
            result.missing = [cond.name]
    return result


# --------------------------------------------------------------------------- criteria
def _join(items: Sequence[str]) -> str:
    items = [i for i in dict.fromkeys(items) if i]
    if not items:
        return "—"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " et " + items[-1]


def _short(quote: str) -> str:
    quote = " ".join(quote.split())
    if len(quote) <= _QUOTE_MAX:
        return quote
    cut = quote[:_QUOTE_MAX].rsplit(" ", 1)[0]
    return cut + "…"


def _evidence(findings: Sequence[Finding], limit: int) -> tuple[tuple[Evidence, ...], list[str]]:
    """Up to ``limit`` evidence items taken in priority order of their findings, returned in
    the order of the call, with their quotes in priority order (for ``{quote}``)."""
    chosen: list[Evidence] = []
    keys: set[tuple[float, float, str]] = set()
    for f in findings:
        for ev in f.evidence:
            key = (round(ev.start, 2), round(ev.end, 2), ev.quote)
            if key in keys:
                continue
            if len(chosen) >= limit:
                break
            keys.add(key)
            chosen.append(ev)
    quotes = [e.quote for e in chosen]
    return tuple(sorted(chosen, key=lambda e: (e.start, e.end))), quotes


def _dedup(findings: Iterable[Finding]) -> list[Finding]:
    out: list[Finding] = []
    for f in findings:
        if not any(f is g for g in out):
            out.append(f)
    return out


def _render(
    template: str,
    ev: _Eval,
    findings: Sequence[Finding],
    quotes: Sequence[str],
    label_names: Mapping[str, str],
) -> str:
    labels = [label_names.get(f.label, f.label.split(":", 1)[-1]) for f in findings if f.label]
    values = {
        "found": _join(ev.found),
        "missing": _join(ev.missing + ev.unknown),
        "quote": f"« {_short(quotes[0])} »" if quotes else "—",
        "count": str(len(findings)),
        "labels": _join(list(dict.fromkeys(labels))),
        "measures": _join(ev.measures) if ev.measures else "—",
        "detail": findings[0].reason.strip().rstrip(".") if findings else "—",
    }
    text = template.format_map(values)
    return re.sub(r"\s+", " ", text).strip()


def _margin(truth: float, threshold: float) -> float:
    if truth >= threshold:
        return (truth - threshold) / (1.0 - threshold)
    return (threshold - truth) / threshold


def _manual(crit: Criterion, inp: _Inputs) -> CriterionResult:
    support: list[Finding] = []
    ev = _Eval(None)
    if crit.supporting is not None:
        ev = _evaluate(crit.supporting, inp)
        support = _dedup(ev.support) if ev.holds else []
    evidence, quotes = _evidence(support, crit.max_evidence)
    if support:
        reason = _render(crit.reasons["a_verifier"], ev, support, quotes, inp.label_names)
    else:
        from .rubric import MANUAL_REASON

        reason = MANUAL_REASON
    return CriterionResult(
        id=crit.id,
        label=crit.label,
        source=crit.source,
        suggested="a_verifier",
        confidence=0.0,
        reason=reason,
        evidence=evidence,
        manual=True,
    )


def _suggest(crit: Criterion, inp: _Inputs) -> CriterionResult:
    if crit.manual:
        return _manual(crit, inp)

    def result(state: State, conf: float, reason: str, evidence: tuple[Evidence, ...]) -> Any:
        return CriterionResult(
            id=crit.id,
            label=crit.label,
            source=crit.source,
            suggested=state,
            confidence=round(conf, 4),
            reason=reason,
            evidence=evidence,
            manual=False,
        )

    if crit.a_verifier_when is not None:
        cond = _evaluate(crit.a_verifier_when, inp)
        if cond.holds:
            assert cond.truth is not None
            findings = _dedup(cond.support)
            evidence, quotes = _evidence(findings, crit.max_evidence)
            conf = crit.confidence["a_verifier"].at(_margin(cond.truth, 0.5))
            reason = _render(crit.reasons["a_verifier"], cond, findings, quotes, inp.label_names)
            return result("a_verifier", conf, reason, evidence)

    assert crit.rule is not None  # validated: non-manual criteria have a rule
    ev = _evaluate(crit.rule, inp)
    if ev.truth is None:
        findings = _dedup(ev.support + ev.against)
        evidence, quotes = _evidence(findings, crit.max_evidence)
        reason = _render(crit.reasons["inconnu"], ev, findings, quotes, inp.label_names)
        return result("a_verifier", 0.0, reason, evidence)
    margin = _margin(ev.truth, crit.threshold)
    if abs(ev.truth - crit.threshold) < crit.uncertain_margin:
        findings = _dedup(ev.support + ev.against)
        evidence, quotes = _evidence(findings, crit.max_evidence)
        conf = crit.confidence["a_verifier"].base
        reason = _render(crit.reasons["a_verifier"], ev, findings, quotes, inp.label_names)
        return result("a_verifier", conf, reason, evidence)
    if ev.truth >= crit.threshold:
        findings = _dedup(ev.support)
        state: State = "acquis"
    else:
        # what went wrong first, then the closest evidence of what was there
        findings = _dedup(ev.against + ev.support)
        state = "non_acquis"
    evidence, quotes = _evidence(findings, crit.max_evidence)
    conf = crit.confidence[state].at(margin)
    if state == "non_acquis" and ev.absent and inp.asr_discount is not None:
        conf *= inp.asr_discount.factor(inp.features)
    reason = _render(crit.reasons[state], ev, findings, quotes, inp.label_names)
    return result(state, conf, reason, evidence)


def tally(results: Sequence[CriterionResult], pass_ratio: float) -> Score:
    """The score of a set of suggestions (or of a juror's ticks given as results)."""
    total = len(results)
    acquis = sum(1 for r in results if r.suggested == "acquis")
    needed = math.ceil(round(pass_ratio * total, 9))
    return Score(
        acquis=acquis,
        total=total,
        ratio=round(acquis / total, 3) if total else 0.0,
        pass_ratio=pass_ratio,
        needed=needed,
        passed=acquis >= needed,
        missing=max(0, needed - acquis),
        a_verifier=sum(1 for r in results if r.suggested == "a_verifier"),
    )


def score(
    findings: Sequence[Finding],
    features: Mapping[str, float],
    rubric: Rubric,
    *,
    has_crm_note: bool,
    has_script: bool,
) -> tuple[tuple[CriterionResult, ...], Score]:
    """Suggest every criterion of ``rubric`` (in its order) and count the score."""
    inp = _Inputs(
        tuple(findings),
        dict(features or {}),
        has_crm_note,
        has_script,
        rubric.label_names,
        rubric.asr_discount,
    )
    results = tuple(_suggest(c, inp) for c in rubric.criteria)
    return results, tally(results, rubric.pass_ratio)


__all__ = ["score", "tally"]
