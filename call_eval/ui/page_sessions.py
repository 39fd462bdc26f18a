"""Page « Sessions d'examen »: the sessions, and one session's file.

The list: each session with its date, place, manager, jury and candidates; a manager
creates a new one. A session's file (``?session=<id>``), by tabs:

- **Candidats** — each candidate's call, attempt (first sitting, retake…), where every
  juror stands on their grid, the jury's decision; registration (retake rules enforced);
- **Jury** — members with their quality and eligibility, warnings when a juror or the
  composition does not meet the référentiel; adding a juror creates their account with a
  one-time password shown once;
- **Documents** — the minutes (procès-verbal) and the individual result sheets as PDF, the
  results as CSV; closing the session;
- **Recours**, **Dysfonctionnements** — record, track and decide;
- **Informations** — date, place, the two épreuves; **Journal** — every change.

Only the session's manager (or an administrator) changes it; its jurors read it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import streamlit as st

from call_eval import report, store
from call_eval.auth import User
from call_eval.errors import CallEvalError
from call_eval.store import Database, SessionCandidate, SessionFile
from call_eval.store.sessions import (
    APPEAL_STATUS_LABELS,
    DYSFUNCTION_CATEGORIES,
    DYSFUNCTION_CATEGORY_LABELS,
    DYSFUNCTION_STATUS_LABELS,
    DYSFUNCTION_STATUSES,
    EPREUVES,
    QUALITY_LABELS,
    format_day,
)
from call_eval.ui import common, resources

DECISION_BADGES = {
    "certifie": ":green-badge[Certifié]",
    "non_certifie": ":red-badge[Non certifié]",
}
EVAL_LABELS = {
    None: ":gray[grille non ouverte]",
    "analyse": ":gray[grille ouverte]",
    "en_revue": ":orange[en cours]",
    "valide": ":green[validée]",
}
CSS = """
<style>
[class*="st-key-member-"] p, [class*="st-key-cand-"] p { margin-bottom: 0.2rem; }
.st-key-new-account code { font-size: 1.05rem; }
</style>
"""


def render() -> None:
    db = resources.database()
    user = common.actor(db)
    session_id = common.query_int("session")
    if session_id is None:
        _list(db, user)
        return
    try:
        file = store.session_file(db, user, session_id)
    except CallEvalError as exc:
        common.set_query(session=None)
        st.title("Sessions d'examen")
        common.denied(str(exc))
        if st.button("Toutes les sessions", icon=":material/arrow_back:"):
            common.goto("sessions")
        return
    _session_page(db, user, file)


# =========================================================================== list
def _list(db: Database, user: User) -> None:
    st.title("Sessions d'examen")
    common.flash()
    sessions = store.list_sessions(db, user)
    if user.can("sessions.create"):
        with st.expander("Nouvelle session", expanded=not sessions, icon=":material/add_circle:"):
            _create_form(db, user)
    if not sessions:
        st.info(
            "Aucune session pour l'instant."
            if user.can("sessions.create")
            else "Vous ne faites partie du jury d'aucune session pour l'instant."
        )
        return
    for session in sessions:
        with st.container(border=True, key=f"session-{session.id}"):
            cols = st.columns([3.2, 1.6, 1.2, 1], vertical_alignment="center")
            badge = ":gray-badge[Close]" if session.closed else ":blue-badge[En préparation]"
            cols[0].markdown(
                f"**{common.md_escape(session.label)}** {badge}  \n"
                f":gray[Responsable : {common.md_escape(session.manager_name or '—')}]"
            )
            cols[1].markdown(
                f"{session.jurors} juré(s) · {session.candidates} candidat(s)  \n"
                f":gray[{session.decided} décision(s), {session.certified} certifié(s)]"
            )
            cols[2].markdown(f":gray[{_epreuves_short(session.epreuves)}]")
            if cols[3].button(
                "Ouvrir",
                key=f"open-session-{session.id}",
                icon=":material/folder_open:",
            ):
                common.goto("sessions", session=session.id)


SHORT_EPREUVES = {"mise_en_situation": "Mise en situation", "entretien_technique": "Entretien"}


def _epreuves_short(epreuves: dict[str, dict[str, str]]) -> str:
    parts = []
    for code, _label in EPREUVES:
        e = epreuves.get(code) or {}
        if e.get("heure") or e.get("salle"):
            where = f" ({e['salle']})" if e.get("salle") else ""
            parts.append(f"{SHORT_EPREUVES[code]} {e.get('heure') or ''}{where}".strip())
    return " · ".join(parts)


def _epreuve_inputs(prefix: str, current: dict[str, dict[str, str]] | None = None) -> dict:
    values: dict[str, dict[str, str]] = {}
    cols = st.columns(2)
    for col, (code, label) in zip(cols, EPREUVES, strict=True):
        now = (current or {}).get(code) or {}
        with col:
            st.markdown(f"**{label}**")
            inner = st.columns([1, 2])
            heure = inner[0].text_input(
                "Heure", value=now.get("heure", ""), key=f"{prefix}-{code}-heure",
                placeholder="09:00",
            )  # fmt: skip
            salle = inner[1].text_input(
                "Salle", value=now.get("salle", ""), key=f"{prefix}-{code}-salle"
            )
            sujet = st.text_input(
                "Sujet (facultatif)", value=now.get("sujet", ""), key=f"{prefix}-{code}-sujet"
            )
        values[code] = {"heure": heure, "salle": salle, "sujet": sujet}
    return values


def _manager_options(db: Database, user: User) -> dict[int, str]:
    if not user.is_admin:
        return {}
    return {
        a.user.id: a.user.display_name
        for a in store.list_accounts(db, user)
        if "manager" in a.user.roles and a.user.active
    }


def _create_form(db: Database, user: User) -> None:
    managers = _manager_options(db, user)
    with st.form("new_session", border=False):
        cols = st.columns([1, 2, 2])
        day = cols[0].date_input(
            "Date de la session", value=None, format="DD/MM/YYYY", key="new_session_date"
        )
        place = cols[1].text_input("Lieu", key="new_session_place", placeholder="Ville, centre")
        title = cols[2].text_input("Intitulé (facultatif)", key="new_session_title")
        epreuves = _epreuve_inputs("new")
        manager = None
        if managers:
            manager = st.selectbox(
                "Responsable de la session",
                options=list(managers),
                format_func=managers.get,
                index=list(managers).index(user.id) if user.id in managers else None,
                placeholder="Choisissez le responsable",
                key="new_session_manager",
            )
        submitted = st.form_submit_button("Créer la session", type="primary")
    if not submitted:
        return
    try:
        session = store.create_session(
            db,
            user,
            session_date=day,
            place=place,
            title=title or None,
            epreuves=epreuves,
            manager_user_id=manager,
        )
    except CallEvalError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.session_state["flash_success"] = (
        "Session créée. Composez le jury (onglet « Jury ») puis inscrivez les candidats."
    )
    common.goto("sessions", session=session.id)


# =========================================================================== one session
def _session_page(db: Database, user: User, file: SessionFile) -> None:
    session = file.session
    st.html(CSS)
    head = st.columns([5, 1.2], vertical_alignment="center")
    head[0].title(session.short_label)
    if head[1].button("Toutes les sessions", icon=":material/arrow_back:", key="back_sessions"):
        common.goto("sessions")
    badge = (
        ":gray-badge[:material/lock: Close]" if session.closed else ":blue-badge[En préparation]"
    )
    st.markdown(
        (f"**{common.md_escape(session.title)}** · " if session.title else "")
        + f"{badge} · Responsable : **{common.md_escape(session.manager_name or '—')}** · "
        f"{_epreuves_short(session.epreuves) or 'horaires des épreuves non renseignés'}"
    )
    common.flash()
    _show_new_password()
    manage = file.rights.manage and not session.closed
    problems = list(file.jury_warnings) + [
        f"{m.juror.name} : {w}" for m in file.jury for w in m.warnings
    ]
    if not file.jury and manage:
        st.info(
            "Jury à composer (onglet « Jury ») : un représentant de FILEA et un ou deux "
            "professionnels du métier.",
            icon=":material/groups:",
        )
    elif problems and (file.rights.manage or user.can("sessions.read_all")):
        st.warning(
            "**Règles du référentiel non respectées** — à régulariser ou à consigner :\n"
            + "\n".join(f"- {common.md_escape(p)}" for p in problems),
            icon=":material/warning:",
        )
    office = file.rights.manage or user.can("sessions.read_all")
    sections: list[tuple[str, Any]] = [
        ("Candidats", lambda: _candidates_tab(db, user, file, manage)),
        ("Jury", lambda: _jury_tab(db, user, file, manage)),
        ("Documents", lambda: _documents_tab(db, user, file)),
    ]
    if office:
        sections += [
            ("Recours", lambda: _appeals_tab(db, user, file)),
            ("Dysfonctionnements", lambda: _dysfunctions_tab(db, user, file)),
            ("Informations", lambda: _info_tab(db, user, file, manage)),
            ("Journal", lambda: _journal_tab(db, user, file)),
        ]
    labels = [name for name, _ in sections]
    if st.session_state.get("onglet") not in labels:
        st.session_state.pop("onglet", None)
    # The open tab is kept in the URL (?onglet=Jury): an action, a reload or a shared link
    # stays on it; only the open tab is drawn.
    tabs = st.tabs(labels, key="onglet", on_change="rerun", bind="query-params")
    for tab, (_name, draw) in zip(tabs, sections, strict=True):
        if tab.open is not False:
            with tab:
                draw()


def _show_new_password() -> None:
    shown = st.session_state.pop("new_account", None)
    if not shown:
        return
    with st.container(border=True, key="new-account"):
        st.markdown(
            f":material/key: **Compte créé pour {common.md_escape(shown['name'])}** — "
            f"identifiant `{shown['username']}`, mot de passe provisoire :"
        )
        st.code(shown["password"], language=None)
        st.caption(
            "Communiquez-le à la personne : il ne sera plus affiché. Elle le remplacera à sa "
            "première connexion."
        )


def _done(message: str) -> None:
    st.session_state["flash_success"] = message
    st.rerun()


def _attempt(db: Database, action: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a store change; a refusal is shown as a French error (returns None).

    A change that returns nothing gives True when it succeeded."""
    try:
        result = action(db, *args, **kwargs)
    except CallEvalError as exc:
        st.error(str(exc), icon=":material/error:")
        return None
    return True if result is None else result


