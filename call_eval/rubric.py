"""Load and validate a rubric file: the certification grid as data.

A rubric (YAML, format documented in ``rubrics/README.md``) lists the criteria of the grid
in order, each with a rule that combines detector conditions (findings of a registered
detector, filtered by role, label, score and data) and audio-feature conditions (a value
inside a band), with ``all`` / ``any`` / ``not``; an optional ``a_verifier_when`` condition;
French reason templates; and confidence settings. ``pass_ratio`` says how many criteria
must be ``acquis``.

Public entry points: :func:`load_rubric` (raises :class:`~call_eval.errors.RubricError`
naming the file, line, criterion and field) and :func:`check_rubric` (every problem, as a
list of French lines, for ``call-eval rubric check FILE``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import re
import string
from collections.abc import Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from . import settings
from .errors import RubricError
from .types import STATES

log = logging.getLogger(__name__)

SOURCES = ("call", "crm", "interview")
ROLES_OR_ANY = ("agent", "callee", "any")
CONTEXTS = ("crm_note", "script")
DISTINCT = ("finding", "utterance", "label")
REASON_KEYS = ("acquis", "non_acquis", "a_verifier", "inconnu")
PLACEHOLDERS = ("found", "missing", "quote", "count", "labels", "measures", "detail")
WHERE_OPS = ("eq", "ne", "in", "not_in", "min", "max", "exists", "nonempty")
FEATURE_NAME_RE = re.compile(r"^(agent|callee|call)\.[a-z][a-z0-9_]*$")
DEFAULT_REASONS: dict[str, str] = {
    "acquis": "Critère satisfait : {found}.",
    "non_acquis": "Critère non satisfait : manque {missing}.",
    "a_verifier": "À vérifier par le jury.",
    "inconnu": "Mesures indisponibles pour ce critère : à vérifier par le jury.",
}
MANUAL_REASON = "À évaluer par le jury lors de l'entretien technique."


# --------------------------------------------------------------------------- conditions
@dataclass(frozen=True)
class WherePredicate:
    """A test on one value of a finding's ``data`` (``path`` is dotted, without ``data.``)."""

    path: tuple[str, ...]
    op: str
    value: Any = None

    def test(self, data: Mapping[str, Any]) -> bool:
        present = True
        current: Any = data
        for key in self.path:
            if isinstance(current, Mapping) and key in current:
                current = current[key]
            else:
                present = False
                current = None
                break
        op, value = self.op, self.value
        if op == "exists":
            return (present and current is not None) == bool(value)
        if op == "nonempty":
            return bool(current) == bool(value)
        if not present:
            return op == "ne" or op == "not_in"
        if op == "eq":
            return bool(current == value)
        if op == "ne":
            return bool(current != value)
        if op == "in":
            return current in value
        if op == "not_in":
            return current not in value
        if isinstance(current, bool) or not isinstance(current, int | float):
            if isinstance(current, Sized):
                current = len(current)
            else:
                return False
        if op == "min":
            return current >= value
        if op == "max":
            return current <= value
        raise AssertionError(op)  # pragma: no cover - validated at load time


@dataclass(frozen=True)
class DetectorCondition:
    """Findings of ``detector`` by ``role`` with a matching label, score and data, counted;
    true when ``min <= count <= max``."""

    detector: str
    role: str = "any"
    labels: tuple[str, ...] = ()
    min: int = 1
    max: int | None = None
    min_score: float = 0.5
    where: tuple[WherePredicate, ...] = ()
    distinct: str = "finding"
    max_utterance: int | None = None
    name: str | None = None
    location: str = ""


@dataclass(frozen=True)
class FeatureCondition:
    """An audio feature inside ``[low, high]`` (either side may be open). ``tolerance`` is
    the distance over which truth fades from certain to borderline (confidence). A missing
    feature makes the condition unknown, or, when ``optional``, drops it from its parent."""

    feature: str
    low: float | None = None
    high: float | None = None
    tolerance: float = 1.0
    unit: str = ""
    optional: bool = False
    name: str | None = None
    location: str = ""


@dataclass(frozen=True)
class ContextCondition:
    """True when the analysis has a CRM note (``crm_note``) or a call script (``script``)."""

    context: str
    name: str | None = None
    location: str = ""


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]
    name: str | None = None
    location: str = ""


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]
    name: str | None = None
    location: str = ""


@dataclass(frozen=True)
class Not:
    item: Condition
    name: str | None = None
    location: str = ""


Condition = DetectorCondition | FeatureCondition | ContextCondition | AllOf | AnyOf | Not


# --------------------------------------------------------------------------- criteria
@dataclass(frozen=True)
class ConfidenceSpec:
    """Confidence of a suggestion = ``base + span * margin`` (margin in [0, 1]: how far the
    rule's truth is from the decision boundary), clipped to [0, 1]."""

    base: float
    span: float

    def at(self, margin: float) -> float:
        return max(0.0, min(1.0, self.base + self.span * max(0.0, min(1.0, margin))))


