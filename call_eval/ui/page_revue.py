"""Page « Revue d'un appel »: listen, read, check the suggestions, tick, validate.

Left: the running total and the criteria grid (a fragment: a tick reruns only the grid).
Right (sticky): the audio player, then tabs — transcript, timeline and measures, script
and CRM note, journal. Clicking a time (utterance or evidence) plays from that moment.
Every tick and comment is written to the store by its widget's callback, at once.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from call_eval import store
from call_eval.auth import User
from call_eval.errors import CallEvalError
from call_eval.report import (
    FEATURE_GROUPS,
    feature_band,
    feature_rows,
    format_datetime,
    format_duration,
    format_percent,
    format_time,
)
from call_eval.store import Database, Evaluation, Mark, Recording
from call_eval.ui import common, resources

TRANSCRIPT_PAGE = 40
MIME_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "flac": "audio/flac",
    "m4a": "audio/mp4",
    "mp4": "audio/mp4",
    "aac": "audio/aac",
    "webm": "audio/webm",
}
CSS = (
    """<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
[data-testid="stLayoutWrapper"]:has(> .st-key-review-side) {
  position: sticky; top: 3.5rem; z-index: 2; }
.st-key-review-side { max-height: calc(100vh - 4.5rem); overflow-y: auto; overflow-x: hidden; }
.st-key-transcript { max-height: calc(100vh - 17rem); }
.st-key-score-panel [data-testid="stMetricValue"] { font-size: 1.6rem; }
[class*="st-key-crit-"] [data-testid="stMarkdownContainer"] p { margin-bottom: 0.45rem; }
"""
    + common.link_buttons_css("utt-", wrap=False)
    + common.link_buttons_css("ev-")
    + common.tick_control_css("tick-")
    + "</style>\n"
)


def render() -> None:
    db = resources.database()
    user = common.actor(db)
    common.flash()
    recording_id = common.query_int("appel") or st.session_state.get("recording_id")
    if recording_id is None:
        st.title("Revue d'un appel")
        _choose_recording(db, user)
        return
    try:
        recording = store.get_recording(db, user, recording_id)
    except CallEvalError as exc:
        st.session_state.pop("recording_id", None)
        common.set_query(appel=None)
        st.title("Revue d'un appel")
        common.denied(str(exc))
        _choose_recording(db, user)
        return
    st.session_state["recording_id"] = recording.id
    common.set_query(appel=recording.id)

    try:
        evaluation = store.find_evaluation(db, user, recording.id)
        if evaluation is None:
            if store.latest_analysis_id(db, user, recording.id) is None:
                _title(recording)
                _not_analysed(db, recording)
                return
            evaluation = store.open_evaluation(db, user, recording.id)
    except CallEvalError as exc:
        _title(recording)
        common.denied(str(exc))
        return
    if evaluation.analysis_id is None:
        _title(recording)
        st.error("L'analyse de cet appel a été supprimée : relancez-la depuis la page « Appels ».")
        return
    analysis = resources.analysis_result(db, user, evaluation.analysis_id)

    st.html(CSS)
    _header(recording, analysis)
    left, right = st.columns([0.56, 0.44], gap="medium")
    with right, st.container(key="review-side"):
        _player(db, recording, analysis)
        _side_tabs(db, user, recording, analysis)
    with left:
        _grid(db, evaluation.id, recording.crm_note)


# --------------------------------------------------------------------------- header
def _title(recording: Recording) -> None:
    st.title(f"Revue — {recording.candidate_name or 'candidat non renseigné'}")


def _header(recording: Recording, analysis: dict[str, Any]) -> None:
    _title(recording)
    call = analysis.get("call") or {}
    models = analysis.get("models") or {}
    rubric = analysis.get("rubric") or {}
    asr = models.get("asr") or {}
    parts = [
        common.md_escape(recording.filename),
        format_duration(recording.duration or call.get("duration")),
        f"déposé le {format_datetime(recording.created_at)}",
        f"analysé le {format_datetime(call.get('analyzed_at'))}",
    ]
    if isinstance(asr, dict) and asr.get("name"):
        parts.append(f"transcription {common.md_escape(asr['name'])}")
    if rubric.get("id"):
        parts.append(f"grille {common.md_escape(rubric['id'])} v{rubric.get('version', '?')}")
    st.caption(" · ".join(parts))
    roles = analysis.get("roles") or {}
    if roles:
        confidence = roles.get("confidence")
        text = (
            f"Candidat : **{_speaker_label(roles.get('agent'))}** · appelé : "
            f"**{_speaker_label(roles.get('callee'))}** "
            f"(identification {roles.get('method') == 'inferred' and 'automatique' or 'imposée'}, "
            f"confiance {format_percent(confidence)})"
        )
        reasons = roles.get("reasons") or []
        cols = st.columns([3, 1], vertical_alignment="center")
        cols[0].markdown(text)
        if reasons:
            with cols[1].popover("Pourquoi ?", icon=":material/help:"):
                for reason in reasons:
                    st.markdown(f"- {common.md_escape(reason)}")
        if isinstance(confidence, int | float) and confidence < 0.7:
            st.warning(
                "Rôles incertains : vérifiez dans la transcription que le candidat est bien "
                "identifié avant de vous fier aux suggestions."
            )
    for warning in analysis.get("warnings") or []:
        st.warning(str(warning))


SPEAKER_LABELS = {"left": "canal gauche", "right": "canal droit"}


def _speaker_label(speaker: Any) -> str:
    if not speaker:
        return "—"
    return SPEAKER_LABELS.get(str(speaker), common.md_escape(speaker))


def _choose_recording(db: Database, user: User) -> None:
    listings = [
        item
        for item in store.list_recordings(db, user, purpose=store.EXAM)
        if item.analysis_id is not None
    ]
    if not listings:
        st.info("Aucun appel analysé à noter dans vos sessions pour l'instant.")
        if st.button("Aller à la page Appels"):
            common.goto("appels")
        return
    labels = {
        item.recording.id: f"{item.recording.candidate_name or 'Candidat non renseigné'} — "
        f"{item.recording.filename}"
        for item in listings
    }
    choice = st.selectbox(
        "Appel à revoir", options=list(labels), format_func=labels.get, index=None,
        placeholder="Choisissez un appel",
    )  # fmt: skip
    if choice is not None:
        common.goto("revue", appel=choice)


def _not_analysed(db: Database, recording: Recording) -> None:
    job = resources.jobs(db).for_recording(recording.id)
    if job is not None and job.active:
        st.info("Analyse en cours : la grille sera disponible à la fin.")
        st.progress(job.overall, text=f"{job.stage_label} — {job.overall * 100:.0f} %")
    elif job is not None and job.status == "failed":
        st.error(job.message or "Échec de l'analyse.")
    else:
        st.info("Cet appel n'a pas encore été analysé.")
    if st.button("Aller à la page Appels", icon=":material/arrow_back:"):
        common.goto("appels")


# --------------------------------------------------------------------------- audio
def _seek(start: float, utterance: int | None = None, label: str | None = None) -> None:
    """Callback of a time button: play from ``start`` on the next (full) run."""
    st.session_state["play_from"] = float(start)
    st.session_state["play_label"] = label
    st.session_state["play_utterance"] = utterance
    st.session_state["play_nonce"] = st.session_state.get("play_nonce", 0) + 1
    st.session_state["seek_pending"] = True
    st.session_state["transcript_focus"] = float(start)


def _player(db: Database, recording: Recording, analysis: dict[str, Any]) -> None:
    pending = st.session_state.pop("seek_pending", False)
    path = store.recording_file(db, recording)
    start = float(st.session_state.get("play_from", 0.0))
    if path is None or recording.input_kind != "audio":
        if recording.input_kind == "transcript":
            st.info("Appel analysé depuis une transcription : pas d'audio à écouter.")
        else:
            st.warning("Fichier audio introuvable dans le dossier de données.")
        return
    with st.container(key="player"):
        st.audio(
            resources.media_bytes(path),
            format=MIME_TYPES.get(recording.format, "audio/wav"),
            start_time=int(start),
        )
    nonce = st.session_state.get("play_nonce", 0)
    if pending and nonce:
        # Seek to the exact time and play, even when the same moment is clicked twice.
        st.html(
            f"<script>/* seek {nonce} */(function() {{"
            f" const a = document.querySelector('.st-key-player audio');"
            f" if (!a) return; const go = () => {{ a.currentTime = {start:.2f};"
            f" a.play().catch(() => {{}}); }};"
            f" if (a.readyState >= 1) go(); else a.addEventListener('loadedmetadata', go,"
            f" {{once: true}});"
            " })();</script>",
            unsafe_allow_javascript=True,
        )
    label = st.session_state.get("play_label")
    if start > 0:
        st.caption(
            f"Lecture à partir de {format_time(start)}"
            + (f" — « {common.md_escape(label)} »" if label else "")
        )


# --------------------------------------------------------------------------- side tabs
def _side_tabs(db: Database, user: User, recording: Recording, analysis: dict[str, Any]) -> None:
    tabs = st.tabs(
        ["Transcription", "Chronologie et mesures", "Script et note CRM", "Journal"],
        key="review_tab",
        on_change="rerun",
    )
    with tabs[0]:
        if tabs[0].open is not False:
            _transcript(analysis)
    with tabs[1]:
        if tabs[1].open:
            _measures(analysis)
    with tabs[2]:
        if tabs[2].open:
            _script_and_note(recording)
    with tabs[3]:
        if tabs[3].open:
            _journal(db, user, recording)


@st.fragment
def _transcript(analysis: dict[str, Any]) -> None:
    if st.session_state.get("seek_pending"):
        st.rerun(scope="app")
    utterances = analysis.get("utterances") or []
    if not utterances:
        st.info("Aucune parole transcrite.")
        return
    current = st.session_state.get("play_utterance")
    focus = st.session_state.pop("transcript_focus", None)
    n = len(utterances)
    first, last = 0, n
    if n > TRANSCRIPT_PAGE:
        chunks = [(a, min(a + TRANSCRIPT_PAGE, n)) for a in range(0, n, TRANSCRIPT_PAGE)]
        if focus is not None:
            for index, (_first, b) in enumerate(chunks):
                if utterances[b - 1].get("end", 0) >= focus or index == len(chunks) - 1:
                    st.session_state["transcript_chunk"] = index
                    break
            if current is None:
                current = _utterance_at(utterances, focus)
        st.selectbox(
            "Passage",
            options=list(range(len(chunks))),
            format_func=lambda i: (
                f"{format_time(utterances[chunks[i][0]].get('start'))} – "
                f"{format_time(utterances[chunks[i][1] - 1].get('end'))} "
                f"(prises de parole {chunks[i][0] + 1} à {chunks[i][1]})"
            ),
            key="transcript_chunk",
        )
        first, last = chunks[st.session_state.get("transcript_chunk", 0) or 0]
    elif focus is not None and current is None:
        current = _utterance_at(utterances, focus)
    if current is not None:
        st.html(
            f"<style>.st-key-utt-{int(current)} button {{ background: rgba(255, 189, 69, 0.22); }}"
            "</style>"
        )
        if focus is not None:  # a time was just clicked: bring its utterance into view
            st.html(
                f"<script>/* {st.session_state.get('play_nonce', 0)} */ setTimeout(() => {{"
                f" const row = document.querySelector('.st-key-utt-{int(current)}');"
                " if (row) row.scrollIntoView({block: 'nearest'}); }, 300);</script>",
                unsafe_allow_javascript=True,
            )
    st.caption("Cliquez sur une réplique pour l'écouter à partir de ce moment.")
    with st.container(height=460, border=False, key="transcript"):
        for i in range(first, last):
            u = utterances[i]
            badge = common.ROLE_BADGES.get(u.get("role"), f":gray-badge[{u.get('speaker')}]")
            st.button(
                f"**{format_time(u.get('start'))}** {badge} {common.md_escape(u.get('text', ''))}",
                key=f"utt-{i}",
                type="tertiary",
                on_click=_seek,
                args=(float(u.get("start") or 0.0), i, None),
                width="stretch",
            )


def _utterance_at(utterances: list[dict[str, Any]], t: float) -> int | None:
    best, best_d = None, math.inf
    for i, u in enumerate(utterances):
        start, end = float(u.get("start") or 0), float(u.get("end") or 0)
        if start - 0.05 <= t <= end + 0.05:
            return i
        d = min(abs(t - start), abs(t - end))
        if d < best_d:
            best, best_d = i, d
    return best


def _plots() -> Any:
    try:
        from call_eval import plots
    except ImportError:
        return None
    return plots


def _figure(plots: Any, names: tuple[str, ...], *args: Any, **kwargs: Any) -> Any:
    """Build a figure with the first builder ``plots`` has; None when none works."""
    for name in names:
        builder = getattr(plots, name, None) if plots is not None else None
        if builder is None:
            continue
        try:
            return builder(*args, **kwargs)
        except Exception:  # a figure must never take the review page down
            import logging

            logging.getLogger(__name__).exception("figure %s failed", name)
            return None
    return None


def _measures(analysis: dict[str, Any]) -> None:
    plots = _plots()
    utterances = analysis.get("utterances") or []
    features = analysis.get("features")
    features = features if isinstance(features, dict) else None
    chart = {"displayModeBar": False}
    timeline = _figure(
        plots, ("speaker_timeline", "timeline_figure"), utterances, features=features
    )
    if timeline is not None:
        st.plotly_chart(timeline, key="fig-timeline", config=chart)
    else:
        st.caption("Chronologie indisponible.")
    if features is None:
        st.info("Mesures audio indisponibles : appel analysé depuis une transcription.")
        return
    level = _figure(plots, ("level_over_time", "level_figure"), features)
    if level is not None:
        st.plotly_chart(level, key="fig-level", config=chart)
    band = feature_band(analysis, "agent.speech_rate_wpm")
    rate = _figure(plots, ("rate_over_time", "rate_figure"), features, band=band)
    if rate is not None:
        st.plotly_chart(rate, key="fig-rate", config=chart)
    rows = feature_rows(analysis)
    if rows:
        st.markdown("**Mesures et plages de la grille**")
        group = st.segmented_control(
            "Interlocuteur",
            options=list(FEATURE_GROUPS.values()),
            default="Candidat",
            key="measures_group",
            label_visibility="collapsed",
        )
        shown = [r for r in rows if group is None or r["group"] == group]
        st.dataframe(
            [
                {"Mesure": r["measure"], "Valeur": r["value"], "Plage de la grille": r["band"]}
                for r in shown
            ],
            hide_index=True,
            width="stretch",
        )
    note = features.get("bands_note")
    if note:
        st.caption(str(note))


def _script_and_note(recording: Recording) -> None:
    st.markdown("**Script d'appel**")
    if recording.script_questions:
        st.markdown("\n".join(f"1. {common.md_escape(q)}" for q in recording.script_questions))
    else:
        st.caption("Aucun script fourni.")
    st.markdown("**Note CRM du candidat**")
    if recording.crm_note:
        st.text(recording.crm_note)
    else:
        st.caption("Aucune note CRM fournie : le critère C12 est à noter par le jury.")


ACTION_LABELS = {
    "recording.create": "Appel déposé",
    "recording.update": "Appel modifié",
    "analysis.create": "Analyse enregistrée",
    "analysis.fail": "Échec de l'analyse",
    "evaluation.create": "Évaluation ouverte",
    "item.tick": "Coche",
    "item.comment": "Commentaire",
    "evaluation.validate": "Évaluation validée",
    "evaluation.unlock": "Évaluation déverrouillée",
}


def _journal(db: Database, user: User, recording: Recording) -> None:
    entries = store.audit_entries(db, user, recording_id=recording.id, limit=60)
    if not entries:
        st.caption("Aucune modification enregistrée.")
        return
    rows = []
    for e in reversed(entries):
        detail = ""
        if e.action == "item.tick":
            before = common.TICK_LABELS.get((e.before or {}).get("tick"), "non coché")
            after = common.TICK_LABELS.get((e.after or {}).get("tick"), "non coché")
            detail = f"{before} → {after}"
        elif e.action == "item.comment":
            detail = f"« {(e.after or {}).get('comment', '')} »"
        if e.note:
            detail = f"{detail} ({e.note})" if detail else e.note
        rows.append(
            {
                "Quand": format_datetime(e.at),
                "Qui": e.actor,
                "Quoi": ACTION_LABELS.get(e.action, e.action),
                "Critère": e.criterion_id or "",
                "Détail": detail,
            }
        )
    st.dataframe(rows, hide_index=True, width="stretch")


# --------------------------------------------------------------------------- grid
@st.fragment
def _grid(db: Database, evaluation_id: int, crm_note: str | None) -> None:
    if st.session_state.get("seek_pending"):
        st.rerun(scope="app")
    user = common.actor(db)
    evaluation = store.get_evaluation(db, user, evaluation_id)
    analysis = (
        resources.analysis_result(db, user, evaluation.analysis_id)
        if evaluation.analysis_id
        else {}
    )
    details = {str(c.get("id")): c for c in analysis.get("criteria") or []}
    common.flash()
    _score_panel(db, user, evaluation)
    for mark in evaluation.marks:
        _criterion(db, evaluation, mark, details.get(mark.criterion_id, {}), crm_note)


def _score_panel(db: Database, user: User, evaluation: Evaluation) -> None:
    score = evaluation.score
    with st.container(border=True, key="score-panel"):
        cols = st.columns(4)
        cols[0].metric("Acquis (vos coches)", f"{score.acquis} / {score.total}")
        cols[1].metric(
            f"Seuil {format_percent(score.pass_ratio)}", f"{score.needed} / {score.total}"
        )
        cols[2].metric("Manquent", f"{score.missing}" if score.missing else "0 ✓")
        cols[3].metric("Non cochés", f"{score.unticked}")
        st.progress(score.acquis / score.total if score.total else 0.0)
        unticked = [m.criterion_id for m in evaluation.marks if m.tick is None]
        if score.complete:
            if score.passed:
                st.markdown(
                    f":green[Votre grille : **certifié** — {score.acquis} critères acquis sur "
                    f"{score.total} (au moins {score.needed}).] :gray[La décision revient au jury "
                    "en délibération.]"
                )
            else:
                st.markdown(
                    f":red[Votre grille : **non certifié** — {score.acquis} critères acquis sur "
                    f"{score.total}, il en faut {score.needed}.] :gray[La décision revient au "
                    "jury en délibération.]"
                )
        else:
            text = (
                f"Il manque **{score.missing}** critère(s) acquis pour atteindre "
                f"{score.needed} / {score.total}. "
                if score.missing
                else "Seuil atteint. "
            )
            st.markdown(text + f"À cocher : {', '.join(unticked)}.")
        if evaluation.locked:
            st.success(
                f"Évaluation validée le {format_datetime(evaluation.validated_at)} par "
                f"{evaluation.juror_name} : la grille est verrouillée.",
                icon=":material/lock:",
            )
            with st.expander("Déverrouiller l'évaluation"):
                st.text_input(
                    "Motif (obligatoire, conservé dans le journal)",
                    key=f"unlock-reason-{evaluation.id}",
                )
                st.button(
                    "Déverrouiller",
                    key="unlock",
                    icon=":material/lock_open:",
                    on_click=_on_unlock,
                    args=(db, evaluation.id),
                )
            actions = st.container(horizontal=True)
            assigned = store.recording_assignments(db, user).get(evaluation.recording_id)
            if assigned is not None and actions.button(
                "Délibération du jury",
                key="to_deliberation",
                type="primary",
                icon=":material/gavel:",
                help="Voir où les jurés divergent et arrêter les coches finales.",
            ):
                common.goto("deliberation", candidat=assigned.session_candidate_id)
            if actions.button("Voir la fiche de résultat", key="to_sheet",
                              icon=":material/description:"):  # fmt: skip
                common.goto("fiche", appel=evaluation.recording_id)
            return
        suggestable = [
            m
            for m in evaluation.marks
            if m.tick is None and not m.manual and m.suggested in store.TICKS
        ]
        actions = st.container(horizontal=True, horizontal_alignment="distribute")
        actions.button(
            "Reprendre les suggestions",
            key="accept",
            disabled=not suggestable,
            icon=":material/done_all:",
            help="Coche les critères encore vides selon la suggestion (acquis / non acquis). "
            "Les critères « à vérifier » et ceux notés par le jury restent à cocher.",
            on_click=_on_accept,
            args=(db, evaluation.id),
        )
        actions.button(
            "Valider l'évaluation",
            key="validate",
            type="primary",
            icon=":material/verified:",
            disabled=not score.complete,
            help="Verrouille la grille. Tous les critères doivent être cochés."
            if score.complete
            else "Cochez d'abord tous les critères (acquis ou non acquis).",
            on_click=_on_validate,
            args=(db, evaluation.id),
        )


def _on_accept(db: Database, evaluation_id: int) -> None:
    try:
        ticked = store.accept_suggestions(db, common.actor(db), evaluation_id)
    except CallEvalError as exc:
        st.session_state["flash_error"] = str(exc)
    else:
        st.session_state["flash_info"] = (
            f"Suggestions reprises pour {len(ticked)} critère(s) : "
            + ", ".join(ticked)
            + ". Vérifiez-les avant de valider."
        )


def _on_validate(db: Database, evaluation_id: int) -> None:
    try:
        store.validate_evaluation(db, common.actor(db), evaluation_id)
    except CallEvalError as exc:
        st.session_state["flash_error"] = str(exc)
    else:
        st.session_state["flash_success"] = "Évaluation validée et verrouillée."


def _on_unlock(db: Database, evaluation_id: int) -> None:
    reason = st.session_state.get(f"unlock-reason-{evaluation_id}", "")
    try:
        store.unlock_evaluation(db, common.actor(db), evaluation_id, reason)
    except CallEvalError as exc:
        st.session_state["flash_error"] = str(exc)
    else:
        st.session_state[f"unlock-reason-{evaluation_id}"] = ""
        st.session_state["flash_info"] = (
            "Évaluation déverrouillée : le motif est conservé au journal."
        )


def _is_manual(mark: Mark, detail: dict[str, Any]) -> bool:
    if mark.manual:
        return True
    return mark.source != "call" and mark.suggested == "a_verifier" and not detail.get("evidence")


def _criterion(
    db: Database,
    evaluation: Evaluation,
    mark: Mark,
    detail: dict[str, Any],
    crm_note: str | None,
) -> None:
    cid = mark.criterion_id
    tick_key = f"tick-{evaluation.id}-{cid}"
    comment_key = f"comment-{evaluation.id}-{cid}"
    common.sync_widget(tick_key, mark.tick)
    common.sync_widget(comment_key, mark.comment)
    manual = _is_manual(mark, detail)
    with st.container(border=True, key=f"crit-{cid}"):
        left, right = st.columns([0.6, 0.4], gap="small")
        with left:
            if manual:
                suggestion = ":gray-badge[:material/person: À noter par le jury]"
            else:
                badge = common.STATE_BADGES.get(mark.suggested or "", ":gray-badge[—]")
                source = (
                    "" if mark.source == "call" else f" · :gray-badge[{_source_label(mark.source)}]"
                )
                suggestion = (
                    f"Suggestion : {badge} · confiance {format_percent(mark.confidence)}{source}"
                )
            reason = detail.get("reason")
            st.markdown(
                f"**{cid}** — {common.md_escape(mark.label)}\n\n{suggestion}"
                + (f"\n\n:small[:gray[{common.md_escape(reason)}]]" if reason else "")
            )
            for k, ev in enumerate(detail.get("evidence") or []):
                quote = " ".join(str(ev.get("quote", "")).split())
                short = quote if len(quote) <= 90 else quote[:89].rstrip() + "…"
                st.button(
                    f"{format_time(ev.get('start'))} « {short} »",
                    key=f"ev-{evaluation.id}-{cid}-{k}",
                    type="tertiary",
                    icon=":material/play_circle:",
                    on_click=_seek,
                    args=(float(ev.get("start") or 0.0), None, short),
                    width="stretch",
                )
            if mark.source == "crm" and crm_note:
                with st.expander("Note CRM"):
                    st.text(crm_note)
        with right:
            if evaluation.locked:
                st.markdown(
                    "Décision : "
                    + (
                        common.STATE_BADGES.get(mark.tick or "", ":gray-badge[non coché]")
                        if mark.tick
                        else ":gray-badge[non coché]"
                    )
                )
                if mark.comment:
                    st.markdown(f"*{common.md_escape(mark.comment)}*")
            else:
                ev_id = evaluation.id

                def save_tick(tick: Any) -> Any:
                    return store.set_tick(db, common.actor(db), ev_id, cid, tick)

                def save_comment(text: Any) -> Any:
                    return store.set_comment(db, common.actor(db), ev_id, cid, text or "")

                st.segmented_control(
                    f"Décision du juré ({cid})",
                    options=list(store.TICKS),
                    format_func=common.TICK_LABELS.get,
                    key=tick_key,
                    on_change=common.save_widget,
                    args=(tick_key, save_tick),
                    label_visibility="collapsed",
                )
                st.text_input(
                    f"Commentaire ({cid})",
                    key=comment_key,
                    on_change=common.save_widget,
                    args=(comment_key, save_comment),
                    placeholder="Commentaire (facultatif)",
                    label_visibility="collapsed",
                )
                late = common.save_if_changed(tick_key, save_tick)
                if common.save_if_changed(comment_key, save_comment) or late:
                    st.rerun()  # saved late: redraw the running total
            notes = []
            if mark.tick is None:
                notes.append(":orange[À cocher]")
            elif mark.updated_at is not None:
                notes.append(f":gray[Enregistré à {mark.updated_at.astimezone():%H:%M}]")
            if mark.tick and mark.suggested in store.TICKS and mark.tick != mark.suggested:
                notes.append(":orange[différent de la suggestion]")
            st.caption(" · ".join(notes))


def _source_label(source: str) -> str:
    return {"crm": "Note CRM", "interview": "Entretien technique"}.get(source, source)