# --------------------------------------------------------------------------- candidates
def _candidates_tab(db: Database, user: User, file: SessionFile, manage: bool) -> None:
    if not file.candidates:
        st.info("Aucun candidat inscrit.")
    for c in file.candidates:
        _candidate_row(db, user, file, c, manage)
    if manage:
        with st.expander("Inscrire un candidat", icon=":material/person_add:",
                         expanded=not file.candidates):  # fmt: skip
            _register_form(db, user, file)


def _candidate_row(
    db: Database, user: User, file: SessionFile, c: SessionCandidate, manage: bool
) -> None:
    with st.container(border=True, key=f"cand-{c.id}"):
        cols = st.columns([2.4, 2.6, 1.5], vertical_alignment="top")
        if c.annulled or c.status == "absent":
            decision = f":gray-badge[{c.decision_label}]"
        else:
            decision = DECISION_BADGES.get(c.decision or "", ":orange-badge[Décision en attente]")
        score = f" — {c.acquis} / {c.total}" if c.acquis is not None else ""
        cols[0].markdown(
            f"**{common.md_escape(c.candidate_name)}** {decision}{score}  \n"
            f":gray[{c.origin_label}"
            + (f" (présentation n° {c.attempt})" if c.attempt > 1 else "")
            + "]"
        )
        recording = (
            f":material/call: {common.md_escape(c.recording_filename)}"
            + ("" if c.analysed else " :orange[(non analysé)]")
            if c.recording_filename
            else ":orange[Aucun appel rattaché]"
        )
        progress = " · ".join(
            f"{common.md_escape(p.name)} : {EVAL_LABELS.get(p.status, p.status)}"
            + (f" ({p.acquis}/{p.ticked})" if p.ticked else "")
            for p in c.progress
        )
        cols[1].markdown(f"{recording}  \n:small[{progress or 'Jury non composé'}]")
        for warning in c.warnings:
            cols[1].caption(f":orange[:material/warning: {common.md_escape(warning)}]")
        with cols[2]:
            can_score = (
                file.rights.jury_member and c.recording_id is not None and c.analysed
                and c.status == "inscrit" and not file.session.closed
            )  # fmt: skip
            if can_score and st.button(
                "Noter l'appel", key=f"score-{c.id}", type="primary", icon=":material/fact_check:"
            ):
                common.goto("revue", appel=c.recording_id)
            ready = bool(c.progress) and all(p.validated for p in c.progress)
            if (
                file.rights.deliberate
                and c.status != "absent"
                and st.button(
                    "Délibération",
                    key=f"delib-{c.id}",
                    icon=":material/gavel:",
                    type="primary" if (ready or c.decided) and not can_score else "secondary",
                )
            ):
                common.goto("deliberation", candidat=c.id)
            if manage and c.status != "decide":
                with st.popover("Gérer", icon=":material/tune:"):
                    _candidate_actions(db, user, c)