DEFAULT_CONFIDENCE: dict[str, ConfidenceSpec] = {
    "acquis": ConfidenceSpec(0.55, 0.40),
    "non_acquis": ConfidenceSpec(0.50, 0.40),
    "a_verifier": ConfidenceSpec(0.50, 0.40),
}


@dataclass(frozen=True)
class AsrDiscount:
    """Lower the confidence of a ``non_acquis`` that rests on something *not found* when the
    transcript comes from speech recognition: multiplied by ``1 − weight × (1 − value)``
    where value is the feature (mean word probability, in [0, 1]); no effect when the
    feature is absent (a typed transcript)."""

    feature: str
    weight: float = 1.0

    def factor(self, features: Mapping[str, float]) -> float:
        value = features.get(self.feature)
        if value is None or not math.isfinite(value):
            return 1.0
        return max(0.0, 1.0 - self.weight * (1.0 - max(0.0, min(1.0, float(value)))))


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str
    source: str
    manual: bool = False
    rule: Condition | None = None
    a_verifier_when: Condition | None = None
    supporting: Condition | None = None
    reasons: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_REASONS))
    confidence: Mapping[str, ConfidenceSpec] = field(
        default_factory=lambda: dict(DEFAULT_CONFIDENCE)
    )
    threshold: float = 0.5
    uncertain_margin: float = 0.0
    max_evidence: int = 4


@dataclass(frozen=True)
class Rubric:
    """A validated rubric. ``sha256`` is the hash of the file's bytes: an analysis records
    ``id``, ``version`` and ``sha256`` so that it stays reproducible."""

    id: str
    version: int
    language: str
    pass_ratio: float
    criteria: tuple[Criterion, ...]
    detectors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    label_names: Mapping[str, str] = field(default_factory=dict)
    asr_discount: AsrDiscount | None = None
    title: str = ""
    path: str | None = None
    sha256: str = ""

    @property
    def needed(self) -> int:
        """Criteria that must be ``acquis`` to pass (``ceil(pass_ratio * total)``)."""
        return math.ceil(round(self.pass_ratio * len(self.criteria), 9))

    def criterion(self, criterion_id: str) -> Criterion:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)

    def detector_names(self) -> tuple[str, ...]:
        """Every detector the rules refer to (sorted), to run only those."""
        names: set[str] = set(self.detectors)
        for c in self.criteria:
            for cond in (c.rule, c.a_verifier_when, c.supporting):
                if cond is not None:
                    names.update(_walk_detectors(cond))
        return tuple(sorted(names))

    def feature_names(self) -> tuple[str, ...]:
        names: set[str] = set()
        for c in self.criteria:
            for cond in (c.rule, c.a_verifier_when, c.supporting):
                if cond is not None:
                    names.update(_walk_features(cond))
        return tuple(sorted(names))

    def detector_overrides(self) -> dict[str, dict[str, Any]]:
        """``{detector: params}`` to merge over the lexicon defaults (``run_detectors``)."""
        return {name: dict(params) for name, params in self.detectors.items()}

    def describe(self) -> dict[str, Any]:
        """What an analysis records about the rubric it used (id, version, path, hash);
        the path is relative to the project home when the file lives there."""
        path = self.path
        if path is not None:
            with contextlib.suppress(ValueError):  # outside the project: keep it absolute
                path = str(Path(path).resolve().relative_to(settings.home()))
        return {"id": self.id, "version": self.version, "path": path, "sha256": self.sha256}


def _children(cond: Condition) -> tuple[Condition, ...]:
    if isinstance(cond, AllOf | AnyOf):
        return cond.items
    if isinstance(cond, Not):
        return (cond.item,)
    return ()


def _walk_detectors(cond: Condition) -> Iterable[str]:
    if isinstance(cond, DetectorCondition):
        yield cond.detector
    for child in _children(cond):
        yield from _walk_detectors(child)


def _walk_features(cond: Condition) -> Iterable[str]:
    if isinstance(cond, FeatureCondition):
        yield cond.feature
    for child in _children(cond):
        yield from _walk_features(child)


# --------------------------------------------------------------------------- YAML with lines
class _Map(dict):  # type: ignore[type-arg]
    line: int = 0
    key_lines: dict[Any, int]
    duplicates: list[tuple[Any, int]]


