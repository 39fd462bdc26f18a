"""Pure helpers of the « Calibration des grilles » page (no Streamlit here).

They turn calibration reports and comparisons (:mod:`call_eval.calibration`) into the rows
of the page's tables, fingerprint a calibration set (so that one
:class:`~call_eval.calibration.Rescorer` is kept per set), load uploaded calibration files,
and prepare the rubric editor (phrase lists as text, parameters grouped by criterion,
what changed between two texts). All text meant for the user is French.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from call_eval.calibration import (
    STATE_NAMES,
    CalibrationCall,
    CalibrationError,
    CalibrationReport,
    CriterionMetrics,
    Rescorer,
    RubricComparison,
    evidence_line,
    fmt_number,
    fmt_ratio,
    load_calibration_set,
)
from call_eval.types import STATES

log = logging.getLogger(__name__)

SET_FILE_TYPES = ("yaml", "yml", "json")
EFFECT_MARKS = {
    "corrigée": "↑ corrigée (rejoint le juré)",
    "dégradée": "↓ dégradée (s'écarte du juré)",
    "toujours en désaccord": "= toujours en désaccord",
    "sans coche de référence": "sans coche de référence",
}


# --------------------------------------------------------------------------- the set


class SetScorer:
    """One :class:`Rescorer` for one calibration set, with the reports (and comparisons)
    of the rubric texts already scored. Shared between sessions: one lock."""

    def __init__(self, calls: Sequence[CalibrationCall], keep: int = 12) -> None:
        self.rescorer = Rescorer(calls)
        self._lock = threading.Lock()
        self._keep = keep
        self._reports: OrderedDict[str, CalibrationReport] = OrderedDict()
        self._comparisons: OrderedDict[tuple[str, str], RubricComparison] = OrderedDict()

    def report(self, key: str, rubric: Any) -> CalibrationReport:
        """The report of ``rubric`` (a path or a Rubric), computed once per ``key``."""
        with self._lock:
            if key in self._reports:
                self._reports.move_to_end(key)
                return self._reports[key]
            report = self.rescorer.calibrate(rubric)
            self._reports[key] = report
            while len(self._reports) > self._keep:
                self._reports.popitem(last=False)
            log.info(
                "calibration: %d call(s) re-scored in %.3f s",
                len(report.calls),
                report.timings.get("rescoring_s", 0.0),
            )
            return report

    def compare(self, key_a: str, rubric_a: Any, key_b: str, rubric_b: Any) -> RubricComparison:
        with self._lock:
            pair = (key_a, key_b)
            if pair not in self._comparisons:
                self._comparisons[pair] = self.rescorer.compare(rubric_a, rubric_b)
                while len(self._comparisons) > self._keep:
                    self._comparisons.popitem(last=False)
            self._comparisons.move_to_end(pair)
            return self._comparisons[pair]


def set_fingerprint(calls: Sequence[CalibrationCall]) -> str:
    """A hash of everything re-scoring and the report read from a set (transcripts,
    features, script, CRM note, ticks and comments): equal sets share one Rescorer."""
    digest = hashlib.sha256()
    for c in calls:
        part = {
            "id": c.call_id,
            "utterances": [(u.role, u.speaker, u.start, u.end, u.text) for u in c.utterances],
            "audio": c.audio_path,
            "features": sorted(c.features_flat.items()),
            "script": list(c.script_questions),
            "crm": c.crm_note,
            "labels": sorted(c.labels.items()),
            "jurors": {k: sorted(v.items()) for k, v in c.juror_labels.items()},
            "why": sorted(c.label_why.items()),
            "juror_why": {k: sorted(v.items()) for k, v in c.juror_why.items()},
            "nlp": c.nlp_model,
            "title": c.title,
        }
        digest.update(json.dumps(part, ensure_ascii=False, sort_keys=True, default=str).encode())
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class SetSummary:
    calls: int
    multi_juror: int  # calls ticked by at least two jurors
    jurors: tuple[str, ...]
    with_reference: int  # calls with reference ticks (labels, or a jurors' majority)

    @property
    def text(self) -> str:
        """« 3 appels, dont 3 notés par plusieurs jurés (jurés : …). »"""
        if not self.calls:
            return "Aucun appel."
        out = f"**{self.calls}** appel{'s' if self.calls > 1 else ''}"
        if self.multi_juror:
            out += f", dont **{self.multi_juror}** noté(s) par plusieurs jurés"
        else:
            out += ", chacun noté par un seul juré (pas d'accord entre jurés à mesurer)"
        if self.jurors:
            out += f" — jurés : {', '.join(self.jurors)}"
        return out + "."


def summarize_set(calls: Sequence[CalibrationCall]) -> SetSummary:
    jurors = tuple(dict.fromkeys(j for c in calls for j in c.juror_labels))
    return SetSummary(
        calls=len(calls),
        multi_juror=sum(1 for c in calls if len(c.juror_labels) >= 2),
        jurors=jurors,
        with_reference=sum(1 for c in calls if c.reference()),
    )


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_name(name: str) -> str:
    """A plain file name (no folders, no odd characters) for an uploaded file."""
    base = Path(str(name).replace("\\", "/")).name
    return _SAFE_NAME.sub("_", base).strip("._") or "appel.yaml"


def load_uploaded_set(files: Sequence[tuple[str, bytes]]) -> list[CalibrationCall]:
    """Calls from uploaded calibration files (``(name, bytes)``): the YAML files are
    written to a temporary folder (with any analysis JSON uploaded beside them, which a
    YAML file may name in ``analysis:``) and read with :func:`load_calibration_set`.

    Raises :class:`CalibrationError` (French) for an empty upload, a file of another kind,
    or a malformed file."""
    if not files:
        raise CalibrationError("Aucun fichier déposé : choisissez un ou plusieurs fichiers YAML.")
    with tempfile.TemporaryDirectory(prefix="calibration-") as tmp:
        folder = Path(tmp)
        yaml_files: list[Path] = []
        seen: set[str] = set()
        for name, data in files:
            safe = safe_file_name(name)
            ext = safe.rsplit(".", 1)[-1].lower() if "." in safe else ""
            if ext not in SET_FILE_TYPES:
                raise CalibrationError(
                    f"{name} : type de fichier non accepté. Déposez des fichiers d'appel YAML "
                    "(.yaml, .yml), et au besoin le JSON d'analyse qu'ils citent."
                )
            if safe in seen:
                raise CalibrationError(f"{name} : fichier déposé deux fois.")
            seen.add(safe)
            path = folder / safe
            path.write_bytes(data)
            if ext in ("yaml", "yml"):
                yaml_files.append(path)
        if not yaml_files:
            raise CalibrationError(
                "Aucun fichier d'appel YAML parmi les fichiers déposés (un JSON d'analyse "
                "seul ne suffit pas : il faut le fichier YAML qui le cite, avec les coches)."
            )
        calls = load_calibration_set(sorted(yaml_files))
    # The files are gone: keep only a readable source (the name of the uploaded file).
    return [_renamed_source(c) for c in calls]


def _renamed_source(call: CalibrationCall) -> CalibrationCall:
    from dataclasses import replace

    return replace(call, source=f"fichier {Path(call.source).name}")


# --------------------------------------------------------------------------- report rows
def criterion_rows(report: CalibrationReport) -> list[dict[str, Any]]:
    """One row per compared criterion: n, agreement, Cohen's kappa, precision / recall of
    « acquis », number of disagreements."""
    disagreements: dict[str, int] = {}
    for d in report.disagreements:
        disagreements[d.criterion] = disagreements.get(d.criterion, 0) + 1
    rows = []
    for m in report.criteria:
        rows.append(
            {
                "Critère": m.id,
                "Libellé": m.label,
                "n": m.n,
                "Accord": f"{fmt_ratio(m.agreement)} ({m.agree}/{m.n})",
                "Kappa de Cohen": fmt_number(m.kappa),
                "Précision « acquis »": fmt_ratio(m.precision),
                "Rappel « acquis »": fmt_ratio(m.recall),
                "Désaccords": disagreements.get(m.id, 0),
            }
        )
    return rows


def confusion_rows(metrics: CriterionMetrics) -> list[dict[str, Any]]:
    """The confusion of states: one row per juror state, one column per suggestion."""
    rows = []
    for a in STATES:
        row: dict[str, Any] = {"Juré \\ suggestion": STATE_NAMES[a]}
        for b in STATES:
            row[STATE_NAMES[b]] = int(metrics.confusion.get(a, {}).get(b, 0))
        row["Total"] = sum(int(v) for v in metrics.confusion.get(a, {}).values())
        rows.append(row)
    return rows


def call_rows(report: CalibrationReport) -> list[dict[str, Any]]:
    rows = []
    for c in report.calls:
        rows.append(
            {
                "Appel": c.call_id,
                "Titre": c.title,
                "Accord": f"{c.agree}/{c.compared}",
                "Acquis (outil)": c.suggested_acquis,
                "Acquis (juré)": c.juror_acquis,
                "Score (outil)": f"{c.score.acquis}/{c.score.total}"
                + (" réussi" if c.score.passed else ""),
            }
        )
    return rows


def juror_rows(report: CalibrationReport) -> list[dict[str, Any]]:
    """Agreement between jurors per criterion (Fleiss' kappa), then all criteria."""
    items = [*report.juror_criteria, *([report.juror_overall] if report.juror_overall else [])]
    return [
        {
            "Critère": "Ensemble" if j.id == "ensemble" else j.id,
            "Notés par ≥ 2 jurés": j.subjects,
            "Accord observé": fmt_ratio(j.observed),
            "Kappa de Fleiss": fmt_number(j.fleiss_kappa),
        }
        for j in items
    ]


def per_juror_rows(report: CalibrationReport) -> list[dict[str, Any]]:
    return [
        {
            "Juré": p.juror,
            "Coches comparées": p.n,
            "Accord avec l'outil": fmt_ratio(p.agreement),
            "Kappa de Cohen": fmt_number(p.kappa),
        }
        for p in report.per_juror
    ]


def state_name(state: str | None) -> str:
    return STATE_NAMES.get(state or "", state or "—")


def evidence_lines(evidence: Iterable[Any]) -> list[str]:
    """« [0:12–0:15] candidat : « … » » for each quote (speaker and time)."""
    return [evidence_line(e) for e in evidence]


def timing_text(report: CalibrationReport) -> str:
    t = report.timings
    calls = int(t.get("calls", len(report.calls)))
    text = (
        f"Re-notation (détecteurs + notation) de {calls} appel(s) : "
        f"{fmt_number(t.get('rescoring_s'), 2)} s"
    )
    if t.get("models_s"):
        text += f" · chargement des modèles : {fmt_number(t.get('models_s'), 1)} s (une fois)"
    if t.get("audio_analysis_s"):
        text += f" · analyse des enregistrements : {fmt_number(t['audio_analysis_s'], 1)} s"
    return text + "."


# --------------------------------------------------------------------------- comparison
def delta_points(before: float | None, after: float | None, minus: str = "−") -> str:
    """« +12,5 pts », « −3 pts », « = » or « — » (percentage points). ``minus="-"`` for
    a metric's delta (Streamlit reads the sign from an ASCII hyphen)."""
    if before is None or after is None:
        return "—"
    diff = round(100 * (after - before), 1)
    if diff == 0:
        return "="
    text = f"{abs(diff):.1f}".replace(".", ",").removesuffix(",0")
    return f"{'+' if diff > 0 else minus}{text} pts"


def comparison_rows(comparison: RubricComparison) -> list[dict[str, Any]]:
    """Agreement and kappa per criterion, before and after, with the change."""
    return [
        {
            "Critère": d.id,
            "Libellé": d.label,
            "n": d.n_after or d.n_before,
            "Accord avant": fmt_ratio(d.agreement_before),
            "Accord après": fmt_ratio(d.agreement_after),
            "Écart": delta_points(d.agreement_before, d.agreement_after),
            "Kappa avant": fmt_number(d.kappa_before),
            "Kappa après": fmt_number(d.kappa_after),
            "Suggestions changées": d.changed,
        }
        for d in comparison.criteria
    ]


def change_rows(comparison: RubricComparison) -> list[dict[str, Any]]:
    """The suggestions that change: call, criterion, before → after, the juror's tick,
    and whether the change brings the suggestion closer to the juror."""
    titles = {c.call_id: c.title for c in comparison.after.calls}
    return [
        {
            "Appel": ch.call_id,
            "Titre": titles.get(ch.call_id, ""),
            "Critère": ch.criterion,
            "Avant": state_name(ch.before),
            "Après": state_name(ch.after),
            "Coche du juré": state_name(ch.juror),
            "Effet": EFFECT_MARKS.get(ch.effect, ch.effect),
        }
        for ch in comparison.changes
    ]


def effect_counts(comparison: RubricComparison) -> dict[str, int]:
    out: dict[str, int] = {}
    for ch in comparison.changes:
        out[ch.effect] = out.get(ch.effect, 0) + 1
    return out


# --------------------------------------------------------------------------- editor
def phrases_to_text(value: Iterable[str]) -> str:
    """A phrase list as the text of a text area: one phrase per line."""
    return "\n".join(str(v) for v in value)


def text_to_phrases(text: str) -> tuple[str, ...]:
    """One phrase per line; blank lines dropped, spaces trimmed, repeats dropped."""
    out: list[str] = []
    for line in str(text or "").splitlines():
        phrase = line.strip()
        if phrase and phrase not in out:
            out.append(phrase)
    return tuple(out)


def same_value(a: Any, b: Any) -> bool:
    """Equal parameter values (numbers compared as floats, lists as tuples)."""
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return tuple(a) == tuple(b)
    return a == b


def value_text(value: Any) -> str:
    """A parameter value, short, in French (numbers with a decimal comma)."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int | float):
        return f"{value:g}".replace(".", ",").replace("-", "−")
    if isinstance(value, list | tuple):
        shown = ", ".join(f"« {v} »" for v in list(value)[:4])
        more = f" … (+{len(value) - 4})" if len(value) > 4 else ""
        return f"{len(value)} formulation(s) : {shown}{more}" if value else "(aucune)"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def changed_parameters(before: Sequence[Any], after: Sequence[Any]) -> list[dict[str, str]]:
    """The parameters whose value differs between two lists of editable parameters (by
    key): what changed, before and after, in French."""
    old = {p.key: p for p in before}
    rows = []
    for p in after:
        q = old.get(p.key)
        if q is None:
            rows.append({"Paramètre": p.label, "Avant": "(absent)", "Après": value_text(p.value)})
        elif not same_value(q.value, p.value):
            rows.append(
                {"Paramètre": p.label, "Avant": value_text(q.value), "Après": value_text(p.value)}
            )
    new = {p.key for p in after}
    for p in before:
        if p.key not in new:
            rows.append({"Paramètre": p.label, "Avant": value_text(p.value), "Après": "(retiré)"})
    return rows


def group_parameters(
    params: Sequence[Any], criterion_labels: Mapping[str, str] | None = None
) -> list[tuple[str, list[Any]]]:
    """Parameters grouped for the form: general settings first, then one group per
    criterion (in grid order), then detector settings not tied to one criterion."""
    labels = dict(criterion_labels or {})
    general: list[Any] = []
    by_criterion: dict[str, list[Any]] = {}
    other: list[Any] = []
    for p in params:
        crit = getattr(p, "criterion", None)
        if crit:
            by_criterion.setdefault(str(crit), []).append(p)
        elif getattr(p, "source", "grille") == "lexique" or getattr(p, "kind", "") == "phrases":
            other.append(p)
        else:
            general.append(p)
    order = {cid: i for i, cid in enumerate(labels)}
    groups: list[tuple[str, list[Any]]] = []
    if general:
        groups.append(("Réglages généraux", general))
    for cid in sorted(by_criterion, key=lambda c: (order.get(c, len(order)), c)):
        label = labels.get(cid)
        title = f"{cid} — {label}" if label else cid
        groups.append((title, by_criterion[cid]))
    if other:
        groups.append(("Détecteurs (tous critères)", other))
    return groups


def criterion_labels_from_text(text: str) -> dict[str, str]:
    """``{criterion id: label}`` read from a rubric text (empty when unreadable)."""
    import yaml

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return {}
    out: dict[str, str] = {}
    for c in data.get("criteria") or [] if isinstance(data, Mapping) else []:
        if isinstance(c, Mapping) and c.get("id"):
            out[str(c["id"])] = str(c.get("label") or "")
    return out


def changed_lines(before: str, after: str) -> int:
    """How many lines differ between two texts (added or removed)."""
    import difflib

    return sum(
        1
        for line in difflib.ndiff(before.splitlines(), after.splitlines())
        if line[:2] in ("+ ", "- ")
    )


def unified_diff(before: str, after: str, a: str = "avant", b: str = "après") -> str:
    import difflib

    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), a, b, n=2
        )
    )


def version_label(version: Any) -> str:
    """« cp-ffp-appels-sortants v2 (en service) — 30/11/2026 — note » for a selectbox."""
    parts = [str(version.label)]
    created = getattr(version, "created_at", None)
    if created is not None:
        parts.append(f"{created.astimezone():%d/%m/%Y %H:%M}")
    note = " ".join(str(getattr(version, "note", "") or "").split())
    if note:
        parts.append(note if len(note) <= 60 else note[:57] + "…")
    return " — ".join(parts)


def detector_name(param: Any) -> str:
    """The detector of a phrase-list parameter (« consent_request.v1 »)."""
    label = str(getattr(param, "label", ""))
    if " — " in label:
        return label.split(" — ", 1)[0]
    match = re.match(r"detectors\.(.+?\.v\d+)\.", str(getattr(param, "key", "")))
    return match.group(1) if match else "?"


def list_label(param: Any) -> str:
    """The short name of a phrase list within its detector (« liste « lists.days » …»)."""
    label = str(getattr(param, "label", ""))
    return label.split(" — ", 1)[1] if " — " in label else label


def phrase_groups(params: Sequence[Any]) -> dict[str, list[Any]]:
    """Phrase-list parameters by detector, detectors sorted by name. A lexicon serves a
    family of detectors: the lists of the detector's own section (« leave_taking.… » for
    ``leave_taking.v1``) come first, then the shared ones, in lexicon order."""
    out: dict[str, list[Any]] = {}
    for p in params:
        if getattr(p, "kind", "") == "phrases":
            out.setdefault(detector_name(p), []).append(p)
    for name, items in out.items():
        own = f"detectors.{name}.{name.split('.v')[0]}."
        items.sort(key=lambda p: not str(p.key).startswith(own))  # stable: lexicon order
    return dict(sorted(out.items()))


def detector_criteria(text: str) -> dict[str, list[str]]:
    """``{detector: [criterion ids whose conditions read it]}`` from a rubric text."""
    import yaml

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return {}
    out: dict[str, list[str]] = {}

    def walk(node: Any, cid: str) -> None:
        if isinstance(node, Mapping):
            name = node.get("detector")
            if isinstance(name, str) and cid not in out.setdefault(name, []):
                out[name].append(cid)
            for value in node.values():
                walk(value, cid)
        elif isinstance(node, list):
            for value in node:
                walk(value, cid)

    criteria = data.get("criteria") if isinstance(data, Mapping) else None
    for c in criteria or []:
        if isinstance(c, Mapping) and c.get("id"):
            walk(c, str(c["id"]))
    return out


def number_widget_args(param: Any) -> dict[str, Any]:
    """``value``, ``step`` and ``format`` of the number input of a numeric parameter."""
    value = float(param.value)
    if getattr(param, "integer", False):
        return {"value": int(round(value)), "step": 1, "format": "%d"}
    magnitude = abs(value)
    step = 1.0 if magnitude >= 10 else 0.1 if magnitude >= 1 else 0.05
    return {"value": value, "step": step, "format": "%g"}


__all__ = [
    "EFFECT_MARKS",
    "SET_FILE_TYPES",
    "SetSummary",
    "call_rows",
    "change_rows",
    "changed_lines",
    "changed_parameters",
    "comparison_rows",
    "confusion_rows",
    "criterion_labels_from_text",
    "criterion_rows",
    "delta_points",
    "detector_criteria",
    "detector_name",
    "effect_counts",
    "evidence_lines",
    "group_parameters",
    "juror_rows",
    "list_label",
    "load_uploaded_set",
    "number_widget_args",
    "per_juror_rows",
    "phrase_groups",
    "phrases_to_text",
    "safe_file_name",
    "same_value",
    "set_fingerprint",
    "state_name",
    "summarize_set",
    "text_to_phrases",
    "timing_text",
    "unified_diff",
    "value_text",
    "version_label",
]
