"""Reports: the Markdown view of an analysis, and the individual result sheet (JSON, PDF).

- :func:`render_markdown` — an analysis (the pipeline's JSON, schema 1.0) as Markdown for
  the terminal: call, roles and why, utterances, audio measures with the rubric's bands,
  the criteria with suggested state, confidence, reason and evidence times, score vs 70 %.
- :func:`build_result_sheet` — the *fiche individuelle de résultat* as JSON-able data, from
  :func:`call_eval.store.evaluation_export` (the juror's ticks, not the suggestions).
- :func:`result_sheet_pdf` — that sheet as a PDF (fpdf2, DejaVu fonts shipped in
  ``call_eval/data/fonts`` so accents print everywhere).

All user-facing text is French. fpdf2 and PyYAML are imported lazily.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FONTS_DIR = Path(__file__).resolve().parent / "data" / "fonts"
CERTIFICATION = "Certificat professionnel FFP — Assurer les services client en appels sortants"
SHEET_SCHEMA_VERSION = "1.0"

STATE_LABELS = {
    "acquis": "Acquis",
    "non_acquis": "Non acquis",
    "a_verifier": "À vérifier",
    None: "—",
}
ROLE_LABELS = {"agent": "Candidat", "callee": "Appelé", None: "?"}
SOURCE_LABELS = {
    "call": "Appel",
    "crm": "Note CRM",
    "interview": "Entretien technique",
    "manual": "Jury",
}
SECTION_TITLES = {
    "call": "Mise en situation professionnelle — l'appel",
    "crm": "Traçabilité — note CRM",
    "interview": "Entretien technique",
    "manual": "Appréciation du jury",
}
# French names of audio measures (unknown keys are shown as they are).
FEATURE_LABELS = {
    "source": "Source du signal",
    "utterances": "Prises de parole",
    "speech_time_s": "Temps de parole (s)",
    "talk_share": "Part du temps de parole",
    "syllables": "Syllabes",
    "syllable_rate_sps": "Débit syllabique (syllabes/s)",
    "acoustic_speech_time_s": "Temps de parole mesuré (s)",
    "articulation_time_s": "Temps d'articulation (s)",
    "level_activity": "Niveau pendant la parole (dB)",
    "level_spread_db": "Variation du niveau (dB)",
    "level_vs_agent_db": "Niveau par rapport au candidat (dB)",
    "quiet_stretch_share": "Part des passages trop faibles",
    "asr_confidence_mean": "Confiance moyenne de la transcription",
    "low_confidence_share": "Part de mots peu sûrs",
    "pitch_range_st": "Étendue de la hauteur (demi-tons)",
    "pitch_sd_st": "Variation de la hauteur (demi-tons)",
    "fillers_count": "Mots de remplissage",
    "hesitations_count": "Hésitations",
    "markers_count": "Marqueurs de discours",
    "fillers_per_min": "Mots de remplissage par minute",
    "pause_count": "Pauses",
    "pause_total_s": "Durée totale des pauses (s)",
    "pauses_per_min": "Pauses par minute",
    "longest_pause_s": "Plus longue pause (s)",
    "longest_monologue_s": "Plus long monologue (s)",
    "interruptions": "Interruptions faites",
    "interrupted": "Interruptions subies",
    "duration_s": "Durée (s)",
    "overlap_count": "Chevauchements",
    "silence_share": "Part de silence",
    "gap_median_s": "Silence médian entre tours (s)",
    "gap_max_s": "Plus long silence entre tours (s)",
    "stereo": "Stéréo (un interlocuteur par canal)",
    "speech_rate_wpm": "Débit (mots/min)",
    "articulation_rate_sps": "Débit articulatoire (syllabes/s)",
    "level_dbfs": "Niveau moyen (dBFS)",
    "level_db": "Niveau moyen (dB)",
    "level_vs_callee_db": "Niveau par rapport à l'appelé (dB)",
    "pitch_median_hz": "Hauteur médiane (Hz)",
    "pause_ratio": "Part de pauses",
    "asr_confidence": "Confiance de la transcription",
    "talk_time_s": "Temps de parole (s)",
    "talk_ratio": "Part du temps de parole",
    "agent_talk_ratio": "Part de parole du candidat",
    "duration": "Durée (s)",
    "overlap_s": "Chevauchements (s)",
    "overlaps": "Chevauchements",
    "longest_silence_s": "Plus long silence (s)",
    "turns": "Tours de parole",
    "words": "Mots",
}
FEATURE_GROUPS = {"agent": "Candidat", "callee": "Appelé", "call": "Appel"}
_FEATURE_SKIP = {"role", "source"}


# --------------------------------------------------------------------------- formatting
def format_time(seconds: float | None) -> str:
    """``mm:ss`` (``h:mm:ss`` past an hour)."""
    if seconds is None or not isinstance(seconds, int | float) or math.isnan(seconds):
        return "--:--"
    total = max(0, int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def format_duration(seconds: float | None) -> str:
    """``2 min 01 s``."""
    if seconds is None:
        return "durée inconnue"
    total = int(round(seconds))
    m, s = divmod(total, 60)
    if m >= 60:
        h, m = divmod(m, 60)
        return f"{h} h {m:02d} min {s:02d} s"
    return f"{m} min {s:02d} s" if m else f"{s} s"


def format_number(value: Any, digits: int = 2) -> str:
    """French number: decimal comma, true minus sign, at most ``digits`` decimals (trailing
    zeros dropped); None is a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int):
        return str(value).replace("-", "−")
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        text = f"{value:.{digits}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if text in ("-0", ""):
            text = "0"
        return text.replace(".", ",").replace("-", "−")
    return str(value)