class _Seq(list):  # type: ignore[type-arg]
    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose mappings and lists remember their line numbers."""


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> Iterable[_Map]:
    m = _Map()
    m.line = node.start_mark.line + 1
    m.key_lines = {}
    m.duplicates = []
    yield m
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            key = str(key)
        if key in m:
            m.duplicates.append((key, key_node.start_mark.line + 1))
        m[key] = loader.construct_object(value_node, deep=True)
        m.key_lines[key] = key_node.start_mark.line + 1


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> Iterable[_Seq]:
    s = _Seq()
    s.line = node.start_mark.line + 1
    s.item_lines = []
    yield s
    for child in node.value:
        s.append(loader.construct_object(child, deep=True))
        s.item_lines.append(child.start_mark.line + 1)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def _line_of(container: Any, key: Any = None) -> int | None:
    if isinstance(container, _Map):
        return container.key_lines.get(key, container.line) if key is not None else container.line
    if isinstance(container, _Seq):
        if isinstance(key, int) and 0 <= key < len(container.item_lines):
            return container.item_lines[key]
        return container.line
    return None


# --------------------------------------------------------------------------- validation
@dataclass
class _Problems:
    file: str
    items: list[str] = field(default_factory=list)

    def add(self, line: int | None, where: str, message: str) -> None:
        loc = f"{self.file}:{line}" if line else self.file
        self.items.append(f"{loc}: {where} : {message}")


def _fmt_list(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class _Builder:
    """Turns the YAML tree into frozen dataclasses, collecting every problem."""

    problems: _Problems
    detectors: Mapping[str, Any] | None  # the registry (None: names not checked)
    features: frozenset[str] | None  # known feature names (None: pattern only)

    # -- helpers
    def where_label(self, criterion: str | None, path: str) -> str:
        if criterion:
            return f"critère {criterion}, champ « {path} »"
        return f"champ « {path} »"

    def err(self, container: Any, key: Any, criterion: str | None, path: str, msg: str) -> None:
        self.problems.add(_line_of(container, key), self.where_label(criterion, path), msg)

    # -- conditions
    def condition(
        self, node: Any, parent: Any, key: Any, criterion: str, path: str
    ) -> Condition | None:
        if not isinstance(node, Mapping):
            self.err(
                parent,
                key,
                criterion,
                path,
                "une condition doit être un dictionnaire avec l'une des clés "
                "detector, feature, context, all, any, not.",
            )
            return None
        kinds = [k for k in ("detector", "feature", "context", "all", "any", "not") if k in node]
        if len(kinds) != 1:
            found = _fmt_list(kinds) if kinds else "aucune"
            self.err(
                node,
                None,
                criterion,
                path,
                f"une condition a exactement une clé parmi detector, feature, context, all, "
                f"any, not (trouvé : {found}).",
            )
            return None
        kind = kinds[0]
        name = node.get("name")
        if name is not None and not isinstance(name, str):
            self.err(node, "name", criterion, f"{path}.name", "doit être un texte (français).")
            name = None
        if kind == "detector":
            return self.detector_condition(node, criterion, path, name)
        if kind == "feature":
            return self.feature_condition(node, criterion, path, name)
        if kind == "context":
            self.unknown_keys(node, {"context", "name"}, criterion, path)
            ctx = node["context"]
            if ctx not in CONTEXTS:
                self.err(
                    node,
                    "context",
                    criterion,
                    f"{path}.context",
                    f"valeur inconnue {ctx!r}. Valeurs valides : {_fmt_list(CONTEXTS)}.",
                )
                return None
            return ContextCondition(ctx, name, path)
        if kind == "not":
            self.unknown_keys(node, {"not", "name"}, criterion, path)
            inner = self.condition(node["not"], node, "not", criterion, f"{path}.not")
            return Not(inner, name, path) if inner is not None else None
        self.unknown_keys(node, {kind, "name"}, criterion, path)
        items = node[kind]
        if not isinstance(items, list) or not items:
            self.err(
                node,
                kind,
                criterion,
                f"{path}.{kind}",
                "doit être une liste non vide de conditions.",
            )
            return None
        built = [
            self.condition(item, items, i, criterion, f"{path}.{kind}[{i}]")
            for i, item in enumerate(items)
        ]
        if any(b is None for b in built):
            return None
        cls = AllOf if kind == "all" else AnyOf
        return cls(tuple(b for b in built if b is not None), name, path)

    def unknown_keys(self, node: Mapping[str, Any], valid: set[str], crit: str, path: str) -> None:
        for key in node:
            if key not in valid:
                self.err(
                    node,
                    key,
                    crit,
                    f"{path}.{key}",
                    f"clé inconnue. Clés valides ici : {_fmt_list(sorted(valid))}.",
                )

    def detector_condition(
        self, node: Mapping[str, Any], crit: str, path: str, name: str | None
    ) -> DetectorCondition | None:
        valid = {
            "detector",
            "role",
            "label",
            "min",
            "max",
            "min_score",
            "where",
            "distinct",
            "max_utterance",
            "name",
        }
        self.unknown_keys(node, valid, crit, path)
        ok = True
        det = node["detector"]
        if not isinstance(det, str):
            self.err(node, "detector", crit, f"{path}.detector", "doit être un nom de détecteur.")
            return None
        if self.detectors is not None and det not in self.detectors:
            self.err(
                node,
                "detector",
                crit,
                f"{path}.detector",
                f"détecteur inconnu {det!r}. Détecteurs valides : "
                f"{_fmt_list(sorted(self.detectors)) or '(aucun enregistré)'}.",
            )
            ok = False
        role = node.get("role", "any")
        if role not in ROLES_OR_ANY:
            self.err(
                node,
                "role",
                crit,
                f"{path}.role",
                f"valeur inconnue {role!r}. Valeurs valides : {_fmt_list(ROLES_OR_ANY)}.",
            )
            ok = False
        label = node.get("label", [])
        labels: tuple[str, ...]
        if isinstance(label, str):
            labels = (label,)
        elif isinstance(label, list) and all(isinstance(x, str) for x in label):
            labels = tuple(label)
        else:
            self.err(
                node,
                "label",
                crit,
                f"{path}.label",
                "doit être un libellé ou une liste de libellés (jokers * acceptés).",
            )
            labels, ok = (), False
        lo = node.get("min", 1 if "max" not in node else 0)
        hi = node.get("max")
        for key, value in (("min", lo), ("max", hi)):
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                self.err(node, key, crit, f"{path}.{key}", "doit être un entier ≥ 0.")
                ok = False
        if ok and hi is not None and lo > hi:
            self.err(node, "min", crit, f"{path}.min", f"min ({lo}) dépasse max ({hi}).")
            ok = False
        min_score = node.get("min_score", 0.5)
        if not _is_number(min_score) or not 0 <= min_score <= 1:
            self.err(
                node, "min_score", crit, f"{path}.min_score", "doit être un nombre entre 0 et 1."
            )
            ok = False
        distinct = node.get("distinct", "finding")
        if distinct not in DISTINCT:
            self.err(
                node,
                "distinct",
                crit,
                f"{path}.distinct",
                f"valeur inconnue {distinct!r}. Valeurs valides : {_fmt_list(DISTINCT)}.",
            )
            ok = False
        max_utt = node.get("max_utterance")
        if max_utt is not None and (not isinstance(max_utt, int) or isinstance(max_utt, bool)):
            self.err(
                node,
                "max_utterance",
                crit,
                f"{path}.max_utterance",
                "doit être un entier (indice de réplique).",
            )
            ok = False
        where = self.where(node.get("where"), node, crit, f"{path}.where")
        if where is None:
            ok = False
        if not ok:
            return None
        return DetectorCondition(
            detector=det,
            role=role,
            labels=labels,
            min=lo,
            max=hi,
            min_score=float(min_score),
            where=where or (),
            distinct=distinct,
            max_utterance=max_utt,
            name=name,
            location=path,
        )

    def where(
        self, node: Any, parent: Any, crit: str, path: str
    ) -> tuple[WherePredicate, ...] | None:
        if node is None:
            return ()
        if not isinstance(node, Mapping):
            self.err(
                parent,
                "where",
                crit,
                path,
                "doit être un dictionnaire {data.clé: valeur | {opérateur: valeur}}.",
            )
            return None
        preds: list[WherePredicate] = []
        ok = True
        for key, value in node.items():
            if not isinstance(key, str) or not key.startswith("data.") or len(key) <= 5:
                self.err(
                    node,
                    key,
                    crit,
                    f"{path}.{key}",
                    "une clé de where désigne une donnée du constat : « data.nom » "
                    "(chemin pointé, ex. data.handling).",
                )
                ok = False
                continue
            keypath = tuple(key[5:].split("."))
            if isinstance(value, Mapping):
                for op, operand in value.items():
                    if op not in WHERE_OPS:
                        self.err(
                            value,
                            op,
                            crit,
                            f"{path}.{key}.{op}",
                            f"opérateur inconnu. Opérateurs valides : {_fmt_list(WHERE_OPS)}.",
                        )
                        ok = False
                    elif op in ("min", "max") and not _is_number(operand):
                        self.err(value, op, crit, f"{path}.{key}.{op}", "doit être un nombre.")
                        ok = False
                    elif op in ("in", "not_in") and not isinstance(operand, list):
                        self.err(value, op, crit, f"{path}.{key}.{op}", "doit être une liste.")
                        ok = False
                    elif op in ("exists", "nonempty") and not isinstance(operand, bool):
                        self.err(
                            value, op, crit, f"{path}.{key}.{op}", "doit valoir true ou false."
                        )
                        ok = False
                    else:
                        preds.append(WherePredicate(keypath, op, operand))
            elif isinstance(value, list):
                preds.append(WherePredicate(keypath, "in", list(value)))
            else:
                preds.append(WherePredicate(keypath, "eq", value))
        return tuple(preds) if ok else None

    def feature_condition(
        self, node: Mapping[str, Any], crit: str, path: str, name: str | None
    ) -> FeatureCondition | None:
        self.unknown_keys(
            node,
            {"feature", "between", "min", "max", "tolerance", "unit", "optional", "name"},
            crit,
            path,
        )
        feat = node["feature"]
        ok = True
        if not isinstance(feat, str) or not FEATURE_NAME_RE.match(feat):
            self.err(
                node,
                "feature",
                crit,
                f"{path}.feature",
                f"nom de mesure invalide {feat!r} (forme attendue : agent.nom, callee.nom "
                "ou call.nom).",
            )
            return None
        if self.features is not None and feat not in self.features:
            self.err(
                node,
                "feature",
                crit,
                f"{path}.feature",
                f"mesure inconnue {feat!r}. Mesures valides : {_fmt_list(sorted(self.features))}.",
            )
            ok = False
        bounds = [k for k in ("between", "min", "max") if k in node]
        low = high = None
        if not bounds:
            self.err(
                node, None, crit, path, "une condition de mesure a besoin de between, min ou max."
            )
            return None
        if "between" in node and len(bounds) > 1:
            self.err(
                node, "between", crit, f"{path}.between", "between exclut min et max : choisir."
            )
            return None
        if "between" in node:
            b = node["between"]
            if (
                not isinstance(b, list)
                or len(b) != 2
                or not all(_is_number(x) for x in b)
                or b[0] > b[1]
            ):
                self.err(
                    node,
                    "between",
                    crit,
                    f"{path}.between",
                    "doit être une liste [bas, haut] de deux nombres, bas ≤ haut.",
                )
                return None
            low, high = float(b[0]), float(b[1])
        else:
            for key in ("min", "max"):
                if key in node and not _is_number(node[key]):
                    self.err(node, key, crit, f"{path}.{key}", "doit être un nombre.")
                    return None
            low = float(node["min"]) if "min" in node else None
            high = float(node["max"]) if "max" in node else None
            if low is not None and high is not None and low > high:
                self.err(node, "min", crit, f"{path}.min", "min dépasse max.")
                return None
        tol = node.get("tolerance")
        if tol is None:
            if low is not None and high is not None:
                tol = max((high - low) * 0.1, 1e-6)
            else:
                ref = low if low is not None else high
                tol = max(abs(ref or 0.0) * 0.1, 0.05)
        elif not _is_number(tol) or tol <= 0:
            self.err(
                node, "tolerance", crit, f"{path}.tolerance", "doit être un nombre strictement > 0."
            )
            return None
        unit = node.get("unit", "")
        if not isinstance(unit, str):
            self.err(node, "unit", crit, f"{path}.unit", "doit être un texte.")
            ok = False
        optional = node.get("optional", False)
        if not isinstance(optional, bool):
            self.err(node, "optional", crit, f"{path}.optional", "doit valoir true ou false.")
            ok = False
        if not ok:
            return None
        return FeatureCondition(feat, low, high, float(tol), unit, optional, name, path)

    # -- criteria
    def criterion(self, node: Any, parent: Any, index: int) -> Criterion | None:
        path = f"criteria[{index}]"
        if not isinstance(node, Mapping):
            self.err(parent, index, None, path, "un critère doit être un dictionnaire.")
            return None
        cid = node.get("id")
        if not isinstance(cid, str) or not re.match(r"^[A-Za-z0-9_-]+$", cid):
            self.err(
                node,
                "id",
                None,
                f"{path}.id",
                "identifiant manquant ou invalide (lettres, chiffres, - ou _ ; ex. C01).",
            )
            return None
        valid = {
            "id",
            "label",
            "source",
            "manual",
            "rule",
            "a_verifier_when",
            "supporting",
            "reasons",
            "confidence",
            "threshold",
            "uncertain_margin",
            "max_evidence",
            "description",
        }
        for key in node:
            if key not in valid:
                self.err(
                    node,
                    key,
                    cid,
                    str(key),
                    f"clé inconnue. Clés valides : {_fmt_list(sorted(valid))}.",
                )
        ok = True
        label = node.get("label")
        if not isinstance(label, str) or not label.strip():
            self.err(node, "label", cid, "label", "libellé manquant (texte de la grille).")
            ok = False
        source = node.get("source")
        if source not in SOURCES:
            self.err(
                node,
                "source",
                cid,
                "source",
                f"valeur {source!r} invalide. Valeurs valides : {_fmt_list(SOURCES)}.",
            )
            ok = False
        manual = node.get("manual", False)
        if not isinstance(manual, bool):
            self.err(node, "manual", cid, "manual", "doit valoir true ou false.")
            ok, manual = False, False
        rule = a_ver = supporting = None
        if "rule" in node:
            rule = self.condition(node["rule"], node, "rule", cid, "rule")
            ok = ok and rule is not None
        elif not manual:
            self.err(node, None, cid, "rule", "règle manquante (obligatoire si manual: false).")
            ok = False
        if "a_verifier_when" in node:
            a_ver = self.condition(
                node["a_verifier_when"], node, "a_verifier_when", cid, "a_verifier_when"
            )
            ok = ok and a_ver is not None
        if "supporting" in node:
            supporting = self.condition(node["supporting"], node, "supporting", cid, "supporting")
            ok = ok and supporting is not None
        reasons = self.reasons(node.get("reasons"), node, cid, manual)
        confidence = self.confidence(node.get("confidence"), node, cid)
        threshold = node.get("threshold", 0.5)
        if not _is_number(threshold) or not 0 < threshold < 1:
            self.err(
                node, "threshold", cid, "threshold", "doit être un nombre strictement entre 0 et 1."
            )
            ok = False
        margin = node.get("uncertain_margin", 0.0)
        if not _is_number(margin) or not 0 <= margin < 0.5:
            self.err(
                node,
                "uncertain_margin",
                cid,
                "uncertain_margin",
                "doit être un nombre dans [0, 0.5[.",
            )
            ok = False
        max_ev = node.get("max_evidence", 4)
        if not isinstance(max_ev, int) or isinstance(max_ev, bool) or max_ev < 0:
            self.err(node, "max_evidence", cid, "max_evidence", "doit être un entier ≥ 0.")
            ok = False
        if not ok or reasons is None or confidence is None:
            return None
        return Criterion(
            id=cid,
            label=label.strip(),
            source=source,
            manual=manual,
            rule=rule,
            a_verifier_when=a_ver,
            supporting=supporting,
            reasons=reasons,
            confidence=confidence,
            threshold=float(threshold),
            uncertain_margin=float(margin),
            max_evidence=max_ev,
        )

    def reasons(self, node: Any, parent: Any, cid: str, manual: bool) -> dict[str, str] | None:
        out = dict(DEFAULT_REASONS)
        if manual:
            out["a_verifier"] = MANUAL_REASON
        if node is None:
            return out
        if not isinstance(node, Mapping):
            self.err(parent, "reasons", cid, "reasons", "doit être un dictionnaire état: modèle.")
            return None
        ok = True
        for key, template in node.items():
            path = f"reasons.{key}"
            if key not in REASON_KEYS:
                self.err(
                    node,
                    key,
                    cid,
                    path,
                    f"état inconnu. États valides : {_fmt_list(REASON_KEYS)}.",
                )
                ok = False
                continue
            if not isinstance(template, str) or not template.strip():
                self.err(node, key, cid, path, "doit être une phrase (modèle de raison).")
                ok = False
                continue
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
            except ValueError as exc:
                self.err(node, key, cid, path, f"modèle mal formé ({exc}).")
                ok = False
                continue
            bad = [f for f in fields if f not in PLACEHOLDERS]
            if bad:
                self.err(
                    node,
                    key,
                    cid,
                    path,
                    f"variable inconnue {{{bad[0]}}}. Variables valides : "
                    f"{_fmt_list('{' + p + '}' for p in PLACEHOLDERS)}.",
                )
                ok = False
                continue
            out[key] = template.strip()
        return out if ok else None

    def confidence(self, node: Any, parent: Any, cid: str) -> dict[str, ConfidenceSpec] | None:
        out = dict(DEFAULT_CONFIDENCE)
        if node is None:
            return out
        if not isinstance(node, Mapping):
            self.err(
                parent,
                "confidence",
                cid,
                "confidence",
                "doit être un dictionnaire {acquis|non_acquis|a_verifier: {base, span}}.",
            )
            return None
        ok = True
        for state, spec in node.items():
            path = f"confidence.{state}"
            if state not in STATES:
                self.err(
                    node, state, cid, path, f"état inconnu. États valides : {_fmt_list(STATES)}."
                )
                ok = False
                continue
            if not isinstance(spec, Mapping) or set(spec) - {"base", "span"}:
                self.err(node, state, cid, path, "doit être {base: nombre, span: nombre}.")
                ok = False
                continue
            base = spec.get("base", out[state].base)
            span = spec.get("span", out[state].span)
            if not (_is_number(base) and _is_number(span)) or not (
                0 <= base <= 1 and 0 <= span <= 1 and base + span <= 1.0 + 1e-9
            ):
                self.err(
                    node,
                    state,
                    cid,
                    path,
                    "base et span sont des nombres dans [0, 1] avec base + span ≤ 1.",
                )
                ok = False
                continue
            out[state] = ConfidenceSpec(float(base), float(span))
        return out if ok else None

    # -- top level
    def detector_overrides(self, node: Any, parent: Any) -> dict[str, dict[str, Any]] | None:
        if node is None:
            return {}
        if not isinstance(node, Mapping):
            self.err(
                parent,
                "detectors",
                None,
                "detectors",
                "doit être un dictionnaire {nom.v1: {paramètre: valeur}}.",
            )
            return None
        ok = True
        out: dict[str, dict[str, Any]] = {}
        for name, params in node.items():
            path = f"detectors.{name}"
            if self.detectors is not None and name not in self.detectors:
                self.err(
                    node,
                    name,
                    None,
                    path,
                    f"détecteur inconnu {name!r}. Détecteurs valides : "
                    f"{_fmt_list(sorted(self.detectors)) or '(aucun enregistré)'}.",
                )
                ok = False
                continue
            if params is None:
                params = {}
            if not isinstance(params, Mapping):
                self.err(node, name, None, path, "doit être un dictionnaire {paramètre: valeur}.")
                ok = False
                continue
            defaults = self.lexicon_defaults(name)
            if defaults is not None:
                for key in params:
                    if key not in defaults:
                        self.err(
                            params,
                            key,
                            None,
                            f"{path}.{key}",
                            f"paramètre inconnu pour {name}. Paramètres valides : "
                            f"{_fmt_list(sorted(defaults))}.",
                        )
                        ok = False
            out[str(name)] = _plain(params)
        return out if ok else None

    def lexicon_defaults(self, name: str) -> Mapping[str, Any] | None:
        if self.detectors is None:
            return None
        spec = self.detectors.get(name)
        lexicon = getattr(spec, "lexicon", None)
        if not lexicon:
            return None
        from .detectors.base import load_lexicon

        try:
            return load_lexicon(lexicon)
        except Exception:  # a missing lexicon is the detector's problem, not the rubric's
            log.warning("lexicon %s of %s unreadable; overrides not checked", lexicon, name)
            return None


def _plain(value: Any) -> Any:
    """Plain dicts and lists (drop the line-tracking subclasses)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _known_detectors() -> Mapping[str, Any]:
    from .detectors import registry

    return registry()


