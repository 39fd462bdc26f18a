"""Figures for the UI and the reports (Plotly only; imported lazily).

Every function returns a ``plotly.graph_objects.Figure`` with French titles and axis labels
and accepts either the objects of the pipeline (``Utterance``, ``CallFeatures``) or their
JSON form from an analysis (``utterances`` list, ``features`` mapping), so stored analyses
can be drawn again without recomputing anything.

* :func:`speaker_timeline` — who speaks when, overlaps and interruptions marked;
* :func:`level_over_time` — active speech level per speaker, quiet stretches shaded;
* :func:`rate_over_time` — the agent's speaking rate over the call, with the band.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

    from call_eval.features import CallFeatures
    from call_eval.types import Utterance

log = logging.getLogger(__name__)

ROLE_LABELS = {"agent": "Candidat", "callee": "Appelé"}
COLORS = {"agent": "#1f77b4", "callee": "#ff7f0e", "overlap": "#d62728", "band": "#2ca02c"}
OVERLAP_LABEL = "Chevauchements"
_TO = {"agent": "au candidat", "callee": "à l'appelé"}
_WHO = {"agent": "le candidat", "callee": "l'appelé"}
TIME_AXIS = "Temps (s)"


def _features_dict(features: CallFeatures | Mapping[str, Any]) -> Mapping[str, Any]:
    return features if isinstance(features, Mapping) else features.to_dict()


def _utt(u: Utterance | Mapping[str, Any]) -> tuple[str | None, float, float, str]:
    if isinstance(u, Mapping):
        return u.get("role"), float(u["start"]), float(u["end"]), str(u.get("text") or "")
    return u.role, float(u.start), float(u.end), u.text


def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _layout(fig: go.Figure, title: str, y_title: str) -> None:
    fig.update_layout(
        title=title,
        xaxis_title=TIME_AXIS,
        yaxis_title=y_title,
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
    )


def speaker_timeline(
    utterances: Sequence[Utterance | Mapping[str, Any]],
    *,
    features: CallFeatures | Mapping[str, Any] | None = None,
    title: str = "Qui parle quand",
) -> go.Figure:
    """Horizontal bars per speaker along the call; overlaps on their own row.

    Overlaps come from ``features`` (``call.overlaps``) when given, else they are computed
    from the utterances with the default parameters. Interruptions get a marker saying who
    cut whom off.
    """
    import plotly.graph_objects as go

    rows = [_utt(u) for u in utterances]
    fig = go.Figure()
    for role in ("agent", "callee"):
        mine = [r for r in rows if r[0] == role and r[2] > r[1]]
        if not mine:
            continue
        fig.add_trace(
            go.Bar(
                name=ROLE_LABELS[role],
                orientation="h",
                y=[ROLE_LABELS[role]] * len(mine),
                base=[s for _, s, _, _ in mine],
                x=[e - s for _, s, e, _ in mine],
                marker_color=COLORS[role],
                hovertext=[f"{s:.1f}–{e:.1f} s : {_short(t)}" for _, s, e, t in mine],
                hoverinfo="text",
            )
        )
    if features is not None:
        overlaps = list((_features_dict(features).get("call") or {}).get("overlaps") or [])
    else:
        from call_eval.features.params import load_params
        from call_eval.features.timing import find_overlaps
        from call_eval.types import Utterance as U

        utts = [U(str(r or ""), s, e, t, (), r) for r, s, e, t in rows if r]  # type: ignore[arg-type]
        overlaps = [o.to_dict() for o in find_overlaps(utts, load_params()["turns"])]
    if overlaps:
        fig.add_trace(
            go.Bar(
                name=OVERLAP_LABEL,
                orientation="h",
                y=[OVERLAP_LABEL] * len(overlaps),
                base=[o["start"] for o in overlaps],
                x=[o["end"] - o["start"] for o in overlaps],
                marker_color=COLORS["overlap"],
                hovertext=[
                    f"{o['start']:.1f} s : {_WHO.get(o['by'], o['by'])} parle en même temps que "
                    f"{_WHO.get(o['over'], o['over'])} ({o['end'] - o['start']:.1f} s)"
                    for o in overlaps
                ],
                hoverinfo="text",
            )
        )
        cuts = [o for o in overlaps if o.get("interruption")]
        if cuts:
            fig.add_trace(
                go.Scatter(
                    name="Interruptions",
                    mode="markers",
                    x=[o["start"] for o in cuts],
                    y=[OVERLAP_LABEL] * len(cuts),
                    marker={"symbol": "x", "size": 11, "color": "black"},
                    hovertext=[
                        f"{o['start']:.1f} s : {_WHO.get(o['by'], o['by'])} coupe la "
                        f"parole {_TO.get(o['over'], o['over'])}"
                        for o in cuts
                    ],
                    hoverinfo="text",
                )
            )
    _layout(fig, title, "")
    fig.update_layout(barmode="overlay", bargap=0.35)
    fig.update_yaxes(
        categoryorder="array",
        categoryarray=[OVERLAP_LABEL, ROLE_LABELS["callee"], ROLE_LABELS["agent"]],
    )
    return fig


def level_over_time(
    features: CallFeatures | Mapping[str, Any],
    *,
    title: str = "Niveau de la voix au fil de l'appel",
) -> go.Figure:
    """Active speech level (dBFS) per block of speech, one line per speaker.

    A dotted line marks each speaker's overall active level; the agent's quiet stretches
    (far below their own median) are shaded.
    """
    import plotly.graph_objects as go

    f = _features_dict(features)
    series = (f.get("series") or {}).get("level") or {}
    fig = go.Figure()
    for role in ("agent", "callee"):
        pts = series.get(role) or []
        if not pts:
            continue
        fig.add_trace(
            go.Scatter(
                name=ROLE_LABELS[role],
                mode="lines+markers",
                x=[p["t"] for p in pts],
                y=[p["dbfs"] for p in pts],
                line={"color": COLORS[role]},
                marker={"size": 4},
                connectgaps=False,
                hovertemplate="%{x:.0f} s : %{y:.1f} dBFS<extra>" + ROLE_LABELS[role] + "</extra>",
            )
        )
        sp = f.get(role) or {}
        if sp.get("level_dbfs") is not None:
            fig.add_hline(
                y=sp["level_dbfs"],
                line={"dash": "dot", "color": COLORS[role]},
                annotation_text=f"{ROLE_LABELS[role]} : {sp['level_dbfs']:.1f} dBFS",
            )
        for q in sp.get("quiet_stretches") or []:
            fig.add_vrect(
                x0=q["start"],
                x1=q["end"],
                fillcolor=COLORS["overlap"],
                opacity=0.15,
                line_width=0,
                annotation_text="voix faible",
            )
    _layout(fig, title, "Niveau actif (dBFS)")
    return fig


def _rubric_rate_band(feature: str = "agent.speech_rate_wpm") -> tuple[float, float] | None:
    """The ``between`` band the default rubric applies to ``feature``, if it has one."""
    try:
        import yaml

        from call_eval import settings

        data = yaml.safe_load(settings.default_rubric_path().read_text(encoding="utf-8"))
    except Exception as exc:  # no rubric here: draw without a band
        log.info("no rubric band for %s: %s", feature, exc)
        return None

    def walk(node: Any) -> tuple[float, float] | None:
        if isinstance(node, Mapping):
            if node.get("feature") == feature and isinstance(node.get("between"), list):
                lo, hi = node["between"]
                return float(lo), float(hi)
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            return None
        for child in children:
            found = walk(child)
            if found:
                return found
        return None

    return walk(data)


def rate_over_time(
    features: CallFeatures | Mapping[str, Any],
    *,
    band: tuple[float, float] | None = None,
    role: str = "agent",
    title: str | None = None,
) -> go.Figure:
    """Speaking rate (words/min) over the call: sliding window and per turn, with the band.

    ``band`` (low, high) is drawn as a shaded area; when None it is read from the default
    rubric (``agent.speech_rate_wpm`` ``between``), and left out when there is none.
    """
    import plotly.graph_objects as go

    f = _features_dict(features)
    rate = ((f.get("series") or {}).get("rate") or {}).get(role) or {}
    params = f.get("params") or {}
    window_s = (params.get("rate") or {}).get("window_s", 10)
    fig = go.Figure()
    win = rate.get("window") or []
    if win:
        fig.add_trace(
            go.Scatter(
                name=f"Débit (fenêtre glissante de {window_s:g} s)",
                mode="lines",
                x=[p["t"] for p in win],
                y=[p["wpm"] for p in win],
                line={"color": COLORS.get(role, "#333")},
                hovertemplate="%{x:.0f} s : %{y:.0f} mots/min<extra></extra>",
            )
        )
    per = rate.get("per_utterance") or []
    if per:
        fig.add_trace(
            go.Scatter(
                name="Débit par tour",
                mode="markers",
                x=[(p["start"] + p["end"]) / 2 for p in per],
                y=[p["wpm"] for p in per],
                marker={"color": COLORS.get(role, "#333"), "symbol": "circle-open", "size": 8},
                hovertemplate="tour à %{x:.0f} s : %{y:.0f} mots/min<extra></extra>",
            )
        )
    if band is None and role == "agent":
        band = _rubric_rate_band()
    if band is not None:
        lo, hi = band
        fig.add_hrect(
            y0=lo,
            y1=hi,
            fillcolor=COLORS["band"],
            opacity=0.12,
            line_width=0,
            annotation_text=f"plage attendue {lo:g}–{hi:g} mots/min",
            annotation_position="top left",
        )
    sp = f.get(role) or {}
    if sp.get("speech_rate_wpm") is not None:
        fig.add_hline(
            y=sp["speech_rate_wpm"],
            line={"dash": "dot", "color": "#555"},
            annotation_text=f"moyenne : {sp['speech_rate_wpm']:.0f} mots/min",
            annotation_position="bottom right",
        )
    whose = {"agent": "du candidat", "callee": "de l'appelé"}.get(role, role)
    _layout(fig, title or f"Débit de parole {whose} au fil de l'appel", "Débit (mots/min)")
    return fig


__all__ = ["level_over_time", "rate_over_time", "speaker_timeline"]