def format_percent(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    return f"{ratio * 100:.0f} %"


def format_datetime(value: str | datetime | None) -> str:
    """``30/11/2026 à 10 h 15`` in local time; an unparsable string is returned as is."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone()
    return local.strftime("%d/%m/%Y à %H h %M")


def format_date(value: str | datetime | None) -> str:
    text = format_datetime(value)
    return text.split(" à ")[0]


def _md_cell(text: Any) -> str:
    return " ".join(str(text if text is not None else "").split()).replace("|", "\\|")


def _truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --------------------------------------------------------------------------- bands
def _rubric_file(rubric: Mapping[str, Any] | None) -> Path | None:
    if not rubric or not rubric.get("path"):
        return None
    path = Path(str(rubric["path"]))
    candidates = [path]
    if not path.is_absolute():
        from call_eval import settings

        candidates += [settings.home() / path, settings.rubrics_dir() / path.name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def _walk_rules(node: Any, out: dict[str, dict[str, Any]]) -> None:
    if isinstance(node, Mapping):
        feature = node.get("feature")
        if isinstance(feature, str) and _band_text(node):
            out.setdefault(feature, dict(node))
        for value in node.values():
            _walk_rules(value, out)
    elif isinstance(node, list):
        for value in node:
            _walk_rules(value, out)


def _band_text(rule: Mapping[str, Any]) -> str:
    unit = f" {rule['unit']}" if rule.get("unit") else ""
    between = rule.get("between")
    low, high = rule.get("min"), rule.get("max")
    if isinstance(between, Sequence) and not isinstance(between, str) and len(between) == 2:
        low, high = between
    if low is not None and high is not None:
        return f"{format_number(low)} à {format_number(high)}{unit}"
    if low is not None:
        return f"≥ {format_number(low)}{unit}"
    if high is not None:
        return f"≤ {format_number(high)}{unit}"
    return ""


@lru_cache(maxsize=16)
def _rules_from_file(path: str, mtime: float) -> dict[str, dict[str, Any]]:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        log.warning("rubric %s unreadable for bands: %s", path, exc)
        return {}
    out: dict[str, dict[str, Any]] = {}
    _walk_rules(data, out)
    return out


def _feature_rules(analysis: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    features = analysis.get("features") or {}
    bands = features.get("bands") if isinstance(features, Mapping) else None
    if isinstance(bands, Mapping) and bands:
        return {str(k): dict(v) for k, v in bands.items() if isinstance(v, Mapping)}
    path = _rubric_file(analysis.get("rubric"))
    if path is None:
        return {}
    return _rules_from_file(str(path), path.stat().st_mtime)


def feature_band(analysis: Mapping[str, Any], feature: str) -> tuple[float, float] | None:
    """The (low, high) band the analysis' rubric applies to a feature, when it has both."""
    rule = _feature_rules(analysis).get(feature)
    if not rule:
        return None
    between = rule.get("between")
    if isinstance(between, Sequence) and not isinstance(between, str) and len(between) == 2:
        return float(between[0]), float(between[1])
    if rule.get("min") is not None and rule.get("max") is not None:
        return float(rule["min"]), float(rule["max"])
    return None


def feature_bands(analysis: Mapping[str, Any]) -> dict[str, str]:
    """Bands the rubric applies to features, keyed ``agent.speech_rate_wpm`` → ``120 à 200``.

    Read from ``features["bands"]`` when the pipeline provides it, else from the rubric
    file the analysis names (when it is found on this machine).
    """
    features = analysis.get("features") or {}
    bands = features.get("bands") if isinstance(features, Mapping) else None
    if isinstance(bands, Mapping) and bands:
        return {
            str(k): _band_text(v) if isinstance(v, Mapping) else str(v) for k, v in bands.items()
        }
    return {k: _band_text(v) for k, v in _feature_rules(analysis).items()}


def feature_rows(analysis: Mapping[str, Any]) -> list[dict[str, str]]:
    """Scalar audio measures as rows: group, measure, value, band (empty when none)."""
    features = analysis.get("features")
    if not isinstance(features, Mapping):
        return []
    bands = feature_bands(analysis)
    rows = []
    for group, group_label in FEATURE_GROUPS.items():
        values = features.get(group)
        if not isinstance(values, Mapping):
            continue
        for key, value in values.items():
            if key in _FEATURE_SKIP or isinstance(value, Mapping | list | tuple):
                continue
            rows.append(
                {
                    "group": group_label,
                    "key": f"{group}.{key}",
                    "measure": FEATURE_LABELS.get(key, key),
                    "value": format_number(value),
                    "band": bands.get(f"{group}.{key}", ""),
                }
            )
    return rows


# --------------------------------------------------------------------------- Markdown
def render_markdown(analysis: Mapping[str, Any]) -> str:
    """The whole analysis as Markdown (the CLI's terminal report)."""
    call = analysis.get("call") or {}
    models = analysis.get("models") or {}
    rubric = analysis.get("rubric") or {}
    roles = analysis.get("roles") or {}
    lines: list[str] = []
    lines.append(f"# Analyse de l'appel « {call.get('source', '?')} »")
    lines.append("")
    details = [
        format_duration(call.get("duration")),
        str(call.get("format") or "?"),
    ]
    if call.get("sample_rate"):
        details.append(f"{format_number(call['sample_rate'] / 1000, 1)} kHz")
    if call.get("channels"):
        details.append(f"{call['channels']} " + ("canaux" if call["channels"] > 1 else "canal"))
    lines.append(f"- Appel : `{call.get('id', '?')}` — " + ", ".join(details))
    if call.get("input") == "transcript":
        lines.append("- Entrée : transcription fournie (pas d'audio analysé)")
    lines.append(f"- Analysé le : {format_datetime(call.get('analyzed_at'))}")
    asr = models.get("asr")
    if isinstance(asr, Mapping):
        extra = ", ".join(str(asr[k]) for k in ("device", "compute_type") if asr.get(k))
        asr_text = f"{asr.get('name', '?')}" + (f" ({extra})" if extra else "")
    else:
        asr_text = "aucun (transcription fournie)"
    diar = (models.get("diarization") or {}).get("backend", "?")
    lines.append(
        f"- Modèles : transcription {asr_text} ; séparation des voix {diar} ; "
        f"langue {models.get('nlp') or '—'}"
    )
    lines.append(f"- Grille : {rubric.get('id', '?')} (version {rubric.get('version', '?')})")
    lines.append("")

    lines.append("## Rôles")
    lines.append("")
    if roles:
        lines.append(
            f"- Candidat (agent) : **{roles.get('agent', '?')}** ; appelé : "
            f"**{roles.get('callee') or '—'}** — confiance "
            f"{format_percent(roles.get('confidence'))} ({roles.get('method', '?')})"
        )
        for reason in roles.get("reasons") or []:
            lines.append(f"  - {reason}")
    else:
        lines.append("- Rôles non déterminés.")
    lines.append("")

    utterances = analysis.get("utterances") or []
    lines.append(f"## Transcription ({len(utterances)} prises de parole)")
    lines.append("")
    if utterances:
        lines.append("| Début | Fin | Rôle | Texte |")
        lines.append("|---:|---:|---|---|")
        for u in utterances:
            lines.append(
                f"| {format_time(u.get('start'))} | {format_time(u.get('end'))} | "
                f"{ROLE_LABELS.get(u.get('role'), u.get('speaker', '?'))} | {_md_cell(u.get('text'))} |"
            )
    else:
        lines.append("Aucune parole transcrite.")
    lines.append("")

    rows = feature_rows(analysis)
    if rows:
        lines.append("## Mesures audio")
        lines.append("")
        lines.append("| Qui | Mesure | Valeur | Plage attendue |")
        lines.append("|---|---|---:|---|")
        for r in rows:
            lines.append(f"| {r['group']} | {r['measure']} | {r['value']} | {r['band'] or '—'} |")
        lines.append("")

    criteria = analysis.get("criteria") or []
    lines.append("## Grille d'évaluation (suggestions)")
    lines.append("")
    lines.append("| Critère | Suggestion | Confiance | Motif | Preuves |")
    lines.append("|---|---|---:|---|---|")
    for c in criteria:
        evidence = "; ".join(
            f"{format_time(e.get('start'))}–{format_time(e.get('end'))} « {_truncate(str(e.get('quote', '')), 60)} »"
            for e in c.get("evidence") or []
        )
        state = STATE_LABELS.get(c.get("suggested"), str(c.get("suggested")))
        if c.get("manual"):
            state += " (manuel)"
        lines.append(
            f"| **{c.get('id')}** {_md_cell(c.get('label'))} | {state} | "
            f"{format_percent(c.get('confidence'))} | {_md_cell(c.get('reason'))} | "
            f"{_md_cell(evidence) or '—'} |"
        )
    lines.append("")

    lines.append("## Score suggéré")
    lines.append("")
    lines.append(score_sentence(analysis.get("score") or {}, len(criteria)))
    lines.append("")
    warnings = analysis.get("warnings") or []
    if warnings:
        lines.append("## Avertissements")
        lines.append("")
        lines.extend(f"- {w}" for w in warnings)
        lines.append("")
    timings = analysis.get("timings") or {}
    if timings.get("total") is not None:
        lines.append(f"_Durée de l'analyse : {format_number(float(timings['total']), 1)} s._")
        lines.append("")
    return "\n".join(lines)


def score_sentence(score: Mapping[str, Any], n_criteria: int) -> str:
    total = int(score.get("total") or n_criteria)
    acquis = int(score.get("acquis") or 0)
    pass_ratio = float(score.get("pass_ratio") or 0.7)
    needed = int(score.get("needed") or math.ceil(pass_ratio * total - 1e-9))
    text = (
        f"**{acquis} / {total}** critères suggérés acquis ({format_percent(acquis / total if total else 0)}) "
        f"— seuil {format_percent(pass_ratio)} soit {needed} critères : "
    )
    if acquis >= needed:
        text += "**atteint**."
    else:
        text += f"**non atteint**, il en manque {needed - acquis}."
    a_verifier = score.get("a_verifier")
    if a_verifier:
        text += f" {a_verifier} critère(s) à vérifier par le jury."
    return text


# --------------------------------------------------------------------------- result sheet
def build_result_sheet(
    export: Mapping[str, Any], *, generated_at: datetime | None = None
) -> dict[str, Any]:
    """The individual result sheet as JSON-able data (from ``store.evaluation_export``)."""
    from call_eval.store.repo import juror_score

    criteria = list(export.get("criteria") or [])
    evaluation = export.get("evaluation") or {}
    pass_ratio = float(evaluation.get("pass_ratio") or 0.7)
    score = juror_score([c.get("tick") for c in criteria], pass_ratio)
    validated = evaluation.get("status") == "valide"
    recording = export.get("recording") or {}
    generated = generated_at or datetime.now(UTC)
    return {
        "document": "fiche_individuelle_de_resultat",
        "schema_version": SHEET_SCHEMA_VERSION,
        "certification": CERTIFICATION,
        "candidate": (export.get("candidate") or {}).get("name") or "",
        "juror": (export.get("juror") or {}).get("name") or "",
        "call": {
            "id": recording.get("call_id"),
            "sha256": recording.get("sha256"),
            "filename": recording.get("filename"),
            "duration": recording.get("duration"),
            "uploaded_at": recording.get("uploaded_at"),
            "analyzed_at": (export.get("analysis") or {}).get("analyzed_at"),
            "rubric": (export.get("analysis") or {}).get("rubric"),
        },
        "status": "validée" if validated else "provisoire",
        "validated": validated,
        "date": evaluation.get("validated_at") or evaluation.get("updated_at"),
        "criteria": [
            {
                "id": c.get("id"),
                "label": c.get("label"),
                "source": c.get("source"),
                "tick": c.get("tick"),
                "result": STATE_LABELS.get(c.get("tick"), "—"),
                "comment": c.get("comment") or "",
                "suggested": c.get("suggested"),
            }
            for c in criteria
        ],
        "total": {
            "acquis": score.acquis,
            "non_acquis": score.non_acquis,
            "unticked": score.unticked,
            "total": score.total,
            "ratio": round(score.ratio, 4),
            "pass_ratio": pass_ratio,
            "needed": score.needed,
        },
        "decision": score.decision,
        "generated_at": generated.isoformat(timespec="seconds"),
    }


def _sections(criteria: Iterable[Mapping[str, Any]]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    out: list[tuple[str, list[Mapping[str, Any]]]] = []
    for c in criteria:
        title = SECTION_TITLES.get(str(c.get("source")), "Autres critères")
        if not out or out[-1][0] != title:
            out.append((title, []))
        out[-1][1].append(c)
    return out


def result_sheet_pdf(sheet: Mapping[str, Any]) -> bytes:
    """Render the result sheet (from :func:`build_result_sheet`) as an A4 PDF."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    regular = FONTS_DIR / "DejaVuSans.ttf"
    bold = FONTS_DIR / "DejaVuSans-Bold.ttf"

    call = sheet.get("call") or {}
    footer_text = f"Appel {call.get('id') or '?'} — fiche générée le {format_datetime(sheet.get('generated_at'))}"

    class Sheet(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", "", 7.5)
            self.set_text_color(110, 110, 110)
            self.cell(0, 5, footer_text, align="L")
            self.set_x(self.l_margin)
            self.cell(0, 5, f"Page {self.page_no()}/{{nb}}", align="R")
            self.set_text_color(0, 0, 0)

    pdf = Sheet(orientation="P", unit="mm", format="A4")
    pdf.set_title(f"Fiche individuelle de résultat — {sheet.get('candidate') or 'candidat'}")
    pdf.set_author("call_eval")
    pdf.set_creator("call_eval")
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    pdf.set_margins(15, 14, 15)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(width, 9, "Fiche individuelle de résultat", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 9.5)
    pdf.set_text_color(60, 60, 60)
    pdf.multi_cell(width, 5, str(sheet.get("certification") or CERTIFICATION))
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)

    if not sheet.get("validated"):
        pdf.set_fill_color(255, 243, 205)
        pdf.set_font("DejaVu", "B", 9.5)
        pdf.multi_cell(
            width,
            6,
            "Document provisoire : l'évaluation n'est pas encore validée par le juré.",
            border=1,
            fill=True,
            padding=1.5,
        )
        pdf.ln(2)

    # Identity block
    info = [
        ("Candidat", sheet.get("candidate") or "non renseigné"),
        ("Juré", sheet.get("juror") or "—"),
        (
            "Appel évalué",
            f"{call.get('filename') or '?'} — {format_duration(call.get('duration'))} "
            f"(réf. {call.get('id') or '?'})",
        ),
        ("Date de l'évaluation", format_datetime(sheet.get("date"))),
        ("Statut", "Validée" if sheet.get("validated") else "Provisoire (non validée)"),
    ]
    total = sheet.get("total") or {}
    info.append(
        (
            "Résultat",
            f"{total.get('acquis', 0)} / {total.get('total', 0)} critères acquis "
            f"({format_percent(total.get('ratio'))}) — décision : "
            f"{str(sheet.get('decision') or 'incomplet').upper()}",
        )
    )
    rubric = call.get("rubric") or {}
    if rubric.get("id"):
        info.append(("Grille", f"{rubric.get('id')} (version {rubric.get('version', '?')})"))
    pdf.set_font("DejaVu", "", 9.5)
    with pdf.table(
        col_widths=(45, width - 45),
        first_row_as_headings=False,
        line_height=5.0,
        padding=1.1,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        for key, value in info:
            row = table.row()
            pdf.set_font("DejaVu", "B", 9.5)
            row.cell(key)
            pdf.set_font("DejaVu", "", 9.5)
            row.cell(str(value))
    pdf.ln(4)

    # Criteria: one table, a spanning row per section (the call, CRM, interview)
    col_widths = (12, width - 12 - 23 - 50, 23, 50)
    pdf.set_font("DejaVu", "", 8.5)
    with pdf.table(
        col_widths=col_widths,
        line_height=4.2,
        padding=(1.0, 1.2),
        headings_style=_heading_style(),
        text_align=("LEFT", "LEFT", "CENTER", "LEFT"),
    ) as table:
        head = table.row()
        for text in ("N°", "Critère", "Résultat", "Commentaire du jury"):
            head.cell(text)
        for title, criteria in _sections(sheet.get("criteria") or []):
            section = table.row()
            section.cell(title, colspan=4, style=_section_style())
            for c in criteria:
                row = table.row()
                row.cell(str(c.get("id") or ""))
                row.cell(str(c.get("label") or ""))
                tick = c.get("tick")
                colour = {"acquis": (0, 110, 50), "non_acquis": (170, 30, 30)}.get(tick, (0, 0, 0))
                row.cell(
                    STATE_LABELS.get(tick, "—") if tick else "Non coché",
                    style=_cell_style(colour, bold=bool(tick)),
                )
                row.cell(str(c.get("comment") or ""))
    pdf.ln(4)

    # Total and decision
    if pdf.will_page_break(60):
        pdf.add_page()
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(width, 7, "Résultat", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 10)
    n_total = int(total.get("total") or 0)
    acquis = int(total.get("acquis") or 0)
    pdf.multi_cell(
        width,
        5.8,
        f"Critères acquis : {acquis} / {n_total} ({format_percent(total.get('ratio'))}). "
        f"Seuil de certification : {format_percent(total.get('pass_ratio'))} des critères, "
        f"soit {total.get('needed')} / {n_total}.",
    )
    if total.get("unticked"):
        pdf.multi_cell(width, 5.8, f"Critères non cochés : {total.get('unticked')}.")
    decision = str(sheet.get("decision") or "incomplet")
    decision_text = {
        "certifié": "CERTIFIÉ — le candidat satisfait au moins 70 % des critères.",
        "non certifié": "NON CERTIFIÉ — le candidat satisfait moins de 70 % des critères.",
        "incomplet": "DÉCISION EN ATTENTE — tous les critères ne sont pas encore cochés.",
    }.get(decision, decision)
    pdf.ln(1)
    pdf.set_font("DejaVu", "B", 12)
    colour = {"certifié": (0, 110, 50), "non certifié": (170, 30, 30)}.get(decision, (90, 90, 90))
    pdf.set_text_color(*colour)
    pdf.multi_cell(width, 7, f"Décision : {decision_text}")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(5)

    # Signatures
    if pdf.will_page_break(42):
        pdf.add_page()
    box_w = (width - 8) / 2
    y = pdf.get_y()
    for i, (title, name) in enumerate(
        (
            ("Le juré", sheet.get("juror") or ""),
            ("Visa du responsable de session", ""),
        )
    ):
        x = pdf.l_margin + i * (box_w + 8)
        pdf.rect(x, y, box_w, 36)
        pdf.set_xy(x + 2, y + 2)
        pdf.set_font("DejaVu", "B", 9.5)
        pdf.cell(box_w - 4, 5, title)
        pdf.set_xy(x + 2, y + 8)
        pdf.set_font("DejaVu", "", 9)
        pdf.cell(box_w - 4, 5, f"Nom : {name}" if name else "Nom :")
        pdf.set_xy(x + 2, y + 14)
        pdf.cell(box_w - 4, 5, "Date :")
        pdf.set_xy(x + 2, y + 20)
        pdf.cell(box_w - 4, 5, "Signature :")
    pdf.set_y(y + 40)
    return bytes(pdf.output())


def _heading_style() -> Any:
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(226, 232, 240))


def _section_style() -> Any:
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(245, 247, 250), size_pt=9)


def _cell_style(colour: tuple[int, int, int], *, bold: bool) -> Any:
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD" if bold else None, color=colour)


def result_sheet_markdown(sheet: Mapping[str, Any]) -> str:
    """The result sheet as Markdown (for the terminal and plain-text archives)."""
    call = sheet.get("call") or {}
    total = sheet.get("total") or {}
    lines = [
        "# Fiche individuelle de résultat",
        "",
        f"_{sheet.get('certification') or CERTIFICATION}_",
        "",
        f"- Candidat : {sheet.get('candidate') or 'non renseigné'}",
        f"- Juré : {sheet.get('juror') or '—'}",
        f"- Appel : {call.get('filename')} ({format_duration(call.get('duration'))}, réf. {call.get('id')})",
        f"- Date : {format_datetime(sheet.get('date'))} — "
        + ("évaluation validée" if sheet.get("validated") else "document provisoire"),
        "",
        "| N° | Critère | Résultat | Commentaire |",
        "|---|---|---|---|",
    ]
    for c in sheet.get("criteria") or []:
        lines.append(
            f"| {c.get('id')} | {_md_cell(c.get('label'))} | {c.get('result')} | {_md_cell(c.get('comment'))} |"
        )
    lines += [
        "",
        f"Critères acquis : **{total.get('acquis')} / {total.get('total')}** "
        f"({format_percent(total.get('ratio'))}) — seuil {total.get('needed')} "
        f"({format_percent(total.get('pass_ratio'))}).",
        "",
        f"**Décision : {str(sheet.get('decision') or '').upper()}**",
        "",
    ]
    return "\n".join(lines)
