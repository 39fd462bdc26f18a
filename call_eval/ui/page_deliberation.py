"""Page « Délibération »: where the jurors disagree, the jury's final ticks, the decision.

``?candidat=<session candidate id>``. Each criterion shows the tool's suggestion, every
juror's tick (from their own, independently scored grid) and is flagged when they differ;
the jury records its final tick (the technical interview's C13–C15 are entered here) and,
once every criterion is settled, the decision: certified at 70 % of the criteria. The
official result sheet (PDF) is then available. A juror sees this page for a candidate once
their own grid is validated.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from call_eval import report, store
from call_eval.auth import User
from call_eval.errors import CallEvalError
from call_eval.store import Database, Deliberation, DeliberationRow
from call_eval.ui import common, resources

CSS = """
<style>
[class*="st-key-drow-"] p { margin-bottom: 0.25rem; }
[class*="st-key-final-"] button[aria-checked="true"]:first-child {
  background: rgba(33, 195, 84, 0.16) !important; border-color: rgb(21, 130, 60) !important; }
[class*="st-key-final-"] button[aria-checked="true"]:first-child p {
  color: rgb(21, 115, 55) !important; font-weight: 600; }
[class*="st-key-final-"] button[aria-checked="true"]:last-child {
  background: rgba(255, 43, 43, 0.10) !important; border-color: rgb(190, 35, 35) !important; }
[class*="st-key-final-"] button[aria-checked="true"]:last-child p {
  color: rgb(175, 30, 30) !important; font-weight: 600; }
[class*="st-key-drow-"][class*="-desaccord"] {
  border-left: 4px solid rgb(230, 140, 20) !important; }