def _candidate_actions(db: Database, user: User, c: SessionCandidate) -> None:
    if c.origin == "rattrapage":
        justified = st.checkbox(
            "Justificatif d'expérience professionnelle reçu",
            value=c.experience_justified,
            key=f"exp-{c.id}",
        )
        if justified != c.experience_justified and _attempt(
            db, store.set_experience_justified, user, c.id, justified
        ):
            _done("Justificatif enregistré." if justified else "Justificatif retiré.")
    options = _free_recordings(db, user, keep=c.recording_id)
    choice = st.selectbox(
        "Appel de la mise en situation",
        options=list(options),
        format_func=options.get,
        index=list(options).index(c.recording_id) if c.recording_id in options else None,
        placeholder="Choisissez un appel déposé",
        key=f"rec-{c.id}",
    )
    if (
        choice is not None
        and choice != c.recording_id
        and _attempt(db, store.set_candidate_recording, user, c.id, choice)
    ):
        _done("Appel rattaché au candidat.")
    label = "Marquer présent" if c.status == "absent" else "Marquer absent"
    if st.button(label, key=f"absent-{c.id}", icon=":material/person_off:") and _attempt(
        db, store.mark_absent, user, c.id, c.status != "absent"
    ):
        _done(f"{c.candidate_name} : {label.lower().replace('marquer ', '')}.")
    if st.button(
        "Retirer l'inscription", key=f"unregister-{c.id}", icon=":material/delete:"
    ) and _attempt(db, store.unregister_candidate, user, c.id):
        _done(f"Inscription de {c.candidate_name} retirée.")


