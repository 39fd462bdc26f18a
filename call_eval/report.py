"""Reports: the Markdown view of an analysis, and the individual result sheet (JSON, PDF).

- :func:`render_markdown` — an analysis (the pipeline's JSON, schema 1.0) as Markdown for
  the terminal: call, roles and why, utterances, audio measures with the rubric's bands,
  the criteria with suggested state, confidence, reason and evidence times, score vs 70 %.
- :func:`build_result_sheet` — the *fiche individuelle de résultat* as JSON-able data, from
  :func:`call_eval.store.evaluation_export` (the juror's ticks, not the suggestions).
- :func:`result_sheet_pdf` — that sheet as a PDF (fpdf2, DejaVu fonts shipped in
  ``call_eval/data/fonts`` so accents print everywhere). From
  :func:`call_eval.store.jury_sheet_export` it is the *official* sheet: the jury's final
  ticks and decision, every juror's signature block and the manager's countersignature.
- :func:`build_session_minutes` / :func:`session_minutes_pdf` — the session minutes
  (procès-verbal): the session, its jury, each candidate's decision, the jurors' signature
  blocks and the session manager's countersignature (from
  :func:`call_eval.store.minutes_export`); :func:`results_csv` — the results for the office.
- :func:`annual_review_markdown` / :func:`annual_review_csv` — the yearly review
  (conseil de perfectionnement) from :func:`call_eval.store.annual_review`.
- :func:`feedback_pdf` / :func:`feedback_markdown` — the trainee's feedback on a practice
  call (:func:`call_eval.feedback.build_feedback`): strengths, what to work on with the
  moment and a better wording, phrases to avoid, voice measures, and optionally the
  self-assessment beside the tool's suggestions and the progress over attempts.

All user-facing text is French. fpdf2 and PyYAML are imported lazily.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from call_eval.feedback import Feedback, ProgressRow, SelfAssessmentRow

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


def band_text(low: Any, high: Any, unit: str | None = None, digits: int | None = None) -> str:
    """« 120 à 210 mots/min », « ≥ −12 dB », « ≤ 6,8 syll/s »; "" without bounds."""

    def num(x: Any) -> str:
        return format_number(float(x), digits) if digits is not None else format_number(x)

    suffix = f" {unit}" if unit else ""
    if low is not None and high is not None:
        return f"{num(low)} à {num(high)}{suffix}"
    if low is not None:
        return f"≥ {num(low)}{suffix}"
    if high is not None:
        return f"≤ {num(high)}{suffix}"
    return ""


def _band_text(rule: Mapping[str, Any]) -> str:
    between = rule.get("between")
    low, high = rule.get("min"), rule.get("max")
    if isinstance(between, Sequence) and not isinstance(between, str) and len(between) == 2:
        low, high = between
    return band_text(low, high, rule.get("unit"))


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
        # Official (jury) sheet only: the jury, the session, the manager, the attempt.
        "official": bool(export.get("jury")),
        "jury": [dict(j) for j in export.get("jury") or []],
        "manager": export.get("manager") or "",
        "session": dict(export.get("session") or {}),
        "attempt": dict(export.get("attempt") or {}),
        "annulled": bool(export.get("annulled")),
        "absent": bool(export.get("absent")),
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
    from fpdf.enums import XPos, YPos

    call = sheet.get("call") or {}
    footer_text = f"Appel {call.get('id') or '?'} — fiche générée le {format_datetime(sheet.get('generated_at'))}"

    pdf, width = _new_document(
        f"Fiche individuelle de résultat — {sheet.get('candidate') or 'candidat'}",
        "Fiche individuelle de résultat",
        str(sheet.get("certification") or CERTIFICATION),
        footer_text,
    )

    official = bool(sheet.get("official"))
    if not sheet.get("validated") or sheet.get("annulled"):
        pdf.set_fill_color(255, 243, 205)
        pdf.set_font("DejaVu", "B", 9.5)
        if sheet.get("annulled"):
            banner = "Session annulée pour ce candidat : recours jugé fondé."
        elif official:
            banner = "Document provisoire : le jury n'a pas encore arrêté sa décision."
        else:
            banner = "Document provisoire : l'évaluation n'est pas encore validée par le juré."
        pdf.multi_cell(
            width,
            6,
            banner,
            align="L",
            border=1,
            fill=True,
            padding=1.5,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.ln(2)

    # Identity block
    session = sheet.get("session") or {}
    attempt = sheet.get("attempt") or {}
    jury = sheet.get("jury") or []
    info = [("Candidat", sheet.get("candidate") or "non renseigné")]
    if official:
        info.append(("Session", str(session.get("label") or "—")))
        if attempt.get("origin_label"):
            info.append(("Présentation", str(attempt["origin_label"])))
        info.append(
            (
                "Jury",
                "; ".join(f"{j.get('name')} ({j.get('quality_label') or 'juré'})" for j in jury),
            )
        )
        if sheet.get("manager"):
            info.append(("Responsable de session", str(sheet["manager"])))
    else:
        info.append(("Juré", sheet.get("juror") or "—"))
    info += [
        (
            "Appel évalué",
            f"{call.get('filename') or '?'} — {format_duration(call.get('duration'))} "
            f"(réf. {call.get('id') or '?'})",
        ),
        (
            "Date de la délibération" if official else "Date de l'évaluation",
            format_datetime(sheet.get("date")),
        ),
        (
            "Statut",
            ("Décision du jury" if official else "Validée")
            if sheet.get("validated")
            else "Provisoire (non validée)",
        ),
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
    _info_table(pdf, info, 45, width)
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
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    if total.get("unticked"):
        pdf.multi_cell(
            width,
            5.8,
            f"Critères non cochés : {total.get('unticked')}.",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
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
    pdf.multi_cell(width, 7, f"Décision : {decision_text}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(5)

    # Signatures
    if official:
        blocks = [
            (f"Membre du jury — {j.get('quality_label') or 'juré'}", str(j.get("name") or ""))
            for j in jury
        ]
        blocks.append(("Contreseing du responsable de session", str(sheet.get("manager") or "")))
    else:
        blocks = [
            ("Le juré", str(sheet.get("juror") or "")),
            ("Visa du responsable de session", ""),
        ]
    _signature_boxes(pdf, blocks, width)
    return bytes(pdf.output())


def _signature_boxes(pdf: Any, blocks: Sequence[tuple[str, str]], width: float) -> None:
    """Signature blocks two by two: title, name, date, signature space."""
    box_w = (width - 8) / 2
    box_h = 30
    for start in range(0, len(blocks), 2):
        if pdf.will_page_break(box_h + 4):
            pdf.add_page()
        y = pdf.get_y()
        for i, (title, name) in enumerate(blocks[start : start + 2]):
            x = pdf.l_margin + i * (box_w + 8)
            pdf.rect(x, y, box_w, box_h)
            pdf.set_xy(x + 2, y + 2)
            pdf.set_font("DejaVu", "B", 9)
            pdf.cell(box_w - 4, 5, title)
            pdf.set_xy(x + 2, y + 8)
            pdf.set_font("DejaVu", "", 9)
            pdf.cell(box_w - 4, 5, f"Nom : {name}" if name else "Nom :")
            pdf.set_xy(x + 2, y + 14)
            pdf.cell(box_w - 4, 5, "Date :")
            pdf.set_xy(x + 2, y + 20)
            pdf.cell(box_w - 4, 5, "Signature :")
        pdf.set_y(y + box_h + 4)


def _heading_style() -> Any:
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(226, 232, 240))


def _section_style() -> Any:
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(245, 247, 250), size_pt=9)


def _info_table(
    pdf: Any,
    info: Sequence[tuple[str, Any]],
    key_width: float,
    width: float,
    value_styles: Mapping[str, Any] | None = None,
) -> None:
    """A two-column table of labels (bold) and values, horizontal rules only."""
    pdf.set_font("DejaVu", "", 9.5)
    pdf.set_fill_color(255, 255, 255)
    bold = _cell_style((0, 0, 0), bold=True)
    with pdf.table(
        col_widths=(key_width, width - key_width),
        first_row_as_headings=False,
        line_height=5.0,
        padding=1.1,
        borders_layout="HORIZONTAL_LINES",
        text_align="LEFT",
    ) as table:
        for key, value in info:
            row = table.row()
            row.cell(str(key), style=bold)
            row.cell(str(value), style=(value_styles or {}).get(key))


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
        (
            f"- Jury : {'; '.join(str(j.get('name')) for j in sheet.get('jury') or [])} — "
            f"{(sheet.get('session') or {}).get('label', '')}"
            if sheet.get("official")
            else f"- Juré : {sheet.get('juror') or '—'}"
        ),
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


# --------------------------------------------------------------------------- session minutes
MINUTES_SCHEMA_VERSION = "1.0"


def _iso_day(value: str | None) -> str:
    if not value:
        return "—"
    try:
        return datetime.fromisoformat(value).strftime("%d/%m/%Y")
    except ValueError:
        return value


def build_session_minutes(
    export: Mapping[str, Any], *, generated_at: datetime | None = None
) -> dict[str, Any]:
    """The session minutes (procès-verbal) as JSON-able data, from
    :func:`call_eval.store.minutes_export`."""
    session = dict(export.get("session") or {})
    candidates = [dict(c) for c in export.get("candidates") or []]
    decided = [c for c in candidates if c.get("decision") in ("certifie", "non_certifie")]
    counts = {
        "registered": len(candidates),
        "absent": sum(1 for c in candidates if c.get("status") == "absent"),
        "decided": len(decided),
        "certified": sum(1 for c in decided if c.get("decision") == "certifie"),
        "not_certified": sum(1 for c in decided if c.get("decision") == "non_certifie"),
        "pending": sum(
            1 for c in candidates if c.get("status") == "inscrit" and not c.get("annulled")
        ),
        "annulled": sum(1 for c in candidates if c.get("annulled")),
    }
    generated = generated_at or datetime.now(UTC)
    return {
        "document": "proces_verbal_de_session",
        "schema_version": MINUTES_SCHEMA_VERSION,
        "certification": CERTIFICATION,
        "session": session,
        "final": session.get("status") == "close",
        "jury": [dict(j) for j in export.get("jury") or []],
        "jury_warnings": list(export.get("jury_warnings") or []),
        "candidates": candidates,
        "counts": counts,
        "dysfunctions": dict(export.get("dysfunctions") or {}),
        "appeals": dict(export.get("appeals") or {}),
        "pass_ratio": float(session.get("pass_ratio") or 0.7),
        "generated_at": generated.isoformat(timespec="seconds"),
    }


def _candidate_result(c: Mapping[str, Any]) -> str:
    if c.get("acquis") is None or not c.get("total"):
        return "—"
    ratio = c["acquis"] / c["total"]
    return f"{c['acquis']} / {c['total']} ({format_percent(ratio)})"


def session_minutes_pdf(minutes: Mapping[str, Any]) -> bytes:
    """Render the session minutes (from :func:`build_session_minutes`) as an A4 PDF."""
    from fpdf.enums import XPos, YPos

    session = minutes.get("session") or {}
    footer_text = (
        f"Procès-verbal — session n° {session.get('id', '?')} du {_iso_day(session.get('date'))}"
        f" — généré le {format_datetime(minutes.get('generated_at'))}"
    )

    pdf, width = _new_document(
        f"Procès-verbal de session — {_iso_day(session.get('date'))}",
        "Procès-verbal de session d'examen",
        str(minutes.get("certification") or CERTIFICATION),
        footer_text,
    )
    if not minutes.get("final"):
        pdf.set_fill_color(255, 243, 205)
        pdf.set_font("DejaVu", "B", 9.5)
        pdf.multi_cell(
            width,
            6,
            "Document provisoire : la session n'est pas encore close (décisions susceptibles "
            "d'évoluer jusqu'à la clôture).",
            align="L",
            border=1,
            fill=True,
            padding=1.5,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.ln(2)

    info = [
        ("Date de la session", _iso_day(session.get("date"))),
        ("Lieu", str(session.get("place") or "—")),
    ]
    if session.get("title"):
        info.append(("Intitulé", str(session["title"])))
    for e in session.get("epreuves") or []:
        details = ", ".join(
            part
            for part in (
                f"{e['heure']}" if e.get("heure") else "",
                f"salle {e['salle']}" if e.get("salle") else "",
                f"sujet : {e['sujet']}" if e.get("sujet") else "",
            )
            if part
        )
        info.append((str(e.get("label") or e.get("code")), details or "—"))
    info.append(("Responsable de session", str(session.get("manager") or "—")))
    _info_table(pdf, info, 55, width)
    pdf.ln(4)

    jury = minutes.get("jury") or []
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(width, 7, "Composition du jury", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 9)
    with pdf.table(
        col_widths=(60, 50, width - 110),
        line_height=4.6,
        padding=(1.0, 1.2),
        headings_style=_heading_style(),
    ) as table:
        head = table.row()
        for text in ("Nom", "Qualité", "Organisation"):
            head.cell(text)
        for j in jury:
            row = table.row()
            row.cell(str(j.get("name") or ""))
            row.cell(str(j.get("quality_label") or ""))
            row.cell(str(j.get("organisation") or ""))
        if not jury:
            row = table.row()
            row.cell("Aucun juré désigné", colspan=3)
    pdf.ln(4)

    counts = minutes.get("counts") or {}
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(width, 7, "Décisions du jury", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 9)
    with pdf.table(
        col_widths=(10, 58, 42, 34, width - 144),
        line_height=4.6,
        padding=(1.0, 1.2),
        headings_style=_heading_style(),
        text_align=("CENTER", "LEFT", "LEFT", "CENTER", "LEFT"),
    ) as table:
        head = table.row()
        for text in ("N°", "Candidat", "Présentation", "Critères acquis", "Décision du jury"):
            head.cell(text)
        for i, c in enumerate(minutes.get("candidates") or [], start=1):
            row = table.row()
            row.cell(str(i))
            row.cell(str(c.get("name") or ""))
            row.cell(str(c.get("origin_label") or ""))
            row.cell(_candidate_result(c))
            decision = c.get("decision")
            colour = {"certifie": (0, 110, 50), "non_certifie": (170, 30, 30)}.get(
                decision or "", (90, 90, 90)
            )
            label = str(c.get("decision_label") or "En attente")
            row.cell(
                label.upper() if decision else label, style=_cell_style(colour, bold=bool(decision))
            )
    pdf.ln(2)
    pdf.set_font("DejaVu", "", 9.5)
    line = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}
    pdf.multi_cell(
        width,
        5.2,
        f"Candidats inscrits : {counts.get('registered', 0)} — certifiés : "
        f"{counts.get('certified', 0)} — non certifiés : {counts.get('not_certified', 0)} — "
        f"absents : {counts.get('absent', 0)}"
        + (f" — en attente : {counts['pending']}" if counts.get("pending") else "")
        + (f" — annulés après recours : {counts['annulled']}" if counts.get("annulled") else "")
        + ".",
        **line,
    )
    pdf.ln(1)
    pdf.multi_cell(
        width,
        5.2,
        "La notation porte sur les critères de la grille, acquis ou non acquis. Le certificat "
        f"est délivré au candidat qui satisfait au moins {format_percent(minutes.get('pass_ratio'))}"
        " des critères. Après délibération, le jury arrête pour chaque candidat la décision "
        "ci-dessus.",
        **line,
    )
    observations = list(minutes.get("jury_warnings") or [])
    for j in jury:
        for w in j.get("warnings") or []:
            observations.append(f"{j.get('name')} : {w}")
    dysfunctions = minutes.get("dysfunctions") or {}
    if dysfunctions.get("count"):
        observations.append(
            f"{dysfunctions['count']} dysfonctionnement(s) consigné(s) dans la fiche de suivi "
            f"({dysfunctions.get('open', 0)} non traité(s))."
        )
    if observations:
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 10)
        pdf.cell(width, 6, "Observations", **line)
        pdf.set_font("DejaVu", "", 9)
        for text in observations:
            pdf.multi_cell(width, 4.8, f"• {text}", **line)
    pdf.ln(4)

    if pdf.will_page_break(30):
        pdf.add_page()
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(width, 7, "Signatures", **line)
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(
        width,
        4.8,
        "Le procès-verbal est signé par l'ensemble des membres du jury. Le contreseing du "
        "responsable de session atteste du bon déroulement matériel des épreuves.",
        **line,
    )
    pdf.ln(2)
    blocks = [
        (f"Membre du jury — {j.get('quality_label') or 'juré'}", str(j.get("name") or ""))
        for j in jury
    ] or [("Membre du jury", "")]
    blocks.append(("Contreseing — responsable de session", str(session.get("manager") or "")))
    _signature_boxes(pdf, blocks, width)
    return bytes(pdf.output())


def session_minutes_markdown(minutes: Mapping[str, Any]) -> str:
    """The minutes as Markdown (archives, terminal)."""
    session = minutes.get("session") or {}
    lines = [
        "# Procès-verbal de session d'examen",
        "",
        f"_{minutes.get('certification') or CERTIFICATION}_",
        "",
        f"- Date : {_iso_day(session.get('date'))} — lieu : {session.get('place') or '—'}",
        f"- Responsable de session : {session.get('manager') or '—'}",
        "- Jury : "
        + "; ".join(
            f"{j.get('name')} ({j.get('quality_label')})" for j in minutes.get("jury") or []
        ),
        "" if minutes.get("final") else "- **Document provisoire** : session non close.",
        "",
        "| N° | Candidat | Présentation | Critères acquis | Décision |",
        "|---:|---|---|---|---|",
    ]
    for i, c in enumerate(minutes.get("candidates") or [], start=1):
        lines.append(
            f"| {i} | {_md_cell(c.get('name'))} | {_md_cell(c.get('origin_label'))} | "
            f"{_candidate_result(c)} | {_md_cell(c.get('decision_label'))} |"
        )
    lines.append("")
    return "\n".join(lines)


def results_csv(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The results as CSV for the office: semicolon-separated, UTF-8 with BOM (opens
    cleanly in a French spreadsheet); one row per candidate, then C01…C15 (A / NA)."""
    import csv
    import io

    from call_eval.store.sessions import RESULT_COLUMNS

    criteria = sorted({k for r in rows for k in r if k not in RESULT_COLUMNS})
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer,
        fieldnames=[*RESULT_COLUMNS, *criteria],
        delimiter=";",
        lineterminator="\r\n",
        extrasaction="ignore",
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in [*RESULT_COLUMNS, *criteria]})
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --------------------------------------------------------------------------- annual review
def format_kappa(value: float | None) -> str:
    return "—" if value is None else format_number(float(value), 2)


