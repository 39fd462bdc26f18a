"""Page « Entraînements »: a trainee's practice calls, self-assessment, feedback, progress.

A trainee (« Mes entraînements ») uploads a practice call (analysed in the background),
picks an attempt and ticks their own assessment of every criterion *before* seeing any
suggestion; « Voir les suggestions de l'outil » freezes those ticks and shows them beside
the tool's suggestions (agreement, reason, evidence: a click plays the call from there),
then the advice (« Conseils », downloadable in Markdown and PDF) and the progress over the
attempts whose suggestions they have seen. A trainer or an administrator (« Entraînements
des stagiaires ») picks a trainee and reads the same, without uploading or ticking; the
trainee's self-assessment is shown once the trainee has compared it.

Every tick is written to the store by its widget's callback, at once; the store refuses
what the user may not read or change (another trainee's call, a frozen self-assessment).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import streamlit as st

from call_eval import store
from call_eval.auth import User
from call_eval.errors import CallEvalError
from call_eval.feedback import (
    AdviceBook,
    Feedback,
    ProgressRow,
    SelfAssessmentRow,
    build_feedback,
    compare_self_assessment,
    load_advice,
    progress_table,
    self_assessment_summary,
)
from call_eval.report import format_datetime, format_duration, format_percent, format_time
from call_eval.store import Database, PracticeAttempt, Recording
from call_eval.ui import common, resources
from call_eval.ui import training_view as view
from call_eval.ui.jobs import JobManager, start_analysis
from call_eval.ui.page_revue import MIME_TYPES
from call_eval.ui.uploads import store_upload

log = logging.getLogger(__name__)

ATTEMPT_KEY = "train_attempt"  # the attempt shown (its recording id)
PICK_GEN = "train_attempt_gen"
TRAINEE_KEY = "train_trainee"
PLAY_KEY = "train_play"
MOMENT_WORDS = {
    "preuve": "Le moment",
    "constat proche": "Le moment le plus proche",
    "mesure": "Mesuré ici",
    "repère": "À cet endroit",
}
CSS = (
    "<style>\n"
    + common.link_buttons_css("seek-", size="0.88rem")
    + common.tick_control_css("self-")
    + """[data-testid="stLayoutWrapper"]:has(> .st-key-train-player) {
  position: sticky; top: 0.5rem; z-index: 3; }