def _free_recordings(db: Database, user: User, keep: int | None = None) -> dict[int, str]:
    """Exam calls not yet attached to a candidate (plus ``keep``), labelled."""
    assigned = store.recording_assignments(db, user)
    out = {}
    for item in store.list_recordings(db, user, purpose=store.EXAM):
        rec = item.recording
        if rec.id in assigned and rec.id != keep:
            continue
        state = "analysé" if item.analysis_id is not None else "non analysé"
        out[rec.id] = f"{rec.candidate_name or 'Candidat non renseigné'} — {rec.filename} ({state})"
    return out


def _register_form(db: Database, user: User, file: SessionFile) -> None:
    recordings = _free_recordings(db, user)
    with st.form("register_candidate", border=False, clear_on_submit=True):
        cols = st.columns([2, 3])
        name = cols[0].text_input(
            "Candidat (prénom et nom)",
            key="register_name",
            help="Un candidat déjà connu (même nom) est repris avec son historique : les "
            "règles de rattrapage s'appliquent.",
        )
        recording = cols[1].selectbox(
            "Appel de la mise en situation",
            options=list(recordings),
            format_func=recordings.get,
            index=None,
            placeholder="Choisissez un appel déposé (page « Appels »)",
            key="register_recording",
        )
        justified = st.checkbox(
            "Rattrapage : justificatif d'expérience professionnelle sur le métier reçu",
            key="register_experience",
        )
        submitted = st.form_submit_button("Inscrire", type="primary")
    if not submitted:
        return
    if not name.strip() and recording is not None:
        rec = store.get_recording(db, user, recording)
        name = rec.candidate_name or ""
    registered = _attempt(
        db,
        store.register_candidate,
        user,
        file.session.id,
        name,
        recording_id=recording,
        experience_justified=justified,
    )
    if registered is not None:
        _done(f"{registered.candidate_name} inscrit(e) : {registered.origin_label.lower()}.")


# --------------------------------------------------------------------------- jury
def _jury_tab(db: Database, user: User, file: SessionFile, manage: bool) -> None:
    if not file.jury:
        st.info(
            "Aucun membre du jury pour l'instant : un représentant de FILEA et un ou deux "
            "professionnels du métier (3 ans d'expérience au moins, session d'information de "
            "2 heures suivie)."
        )
    for warning in file.jury_warnings if file.jury else ():
        st.warning(warning, icon=":material/groups:")
    for m in file.jury:
        j = m.juror
        with st.container(border=True, key=f"member-{j.id}"):
            cols = st.columns([2.4, 3, 1.3], vertical_alignment="top")
            quality = (
                ":violet-badge[FILEA]" if m.quality == "filea" else ":blue-badge[Professionnel]"
            )
            cols[0].markdown(
                f"**{common.md_escape(j.name)}** {quality}  \n"
                f":gray[{common.md_escape(j.organisation or 'organisation non renseignée')}]  \n"
                + (
                    f":gray[:material/person: compte `{j.username}`]"
                    if j.username
                    else ":gray[pas de compte de connexion]"
                )
            )
            years = (
                "non renseignée"
                if j.years_experience is None
                else f"{j.years_experience:g} an" + ("s" if j.years_experience >= 2 else "")
            )
            cols[1].markdown(
                f"Expérience dans le métier : **{years}**  \n"
                f"A quitté le métier : **{format_day(j.left_trade_on) if j.left_trade_on else 'non'}**"
                f"  \nSession d'information (2 h) : "
                f"**{format_day(j.briefing_on) if j.briefing_on else 'non renseignée'}**"
            )
            if m.warnings:
                for w in m.warnings:
                    cols[1].markdown(f":orange[:material/warning: {common.md_escape(w)}]")
            else:
                cols[1].markdown(":green[:material/check_circle: Conforme au référentiel]")
            if manage:
                with cols[2]:
                    _member_actions(db, user, file, m)
    if manage:
        with st.expander("Ajouter un membre du jury", icon=":material/person_add:",
                         expanded=len(file.jury) < 2):  # fmt: skip
            _add_member(db, user, file)