def _known_features() -> frozenset[str] | None:
    """Feature names published by :mod:`call_eval.features` (``FEATURE_NAMES`` or
    ``feature_names()``); None when that module does not publish them (names are then
    checked against the ``agent.|callee.|call.`` pattern only)."""
    try:
        from . import features  # type: ignore[attr-defined]
    except ImportError:
        return None
    names = getattr(features, "FEATURE_NAMES", None)
    if names is None and callable(getattr(features, "feature_names", None)):
        names = features.feature_names()
    return frozenset(names) if names else None


def _parse(
    text: str,
    file: str,
    detectors: Mapping[str, Any] | None,
    features: frozenset[str] | None,
) -> tuple[Rubric | None, list[str]]:
    problems = _Problems(file)
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problems.add(line, "YAML", f"syntaxe invalide : {getattr(exc, 'problem', exc)}.")
        return None, problems.items
    b = _Builder(problems, detectors, features)
    if not isinstance(data, Mapping):
        problems.add(1, "fichier", "une grille est un dictionnaire YAML (id, version, criteria…).")
        return None, problems.items
    _report_duplicates(data, problems)
    top_valid = {
        "id",
        "version",
        "language",
        "title",
        "pass_ratio",
        "detectors",
        "criteria",
        "label_names",
        "asr_discount",
        "description",
    }
    for key in data:
        if key not in top_valid:
            b.err(
                data,
                key,
                None,
                str(key),
                f"clé inconnue. Clés valides : {_fmt_list(sorted(top_valid))}.",
            )
    rid = data.get("id")
    if not isinstance(rid, str) or not re.match(r"^[a-z0-9][a-z0-9_.-]*$", rid):
        b.err(
            data,
            "id",
            None,
            "id",
            "identifiant manquant ou invalide (minuscules, chiffres, - _ .).",
        )
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        b.err(
            data,
            "version",
            None,
            "version",
            "doit être un entier ≥ 1 (incrémenté à chaque changement).",
        )
    language = data.get("language", "fr")
    if not isinstance(language, str):
        b.err(data, "language", None, "language", "doit être un code de langue (fr).")
    title = data.get("title", "")
    pass_ratio = data.get("pass_ratio")
    if not _is_number(pass_ratio) or not 0 < pass_ratio <= 1:
        b.err(data, "pass_ratio", None, "pass_ratio", "doit être un nombre dans ]0, 1] (ex. 0.70).")
    overrides = b.detector_overrides(data.get("detectors"), data)
    label_names = data.get("label_names") or {}
    if not isinstance(label_names, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in label_names.items()
    ):
        b.err(
            data,
            "label_names",
            None,
            "label_names",
            "doit être un dictionnaire {libellé: nom français} (ex. action:rappel: rappel).",
        )
        label_names = {}
    asr_discount = None
    node = data.get("asr_discount")
    if node is not None:
        feat = node.get("feature") if isinstance(node, Mapping) else None
        weight = node.get("weight", 1.0) if isinstance(node, Mapping) else None
        if (
            not isinstance(node, Mapping)
            or set(node) - {"feature", "weight"}
            or not isinstance(feat, str)
            or not FEATURE_NAME_RE.match(feat)
            or not _is_number(weight)
            or not 0 <= weight <= 1
        ):
            b.err(
                data,
                "asr_discount",
                None,
                "asr_discount",
                "doit être {feature: agent.asr_confidence_mean, weight: nombre dans [0, 1]}.",
            )
        elif features is not None and feat not in features:
            b.err(
                node,
                "feature",
                None,
                "asr_discount.feature",
                f"mesure inconnue {feat!r}. Mesures valides : {_fmt_list(sorted(features))}.",
            )
        else:
            asr_discount = AsrDiscount(feat, float(weight))
    crit_nodes = data.get("criteria")
    criteria: list[Criterion] = []
    if not isinstance(crit_nodes, list) or not crit_nodes:
        b.err(data, "criteria", None, "criteria", "doit être une liste non vide de critères.")
    else:
        seen: dict[str, int] = {}
        for i, node in enumerate(crit_nodes):
            crit = b.criterion(node, crit_nodes, i)
            if crit is None:
                continue
            if crit.id in seen:
                b.err(
                    node,
                    "id",
                    crit.id,
                    "id",
                    f"identifiant en double (déjà au critère n° {seen[crit.id] + 1}).",
                )
                continue
            seen[crit.id] = i
            criteria.append(crit)
    if problems.items:
        return None, problems.items
    rubric = Rubric(
        id=rid,
        version=version,
        language=language,
        pass_ratio=float(pass_ratio),
        criteria=tuple(criteria),
        detectors=overrides or {},
        label_names=dict(label_names),
        asr_discount=asr_discount,
        title=str(title),
        path=None,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )
    return rubric, []