def annual_review_markdown(review: Mapping[str, Any]) -> str:
    """The yearly review (``AnnualReview.to_dict()``) as Markdown."""
    lines = [
        f"# Bilan annuel — du {_iso_day(review.get('start'))} au {_iso_day(review.get('end'))}",
        "",
        f"- Sessions : {review.get('sessions', 0)} — candidats inscrits : "
        f"{review.get('registered', 0)} (absents : {review.get('absent', 0)})",
        f"- Taux de réussite : {format_percent(review.get('success_rate'))} "
        f"({review.get('certified', 0)} certifié(s) sur {review.get('decided', 0)} "
        "décision(s))",
        f"- Première présentation : {format_percent(review.get('first_success_rate'))} — "
        f"rattrapage : {format_percent(review.get('retake_success_rate'))}",
        f"- Accord jurés–outil : {format_percent(review.get('tool_agreement'))} "
        f"(kappa de Cohen {format_kappa(review.get('tool_kappa'))}, "
        f"{review.get('tool_pairs', 0)} critères comparés)",
        f"- Accord entre jurés : kappa de Fleiss {format_kappa(review.get('jury_kappa'))} "
        f"({review.get('jury_subjects', 0)} candidats notés par au moins deux jurés)",
        "",
        "| Critère | Taux d'acquis (jury) | Accord jurés–outil | Kappa jurés–outil | "
        "Unanimité des jurés | Kappa entre jurés |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in review.get("criteria") or []:
        lines.append(
            f"| {c['criterion_id']} {_md_cell(_truncate(str(c.get('label') or ''), 70))} | "
            f"{format_percent(c.get('acquis_rate'))} | {format_percent(c.get('tool_agreement'))} | "
            f"{format_kappa(c.get('tool_kappa'))} | {format_percent(c.get('jury_unanimity'))} | "
            f"{format_kappa(c.get('jury_kappa'))} |"
        )
    lines.append("")
    return "\n".join(lines)


def annual_review_csv(review: Mapping[str, Any]) -> bytes:
    """The per-criterion table of the yearly review as CSV (semicolons, UTF-8 with BOM)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            "critere",
            "libelle",
            "acquis_jury",
            "coches_jury",
            "taux_acquis",
            "comparaisons_outil",
            "accords_outil",
            "kappa_outil",
            "a_verifier_outil",
            "candidats_multi_jures",
            "unanimes",
            "kappa_jures",
        ]
    )
    for c in review.get("criteria") or []:
        writer.writerow(
            [
                c["criterion_id"],
                c.get("label") or "",
                c.get("final_acquis"),
                c.get("final_ticked"),
                "" if c.get("acquis_rate") is None else f"{c['acquis_rate']:.3f}",
                c.get("tool_pairs"),
                c.get("tool_agree"),
                "" if c.get("tool_kappa") is None else f"{c['tool_kappa']:.3f}",
                c.get("tool_a_verifier"),
                c.get("jury_subjects"),
                c.get("jury_unanimous"),
                "" if c.get("jury_kappa") is None else f"{c['jury_kappa']:.3f}",
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _new_document(title: str, heading: str, subtitle: str, footer_text: str) -> tuple[Any, float]:
    """An A4 PDF with the project's fonts (French accents), page footer and heading block;
    returns it with the usable text width."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    class Document(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", "", 7.5)
            self.set_text_color(110, 110, 110)
            self.cell(0, 5, footer_text, align="L")
            self.set_x(self.l_margin)
            self.cell(0, 5, f"Page {self.page_no()}/{{nb}}", align="R")
            self.set_text_color(0, 0, 0)

    pdf = Document(orientation="P", unit="mm", format="A4")
    pdf.set_title(title)
    pdf.set_author("call_eval")
    pdf.set_creator("call_eval")
    pdf.add_font("DejaVu", "", str(FONTS_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(15, 14, 15)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(width, 9, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 9.5)
    pdf.set_text_color(60, 60, 60)
    pdf.multi_cell(width, 5, subtitle, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)
    return pdf, width


# --------------------------------------------------------------------------- trainee feedback
FEEDBACK_TITLE = "Retour sur votre appel d'entraînement"
FEEDBACK_DISCLAIMER = (
    "Ces suggestions de l'outil aident à progresser ; seul le jury décide le jour de l'examen."
)
_GREEN = (0, 110, 50)
_RED = (170, 30, 30)
_ORANGE = (170, 95, 0)
_GREY = (90, 90, 90)
_QUOTE_BLUE = (30, 60, 120)
_KIND_LABELS = {
    "preuve": "Le moment",
    "constat proche": "Le moment le plus proche",
    "mesure": "Le moment mesuré",
    "repère": "À cet endroit",
}
_WHO = {"agent": "vous", "callee": "l'appelé"}
_GAP_LABELS = {"surestimé": "Surestimé", "sous-estimé": "Sous-estimé"}


def _moment_text(start: float, role: str | None, quote: str) -> str:
    """« à 0:42, vous : “…” »."""
    from call_eval.calibration import fmt_time

    who = _WHO.get(role or "")
    head = f"à {fmt_time(start)}, {who}" if who else f"à {fmt_time(start)}"
    quote = " ".join(str(quote).split())
    return f"{head} : “{quote}”" if quote else head


def _score_texts(score: Mapping[str, Any]) -> tuple[str, str]:
    """(suggested score, threshold) lines of the header."""
    if not score or score.get("total") in (None, 0):
        return "—", "—"
    total = int(score["total"])
    acquis = int(score.get("acquis") or 0)
    pass_ratio = float(score.get("pass_ratio") or 0.7)
    needed = int(score.get("needed") or math.ceil(pass_ratio * total - 1e-9))
    suggested = (
        f"{acquis}/{total} critères acquis d'après l'outil ({format_percent(acquis / total)})"
    )
    if score.get("a_verifier"):
        suggested += f", {score['a_verifier']} à vérifier"
    passed = score.get("passed")
    passed = acquis >= needed if passed is None else bool(passed)
    threshold = f"{needed}/{total} ({format_percent(pass_ratio)}) — "
    if passed:
        threshold += "atteint"
    else:
        threshold += f"non atteint : il vous manque {max(needed - acquis, 0)} critère(s)"
    return suggested, threshold


def _measure_band(m: Any) -> str:
    return band_text(m.low, m.high, m.unit, digits=1) or "—"


def _tick_label(state: str | None) -> str:
    return STATE_LABELS.get(state, str(state)) if state else "Non coché"


def _gap_label(row: Any) -> tuple[str, tuple[int, int, int]]:
    if row.agree is True:
        return "D'accord", _GREEN
    if row.gap:
        return _GAP_LABELS.get(row.gap, row.gap), _RED if row.gap == "surestimé" else _ORANGE
    return "—", _GREY


def _self_assessment_sentence(rows: Sequence[Any]) -> str:
    from call_eval.feedback import self_assessment_summary

    s = self_assessment_summary(rows)
    return (
        f"Vous avez coché {s['ticked']} critère(s) sur {len(rows)} ; sur {s['compared']} "
        f"comparable(s), {s['agree']} en accord avec l'outil, {s['surestimé']} surestimé(s) "
        f"(vous : acquis, l'outil : non acquis) et {s['sous-estimé']} sous-estimé(s) "
        "(vous : non acquis, l'outil : acquis)."
    )


def _progress_cells(r: Any) -> tuple[str, str, str, str, str]:
    if r.acquis is not None and r.total:
        met = f"{r.acquis}/{r.total}"
        if r.passed is not None:
            met += " ✓" if r.passed else " ✗"
    else:
        met = "—"
    wpm = "—" if r.agent_wpm is None else format_number(float(r.agent_wpm), 0)
    level = (
        "—"
        if r.agent_level_vs_callee_db is None
        else format_number(float(r.agent_level_vs_callee_db), 1)
    )
    return str(r.attempt), format_date(r.date) if r.date else "—", met, wpm, level


def feedback_markdown(
    feedback: Feedback,
    analysis: Mapping[str, Any] | None = None,
    *,
    self_assessment: Sequence[SelfAssessmentRow] | None = None,
    progress: Sequence[ProgressRow] | None = None,
    trainee: str | None = None,
) -> str:
    """The trainee's feedback as Markdown (:func:`call_eval.feedback.render_feedback_markdown`)
    with the trainee's name and, when given, the self-assessment and progress sections."""
    from call_eval.feedback import render_feedback_markdown

    lines = render_feedback_markdown(feedback, analysis).rstrip("\n").split("\n")
    if trainee:
        lines[1:1] = ["", f"Stagiaire : {' '.join(trainee.split())}."]
    if self_assessment is not None:
        lines += ["", "## Votre auto-évaluation", ""]
        if not self_assessment:
            lines.append("Aucun critère à comparer.")
        else:
            lines.append(_self_assessment_sentence(self_assessment))
            lines += [
                "",
                "| Critère | Votre coche | Suggestion de l'outil | Écart |",
                "|---|---|---|---|",
            ]
            for r in self_assessment:
                gap, _ = _gap_label(r)
                lines.append(
                    f"| {r.criterion} — {_md_cell(r.title)} | {_tick_label(r.self_tick)} | "
                    f"{STATE_LABELS.get(r.suggested, r.suggested)} | {gap} |"
                )
    if progress is not None:
        lines += ["", "## Progression", ""]
        if not progress:
            lines.append("Aucune tentative enregistrée.")
        else:
            lines += [
                "| Tentative | Date | Critères acquis | Débit (mots/min) | Niveau / appelé (dB) |",
                "|---:|---|---|---:|---:|",
            ]
            for r in progress:
                lines.append("| " + " | ".join(_progress_cells(r)) + " |")
    return "\n".join(lines).rstrip() + "\n"


def feedback_pdf(
    feedback: Feedback,
    analysis: Mapping[str, Any] | None = None,
    *,
    self_assessment: Sequence[SelfAssessmentRow] | None = None,
    progress: Sequence[ProgressRow] | None = None,
    trainee: str | None = None,
) -> bytes:
    """The trainee's feedback on a practice call as an A4 PDF (French): header with the
    suggested score, strengths, what to work on (what was missing, the moment, the advice,
    a better wording), phrases to avoid, the voice measures and, when given, the
    self-assessment beside the tool's suggestions and the progress over attempts."""
    from fpdf.enums import XPos, YPos

    analysis = analysis or {}
    call = analysis.get("call") or {}
    source = feedback.source or str(call.get("source") or "") or feedback.call_id or "—"
    analyzed_at = feedback.analyzed_at or call.get("analyzed_at")
    generated = format_datetime(datetime.now(UTC))
    pdf, width = _new_document(
        f"{FEEDBACK_TITLE} — {trainee or source}",
        FEEDBACK_TITLE,
        CERTIFICATION + " — entraînement",
        f"Retour d'entraînement — {_truncate(Path(source).name or source, 40)} — généré le "
        f"{generated}",
    )
    line = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}

    def heading(text: str) -> None:
        if pdf.will_page_break(22):
            pdf.add_page()
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 12.5)
        pdf.set_text_color(25, 45, 85)
        pdf.cell(width, 7.5, text, **line)
        y = pdf.get_y()
        pdf.set_draw_color(180, 190, 205)
        pdf.line(pdf.l_margin, y, pdf.l_margin + width, y)
        pdf.set_draw_color(0, 0, 0)
        pdf.set_text_color(0, 0, 0)
        pdf.ln(2)

    def paragraph(
        text: str,
        *,
        size: float = 9.5,
        bold: bool = False,
        colour: tuple[int, int, int] = (0, 0, 0),
    ) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.set_text_color(*colour)
        pdf.multi_cell(width, size * 0.52, text, align="L", **line)
        pdf.set_text_color(0, 0, 0)

    def subheading(text: str) -> None:
        if pdf.will_page_break(18):
            pdf.add_page()
        pdf.ln(1)
        pdf.set_font("DejaVu", "B", 10)
        pdf.set_fill_color(238, 242, 248)
        pdf.multi_cell(width, 6, text, align="L", fill=True, padding=(0.6, 1.5), **line)
        pdf.set_fill_color(255, 255, 255)
        pdf.ln(0.5)

    def key_values(rows: Sequence[tuple[str, str, tuple[int, int, int] | None]]) -> None:
        """Label / text rows (labels bold), texts wrapped."""
        pdf.set_font("DejaVu", "", 9.2)
        with pdf.table(
            col_widths=(38, width - 38),
            first_row_as_headings=False,
            line_height=4.6,
            padding=(0.8, 1.2),
            borders_layout="NONE",
            text_align="LEFT",
            v_align="TOP",
        ) as table:
            for key, value, colour in rows:
                row = table.row()
                row.cell(key, style=_cell_style((60, 60, 60), bold=True))
                row.cell(value, style=_cell_style(colour or (0, 0, 0), bold=False))

    # ---------------------------------------------------------------- header
    suggested, threshold = _score_texts(feedback.score)
    info = [
        ("Stagiaire", " ".join(trainee.split()) if trainee and trainee.strip() else "—"),
        ("Appel", source),
        ("Date de l'analyse", format_date(analyzed_at) if analyzed_at else "—"),
        ("Score suggéré", suggested),
        ("Seuil de réussite", threshold),
    ]
    passed = feedback.score.get("passed") if feedback.score else None
    styles = {"Score suggéré": _cell_style((0, 0, 0), bold=True)}
    if passed is not None:
        styles["Seuil de réussite"] = _cell_style(_GREEN if passed else _RED, bold=False)
    _info_table(pdf, info, 40, width, styles)
    pdf.ln(2)
    pdf.set_fill_color(255, 243, 205)
    pdf.set_font("DejaVu", "", 9)
    notice = "\n".join([FEEDBACK_DISCLAIMER, *feedback.notes])
    pdf.multi_cell(width, 4.8, notice, align="L", border=1, fill=True, padding=1.5, **line)
    pdf.set_fill_color(255, 255, 255)

    # ---------------------------------------------------------------- strengths
    heading(f"Vos points forts ({len(feedback.strengths)})")
    if not feedback.strengths:
        paragraph("Aucun point fort relevé pour l'instant : commencez par les conseils ci-dessous.")
    for st in feedback.strengths:
        rows: list[tuple[str, str, tuple[int, int, int] | None]] = [
            ("Ce qui va bien", st.praise or st.reason or st.label, _GREEN)
        ]
        for e in st.evidence:
            rows.append(("Le moment", _moment_text(e.start, e.role, e.quote), _QUOTE_BLUE))
        subheading(f"{st.criterion} — {st.title}")
        key_values(rows)

    # ---------------------------------------------------------------- improvements
    heading(f"À travailler ({len(feedback.improvements)})")
    if not feedback.improvements:
        paragraph("Aucun critère à travailler : bravo !")
    for imp in feedback.improvements:
        subheading(f"{imp.criterion} — {imp.title}")
        if imp.label:
            paragraph(imp.label, size=8.5, colour=_GREY)
            pdf.ln(0.5)
        for i, p in enumerate(imp.points):
            if i:  # a thin rule between two points of the same criterion
                y = pdf.get_y() + 0.8
                pdf.set_draw_color(205, 212, 222)
                pdf.set_dash_pattern(dash=1.2, gap=1.0)
                pdf.line(pdf.l_margin + 2, y, pdf.l_margin + width - 2, y)
                pdf.set_dash_pattern()
                pdf.set_draw_color(0, 0, 0)
                pdf.ln(1.6)
            rows = [("Ce qui manquait", (p.missing or imp.reason).rstrip(".") + ".", None)]
            if p.moment:
                kind = _KIND_LABELS.get(p.moment.kind, "Le moment")
                rows.append(
                    (kind, _moment_text(p.moment.start, p.moment.role, p.moment.quote), _QUOTE_BLUE)
                )
            if p.detail:
                rows.append(("Mesure", p.detail, None))
            rows.append(("Conseil", p.advice, None))
            if p.example:
                rows.append(("Mieux dire", f"Par exemple : {p.example}", _GREEN))
            key_values(rows)

    # ---------------------------------------------------------------- phrases to avoid
    heading(f"Formulations à éviter ({len(feedback.phrases)})")
    if not feedback.phrases:
        paragraph("Aucune formulation à éviter relevée : continuez ainsi.")
    for ph in feedback.phrases:
        times = f" ({ph.count} fois)" if ph.count > 1 else ""
        subheading(f"{ph.title} — « {ph.phrase} »{times}")
        rows = [
            ("Dans l'appel", _moment_text(e.start, e.role, e.quote), _QUOTE_BLUE)
            for e in ph.evidence
        ]
        if ph.why:
            rows.append(("Pourquoi l'éviter", ph.why.rstrip(".") + ".", None))
        if ph.better:
            rows.append(("Dites plutôt", ph.better, _GREEN))
        elif ph.tip:
            rows.append(("Conseil", ph.tip.rstrip(".") + ".", None))
        key_values(rows or [("Formulation", ph.phrase, None)])

    # ---------------------------------------------------------------- voice
    heading("Votre voix")
    if not feedback.measures:
        paragraph(
            "Aucune mesure de la voix : l'outil mesure le débit et le volume sur un "
            "enregistrement audio (pas sur une transcription)."
        )
    else:
        pdf.set_font("DejaVu", "", 9)
        with pdf.table(
            col_widths=(width - 112, 32, 42, 38),
            line_height=4.6,
            padding=(1.0, 1.2),
            headings_style=_heading_style(),
            text_align=("LEFT", "RIGHT", "CENTER", "CENTER"),
        ) as table:
            head = table.row()
            for text in ("Mesure", "Votre valeur", "Repère", "Verdict"):
                head.cell(text)
            for m in feedback.measures:
                unit = f" {m.unit}" if m.unit else ""
                row = table.row()
                row.cell(m.name[:1].upper() + m.name[1:])
                row.cell(f"{format_number(float(m.value), 1)}{unit}")
                row.cell(_measure_band(m))
                row.cell(
                    "✓ dans le repère" if m.ok else "✗ hors repère",
                    style=_cell_style(_GREEN if m.ok else _RED, bold=True),
                )

    # ---------------------------------------------------------------- to check
    if feedback.to_check:
        heading("À vérifier et à préparer pour l'entretien")
        for t in feedback.to_check:
            subheading(f"{t.criterion} — {t.title}")
            rows = [("Conseil", t.advice or t.reason or t.label, None)]
            if t.example:
                rows.append(("Mieux dire", f"Par exemple : {t.example}", _GREEN))
            key_values(rows)

    # ---------------------------------------------------------------- self-assessment
    if self_assessment is not None:
        heading("Votre auto-évaluation")
        if not self_assessment:
            paragraph("Aucun critère à comparer.")
        else:
            paragraph(_self_assessment_sentence(self_assessment), size=9)
            pdf.ln(1.5)
            pdf.set_font("DejaVu", "", 8.8)
            with pdf.table(
                col_widths=(width - 90, 28, 32, 30),
                line_height=4.4,
                padding=(1.0, 1.2),
                headings_style=_heading_style(),
                text_align=("LEFT", "CENTER", "CENTER", "CENTER"),
            ) as table:
                head = table.row()
                for text in ("Critère", "Votre coche", "Suggestion de l'outil", "Écart"):
                    head.cell(text)
                for r in self_assessment:
                    gap, colour = _gap_label(r)
                    row = table.row()
                    row.cell(f"{r.criterion} — {r.title}")
                    row.cell(_tick_label(r.self_tick))
                    row.cell(STATE_LABELS.get(r.suggested, str(r.suggested)))
                    row.cell(gap, style=_cell_style(colour, bold=bool(r.gap)))

    # ---------------------------------------------------------------- progress
    if progress is not None:
        heading("Progression")
        if not progress:
            paragraph("Aucune tentative enregistrée.")
        else:
            pdf.set_font("DejaVu", "", 9)
            with pdf.table(
                col_widths=(24, 34, 40, width - 24 - 34 - 40 - 46, 46),
                line_height=4.6,
                padding=(1.0, 1.2),
                headings_style=_heading_style(),
                text_align=("CENTER", "CENTER", "CENTER", "RIGHT", "RIGHT"),
            ) as table:
                head = table.row()
                for text in (
                    "Tentative",
                    "Date",
                    "Critères acquis",
                    "Débit (mots/min)",
                    "Niveau / appelé (dB)",
                ):
                    head.cell(text)
                for r in progress:
                    row = table.row()
                    for text in _progress_cells(r):
                        row.cell(text)
    return bytes(pdf.output())