def _member_actions(db: Database, user: User, file: SessionFile, m: Any) -> None:
    j = m.juror
    with (
        st.popover("Éligibilité", icon=":material/edit:"),
        st.form(f"eligibility-{j.id}", border=False),
    ):
        org, years, left, briefing = _eligibility_inputs(f"elig-{j.id}", j, compact=True)
        if st.form_submit_button("Enregistrer", type="primary") and _attempt(
            db,
            store.update_juror,
            user,
            j.id,
            organisation=org,
            years_experience=years,
            left_trade_on=left,
            briefing_on=briefing,
        ):
            _done(f"Éligibilité de {j.name} enregistrée.")
    if j.username is None:
        with st.popover("Créer un compte", icon=":material/key:"):
            username = st.text_input("Identifiant", key=f"acct-{j.id}", value=_suggest(j.name))
            if st.button("Créer le compte", key=f"create-acct-{j.id}", type="primary"):
                account = _attempt(db, store.create_user, user, username=username,
                                   display_name=j.name, roles=["juror"], juror_id=j.id)  # fmt: skip
                if account is not None:
                    _remember_account(j.name, account)
                    st.rerun()
    elif j.user_id is not None and st.button(
        "Nouveau mot de passe", key=f"reset-{j.id}", icon=":material/lock_reset:"
    ):
        password = _attempt(db, store.reset_password, user, j.user_id)
        if password:
            st.session_state["new_account"] = {
                "name": j.name,
                "username": j.username,
                "password": password,
            }
            st.rerun()
    if st.button(
        "Retirer du jury", key=f"remove-{j.id}", icon=":material/person_remove:"
    ) and _attempt(db, store.remove_jury_member, user, file.session.id, j.id):
        _done(f"{j.name} retiré(e) du jury.")


def _suggest(name: str) -> str:
    import re
    import unicodedata

    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    parts = [p for p in re.split(r"[^a-z0-9]+", text) if p]
    return ".".join(parts[:2]) if parts else ""


def _remember_account(name: str, account: Any) -> None:
    st.session_state["new_account"] = {
        "name": name,
        "username": account.user.username,
        "password": account.password,
    }


def _eligibility_inputs(
    prefix: str, j: Any = None, *, compact: bool = False
) -> tuple[str, float | None, Any, Any]:
    top = st.columns(1 if compact else [3, 2])
    bottom = st.columns(1 if compact else 2)
    org = top[0].text_input(
        "Organisation (entreprise, service)",
        value=(j.organisation or "") if j else "",
        key=f"{prefix}-org",
    )
    years = top[-1].number_input(
        "Années d'expérience dans le métier visé",
        min_value=0.0,
        max_value=60.0,
        step=1.0,
        value=j.years_experience if j else None,
        key=f"{prefix}-years",
    )
    left = bottom[0].date_input(
        "A quitté le métier le (vide s'il l'exerce encore)",
        value=j.left_trade_on if j else None,
        format="DD/MM/YYYY",
        min_value=date(1960, 1, 1),
        key=f"{prefix}-left",
    )
    briefing = bottom[-1].date_input(
        "Session d'information de 2 heures suivie le",
        value=j.briefing_on if j else None,
        format="DD/MM/YYYY",
        min_value=date(2000, 1, 1),
        key=f"{prefix}-briefing",
    )
    return org, years, left, briefing


def _add_member(db: Database, user: User, file: SessionFile) -> None:
    seated = {m.juror.id for m in file.jury}
    known = {j.id: j for j in store.list_jurors_for(db, user) if j.id not in seated}
    mode = st.segmented_control(
        "Juré",
        options=["nouveau", "existant"],
        format_func={"nouveau": "Nouveau juré", "existant": "Juré déjà enregistré"}.get,
        default="nouveau",
        key="member_mode",
        label_visibility="collapsed",
    )
    if mode == "existant":
        if not known:
            st.caption("Aucun autre juré enregistré.")
            return
        with st.form("seat_member", border=False):
            juror_id = st.selectbox(
                "Juré",
                options=list(known),
                format_func=lambda i: f"{known[i].name} — {known[i].organisation or '?'}",
                key="seat_juror",
            )
            quality = st.radio(
                "Qualité", options=list(QUALITY_LABELS), format_func=QUALITY_LABELS.get,
                horizontal=True, key="seat_quality",
            )  # fmt: skip
            if st.form_submit_button("Ajouter au jury", type="primary"):
                member = _attempt(db, store.add_jury_member, user, file.session.id, juror_id,
                                  quality)  # fmt: skip
                if member is not None:
                    _done(_seated_message(member))
        return
    gen = st.session_state.get("member_form", 0)  # a new blank form after each addition
    with st.form(f"new_member_{gen}", border=False):
        cols = st.columns([2, 2])
        name = cols[0].text_input("Nom du juré (prénom et nom)", key=f"member{gen}_name")
        quality = cols[1].radio(
            "Qualité", options=list(QUALITY_LABELS), format_func=QUALITY_LABELS.get,
            horizontal=True, key=f"member{gen}_quality",
        )  # fmt: skip
        org, years, left, briefing = _eligibility_inputs(f"member{gen}")
        cols = st.columns([1, 2], vertical_alignment="bottom")
        with_account = cols[0].checkbox(
            "Créer son compte de connexion", value=True, key=f"member{gen}_account"
        )
        username = cols[1].text_input(
            "Identifiant (ex. prenom.nom)", key=f"member{gen}_username",
            help="Laissé vide : formé à partir du nom.",
        )  # fmt: skip
        submitted = st.form_submit_button("Ajouter au jury", type="primary")
    if not submitted:
        return
    juror = _attempt(db, store.create_juror, user, name=name, organisation=org,
                     years_experience=years, left_trade_on=left, briefing_on=briefing)  # fmt: skip
    if juror is None:
        return
    member = _attempt(db, store.add_jury_member, user, file.session.id, juror.id, quality)
    if member is None:
        return
    if with_account:
        account = _attempt(db, store.create_user, user, username=username or _suggest(juror.name),
                           display_name=juror.name, roles=["juror"], juror_id=juror.id)  # fmt: skip
        if account is None:
            st.warning("Juré ajouté au jury, mais sans compte : corrigez l'identifiant ci-dessus.")
            return
        _remember_account(juror.name, account)
    st.session_state["member_form"] = gen + 1
    _done(_seated_message(member))