def _report_duplicates(node: Any, problems: _Problems, path: str = "") -> None:
    if isinstance(node, _Map):
        for key, line in node.duplicates:
            problems.add(
                line,
                f"champ « {path + str(key)} »",
                "clé en double (la seconde écrase la première).",
            )
        for key, value in node.items():
            _report_duplicates(value, problems, f"{path}{key}.")
    elif isinstance(node, _Seq):
        for i, value in enumerate(node):
            _report_duplicates(value, problems, f"{path[:-1]}[{i}].")


def _read(path: Path) -> str:
    if not path.is_file():
        raise RubricError(
            f"{path}: grille introuvable. Indiquez un fichier YAML existant "
            f"(la grille par défaut est {settings.default_rubric_path()})."
        )
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RubricError(
            f"{path}: lecture impossible ({exc}). Le fichier doit être en UTF-8."
        ) from exc


def parse_rubric(
    text: str,
    *,
    source: str = "<texte>",
    detectors: Mapping[str, Any] | None | Literal["registry"] = "registry",
    features: frozenset[str] | None | Literal["module"] = "module",
) -> Rubric:
    """Parse and validate rubric text (``source`` names it in messages).

    ``detectors`` is the set of valid detector names (default: the registry; None skips the
    check); ``features`` the valid feature names (default: those published by
    :mod:`call_eval.features`; None checks the name pattern only).
    """
    dets = _known_detectors() if detectors == "registry" else detectors
    feats = _known_features() if features == "module" else features
    rubric, problems = _parse(text, source, dets, feats)  # type: ignore[arg-type]
    if rubric is None:
        more = (
            f" (+{len(problems) - 1} autre(s) problème(s) : lancez « call-eval rubric check "
            f"{source} » pour la liste)"
            if len(problems) > 1
            else ""
        )
        raise RubricError(problems[0] + more)
    return rubric


