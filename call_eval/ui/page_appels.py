"""Page « Appels »: the recordings the user may see, the upload of a new exam call
(managers), analyses in progress.

A juror sees the calls of the candidates of their sessions, with their own status and score,
and opens the review; a manager sees every exam call, uploads, analyses and sees which
session each call is attached to.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from call_eval import store
from call_eval.auth import User
from call_eval.errors import CallEvalError
from call_eval.report import format_date, format_duration
from call_eval.store import CallListing, Database
from call_eval.ui import common, resources
from call_eval.ui.jobs import JobManager, start_analysis
from call_eval.ui.uploads import store_upload


def render() -> None:
    db = resources.database()
    user = common.actor(db)
    jobs = resources.jobs(db)
    st.title("Appels")
    common.flash()
    manages = user.can("exam_calls.manage")
    listings = store.list_recordings(db, user, purpose=store.EXAM)
    if manages:
        _jobs_panel(db, jobs, {item.recording.id for item in listings})
    if manages:
        with st.expander(
            "Déposer un nouvel appel", expanded=not listings, icon=":material/upload:"
        ):
            _upload_form(db, jobs, user)
    elif not listings:
        st.info(
            "Aucun appel à noter pour l'instant : le responsable de session rattache les "
            "appels des candidats aux sessions dont vous êtes juré."
        )
        return
    _recordings_table(db, jobs, listings, user)


# --------------------------------------------------------------------------- upload
def _upload_form(db: Database, jobs: JobManager, user: User) -> None:
    with st.form("upload", clear_on_submit=False, border=False):
        candidate = st.text_input("Candidat (prénom et nom)", key="upload_candidate")
        upload, script, crm_note = common.call_upload_fields(
            "upload",
            file_label="Enregistrement de l'appel",
            crm_label="Note CRM du candidat (facultatif)",
            crm_help="La note saisie par le candidat après l'appel (critère C12).",
        )
        submitted = st.form_submit_button("Déposer et analyser", type="primary")
    if not submitted:
        return
    if upload is None:
        st.error("Choisissez d'abord le fichier de l'appel (audio ou transcription JSON).")
        return
    try:
        message = _accept_upload(db, jobs, user, candidate, upload, script, crm_note)
    except CallEvalError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.session_state["flash_success"] = message
    st.rerun()


def _accept_upload(
    db: Database,
    jobs: JobManager,
    user: User,
    candidate: str,
    upload: Any,
    script: Any,
    crm_note: str,
) -> str:
    recording = store_upload(db, user, upload, script, crm_note, candidate=candidate)
    return start_analysis(db, jobs, recording, user).message


# --------------------------------------------------------------------------- jobs
def _jobs_panel(db: Database, jobs: JobManager, visible: set[int]) -> None:
    """Analyses of the exam calls listed below (trainees' practice analyses share the
    queue but are not shown here)."""

    def snapshot() -> list[Any]:
        return [j for j in jobs.snapshot() if j.recording_id in visible]

    active = any(j.active for j in snapshot())

    @st.fragment(run_every=1.0 if active else None)
    def panel() -> None:
        shown = [j for j in snapshot() if j.active or j.id not in _dismissed()]
        finished_now = {j.id for j in shown if not j.active}
        seen = st.session_state.setdefault("jobs_seen_finished", set())
        if active and finished_now - seen:
            seen.update(finished_now)
            st.rerun(scope="app")  # refresh the list below and stop polling
        seen.update(finished_now)
        for job in shown:
            with st.container(border=True, key=f"job-{job.id}"):
                st.markdown(f"**Analyse** — {common.md_escape(job.label)}")
                if job.status == "failed":
                    st.error(job.message or "Échec de l'analyse.", icon=":material/error:")
                    st.button("Fermer", key=f"dismiss-{job.id}", on_click=_dismiss, args=(job.id,))
                elif job.status == "done":
                    st.success("Analyse terminée.", icon=":material/check_circle:")
                    cols = st.columns([1, 1, 4])
                    if cols[0].button("Ouvrir la revue", key=f"open-{job.id}", type="primary"):
                        _dismiss(job.id)
                        common.goto("revue", appel=job.recording_id)
                    cols[1].button(
                        "Fermer", key=f"dismiss-{job.id}", on_click=_dismiss, args=(job.id,)
                    )
                else:
                    st.progress(
                        job.overall,
                        text=f"{job.stage_label} — {job.overall * 100:.0f} %",
                    )

    panel()


def _dismissed() -> set[str]:
    return st.session_state.setdefault("jobs_dismissed", set())


def _dismiss(job_id: str) -> None:
    _dismissed().add(job_id)


# --------------------------------------------------------------------------- list
def _score_text(item: CallListing) -> str:
    if item.juror_acquis is not None and item.juror_ticked:
        total = item.criteria_total or 15
        return f"{item.juror_acquis} / {total} (juré)"
    if item.suggested_acquis is not None:
        return f"{item.suggested_acquis} / {item.criteria_total or '?'} (suggéré)"
    return "—"


def _recordings_table(
    db: Database, jobs: JobManager, listings: list[CallListing], user: User
) -> None:
    st.subheader("Appels enregistrés" if user.can("exam_calls.manage") else "Appels à noter")
    if not listings:
        st.info("Aucun appel pour l'instant : déposez un enregistrement ci-dessus.")
        return
    left, right = st.columns([2, 1])
    query = left.text_input(
        "Rechercher", key="calls_search", placeholder="Nom du candidat ou du fichier"
    )
    status_filter = right.selectbox(
        "Statut",
        options=["tous", *store.STATUSES],
        format_func=lambda s: "Tous" if s == "tous" else store.STATUS_LABELS[s],
        key="calls_status",
    )
    needle = query.strip().lower()
    rows = [
        item
        for item in listings
        if (status_filter == "tous" or item.status == status_filter)
        and (
            not needle
            or needle in (item.recording.candidate_name or "").lower()
            or needle in item.recording.filename.lower()
        )
    ]
    assignments = store.recording_assignments(db, user)
    scorer = user.juror_id is not None and "juror" in user.roles
    manages = user.can("exam_calls.manage")
    widths = [2.6, 1.1, 0.9, 1.5, 1.3, 1.6]
    header = st.columns(widths)
    for col, title in zip(
        header, ("Candidat / fichier", "Déposé le", "Durée", "Statut", "Score", ""), strict=True
    ):
        col.caption(title)
    for item in rows:
        rec = item.recording
        job = jobs.for_recording(rec.id)
        assigned = assignments.get(rec.id)
        with st.container(border=True, key=f"call-{rec.id}"):
            cols = st.columns(widths, vertical_alignment="center")
            where = (
                f":gray[:material/event: {common.md_escape(assigned.session_label)}]"
                if assigned
                else ":orange[Non rattaché à une session]"
            )
            cols[0].markdown(
                f"**{common.md_escape(rec.candidate_name or 'Candidat non renseigné')}**  \n"
                f":gray[{common.md_escape(rec.filename)}]  \n{where}"
            )
            cols[1].write(format_date(rec.created_at))
            cols[2].write(format_duration(rec.duration) if rec.duration else "—")
            if job is not None and job.active:
                cols[3].markdown(":orange-badge[:material/hourglass_top: Analyse en cours]")
            else:
                cols[3].markdown(common.STATUS_BADGES.get(item.status, item.status))
            cols[4].write(_score_text(item))
            with cols[5]:
                if item.analysis_id is not None and scorer and assigned is not None:
                    if st.button(
                        "Ouvrir la revue",
                        key=f"review-{rec.id}",
                        type="primary",
                        icon=":material/fact_check:",
                    ):
                        common.goto("revue", appel=rec.id)
                elif item.analysis_id is None and manages and (job is None or not job.active):
                    label = "Relancer l'analyse" if job and job.status == "failed" else "Analyser"
                    if st.button(label, key=f"analyse-{rec.id}", icon=":material/play_arrow:"):
                        try:
                            st.session_state["flash_success"] = start_analysis(
                                db, jobs, rec, common.actor(db)
                            ).message
                        except CallEvalError as exc:
                            st.session_state["flash_error"] = str(exc)
                        st.rerun()
                elif (
                    manages
                    and assigned is not None
                    and st.button(
                        "Voir la session",
                        key=f"session-{rec.id}",
                        icon=":material/event_available:",
                    )
                ):
                    common.goto("sessions", session=assigned.session_id)