def _seated_message(member: Any) -> str:
    text = f"{member.juror.name} ajouté(e) au jury ({member.quality_label.lower()})."
    if member.warnings:
        text += " Attention : règles du référentiel non respectées, voir ci-dessous."
    return text


# --------------------------------------------------------------------------- documents
def _documents_tab(db: Database, user: User, file: SessionFile) -> None:
    session = file.session
    minutes = report.build_session_minutes(store.minutes_export(db, user, session.id))
    stem = f"session_{session.session_date:%Y%m%d}_{session.id}"
    st.markdown("**Procès-verbal de la session**")
    if not minutes["final"]:
        st.caption(
            ":orange[Provisoire tant que la session n'est pas close.] Il liste chaque candidat "
            "avec la décision du jury, les blocs de signature des jurés et le contreseing du "
            "responsable de session."
        )
    row = st.container(horizontal=True)
    row.download_button(
        "Procès-verbal (PDF)",
        data=lambda: report.session_minutes_pdf(minutes),
        file_name=f"proces_verbal_{stem}.pdf",
        mime="application/pdf",
        type="primary",
        icon=":material/picture_as_pdf:",
        key="download_pv",
        on_click="ignore",
    )
    row.download_button(
        "Résultats (CSV)",
        data=lambda: report.results_csv(store.results_rows(db, user, session.id)),
        file_name=f"resultats_{stem}.csv",
        mime="text/csv",
        icon=":material/table:",
        key="download_csv",
        on_click="ignore",
    )
    row.download_button(
        "Procès-verbal (Markdown)",
        data=report.session_minutes_markdown(minutes).encode("utf-8"),
        file_name=f"proces_verbal_{stem}.md",
        mime="text/markdown",
        icon=":material/description:",
        key="download_pv_md",
        on_click="ignore",
    )
    counts = minutes["counts"]
    st.caption(
        f"{counts['registered']} inscrit(s) · {counts['certified']} certifié(s) · "
        f"{counts['not_certified']} non certifié(s) · {counts['absent']} absent(s) · "
        f"{counts['pending']} en attente"
    )
    decided = [c for c in file.candidates if c.decided]
    if decided:
        st.markdown("**Fiches individuelles de résultat**")
        for c in decided:
            st.download_button(
                f"Fiche de {c.candidate_name} (PDF)",
                data=_sheet_pdf(db, user, c.id),
                file_name=f"fiche_resultat_{common_stem(c.candidate_name)}_{session.id}.pdf",
                mime="application/pdf",
                icon=":material/badge:",
                key=f"download_sheet_{c.id}",
                on_click="ignore",
            )
    if file.rights.manage:
        st.divider()
        _closing(db, user, file, counts)


def _sheet_pdf(db: Database, user: User, session_candidate_id: int) -> Any:
    def build() -> bytes:
        export = store.jury_sheet_export(db, user, session_candidate_id)
        return report.result_sheet_pdf(report.build_result_sheet(export))

    return build


def common_stem(name: str) -> str:
    import re
    import unicodedata

    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_") or "candidat"


def _closing(db: Database, user: User, file: SessionFile, counts: dict[str, int]) -> None:
    session = file.session
    if session.closed:
        st.success(
            f"Session close le {report.format_datetime(session.closed_at)} : le procès-verbal "
            "est définitif.",
            icon=":material/lock:",
        )
        with st.popover("Rouvrir la session", icon=":material/lock_open:"):
            reason = st.text_input("Motif (obligatoire, conservé au journal)", key="reopen_reason")
            if st.button("Rouvrir", key="reopen_session") and _attempt(
                db, store.reopen_session, user, session.id, reason
            ):
                _done("Session rouverte : le motif est au journal.")
        return
    st.markdown("**Clôture**")
    st.caption(
        "Clore la session fige les décisions et rend le procès-verbal définitif. Toutes les "
        "décisions doivent être prises (ou les candidats marqués absents)."
    )
    sure = st.checkbox("Je confirme la clôture de la session", key="confirm_close")
    if st.button(
        "Clore la session",
        key="close_session",
        type="primary",
        icon=":material/lock:",
        disabled=not sure or counts["pending"] > 0,
        help="Délibérez d'abord pour chaque candidat." if counts["pending"] else None,
    ) and _attempt(db, store.close_session, user, session.id):
        _done("Session close : le procès-verbal est définitif.")


