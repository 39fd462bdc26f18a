"""Pure helpers of the « Entraînements » page (no Streamlit here): which criteria a trainee
assesses, attempt statuses and labels, the agreement badges, the progress table and its
Plotly figures (plotly imported lazily).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from call_eval.report import format_date, format_datetime, format_duration, format_number

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

    from call_eval.feedback import AdviceBook, Measure, ProgressRow, SelfAssessmentRow
    from call_eval.rubric import Rubric
    from call_eval.store import PracticeAttempt
    from call_eval.ui.jobs import JobState

log = logging.getLogger(__name__)

TICK_BADGES = {
    "acquis": ":green-badge[Acquis]",
    "non_acquis": ":red-badge[Non acquis]",
    "a_verifier": ":orange-badge[À vérifier]",
}
NOT_TICKED = ":gray-badge[Non coché]"
AGREEMENT_BADGES = {
    "agree": ":green-badge[:material/check: D'accord]",
    "surestimé": ":orange-badge[:material/arrow_upward: Surestimé]",
    "sous-estimé": ":violet-badge[:material/arrow_downward: Sous-estimé]",
    "none": ":gray-badge[Non comparé]",
}
BAND_COLOR = "#2ca02c"
LINE_COLOR = "#1f77b4"


@dataclass(frozen=True)
class GradedCriterion:
    """A criterion the trainee assesses themselves (the manual ones are left out)."""

    id: str
    label: str
    title: str


def gradable_criteria(
    analysis: Mapping[str, Any] | None, rubric: Rubric | None, book: AdviceBook | None
) -> list[GradedCriterion]:
    """Non-manual criteria, from the finished analysis, else from the rubric in service.

    Short titles come from the advice texts (the criterion id when none)."""

    def title(cid: str) -> str:
        return (book.criterion(cid).title if book is not None else "") or cid

    if analysis is not None and analysis.get("criteria"):
        return [
            GradedCriterion(str(c.get("id")), str(c.get("label") or ""), title(str(c.get("id"))))
            for c in analysis.get("criteria") or []
            if isinstance(c, Mapping) and not c.get("manual")
        ]
    if rubric is None:
        return []
    return [GradedCriterion(c.id, c.label, title(c.id)) for c in rubric.criteria if not c.manual]


def agreement_key(row: SelfAssessmentRow) -> str:
    """``agree``, ``surestimé``, ``sous-estimé`` or ``none`` (not compared)."""
    if row.agree is True:
        return "agree"
    return row.gap or "none"


def not_compared_reason(row: SelfAssessmentRow) -> str:
    if row.self_tick is None:
        return "vous n'avez pas coché ce critère"
    if row.suggested not in ("acquis", "non_acquis"):
        return "l'outil ne tranche pas : à vérifier à l'écoute"
    return ""


def summary_sentence(summary: Mapping[str, int], total: int) -> str:
    """« Sur 12 critères : 5 comparés (3 d'accord, 1 surestimé, 1 sous-estimé), 7 non
    comparés (non cochés, ou que l'outil ne tranche pas). »"""

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'s' if n > 1 else ''}"

    text = (
        f"Sur {total} critères : {plural(summary['compared'], 'comparé')} "
        f"({summary['agree']} d'accord, {plural(summary['surestimé'], 'surestimé')}, "
        f"{plural(summary['sous-estimé'], 'sous-estimé')})"
    )
    not_compared = total - summary["compared"]
    if not_compared:
        text += (
            f", {plural(not_compared, 'non comparé')} (non coché, ou que l'outil ne tranche pas)"
        )
    return text + "."


# --------------------------------------------------------------------------- attempts
def attempt_status(attempt: PracticeAttempt, job: JobState | None) -> tuple[str, str]:
    """(badge, plain text) of an attempt: analysis running or failed, to self-assess,
    suggestions shown."""
    if attempt.analysis_id is None:
        if job is not None and job.active:
            return ":orange-badge[:material/hourglass_top: Analyse en cours]", "Analyse en cours"
        if job is not None and job.status == "failed":
            return ":red-badge[Échec de l'analyse]", "Échec de l'analyse"
        return ":gray-badge[Pas encore analysé]", "Pas encore analysé"
    if attempt.self_assessment.revealed:
        return ":green-badge[Suggestions affichées]", "Suggestions affichées"
    if attempt.self_assessment.ticks:
        return ":blue-badge[Auto-évaluation en cours]", "Auto-évaluation en cours"
    return ":blue-badge[À auto-évaluer]", "À auto-évaluer"


def score_text(attempt: PracticeAttempt, show: bool) -> str:
    """The suggested score, once the trainee may see it."""
    if not show or attempt.suggested_acquis is None:
        return "—"
    return f"{attempt.suggested_acquis} / {attempt.criteria_total or '?'}"


def attempt_label(number: int, attempt: PracticeAttempt) -> str:
    """« Tentative 2 — 30/11/2026 à 10 h 15 — appel.wav » (stable: no status in it)."""
    return " — ".join(
        [
            f"Tentative {number}",
            format_datetime(attempt.recording.created_at),
            attempt.recording.filename,
        ]
    )


def attempt_records(
    attempts: Sequence[PracticeAttempt], jobs: Mapping[int, JobState | None], follows: bool
) -> list[dict[str, Any]]:
    """The list of attempts, newest first: number, date, file, duration, status, score (for
    a trainee, once they have seen the suggestions)."""
    out = []
    for number, attempt in reversed(list(enumerate(attempts, 1))):
        rec = attempt.recording
        _badge, status = attempt_status(attempt, jobs.get(rec.id))
        out.append(
            {
                "Tentative": number,
                "Déposée le": format_datetime(rec.created_at),
                "Fichier": rec.filename,
                "Durée": format_duration(rec.duration) if rec.duration else "—",
                "Statut": status,
                "Critères acquis (outil)": score_text(
                    attempt, follows or attempt.self_assessment.revealed
                ),
            }
        )
    return out


# --------------------------------------------------------------------------- progress
def progress_records(rows: Sequence[ProgressRow], files: Sequence[str]) -> list[dict[str, Any]]:
    """The progress table (French column names), one row per analysed attempt."""

    def num(value: float | None, digits: int) -> str:
        return "—" if value is None else format_number(float(value), digits)

    out = []
    for row, file in zip(rows, files, strict=True):
        met = "—"
        if row.acquis is not None and row.total:
            met = f"{row.acquis} / {row.total}"
        out.append(
            {
                "Tentative": row.attempt,
                "Date": format_date(row.date) if row.date else "—",
                "Fichier": file,
                "Critères acquis": met,
                "Seuil atteint": "—" if row.passed is None else ("oui" if row.passed else "non"),
                "Débit (mots/min)": num(row.agent_wpm, 0),
                "Niveau / appelé (dB)": num(row.agent_level_vs_callee_db, 1),
                "Hésitations / min": num(row.agent_fillers_per_min, 1),
                "Formulations à éviter": row.phrases_to_avoid,
            }
        )
    return out


def _x(rows: Sequence[ProgressRow]) -> list[str]:
    return [f"Tentative {r.attempt}" for r in rows]


def _hover_dates(rows: Sequence[ProgressRow]) -> list[str]:
    return [format_date(r.date) if r.date else "date inconnue" for r in rows]


def _layout(fig: go.Figure, title: str, y_title: str) -> None:
    fig.update_layout(
        title=title,
        yaxis_title=y_title,
        template="plotly_white",
        height=320,
        showlegend=False,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
    )
    fig.update_xaxes(type="category")


def criteria_figure(rows: Sequence[ProgressRow], pass_ratio: float = 0.7) -> go.Figure:
    """Criteria met per attempt (bars: green when the threshold is reached), with the
    threshold line."""
    import plotly.graph_objects as go

    total = max((r.total or 0 for r in rows), default=0) or 15
    needed = next((r.needed for r in reversed(rows) if r.needed), None) or math.ceil(
        round(pass_ratio * total, 9)
    )
    fig = go.Figure(
        go.Bar(
            x=_x(rows),
            y=[r.acquis or 0 for r in rows],
            marker_color=[BAND_COLOR if (r.acquis or 0) >= needed else "#f0a04b" for r in rows],
            customdata=_hover_dates(rows),
            text=[f"{r.acquis or 0} / {r.total or total}" for r in rows],
            textposition="outside",
            hovertemplate="%{x} (%{customdata}) : %{y} critère(s) acquis<extra></extra>",
        )
    )
    fig.add_hline(
        y=needed,
        line={"dash": "dash", "color": "#d62728"},
        annotation_text=f"seuil {pass_ratio * 100:.0f} % : {needed} / {total}",
        annotation_position="top left",
    )
    _layout(fig, "Critères acquis (suggestion de l'outil)", "Critères acquis")
    fig.update_yaxes(range=[0, total + 1.5])
    return fig


def trend_figure(
    rows: Sequence[ProgressRow],
    attribute: str,
    *,
    title: str,
    y_title: str,
    unit: str,
    low: float | None = None,
    high: float | None = None,
    digits: int = 0,
) -> go.Figure | None:
    """One agent measure over the attempts, with the rubric's band (None: no value)."""
    import plotly.graph_objects as go

    points = [
        (x, getattr(r, attribute), d)
        for x, r, d in zip(_x(rows), rows, _hover_dates(rows), strict=True)
    ]
    points = [(x, v, d) for x, v, d in points if isinstance(v, int | float)]
    if not points:
        return None
    fig = go.Figure(
        go.Scatter(
            x=[p[0] for p in points],
            y=[p[1] for p in points],
            customdata=[p[2] for p in points],
            mode="lines+markers+text",
            text=[format_number(float(p[1]), digits) for p in points],
            textposition="top center",
            line={"color": LINE_COLOR},
            marker={"size": 10},
            hovertemplate=f"%{{x}} (%{{customdata}}) : %{{y:.{digits}f}} {unit}<extra></extra>",
        )
    )
    values = [float(p[1]) for p in points]
    if low is not None and high is not None:
        fig.add_hrect(
            y0=low, y1=high, fillcolor=BAND_COLOR, opacity=0.12, line_width=0,
            annotation_text=f"plage attendue {format_number(low, 0)}–{format_number(high, 0)} {unit}",
            annotation_position="bottom right",
        )  # fmt: skip
        values += [low, high]
    elif low is not None or high is not None:
        word, limit = ("minimum", float(low)) if low is not None else ("maximum", float(high or 0))
        fig.add_hline(
            y=limit,
            line={"dash": "dash", "color": BAND_COLOR},
            annotation_text=f"{word} attendu : {format_number(limit, 1)} {unit}",
            annotation_position="top left",
        )
        values.append(limit)
    span = (max(values) - min(values)) or 1.0
    fig.update_yaxes(range=[min(values) - 0.25 * span, max(values) + 0.25 * span])
    _layout(fig, title, y_title)
    return fig


def measure_band(measure: Measure) -> str:
    """The band of a voice measure, as in the PDF report (« 120 à 210 mots/min »)."""
    from call_eval.report import band_text

    return band_text(measure.low, measure.high, measure.unit, digits=1) or "—"


def measure_value(measure: Measure) -> str:
    unit = f"\u00a0{measure.unit}" if measure.unit else ""
    digits = 0 if abs(measure.value) >= 20 else (2 if abs(measure.value) < 1 else 1)
    return f"{format_number(float(measure.value), digits)}{unit}"
