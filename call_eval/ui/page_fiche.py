"""Page « Fiche de résultat »: a juror's result sheet (preview, PDF, JSON, Markdown).

A juror sees their own grid's sheet (and their fellow jurors' once theirs is validated);
managers see every juror's. The official sheet — the jury's final ticks and decision,
every juror's signature block — comes from the deliberation (page « Délibération ») and
the session's documents.
"""

from __future__ import annotations

import json

import streamlit as st

from call_eval import report, store
from call_eval.auth import User
from call_eval.store import Database, Evaluation
from call_eval.ui import common, resources


def render() -> None:
    db = resources.database()
    user = common.actor(db)
    st.title("Fiche de résultat")
    common.flash()
    recording_id = common.query_int("appel") or st.session_state.get("recording_id")
    evaluated = [
        item
        for item in store.list_recordings(db, user, purpose=store.EXAM)
        if item.evaluation_id is not None
    ]
    if not evaluated:
        st.info(
            "Aucune évaluation pour l'instant : ouvrez la revue d'un appel et cochez la grille."
        )
        return
    labels = {
        item.recording.id: f"{item.recording.candidate_name or 'Candidat non renseigné'} — "
        f"{item.recording.filename}"
        for item in evaluated
    }
    ids = list(labels)
    index = ids.index(recording_id) if recording_id in ids else None
    choice = st.selectbox(
        "Appel", options=ids, format_func=labels.get, index=index, placeholder="Choisissez un appel"
    )
    if choice is None:
        return
    if choice != recording_id:
        st.session_state["recording_id"] = choice
    common.set_query(appel=choice)
    assigned = store.recording_assignments(db, user).get(choice)
    if assigned is not None and assigned.decided:
        cols = st.columns([3, 1], vertical_alignment="center")
        cols[0].info(
            "Le jury a délibéré pour ce candidat : la fiche officielle (coches finales du "
            "jury, décision, signatures) est sur la page « Délibération ».",
            icon=":material/gavel:",
        )
        if cols[1].button("Fiche officielle", key="to_official", icon=":material/gavel:"):
            common.goto("deliberation", candidat=assigned.session_candidate_id)
    evaluations = store.list_evaluations(db, user, choice)
    evaluation = _pick_evaluation(evaluations, user)
    if evaluation is None:
        return
    _sheet(db, user, evaluation)


def _pick_evaluation(evaluations: list[Evaluation], user: User) -> Evaluation | None:
    if not evaluations:
        st.info("Aucune grille de juré à afficher pour cet appel.")
        return None
    if len(evaluations) == 1:
        return evaluations[0]
    juror_id = user.juror_id
    ids = [e.id for e in evaluations]
    default = next((i for i, e in enumerate(evaluations) if e.juror_id == juror_id), 0)
    by_id = {e.id: e for e in evaluations}
    chosen = st.selectbox(
        "Évaluation du juré",
        options=ids,
        index=default,
        format_func=lambda i: f"{by_id[i].juror_name} — {by_id[i].status_label}",
    )
    return by_id[chosen]


def _sheet(db: Database, user: User, evaluation: Evaluation) -> None:
    sheet = report.build_result_sheet(store.evaluation_export(db, user, evaluation.id))
    total = sheet["total"]
    if not sheet["validated"]:
        st.warning(
            "Fiche provisoire : l'évaluation n'est pas encore validée. Validez-la depuis la "
            "revue de l'appel pour figer la décision.",
            icon=":material/warning:",
        )
    decision = sheet["decision"]
    colour = {"certifié": "green", "non certifié": "red"}.get(decision, "gray")
    st.markdown(
        f"### {common.md_escape(sheet['candidate'] or 'Candidat non renseigné')} — "
        f":{colour}-badge[{decision.capitalize()}]"
    )
    st.markdown(
        f"**{total['acquis']} / {total['total']}** critères acquis "
        f"({report.format_percent(total['ratio'])}) — seuil {total['needed']} / "
        f"{total['total']} ({report.format_percent(total['pass_ratio'])}) · juré : "
        f"**{common.md_escape(sheet['juror'] or '—')}** · évaluation du "
        f"{report.format_datetime(sheet['date'])}"
    )
    st.caption(
        f"Appel {common.md_escape(sheet['call'].get('filename'))} · "
        f"{report.format_duration(sheet['call'].get('duration'))} · réf. "
        f"{sheet['call'].get('id')}"
    )
    stem = _file_stem(sheet)
    actions = st.container(horizontal=True)
    actions.download_button(
        "Télécharger la fiche (PDF)",
        data=lambda: report.result_sheet_pdf(sheet),
        file_name=f"{stem}.pdf",
        mime="application/pdf",
        type="primary",
        icon=":material/picture_as_pdf:",
        key="download_pdf",
    )
    actions.download_button(
        "Télécharger (JSON)",
        data=json.dumps(sheet, ensure_ascii=False, indent=2).encode("utf-8"),
        file_name=f"{stem}.json",
        mime="application/json",
        icon=":material/data_object:",
        key="download_json",
    )
    actions.download_button(
        "Télécharger (Markdown)",
        data=report.result_sheet_markdown(sheet).encode("utf-8"),
        file_name=f"{stem}.md",
        mime="text/markdown",
        icon=":material/description:",
        key="download_md",
    )
    if actions.button("Revenir à la revue", icon=":material/arrow_back:", key="back_to_review"):
        common.goto("revue", appel=evaluation.recording_id)
    lines = ["| N° | Critère | Résultat | Commentaire du jury |", "|---|---|---|---|"]
    for c in sheet["criteria"]:
        result = common.STATE_BADGES.get(c["tick"] or "", ":gray-badge[Non coché]")
        comment = " ".join(str(c["comment"] or "").split())
        lines.append(
            f"| {c['id']} | {common.md_escape(c['label'])} | {result} | "
            f"{common.md_escape(comment)} |"
        )
    st.markdown("\n".join(lines))


def _file_stem(sheet: dict) -> str:
    import re
    import unicodedata

    name = unicodedata.normalize("NFKD", sheet.get("candidate") or "candidat")
    name = re.sub(r"[^A-Za-z0-9]+", "_", name.encode("ascii", "ignore").decode()).strip("_")
    return f"fiche_resultat_{name or 'candidat'}_{sheet['call'].get('id') or ''}".rstrip("_")