def load_rubric(path: str | Path | None = None) -> Rubric:
    """Load and validate a rubric file (default: ``settings.default_rubric_path()``)."""
    file = Path(path) if path is not None else settings.default_rubric_path()
    text = _read(file)
    rubric = parse_rubric(text, source=str(file))
    return _with_path(rubric, str(file))


def check_rubric(path: str | Path) -> list[str]:
    """Every problem of a rubric file, one French line each (empty list: the file is valid)."""
    file = Path(path)
    try:
        text = _read(file)
    except RubricError as exc:
        return [str(exc)]
    _, problems = _parse(text, str(file), _known_detectors(), _known_features())
    return problems


def _with_path(rubric: Rubric, path: str) -> Rubric:
    from dataclasses import replace

    return replace(rubric, path=path)


def describe(cond: Condition) -> str:
    """A short French description of a condition (used when it has no ``name``)."""
    if cond.name:
        return cond.name
    if isinstance(cond, DetectorCondition):
        what = cond.detector
        if cond.labels:
            what += f" [{', '.join(cond.labels)}]"
        if cond.max == 0:
            return f"aucun constat {what}"
        return f"constat {what}"
    if isinstance(cond, FeatureCondition):
        return f"mesure {cond.feature}"
    if isinstance(cond, ContextCondition):
        return "note CRM fournie" if cond.context == "crm_note" else "script d'appel fourni"
    if isinstance(cond, Not):
        return f"pas de ({describe(cond.item)})"
    joiner = " et " if isinstance(cond, AllOf) else " ou "
    return joiner.join(describe(c) for c in cond.items)


__all__: Sequence[str] = [
    "AllOf",
    "AnyOf",
    "AsrDiscount",
    "Condition",
    "ConfidenceSpec",
    "ContextCondition",
    "Criterion",
    "DetectorCondition",
    "FeatureCondition",
    "Not",
    "Rubric",
    "WherePredicate",
    "check_rubric",
    "describe",
    "load_rubric",
    "parse_rubric",
]