.st-key-train-player { background: var(--background-color, #fff);
  box-shadow: 0 2px 8px rgba(0, 0, 0, 0.06); }
[class*="st-key-cmp-"] [data-testid="stMarkdownContainer"] p,
[class*="st-key-imp-"] [data-testid="stMarkdownContainer"] p { margin-bottom: 0.35rem; }
</style>
"""
)


def render() -> None:
    db = resources.database()
    user = common.actor(db)
    jobs = resources.jobs(db)
    follows = user.can("practice.read_all")
    st.html(CSS)
    st.title("Entraînements des stagiaires" if follows else "Mes entraînements")
    common.flash()
    requested = _requested_recording(db, user)
    owner_name = user.display_name
    if follows:
        st.caption(
            "Suivez les appels d'entraînement d'un stagiaire : les suggestions de l'outil, les "
            "conseils et sa progression. Consultation seule : le stagiaire dépose ses appels "
            "et fait son auto-évaluation lui-même."
        )
        trainee = _trainee_selector(db, user, requested)
        if trainee is None:
            return
        owner_name = trainee.display_name
        attempts = store.list_practice_attempts(db, user, owner_user_id=trainee.id)
        if not attempts:
            st.info(f"{trainee.display_name} n'a encore déposé aucun appel d'entraînement.")
            return
    else:
        st.caption(
            "Déposez un appel d'entraînement, évaluez-vous vous-même critère par critère, puis "
            "comparez avec les suggestions de l'outil et lisez ses conseils. Ces suggestions "
            "aident à progresser : le jour de l'examen, seul le jury décide."
        )
        attempts = store.list_practice_attempts(db, user)
        _jobs_panel(jobs, attempts)
        with st.expander(
            "Déposer un appel d'entraînement", expanded=not attempts, icon=":material/upload:"
        ):
            _upload_form(db, jobs, user)
        if not attempts:
            st.info(
                "Aucun appel d'entraînement pour l'instant : déposez l'enregistrement d'un appel "
                "(ou sa transcription) ci-dessus pour commencer."
            )
            return
    selected = _attempt_selector(jobs, attempts, requested, follows)
    number = [a.recording.id for a in attempts].index(selected.recording.id) + 1
    try:
        _attempt(db, user, jobs, attempts, selected, number, follows, owner_name)
    except CallEvalError as exc:
        st.error(str(exc), icon=":material/error:")


# --------------------------------------------------------------------------- choosing
def _requested_recording(db: Database, user: User) -> Recording | None:
    """The practice call named in the address (``?appel=``), if this user may open it."""
    rid = common.query_int("appel")
    if rid is None:
        return None
    try:
        recording = store.get_recording(db, user, rid)
    except CallEvalError as exc:
        recording, message = None, str(exc)
    else:
        message = (
            "Cet appel n'est pas un appel d'entraînement : ouvrez-le depuis les pages de l'examen."
        )
    if recording is None or recording.purpose != store.PRACTICE:
        common.denied(message)
        common.set_query(appel=None)
        st.session_state.pop(ATTEMPT_KEY, None)
        return None
    return recording


def _trainee_selector(db: Database, user: User, requested: Recording | None) -> Any:
    trainees = store.list_trainees(db, user)
    if not trainees:
        st.info("Aucun compte stagiaire pour l'instant : créez-en depuis la page « Comptes ».")
        return None
    by_id = {t.id: t for t in trainees}
    wanted = requested.owner_user_id if requested is not None else common.query_int("stagiaire")
    if wanted in by_id and TRAINEE_KEY not in st.session_state:  # the address, on opening
        st.session_state[TRAINEE_KEY] = wanted
    if st.session_state.get(TRAINEE_KEY) not in by_id:
        busy = [t.id for t in trainees if t.practice_calls]
        st.session_state[TRAINEE_KEY] = busy[0] if busy else trainees[0].id
    st.selectbox(
        "Stagiaire",
        options=list(by_id),
        format_func=lambda i: f"{by_id[i].display_name} — {by_id[i].practice_calls} appel(s)",
        key=TRAINEE_KEY,
        on_change=_on_trainee,
        width=420,
    )
    trainee = by_id[st.session_state[TRAINEE_KEY]]
    common.set_query(stagiaire=trainee.id)
    return trainee


def _on_trainee() -> None:
    common.set_query(stagiaire=st.session_state.get(TRAINEE_KEY), appel=None)
    st.session_state.pop(ATTEMPT_KEY, None)


def _picker_key() -> str:
    return f"{ATTEMPT_KEY}-pick-{st.session_state.get(PICK_GEN, 0)}"


def _select(recording_id: int) -> None:
    """Show another attempt (after an upload, or from the address). The picker gets a new
    key: a request the browser sent before it heard of the change still carries the old
    picker's value, which must not switch the page back to the previous attempt."""
    st.session_state[ATTEMPT_KEY] = recording_id
    st.session_state[PICK_GEN] = st.session_state.get(PICK_GEN, 0) + 1


def _on_attempt(picker: str) -> None:
    st.session_state[ATTEMPT_KEY] = st.session_state.get(picker)
    common.set_query(appel=st.session_state.get(ATTEMPT_KEY))


def _attempt_selector(
    jobs: JobManager,
    attempts: list[PracticeAttempt],
    requested: Recording | None,
    follows: bool,
) -> PracticeAttempt:
    by_id = {a.recording.id: a for a in attempts}
    numbers = {a.recording.id: i for i, a in enumerate(attempts, 1)}
    # The address names the attempt when the page opens (a link, a reload); afterwards the
    # page's own choice wins, so that a late request cannot switch attempts under the user.
    first = ATTEMPT_KEY not in st.session_state
    if first and requested is not None and requested.id in by_id:
        _select(requested.id)
    if st.session_state.get(ATTEMPT_KEY) not in by_id:
        _select(attempts[-1].recording.id)

    st.dataframe(
        view.attempt_records(
            attempts,
            {a.recording.id: jobs.for_recording(a.recording.id) for a in attempts},
            follows,
        ),
        hide_index=True,
        width="stretch",
        height=min(35 * (len(attempts) + 1) + 3, 248),
        key="attempts-table",
    )
    options = [a.recording.id for a in reversed(attempts)]
    rid = st.session_state[ATTEMPT_KEY]
    picker = _picker_key()
    st.selectbox(
        "Tentative affichée",
        options=options,
        index=options.index(rid),
        format_func=lambda i: view.attempt_label(numbers[i], by_id[i]),
        key=picker,
        on_change=_on_attempt,
        args=(picker,),
        width=620,
    )
    common.set_query(appel=rid)
    return by_id[rid]


# --------------------------------------------------------------------------- upload
def _upload_form(db: Database, jobs: JobManager, user: User) -> None:
    with st.form("train_upload", clear_on_submit=False, border=False):
        upload, script, crm_note = common.call_upload_fields(
            "train",
            file_label="Enregistrement de votre appel",
            crm_label="Votre note CRM (facultatif)",
            crm_help="La note que vous avez saisie après l'appel (critère C12).",
        )
        submitted = st.form_submit_button(
            "Déposer et analyser", type="primary", icon=":material/upload:"
        )
    if not submitted:
        return
    if upload is None:
        st.error("Choisissez d'abord le fichier de l'appel (audio ou transcription JSON).")
        return
    try:
        recording, message = _accept_upload(db, jobs, user, upload, script, crm_note)
    except CallEvalError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.session_state["flash_success"] = message
    _select(recording.id)
    common.set_query(appel=recording.id)
    st.rerun()


def _accept_upload(
    db: Database, jobs: JobManager, user: User, upload: Any, script: Any, crm_note: str
) -> tuple[Recording, str]:
    recording = store_upload(db, user, upload, script, crm_note, purpose=store.PRACTICE)
    if start_analysis(db, jobs, recording, user).reused:
        return recording, (
            f"Appel « {recording.filename} » déjà analysé : faites votre auto-évaluation ci-dessous."
        )
    return recording, (
        f"Appel « {recording.filename} » déposé, analyse lancée. Commencez votre "
        "auto-évaluation en attendant : les suggestions seront prêtes à la fin de l'analyse."
    )


# --------------------------------------------------------------------------- jobs
def _latest_jobs(jobs: JobManager, ids: set[int]) -> list[Any]:
    latest: dict[int, Any] = {}
    for job in jobs.snapshot():  # newest first
        if job.recording_id in ids and job.recording_id not in latest:
            latest[job.recording_id] = job
    return list(latest.values())


def _jobs_panel(jobs: JobManager, attempts: list[PracticeAttempt]) -> None:
    """Progress of this trainee's analyses; the page reruns when one of them ends."""
    ids = {a.recording.id for a in attempts if a.analysis_id is None}
    names = {a.recording.id: a.recording.filename for a in attempts}
    if not any(j.active for j in _latest_jobs(jobs, ids)):
        return

    @st.fragment(run_every=1.0)
    def panel() -> None:
        current = _latest_jobs(jobs, ids)
        if not any(j.active for j in current):
            st.rerun(scope="app")
        for job in current:
            if job.active:
                with st.container(border=True, key=f"job-{job.id}"):
                    st.markdown(
                        f"**Analyse en cours** — {common.md_escape(names.get(job.recording_id))}"
                    )
                    st.progress(job.overall, text=f"{job.stage_label} — {job.overall * 100:.0f} %")

    panel()


# --------------------------------------------------------------------------- one attempt
def _advice_book(db: Database, analysis: Mapping[str, Any] | None) -> AdviceBook:
    """The advice texts that go with the rubric version the analysis used."""
    path = None
    if analysis is not None:
        version = store.version_for_analysis(db, analysis)
        path = store.advice_file(db, version) if version is not None else None
    try:
        return load_advice(path)
    except CallEvalError:
        if path is None:
            raise
        log.warning("advice file %s unusable: the shipped advice applies", path)
        return load_advice(None)


def _attempt(
    db: Database,
    user: User,
    jobs: JobManager,
    attempts: list[PracticeAttempt],
    attempt: PracticeAttempt,
    number: int,
    follows: bool,
    owner_name: str,
) -> None:
    recording = attempt.recording
    job = jobs.for_recording(recording.id)
    analysis = (
        resources.analysis_result(db, user, attempt.analysis_id)
        if attempt.analysis_id is not None
        else None
    )
    book = _advice_book(db, analysis)
    revealed = attempt.self_assessment.revealed
    shows = follows or revealed
    badge, _status = view.attempt_status(attempt, job)
    with st.container(border=True, key="train-player"):
        head, audio = st.columns([0.42, 0.58], vertical_alignment="center")
        parts = [f"**Tentative {number}** · {common.md_escape(recording.filename)}"]
        details = [f"déposé le {format_datetime(recording.created_at)}"]
        if recording.duration:
            details.append(format_duration(recording.duration))
        if follows:
            parts[0] += f" · {common.md_escape(owner_name)}"
        head.markdown(f"{parts[0]}  \n:small[:gray[{' · '.join(details)}]] {badge}")
        with audio:
            _player(db, recording)
    progress_rows, progress_files = _progress_data(db, user, attempts, follows)
    first = (
        "Suggestions de l'outil"
        if follows
        else ("Comparaison" if revealed else "Mon auto-évaluation")
    )
    tabs = st.tabs([first, "Conseils", "Progression"])
    rows: list[SelfAssessmentRow] = []
    with tabs[0]:
        if not shows:
            _self_assessment(db, jobs, user, attempt, analysis, book, job)
        elif analysis is None:
            _not_analysed(db, jobs, attempt, job, follows)
        else:
            rows = _comparison(attempt, analysis, book, follows, owner_name)
    with tabs[1]:
        if not shows:
            st.info(
                "Les conseils s'afficheront ici quand vous aurez affiché les suggestions de "
                "l'outil (onglet « Mon auto-évaluation »).",
                icon=":material/lock:",
            )
        elif analysis is None:
            st.info("Les conseils s'afficheront ici à la fin de l'analyse de l'appel.")
        else:
            feedback = build_feedback(analysis, advice=book)
            _feedback(recording.id, feedback, follows)
            _downloads(
                feedback, analysis, rows if revealed else None, progress_rows, owner_name, number
            )
    with tabs[2]:
        _progress(db, user, attempts, progress_rows, progress_files, follows)


# --------------------------------------------------------------------------- audio
def _seek(recording_id: int, start: float, label: str | None) -> None:
    """Callback of a time button: play from ``start`` on the next run."""
    previous = st.session_state.get(PLAY_KEY) or {}
    st.session_state[PLAY_KEY] = {
        "recording": recording_id,
        "start": float(start),
        "label": label,
        "nonce": int(previous.get("nonce", 0)) + 1,
        "pending": True,
    }


def _player(db: Database, recording: Recording) -> None:
    if recording.input_kind != "audio":
        st.caption("Appel déposé sous forme de transcription : pas d'audio à écouter.")
        return
    path = store.recording_file(db, recording)
    if path is None:
        st.warning("Fichier audio introuvable dans le dossier de données.")
        return
    state = st.session_state.get(PLAY_KEY) or {}
    if state.get("recording") != recording.id:
        state = {}
    start = float(state.get("start", 0.0))
    st.audio(
        resources.media_bytes(path),
        format=MIME_TYPES.get(recording.format, "audio/wav"),
        start_time=int(start),
    )
    if state.pop("pending", False):
        nonce = state.get("nonce", 0)
        st.html(
            f"<script>/* seek {nonce} */(function() {{"
            f" const a = document.querySelector('.st-key-train-player audio');"
            f" if (!a) return; const go = () => {{ a.currentTime = {start:.2f};"
            f" a.play().catch(() => {{}}); }};"
            f" if (a.readyState >= 1) go(); else a.addEventListener('loadedmetadata', go,"
            f" {{once: true}});"
            " })();</script>",
            unsafe_allow_javascript=True,
        )
    if start > 0:
        label = state.get("label")
        st.caption(
            f"Lecture à partir de {format_time(start)}"
            + (f" — « {common.md_escape(_short(label, 60))} »" if label else "")
        )


def _short(text: Any, limit: int = 110) -> str:
    quote = " ".join(str(text or "").split())
    return quote if len(quote) <= limit else quote[: limit - 1].rstrip() + "…"


def _who(role: str | None, follows: bool) -> str:
    if role == "agent":
        return ":blue-badge[Stagiaire]" if follows else ":blue-badge[Vous]"
    if role == "callee":
        return ":violet-badge[Appelé]"
    return ""


def _seek_button(
    key: str, recording_id: int, start: float, quote: str, role: str | None, follows: bool,
    prefix: str = "", limit: int = 110,
) -> None:  # fmt: skip
    """A time and a quote: a click plays the call from that moment."""
    short = _short(quote, limit)
    head = f"{prefix} " if prefix else ""
    st.button(
        f"{head}**{format_time(start)}** {_who(role, follows)} « {common.md_escape(short)} »",
        key=f"seek-{key}",
        type="tertiary",
        icon=":material/play_circle:",
        on_click=_seek,
        args=(recording_id, float(start or 0.0), short),
        width="stretch",
        help="Écouter l'appel à partir de ce moment",
    )


# --------------------------------------------------------------------------- self-assessment


def _self_tick_saver(db: Database, recording_id: int, criterion_id: str) -> Callable[[Any], Any]:
    return lambda tick: store.set_self_tick(db, common.actor(db), recording_id, criterion_id, tick)


def _on_reveal(db: Database, recording_id: int) -> None:
    try:
        store.reveal_suggestions(db, common.actor(db), recording_id)
    except CallEvalError as exc:
        st.session_state["flash_error"] = str(exc)
    else:
        st.session_state["flash_success"] = (
            "Suggestions affichées : votre auto-évaluation est figée. Comparez-la ci-dessous, "
            "puis lisez les conseils."
        )


def _on_analyse(db: Database, jobs: JobManager, recording_id: int) -> None:
    try:
        user = common.actor(db)
        st.session_state["flash_info"] = start_analysis(
            db, jobs, store.get_recording(db, user, recording_id), user
        ).message
    except CallEvalError as exc:
        st.session_state["flash_error"] = str(exc)


def _self_assessment(
    db: Database,
    jobs: JobManager,
    user: User,
    attempt: PracticeAttempt,
    analysis: Mapping[str, Any] | None,
    book: AdviceBook,
    job: Any,
) -> None:
    rid = attempt.recording.id
    rubric = None
    if analysis is None:
        from call_eval.rubric import load_rubric

        rubric = load_rubric(store.active_rubric_path(db))
    criteria = view.gradable_criteria(analysis, rubric, book)
    ticks = store.get_self_assessment(db, user, rid).ticks
    ticked = sum(1 for c in criteria if ticks.get(c.id))
    st.markdown(
        "**Évaluez-vous avant de voir les suggestions de l'outil.** Pour chaque critère, "
        "avez-vous fait ce qui est attendu dans cet appel ? Réécoutez-le si besoin. Chaque "
        "coche est enregistrée aussitôt."
    )
    st.progress(
        ticked / len(criteria) if criteria else 0.0,
        text=f"{ticked} / {len(criteria)} critères cochés",
    )
    late = False
    for c in criteria:
        key = f"self-{rid}-{c.id}"
        common.sync_widget(key, ticks.get(c.id))
        with st.container(border=True, key=f"srow-{c.id}"):
            left, right = st.columns([0.66, 0.34], vertical_alignment="center")
            left.markdown(
                f"**{c.id} — {common.md_escape(c.title)}**  \n"
                f":small[:gray[{common.md_escape(c.label)}]]"
            )
            with right:
                save = _self_tick_saver(db, rid, c.id)
                st.segmented_control(
                    f"Votre auto-évaluation ({c.id})",
                    options=list(store.TICKS),
                    format_func=common.TICK_LABELS.get,
                    key=key,
                    on_change=common.save_widget,
                    args=(key, save),
                    label_visibility="collapsed",
                )
                late |= common.save_if_changed(key, save)
    if late:
        st.rerun()  # a tick saved late: redraw the count above
    st.caption(
        "Les critères de l'entretien technique ne sont pas auto-évalués ici : le jury les note "
        "le jour de l'examen."
    )
    with st.container(border=True, key="reveal-box"):
        if analysis is None:
            _analysis_state(db, jobs, attempt, job)
        st.markdown(
            "**Prêt(e) à comparer ?** En affichant les suggestions de l'outil, votre "
            "auto-évaluation est **figée** : vous ne pourrez plus la modifier pour cet appel."
        )
        missing = len(criteria) - ticked
        if missing:
            st.caption(f"{missing} critère(s) non coché(s) : ils ne seront pas comparés.")
        st.button(
            "Voir les suggestions de l'outil",
            key="reveal",
            type="primary",
            icon=":material/visibility:",
            disabled=analysis is None,
            help="Disponible à la fin de l'analyse de l'appel."
            if analysis is None
            else "Fige votre auto-évaluation et affiche les suggestions, les preuves et les "
            "conseils.",
            on_click=_on_reveal,
            args=(db, rid),
        )


def _analysis_state(db: Database, jobs: JobManager, attempt: PracticeAttempt, job: Any) -> None:
    rid = attempt.recording.id
    if job is not None and job.active:
        st.info(
            "Analyse de l'appel en cours : vous pourrez afficher les suggestions à la fin. "
            "Continuez votre auto-évaluation en attendant.",
            icon=":material/hourglass_top:",
        )
        return
    if job is not None and job.status == "failed":
        st.error(job.message or "Échec de l'analyse.", icon=":material/error:")
        label = "Relancer l'analyse"
    else:
        st.info("Cet appel n'a pas encore été analysé.")
        label = "Lancer l'analyse"
    st.button(
        label,
        key=f"analyse-{rid}",
        icon=":material/play_arrow:",
        on_click=_on_analyse,
        args=(db, jobs, rid),
    )


def _not_analysed(
    db: Database, jobs: JobManager, attempt: PracticeAttempt, job: Any, follows: bool
) -> None:
    if not follows:
        _analysis_state(db, jobs, attempt, job)
        return
    if job is not None and job.active:
        st.info("Analyse de l'appel en cours : les suggestions s'afficheront à la fin.")
    elif job is not None and job.status == "failed":
        st.error(job.message or "Échec de l'analyse.")
    else:
        st.info("Cet appel n'a pas encore été analysé : le stagiaire peut lancer l'analyse.")


# --------------------------------------------------------------------------- comparison
def _comparison(
    attempt: PracticeAttempt,
    analysis: Mapping[str, Any],
    book: AdviceBook,
    follows: bool,
    owner_name: str,
) -> list[SelfAssessmentRow]:
    assessment = attempt.self_assessment
    shown = assessment.revealed
    manual = {
        str(c.get("id"))
        for c in analysis.get("criteria") or []
        if isinstance(c, Mapping) and c.get("manual")
    }
    rows = [
        r
        for r in compare_self_assessment(assessment.ticks if shown else {}, analysis, advice=book)
        if r.criterion not in manual
    ]
    score = analysis.get("score") or {}
    cols = st.columns(4)
    if shown:
        summary = self_assessment_summary(rows)
        cols[0].metric(
            "D'accord avec l'outil",
            f"{summary['agree']} / {summary['compared']}",
            help="Critères où votre coche et la suggestion de l'outil sont identiques, parmi "
            "ceux que vous avez cochés et que l'outil tranche.",
        )
        cols[1].metric(
            "Surestimés",
            summary["surestimé"],
            help="Coché « acquis » alors que l'outil suggère « non acquis ».",
        )
        cols[2].metric(
            "Sous-estimés",
            summary["sous-estimé"],
            help="Coché « non acquis » alors que l'outil suggère « acquis ».",
        )
    else:
        ticked = len(assessment.ticks)
        st.info(
            f"{owner_name} n'a pas encore comparé son auto-évaluation aux suggestions de "
            f"l'outil ({ticked} critère(s) coché(s) pour l'instant) : seules les suggestions "
            "sont affichées.",
            icon=":material/hourglass_empty:",
        )
    cols[3].metric(
        "Suggestion de l'outil",
        f"{score.get('acquis', '?')} / {score.get('total', '?')}",
        help=f"Critères acquis d'après l'outil ; il en faut {score.get('needed', '?')} "
        "(seuil de 70 %). Seul le jury décide le jour de l'examen.",
    )
    if shown:
        st.caption(view.summary_sentence(summary, len(rows)))
    widths = [0.44, 0.16, 0.24, 0.16] if shown else [0.6, 0.4]
    header = st.columns(widths)
    titles = (
        ["Critère", "Stagiaire" if follows else "Vous", "Suggestion de l'outil", "Accord"]
        if shown
        else ["Critère", "Suggestion de l'outil"]
    )
    for col, title in zip(header, titles, strict=True):
        col.caption(title)
    rid = attempt.recording.id
    for row in rows:
        with st.container(border=True, key=f"cmp-{row.criterion}"):
            c = st.columns(widths, vertical_alignment="top")
            c[0].markdown(
                f"**{row.criterion} — {common.md_escape(row.title)}**  \n"
                f":small[:gray[{common.md_escape(row.label)}]]"
            )
            suggestion = (
                f"{view.TICK_BADGES.get(row.suggested, row.suggested)}  \n"
                f":small[:gray[confiance {format_percent(row.confidence)}]]"
            )
            if shown:
                c[1].markdown(view.TICK_BADGES.get(row.self_tick or "", view.NOT_TICKED))
                c[2].markdown(suggestion)
                key = view.agreement_key(row)
                why = view.not_compared_reason(row) if key == "none" else ""
                c[3].markdown(
                    view.AGREEMENT_BADGES[key] + (f"  \n:small[:gray[{why}]]" if why else "")
                )
            else:
                c[1].markdown(suggestion)
            if row.reason:
                st.markdown(f":small[**Pourquoi :** {common.md_escape(row.reason)}]")
            with st.container(gap=None):
                for k, ev in enumerate(row.evidence):
                    _seek_button(f"ev-{rid}-{row.criterion}-{k}", rid, ev.start, ev.quote,
                                 ev.role, follows)  # fmt: skip
            if shown and row.gap == "surestimé":
                st.caption(
                    ":orange[:material/arrow_forward:] Onglet « Conseils » : ce qui manquait et "
                    "comment faire."
                )
    if manual:
        st.caption(
            f"{', '.join(sorted(manual))} : critères de l'entretien technique, notés par le jury "
            "(pas d'auto-évaluation)."
        )
    return rows


# --------------------------------------------------------------------------- feedback
def _feedback(rid: int, feedback: Feedback, follows: bool) -> None:
    score = feedback.score
    if score:
        verdict = ":green[seuil atteint]" if score.get("passed") else ":orange[seuil non atteint]"
        st.markdown(
            f"D'après l'outil : **{score.get('acquis')} / {score.get('total')}** critères "
            f"acquis — il en faut {score.get('needed')} ({verdict})."
        )
    for note in feedback.notes:
        st.caption(note)
    left, right = st.columns([0.58, 0.42], gap="medium")
    with left:
        st.subheader(f"À travailler ({len(feedback.improvements)})", anchor=False)
        if not feedback.improvements:
            st.success("Aucun critère non acquis d'après l'outil : bravo !")
        for imp in feedback.improvements:
            with st.container(border=True, key=f"imp-{imp.criterion}"):
                st.markdown(
                    f"**{imp.criterion} — {common.md_escape(imp.title)}**  \n"
                    f":small[:gray[{common.md_escape(imp.label)}]]"
                )
                for k, point in enumerate(imp.points):
                    st.markdown(
                        f":red[:material/error:] **Ce qui manquait :** "
                        f"{common.md_escape(point.missing)}"
                    )
                    if point.moment is not None:
                        m = point.moment
                        _seek_button(
                            f"mo-{rid}-{imp.criterion}-{k}", rid, m.start, m.quote, m.role,
                            follows, prefix=MOMENT_WORDS.get(m.kind, "Le moment") + " :",
                        )  # fmt: skip
                    if point.detail:
                        st.caption(f"Mesure : {point.detail}")
                    st.markdown(
                        f":blue[:material/lightbulb:] **Conseil :** "
                        f"{common.md_escape(point.advice)}"
                    )
                    if point.example:
                        st.info(
                            f"**Par exemple :** {common.md_escape(point.example)}",
                            icon=":material/record_voice_over:",
                        )
        _phrases(rid, feedback, follows)
        _voice(feedback)
        _to_check(feedback)
    with right:
        st.subheader(f"Vos points forts ({len(feedback.strengths)})", anchor=False)
        with st.container(border=True, key="strengths"):
            if not feedback.strengths:
                st.caption("Aucun critère acquis pour l'instant : commencez par les conseils.")
            for s in feedback.strengths:
                st.markdown(
                    f":green[:material/check_circle:] **{s.criterion} — "
                    f"{common.md_escape(s.title)}** : {common.md_escape(s.praise or s.reason)}"
                )
                if s.evidence:
                    e = s.evidence[0]
                    _seek_button(f"st-{rid}-{s.criterion}", rid, e.start, e.quote, e.role,
                                 follows, limit=80)  # fmt: skip


def _to_check(feedback: Feedback) -> None:
    if not feedback.to_check:
        return
    with st.expander(
        f"À vérifier et à préparer pour l'entretien ({len(feedback.to_check)})",
        icon=":material/help:",
    ):
        for t in feedback.to_check:
            st.markdown(
                f"**{t.criterion} — {common.md_escape(t.title)}** : "
                f"{common.md_escape(t.advice or t.reason)}"
            )
            if t.example:
                st.caption(f"Par exemple : {t.example}")


def _phrases(rid: int, feedback: Feedback, follows: bool) -> None:
    st.subheader(f"Formulations à éviter ({len(feedback.phrases)})", anchor=False)
    if not feedback.phrases:
        st.success(
            "Aucune formulation à éviter relevée dans cet appel : continuez ainsi.",
            icon=":material/thumb_up:",
        )
        return
    for i, phrase in enumerate(feedback.phrases):
        with st.container(border=True, key=f"phrase-{i}"):
            times = f" :gray[({phrase.count} fois)]" if phrase.count > 1 else ""
            st.markdown(
                f":orange[:material/warning:] **{common.md_escape(phrase.title)}** — "
                f"« {common.md_escape(phrase.phrase)} »{times}"
            )
            with st.container(gap=None):
                for k, e in enumerate(phrase.evidence[:3]):
                    _seek_button(f"ph-{rid}-{i}-{k}", rid, e.start, e.quote, e.role, follows)
            lines = []
            if phrase.why:
                lines.append(f"**Pourquoi l'éviter :** {common.md_escape(phrase.why)}.")
            if phrase.better:
                lines.append(f"**Dites plutôt :** {common.md_escape(phrase.better)}")
            elif phrase.tip:
                lines.append(f"**Conseil :** {common.md_escape(phrase.tip)}.")
            if lines:
                st.markdown("  \n".join(lines))


def _voice(feedback: Feedback) -> None:
    if not feedback.measures:
        return
    st.subheader("Votre voix", anchor=False)
    with st.container(border=True, key="voice"):
        widths = [0.38, 0.22, 0.24, 0.16]
        for col, title in zip(
            st.columns(widths), ("Mesure", "Votre valeur", "Repère", ""), strict=True
        ):
            col.caption(title)
        for m in feedback.measures:
            cols = st.columns(widths, vertical_alignment="center")
            cols[0].markdown(common.md_escape(m.name[:1].upper() + m.name[1:]))
            cols[1].markdown(f"**{common.md_escape(view.measure_value(m))}**")
            cols[2].markdown(common.md_escape(view.measure_band(m)))
            cols[3].markdown(
                ":green-badge[:material/check: OK]" if m.ok else ":orange-badge[À travailler]"
            )


def _downloads(
    feedback: Feedback,
    analysis: Mapping[str, Any],
    rows: Sequence[SelfAssessmentRow] | None,
    progress: Sequence[ProgressRow],
    owner_name: str,
    number: int,
) -> None:
    from call_eval import report

    st.divider()
    kwargs: dict[str, Any] = {
        "self_assessment": list(rows) if rows else None,
        "progress": list(progress),
        "trainee": owner_name,
    }
    base = f"retour_entrainement_tentative_{number}"

    def pdf() -> bytes:
        return report.feedback_pdf(feedback, analysis, **kwargs)

    actions = st.container(horizontal=True)
    with actions:
        st.download_button(
            "Télécharger le retour (PDF)",
            data=pdf,
            file_name=f"{base}.pdf",
            mime="application/pdf",
            key="dl-pdf",
            icon=":material/picture_as_pdf:",
            on_click="ignore",
        )
        st.download_button(
            "Télécharger (Markdown)",
            data=report.feedback_markdown(feedback, analysis, **kwargs),
            file_name=f"{base}.md",
            mime="text/markdown",
            key="dl-md",
            icon=":material/download:",
            on_click="ignore",
        )


# --------------------------------------------------------------------------- progress
def _progress_data(
    db: Database, user: User, attempts: list[PracticeAttempt], follows: bool
) -> tuple[list[ProgressRow], list[str]]:
    """Analysed attempts (for a trainee: those whose suggestions they have seen), oldest
    first, numbered as in the attempt list."""
    numbered = [
        (i, a, a.analysis_id)
        for i, a in enumerate(attempts, 1)
        if a.analysis_id is not None and (follows or a.self_assessment.revealed)
    ]
    analyses = [resources.analysis_result(db, user, aid) for _, _, aid in numbered]
    rows = progress_table(analyses, dates=[a.recording.created_at for _, a, _ in numbered])
    rows = [replace(row, attempt=i) for row, (i, _, _) in zip(rows, numbered, strict=True)]
    return rows, [a.recording.filename for _, a, _ in numbered]


def _bands(
    db: Database, user: User, attempts: list[PracticeAttempt], follows: bool
) -> dict[str, Any]:
    """The rubric's bands for the voice measures (from the latest analysed attempt)."""
    latest = next(
        (
            a
            for a in reversed(attempts)
            if a.analysis_id is not None and (follows or a.self_assessment.revealed)
        ),
        None,
    )
    if latest is None or latest.analysis_id is None:
        return {}
    analysis = resources.analysis_result(db, user, latest.analysis_id)
    try:
        measures = build_feedback(analysis, advice=_advice_book(db, analysis)).measures
    except CallEvalError:
        return {}
    return {m.feature: (m.low, m.high) for m in measures}


def _progress(
    db: Database,
    user: User,
    attempts: list[PracticeAttempt],
    rows: list[ProgressRow],
    files: list[str],
    follows: bool,
) -> None:
    if not rows:
        st.info(
            "Pas encore de progression à afficher : déposez un appel d'entraînement, "
            "faites votre auto-évaluation puis affichez les suggestions de l'outil ; chaque "
            "tentative comparée s'ajoute ici."
            if not follows
            else "Aucune tentative analysée pour ce stagiaire."
        )
        return
    if not follows and len(rows) < len(attempts):
        st.caption("Seules les tentatives dont vous avez affiché les suggestions apparaissent ici.")
    bands = _bands(db, user, attempts, follows)
    chart = {"displayModeBar": False}
    st.plotly_chart(view.criteria_figure(rows), key="fig-progress-criteria", config=chart)
    left, right = st.columns(2)
    low, high = bands.get("agent.speech_rate_wpm", (None, None))
    rate = view.trend_figure(
        rows, "agent_wpm", title="Débit de parole", y_title="Mots par minute",
        unit="mots/min", low=low, high=high,
    )  # fmt: skip
    low, high = bands.get("agent.level_vs_callee_db", (None, None))
    level = view.trend_figure(
        rows, "agent_level_vs_callee_db", title="Niveau de voix par rapport à l'appelé",
        y_title="Écart (dB)", unit="dB", low=low, high=high, digits=1,
    )  # fmt: skip
    with left:
        if rate is not None:
            st.plotly_chart(rate, key="fig-progress-rate", config=chart)
        else:
            st.caption("Débit non mesuré (appels déposés sous forme de transcription).")
    with right:
        if level is not None:
            st.plotly_chart(level, key="fig-progress-level", config=chart)
        else:
            st.caption("Niveau de voix non mesuré (appels déposés sous forme de transcription).")
    st.dataframe(view.progress_records(rows, files), hide_index=True, width="stretch")