# --------------------------------------------------------------------------- appeals
def _appeals_tab(db: Database, user: User, file: SessionFile) -> None:
    st.caption(
        "Le candidat qui conteste la régularité de la session écrit à la direction. Le "
        "recours est instruit avec la fiche de suivi des dysfonctionnements et le "
        "procès-verbal : fondé, une nouvelle session est organisée pour lui ; sinon, une "
        "notification de non-recevabilité lui est adressée."
    )
    for a in file.appeals:
        colour = {"fonde": "green", "non_recevable": "red"}.get(a.status, "orange")
        with st.container(border=True, key=f"appeal-{a.id}"):
            st.markdown(
                f"**{common.md_escape(a.candidate_name)}** — reçu le {format_day(a.received_on)} "
                f":{colour}-badge[{APPEAL_STATUS_LABELS.get(a.status, a.status)}]"
            )
            st.markdown(f"Motifs : {common.md_escape(a.motives)}")
            if a.decision_note:
                st.markdown(
                    f"Décision{' du ' + format_day(a.decided_on) if a.decided_on else ''}"
                    f" : {common.md_escape(a.decision_note)}"
                )
            if file.rights.manage and not a.final:
                with st.form(f"appeal-decide-{a.id}", border=False):
                    cols = st.columns([1.4, 3])
                    status = cols[0].selectbox(
                        "Suite donnée",
                        options=["en_instruction", "fonde", "non_recevable"],
                        format_func=APPEAL_STATUS_LABELS.get,
                        key=f"appeal-status-{a.id}",
                    )
                    note = cols[1].text_input(
                        "Motivation (obligatoire pour une décision)", key=f"appeal-note-{a.id}"
                    )
                    if st.form_submit_button("Enregistrer") and _attempt(
                        db, store.decide_appeal, user, a.id, status=status, note=note
                    ):
                        _done("Recours mis à jour.")
    if not file.appeals:
        st.info("Aucun recours pour cette session.")
    candidates = {c.id: c.candidate_name for c in file.candidates}
    if file.rights.manage and candidates:
        with (
            st.expander("Enregistrer un recours", icon=":material/mail:"),
            st.form("new_appeal", border=False),
        ):
            cols = st.columns([2, 1])
            sc_id = cols[0].selectbox(
                    "Candidat", options=list(candidates), format_func=candidates.get,
                    key="appeal_candidate",
                )  # fmt: skip
            received = cols[1].date_input(
                    "Reçu le", value=datetime.now(UTC).date(), format="DD/MM/YYYY",
                    key="appeal_received",
                )  # fmt: skip
            motives = st.text_area("Motifs invoqués par le candidat", key="appeal_motives")
            if st.form_submit_button("Enregistrer le recours", type="primary") and _attempt(
                db, store.file_appeal, user, sc_id, received_on=received, motives=motives
            ):
                _done("Recours enregistré.")


# --------------------------------------------------------------------------- dysfunctions
def _dysfunctions_tab(db: Database, user: User, file: SessionFile) -> None:
    st.caption(
        "Fiche de suivi des dysfonctionnements : le responsable de session relève les "
        "dysfonctionnements, fait l'état des lieux avec le jury en fin de session ; la fiche "
        "est analysée avec la direction et le responsable de formation."
    )
    manage = file.rights.manage
    for d in file.dysfunctions:
        colour = {"traite": "green", "en_cours": "orange"}.get(d.status, "red")
        with st.container(border=True, key=f"dysf-{d.id}"):
            st.markdown(
                f"**{format_day(d.observed_on)}** · {d.category_label} "
                f":{colour}-badge[{d.status_label}]  \n{common.md_escape(d.description)}"
            )
            if d.action:
                st.markdown(f"Action corrective : {common.md_escape(d.action)}")
            if manage and d.status != "traite":
                with st.form(f"dysf-update-{d.id}", border=False):
                    cols = st.columns([1, 3])
                    status = cols[0].selectbox(
                        "Statut", options=list(DYSFUNCTION_STATUSES),
                        format_func=DYSFUNCTION_STATUS_LABELS.get,
                        index=DYSFUNCTION_STATUSES.index(d.status), key=f"dysf-status-{d.id}",
                    )  # fmt: skip
                    action = cols[1].text_input(
                        "Action corrective", value=d.action, key=f"dysf-action-{d.id}"
                    )
                    if st.form_submit_button("Mettre à jour") and _attempt(
                        db, store.update_dysfunction, user, d.id, status=status, action=action
                    ):
                        _done("Dysfonctionnement mis à jour.")
    if not file.dysfunctions:
        st.info("Aucun dysfonctionnement consigné.")
    if manage:
        with (
            st.expander("Consigner un dysfonctionnement", icon=":material/report:"),
            st.form("new_dysfunction", border=False),
        ):
            cols = st.columns([1, 1.5])
            observed = cols[0].date_input(
                    "Constaté le", value=file.session.session_date, format="DD/MM/YYYY",
                    key="dysf_date",
                )  # fmt: skip
            category = cols[1].selectbox(
                    "Catégorie", options=list(DYSFUNCTION_CATEGORIES),
                    format_func=DYSFUNCTION_CATEGORY_LABELS.get, key="dysf_category",
                )  # fmt: skip
            description = st.text_area("Description", key="dysf_description")
            action = st.text_input("Action corrective (si déjà décidée)", key="dysf_action")
            if st.form_submit_button("Consigner", type="primary") and _attempt(
                    db, store.log_dysfunction, user, file.session.id, observed_on=observed,
                    category=category, description=description, action=action,
                ):  # fmt: skip
                _done("Dysfonctionnement consigné.")