</style>
"""
TICK_BADGES = {
    "acquis": ":green-badge[Acquis]",
    "non_acquis": ":red-badge[Non acquis]",
    None: ":gray-badge[—]",
}


def render() -> None:
    db = resources.database()
    user = common.actor(db)
    sc_id = common.query_int("candidat") or st.session_state.get("deliberation_candidate")
    if sc_id is None:
        st.title("Délibération")
        common.flash()
        _choose(db, user)
        return
    try:
        deliberation = store.get_deliberation(db, user, sc_id)
    except CallEvalError as exc:
        st.title("Délibération")
        common.denied(str(exc))
        st.session_state.pop("deliberation_candidate", None)
        common.set_query(candidat=None)
        _choose(db, user)
        return
    st.session_state["deliberation_candidate"] = sc_id
    common.set_query(candidat=sc_id)
    st.html(CSS)
    _page(db, user, deliberation)


def _choose(db: Database, user: User) -> None:
    options: dict[int, str] = {}
    for session in store.list_sessions(db, user):
        if session.closed:
            continue
        try:
            file = store.session_file(db, user, session.id)
        except CallEvalError:
            continue
        if not file.rights.deliberate:
            continue
        for c in file.candidates:
            if c.status != "absent":
                options[c.id] = f"{c.candidate_name} — {session.label} ({c.decision_label})"
    if not options:
        st.info("Aucun candidat à délibérer dans vos sessions en cours.")
        return
    choice = st.selectbox(
        "Candidat",
        options=list(options),
        format_func=options.get,
        index=None,
        placeholder="Choisissez un candidat",
        key="deliberation_choice",
    )
    if choice is not None:
        common.goto("deliberation", candidat=choice)


def _page(db: Database, user: User, d: Deliberation) -> None:
    c = d.candidate
    head = st.columns([5, 1.3], vertical_alignment="center")
    head[0].title(f"Délibération — {c.candidate_name}")
    if head[1].button("Dossier de la session", icon=":material/arrow_back:", key="to_session"):
        common.goto("sessions", session=d.session.id)
    st.caption(
        f"{common.md_escape(d.session.label)} · {c.origin_label}"
        + (f" (présentation n° {c.attempt})" if c.attempt > 1 else "")
        + (f" · appel {common.md_escape(c.recording_filename)}" if c.recording_filename else "")
    )
    common.flash()
    not_validated = [p.name for p in d.jurors if not p.validated]
    if not d.jurors:
        st.warning("Le jury de la session n'est pas composé.")
    elif not_validated and not d.decided:
        st.warning(
            "Grille(s) pas encore validée(s) : "
            + ", ".join(not_validated)
            + ". Les coches des jurés ne sont comparées qu'une fois leur grille validée.",
            icon=":material/hourglass_top:",
        )
    _summary(db, user, d)
    disagreements = d.disagreements
    st.subheader("Critère par critère")
    if disagreements:
        st.markdown(
            f":orange-badge[:material/compare_arrows: {len(disagreements)} désaccord(s)] "
            f"entre les jurés : {', '.join(disagreements)}. Le jury en débat et arrête la "
            "coche finale."
        )
    elif any(p.validated for p in d.jurors):
        st.markdown(":green-badge[Aucun désaccord entre les grilles validées]")
    only = st.toggle(
        "N'afficher que les désaccords et les critères restant à arrêter",
        key="only_open",
        value=False,
    )
    for row in d.rows:
        if only and not (row.disagreement or row.final_tick is None):
            continue
        _row(db, d, row)


def _summary(db: Database, user: User, d: Deliberation) -> None:
    score = d.score
    c = d.candidate
    with st.container(border=True, key="delib-summary"):
        cols = st.columns(4)
        cols[0].metric("Acquis (jury)", f"{score.acquis} / {score.total}")
        cols[1].metric(
            f"Seuil {report.format_percent(score.pass_ratio)}", f"{score.needed} / {score.total}"
        )
        cols[2].metric("Restent à arrêter", str(score.unticked))
        cols[3].metric("Désaccords", str(len(d.disagreements)))
        st.progress(score.acquis / score.total if score.total else 0.0)
        if d.decided:
            colour = "green" if c.decision == "certifie" else "red"
            st.subheader(f":{colour}[Décision du jury : {c.decision_label.upper()}]", anchor=False)
            st.markdown(
                f"{c.acquis} critères acquis sur {c.total} — arrêtée le "
                f"{report.format_datetime(c.decided_at)} par {common.md_escape(c.decided_by_name or '—')}."
            )
            if c.deliberation_note:
                st.markdown(f"*{common.md_escape(c.deliberation_note)}*")
            actions = st.container(horizontal=True)
            actions.download_button(
                "Fiche individuelle de résultat (PDF)",
                data=lambda: report.result_sheet_pdf(
                    report.build_result_sheet(store.jury_sheet_export(db, user, c.id))
                ),
                file_name=f"fiche_resultat_{_stem(c.candidate_name)}.pdf",
                mime="application/pdf",
                type="primary",
                icon=":material/picture_as_pdf:",
                key="download_official_sheet",
                on_click="ignore",
            )
            if d.session.manager_user_id == user.id or user.is_admin:
                with actions.popover("Rouvrir la décision", icon=":material/lock_open:"):
                    reason = st.text_input("Motif (obligatoire)", key="reopen_decision_reason")
                    if st.button("Rouvrir", key="reopen_decision"):
                        try:
                            store.reopen_decision(db, user, c.id, reason)
                        except CallEvalError as exc:
                            st.error(str(exc))
                        else:
                            st.session_state["flash_info"] = "Décision rouverte (motif au journal)."
                            st.rerun()
            return
        if c.annulled:
            st.info("Présentation annulée après un recours fondé.")
            return
        if score.complete:
            verdict = "CERTIFIÉ" if score.passed else "NON CERTIFIÉ"
            st.markdown(
                f"Avec ces coches : **{verdict}** ({score.acquis} acquis, il en faut "
                f"{score.needed})."
            )
        else:
            st.markdown(
                f"Il reste **{score.unticked}** critère(s) à arrêter"
                + (f" ; il manque {score.missing} acquis pour le seuil." if score.missing else ".")
            )
        if not d.can_write:
            st.caption("Lecture seule : seuls le jury de la session et son responsable délibèrent.")
            return
        unanimous = [r.criterion_id for r in d.rows if r.final_tick is None and r.unanimous_tick]
        actions = st.container(horizontal=True, vertical_alignment="bottom")
        actions.button(
            "Reprendre les coches unanimes",
            key="adopt",
            type="primary" if unanimous else "secondary",
            icon=":material/done_all:",
            disabled=not unanimous,
            help="Arrête les critères où tous les jurés ont validé la même coche. Les "
            "désaccords et les critères de l'entretien technique restent à arrêter.",
            on_click=_on_adopt,
            args=(db, c.id),
        )
        note = actions.text_input(
            "Observation du jury (facultatif)", key="decision_note", width=360
        )
        actions.button(
            "Enregistrer la décision du jury",
            key="decide",
            type="primary",
            icon=":material/gavel:",
            disabled=not score.complete,
            help="Toutes les coches finales doivent être arrêtées."
            if not score.complete
            else "Certifié si au moins 70 % des critères sont acquis.",
            on_click=_on_decide,
            args=(db, c.id, note),
        )


def _row(db: Database, d: Deliberation, row: DeliberationRow) -> None:
    cid = row.criterion_id
    key = f"final-{d.candidate.id}-{cid}"
    comment_key = f"fcomment-{d.candidate.id}-{cid}"
    common.sync_widget(key, row.final_tick)
    common.sync_widget(comment_key, row.comment)
    flag = "-desaccord" if row.disagreement else ""
    with st.container(border=True, key=f"drow-{cid}{flag}"):
        left, right = st.columns([0.62, 0.38], gap="small")
        with left:
            tags = []
            if row.interview:
                tags.append(":violet-badge[:material/record_voice_over: Entretien technique]")
            if row.disagreement:
                tags.append(":orange-badge[:material/compare_arrows: Désaccord]")
            elif row.unanimous_tick:
                tags.append(":green-badge[Unanimes]")
            st.markdown(
                f"**{cid}** — {common.md_escape(row.label)}  \n" + " ".join(tags)
                if tags
                else f"**{cid}** — {common.md_escape(row.label)}"
            )
            suggestion = (
                common.STATE_BADGES.get(row.suggested or "", ":gray-badge[—]")
                if not row.interview
                else ":gray-badge[noté par le jury]"
            )
            jurors = " · ".join(
                f"{common.md_escape(name)} {TICK_BADGES.get(tick, TICK_BADGES[None])}"
                + ("" if ok else " :gray[(non validée)]")
                for name, tick, ok in row.juror_ticks
            )
            st.markdown(f":small[Outil : {suggestion} · {jurors or 'aucun juré'}]")
            for name, text in row.juror_comments:
                st.caption(f"{common.md_escape(name)} : « {common.md_escape(text)} »")
        with right:
            if d.can_write:
                sc_id = d.candidate.id

                def save_tick(tick: Any) -> Any:
                    return store.set_final_tick(db, common.actor(db), sc_id, cid, tick)

                def save_comment(text: Any) -> Any:
                    return store.set_final_comment(db, common.actor(db), sc_id, cid, text or "")

                st.segmented_control(
                    f"Coche finale ({cid})",
                    options=list(store.TICKS),
                    format_func=common.TICK_LABELS.get,
                    key=key,
                    on_change=common.save_widget,
                    args=(key, save_tick),
                    label_visibility="collapsed",
                )
                st.text_input(
                    f"Commentaire du jury ({cid})",
                    key=comment_key,
                    on_change=common.save_widget,
                    args=(comment_key, save_comment),
                    placeholder="Commentaire du jury (facultatif)",
                    label_visibility="collapsed",
                )
                late = common.save_if_changed(key, save_tick)
                if common.save_if_changed(comment_key, save_comment) or late:
                    st.rerun()  # saved late: redraw the decision panel
            else:
                st.markdown("Coche finale : " + TICK_BADGES.get(row.final_tick, TICK_BADGES[None]))
                if row.comment:
                    st.markdown(f"*{common.md_escape(row.comment)}*")


def _on_adopt(db: Database, sc_id: int) -> None:
    try:
        adopted = store.adopt_unanimous(db, common.actor(db), sc_id)
    except CallEvalError as exc:
        st.session_state["flash_error"] = str(exc)
        return
    st.session_state["flash_info"] = (
        f"Coches unanimes reprises pour {len(adopted)} critère(s) : {', '.join(adopted)}."
        if adopted
        else "Aucune coche unanime à reprendre."
    )


def _on_decide(db: Database, sc_id: int, note: str) -> None:
    try:
        decided = store.record_decision(
            db, common.actor(db), sc_id, st.session_state.get("decision_note", note) or ""
        )
    except CallEvalError as exc:
        st.session_state["flash_error"] = str(exc)
        return
    st.session_state["flash_success"] = (
        f"Décision enregistrée : {decided.decision_label.lower()} ({decided.acquis} / "
        f"{decided.total})."
    )


def _stem(name: str) -> str:
    import re
    import unicodedata

    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_") or "candidat"