# --------------------------------------------------------------------------- information
def _info_tab(db: Database, user: User, file: SessionFile, manage: bool) -> None:
    session = file.session
    if not manage:
        st.markdown(
            f"Date : **{format_day(session.session_date)}** · lieu : "
            f"**{common.md_escape(session.place)}**"
        )
        for code, label in EPREUVES:
            e = session.epreuves.get(code) or {}
            st.markdown(
                f"- {label} : {e.get('heure') or '—'}"
                + (f", salle {common.md_escape(e['salle'])}" if e.get("salle") else "")
                + (f", sujet : {common.md_escape(e['sujet'])}" if e.get("sujet") else "")
            )
        if session.notes:
            st.markdown(common.md_escape(session.notes))
        return
    with st.form("edit_session", border=False):
        cols = st.columns([1, 2, 2])
        day = cols[0].date_input(
            "Date de la session", value=session.session_date, format="DD/MM/YYYY",
            key="edit_date",
        )  # fmt: skip
        place = cols[1].text_input("Lieu", value=session.place, key="edit_place")
        title = cols[2].text_input("Intitulé", value=session.title or "", key="edit_title")
        epreuves = _epreuve_inputs("edit", session.epreuves)
        notes = st.text_area("Notes (convocations, matériel…)", value=session.notes,
                             key="edit_notes")  # fmt: skip
        if st.form_submit_button("Enregistrer", type="primary") and _attempt(
            db, store.update_session, user, session.id, session_date=day, place=place,
            title=title or None, epreuves=epreuves, notes=notes,
        ):  # fmt: skip
            _done("Session mise à jour.")


def _journal_tab(db: Database, user: User, file: SessionFile) -> None:
    try:
        entries = store.audit_entries(db, user, session_id=file.session.id, limit=200)
    except CallEvalError as exc:
        common.denied(str(exc))
        return
    if not entries:
        st.caption("Aucune modification enregistrée.")
        return
    st.dataframe(
        [
            {
                "Quand": report.format_datetime(e.at),
                "Qui": e.actor,
                "Quoi": ACTIONS.get(e.action, e.action),
                "Critère": e.criterion_id or "",
                "Détail": _detail(e),
            }
            for e in reversed(entries)
        ],
        hide_index=True,
        width="stretch",
    )


ACTIONS = {
    "session.create": "Session créée",
    "session.update": "Session modifiée",
    "session.close": "Session close",
    "session.reopen": "Session rouverte",
    "jury.add": "Juré ajouté",
    "jury.remove": "Juré retiré",
    "candidate.register": "Candidat inscrit",
    "candidate.recording": "Appel rattaché",
    "candidate.absent": "Présence",
    "candidate.experience": "Justificatif d'expérience",
    "candidate.unregister": "Inscription retirée",
    "candidate.annul": "Présentation annulée",
    "evaluation.create": "Grille ouverte",
    "evaluation.validate": "Grille validée",
    "evaluation.unlock": "Grille déverrouillée",
    "deliberation.tick": "Coche du jury",
    "deliberation.comment": "Commentaire du jury",
    "deliberation.decide": "Décision du jury",
    "deliberation.reopen": "Décision rouverte",
    "appeal.create": "Recours enregistré",
    "appeal.update": "Recours mis à jour",
    "dysfunction.create": "Dysfonctionnement consigné",
    "dysfunction.update": "Dysfonctionnement mis à jour",
}


def _detail(e: Any) -> str:
    from call_eval.store.sessions import DECISION_LABELS

    after = e.after or {}
    ticks = {"acquis": "acquis", "non_acquis": "non acquis", None: "non coché"}
    note = f" ({e.note})" if e.note else ""
    if e.action == "deliberation.tick":
        before = ticks.get((e.before or {}).get("tick"), "?")
        return f"{before} → {ticks.get(after.get('tick'), '?')}{note}"
    if e.action == "deliberation.decide":
        label = DECISION_LABELS.get(after.get("decision"), after.get("decision"))
        return f"{label} ({after.get('acquis')}/{after.get('total')})"
    if e.action in ("jury.add", "candidate.register"):
        return str(after.get("juror") or after.get("candidate") or "")
    return e.note or ""
