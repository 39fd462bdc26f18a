"""Page « Calibration des grilles » (trainers, administrators).

A calibration set — the exam calls whose jurors validated their grids, or uploaded files
in the corpus format — is re-scored under a rubric version: only the detectors and the
scoring run again, on the stored transcripts and measures. Three tabs:

- « Accord avec les jurés »: agreement of the suggestions with the jurors' ticks (overall,
  per criterion, confusion of states), every disagreement with the tool's reason, its
  quotes and the juror's why, the agreement between jurors (Fleiss' kappa), the report as
  Markdown;
- « Modifier la grille »: a form over the rubric's editable parameters (bands, thresholds,
  phrase lists of the detectors) and the trainees' advice texts, an expert YAML editor,
  a check, a trial on the set, then a new version (optionally put in service);
- « Comparer deux versions »: agreement per criterion before and after, and the
  suggestions that change.

One :class:`~call_eval.calibration.Rescorer` is kept per calibration set (shared by the
sessions of the server, keyed on a fingerprint of the set) with the reports of every
rubric text it scored, so that re-scoring an edited rubric takes seconds. Edits live in
the session state (one draft per starting version) and survive reruns, invalid input and
page changes until they are saved or abandoned.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import streamlit as st

from call_eval import rubric_edit, store
from call_eval.auth import User
from call_eval.calibration import (
    CalibrationCall,
    CalibrationReport,
    RubricComparison,
    fmt_number,
    fmt_ratio,
)
from call_eval.errors import CallEvalError
from call_eval.store import Database
from call_eval.store.rubrics import RubricVersion
from call_eval.ui import calibration_view as view
from call_eval.ui import common, resources

log = logging.getLogger(__name__)

TABS = ("Accord avec les jurés", "Modifier la grille", "Comparer deux versions")
SOURCES = {
    "base": "Base de données (grilles validées des jurés)",
    "fichiers": "Fichiers",
    "exemple": "Jeu d'exemple (3 appels fournis)",
}
ALL = "ensemble"
MAX_DISAGREEMENTS = 40
DRAFTS = "cal_drafts"
CSS = """
<style>
.st-key-cal-set [data-testid="stMarkdownContainer"] p { margin-bottom: 0.3rem; }
[class*="st-key-dis-"] [data-testid="stMarkdownContainer"] p { margin-bottom: 0.25rem; }
[class*="st-key-dis-"] [data-testid="stMarkdownContainer"] li { margin-bottom: 0.1rem; }
.st-key-cal-metrics [data-testid="stMetricValue"] { font-size: 1.6rem; }
</style>
"""
FORMAT_HELP = """Un appel par fichier YAML (format du corpus) :

```yaml
id: appel-01
title: "Relance d'un ancien abonné"
turns:
  - {speaker: agent, text: "Bonjour Monsieur Fabre, Léa Morel, de la salle Forme Plus."}
  - {speaker: callee, text: "Bonjour."}
script: {questions: ["Pratiquez-vous encore une activité sportive ?"]}
crm_note: "Relance ancien abonné…"
labels:                      # coches de référence (et pourquoi)
  C01: {state: acquis, why: "Nom et salle donnés d'emblée."}
jurors:                      # facultatif : coches de plusieurs jurés
  Mme A: {C01: acquis}
  M. B: {C01: non_acquis}
```

Au lieu de `turns`, un fichier peut citer une analyse enregistrée (`analysis: appel-01.json`,
à déposer avec lui). Sans `labels`, la référence est la majorité des jurés."""


@dataclass(frozen=True)
class ChosenSet:
    """The calibration set of the page (empty when none), with its fingerprint."""

    calls: tuple[CalibrationCall, ...] = ()
    fingerprint: str = ""

    def __bool__(self) -> bool:
        return bool(self.calls)

    def scorer(self) -> view.SetScorer:
        return resources.set_scorer(self.calls, self.fingerprint or None)


NO_SET = ChosenSet()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- page
def render() -> None:
    db = resources.database()
    user = common.actor(db)
    st.title("Calibration des grilles")
    st.caption(
        "Mesurez l'accord des suggestions de l'outil avec les coches des jurés, ajustez la "
        "grille et comparez ses versions. Seuls les détecteurs et la notation sont relancés : "
        "les transcriptions et les mesures enregistrées sont réutilisées."
    )
    common.flash()
    try:
        versions = store.list_rubric_versions(db, user)
    except CallEvalError as exc:
        common.denied(str(exc))
        return
    if not versions:
        st.error("Aucune version de grille enregistrée : vérifiez le dossier « rubrics ».")
        return
    st.html(CSS)
    chosen = _choose_set(db, user)
    if st.session_state.get("onglet") not in TABS:
        st.session_state.pop("onglet", None)
    # The open tab is kept in the URL (?onglet=…); only the open tab is drawn.
    tabs = st.tabs(list(TABS), key="onglet", on_change="rerun", bind="query-params")
    draws: list[Callable[[], None]] = [
        lambda: _agreement_tab(db, versions, chosen),
        lambda: _edit_tab(db, user, versions, chosen),
        lambda: _compare_tab(db, versions, chosen),
    ]
    for tab, draw in zip(tabs, draws, strict=True):
        if tab.open is not False:
            with tab:
                draw()


# --------------------------------------------------------------------------- the set
def _choose_set(db: Database, user: User) -> ChosenSet:
    with st.container(border=True, key="cal-set"):
        source = st.segmented_control(
            "Jeu de calibration",
            options=list(SOURCES),
            format_func=SOURCES.get,
            default="base",
            required=True,
            key="cal_source",
        )
        if source == "fichiers":
            chosen = _file_set()
        elif source == "exemple":
            chosen = _example_set()
        else:
            chosen = _db_set(db, user)
        if chosen:
            summary = view.summarize_set(chosen.calls)
            st.markdown(summary.text)
            if summary.with_reference < summary.calls:
                st.caption(
                    f":orange[{summary.calls - summary.with_reference} appel(s) sans coche de "
                    "référence (jurés à égalité sur tous les critères) : ils ne comptent pas "
                    "dans l'accord.]"
                )
    return chosen


def _db_set(db: Database, user: User) -> ChosenSet:
    cached = st.session_state.get("cal_db_set")
    if cached is None:
        try:
            calls = store.calibration_calls(db, user)
        except CallEvalError as exc:
            st.error(str(exc))
            return NO_SET
        cached = {"calls": calls, "at": datetime.now(), "fp": view.set_fingerprint(calls)}
        st.session_state["cal_db_set"] = cached
    row = st.container(horizontal=True, vertical_alignment="center")
    row.caption(f"Grilles validées lues à {cached['at']:%H:%M}.")
    row.button(
        "Actualiser",
        key="cal_db_refresh",
        icon=":material/refresh:",
        type="tertiary",
        on_click=lambda: st.session_state.pop("cal_db_set", None),
    )
    calls = cached["calls"]
    if not calls:
        st.info(
            "Aucune grille validée dans la base : validez des évaluations d'examen (chaque "
            "juré valide sa grille sur la page « Revue d'un appel ») ou déposez des fichiers "
            "de calibration (« Fichiers »)."
        )
    return ChosenSet(tuple(calls), cached["fp"])


def _example_set() -> ChosenSet:
    """The three example calls shipped with the app (to try calibration before any
    juror has validated a grid)."""
    from call_eval.calibration import EXAMPLE_SET, load_calibration_set

    cached = st.session_state.get("cal_example_set")
    if cached is None:
        try:
            calls = load_calibration_set(EXAMPLE_SET)
        except CallEvalError as exc:
            st.error(str(exc))
            return NO_SET
        cached = {"calls": calls, "fp": view.set_fingerprint(calls)}
        st.session_state["cal_example_set"] = cached
    st.caption(
        "Trois appels rédigés pour l'exemple (salle de sport, assurance auto, fournisseur "
        "internet), notés par "
        "deux jurés : pour essayer la calibration avant d'avoir des grilles validées."
    )
    return ChosenSet(tuple(cached["calls"]), cached["fp"])


def _file_set() -> ChosenSet:
    uploaded = st.file_uploader(
        "Fichiers d'appel (YAML), avec au besoin les analyses JSON qu'ils citent",
        type=list(view.SET_FILE_TYPES),
        accept_multiple_files=True,
        key="cal_files",
    )
    with st.popover("Format des fichiers", icon=":material/help:"):
        st.markdown(FORMAT_HELP)
    if uploaded:
        files = [(f.name, f.getvalue()) for f in uploaded]
        digest = hashlib.sha256()
        for name, data in files:
            digest.update(name.encode("utf-8") + b"\0" + data + b"\0")
        cached = st.session_state.get("cal_file_set")
        if cached is None or cached.get("digest") != digest.hexdigest():
            try:
                calls = view.load_uploaded_set(files)
            except CallEvalError as exc:
                st.error(str(exc))
                return NO_SET
            st.session_state["cal_file_set"] = {
                "fp": view.set_fingerprint(calls),
                "digest": digest.hexdigest(),
                "names": [name for name, _ in files],
                "calls": calls,
            }
    cached = st.session_state.get("cal_file_set")
    if cached is None:
        st.info(
            "Déposez un ou plusieurs fichiers d'appel (YAML) : un appel par fichier, sa "
            "transcription (turns) et les coches des jurés (labels, jurors)."
        )
        return NO_SET
    if not uploaded:
        row = st.container(horizontal=True, vertical_alignment="center")
        row.caption(
            "Jeu déposé précédemment : " + ", ".join(cached["names"]) + ". Déposez d'autres "
            "fichiers pour le remplacer."
        )
        row.button(
            "Retirer ce jeu",
            key="cal_files_clear",
            icon=":material/close:",
            type="tertiary",
            on_click=lambda: st.session_state.pop("cal_file_set", None),
        )
    return ChosenSet(tuple(cached["calls"]), cached["fp"])


def _no_set() -> None:
    st.info("Choisissez d'abord un jeu de calibration non vide (ci-dessus).")


# --------------------------------------------------------------------------- versions
def _by_id(versions: Sequence[RubricVersion]) -> dict[int, RubricVersion]:
    return {v.id: v for v in versions}


def _default_version(versions: Sequence[RubricVersion]) -> RubricVersion:
    return next((v for v in versions if v.active), versions[0])


def _version_select(
    versions: Sequence[RubricVersion], label: str, key: str, default: int | None = None
) -> RubricVersion:
    by_id = _by_id(versions)
    if st.session_state.get(key) not in by_id:
        st.session_state.pop(key, None)
    # A widget's state is dropped when its tab is not drawn: "_<key>" remembers the choice.
    remembered = st.session_state.get(f"_{key}")
    start = next((i for i in (remembered, default) if i in by_id), _default_version(versions).id)
    if key not in st.session_state:
        st.session_state[key] = start
    choice = st.selectbox(
        label, options=list(by_id), format_func=lambda i: view.version_label(by_id[i]), key=key
    )
    chosen = choice if choice in by_id else start
    st.session_state[f"_{key}"] = chosen
    return by_id[chosen]


def _version_report(
    db: Database, scorer: view.SetScorer, version: RubricVersion
) -> CalibrationReport:
    return scorer.report(version.sha256, store.version_file(db, version))


# --------------------------------------------------------------------------- tab 1
def _agreement_tab(db: Database, versions: Sequence[RubricVersion], chosen: ChosenSet) -> None:
    version = _version_select(versions, "Version de la grille", "cal_version")
    if version.note:
        st.caption(f"{common.md_escape(version.note)} (par {common.md_escape(version.created_by)})")
    if not chosen:
        _no_set()
        return
    try:
        with st.spinner("Re-notation du jeu de calibration…"):
            report = _version_report(db, chosen.scorer(), version)
    except CallEvalError as exc:
        st.error(str(exc))
        return
    _show_report(report)
    row = st.container(horizontal=True)
    name = f"calibration_{version.rubric_id}_v{version.version}"
    row.download_button(
        "Rapport (Markdown)",
        data=report.to_markdown().encode("utf-8"),
        file_name=f"{name}.md",
        mime="text/markdown",
        icon=":material/description:",
        key="cal_download_md",
        on_click="ignore",
    )


def _show_report(report: CalibrationReport) -> None:
    o = report.overall
    with st.container(key="cal-metrics"):
        cols = st.columns(5)
        cols[0].metric(
            "Accord global",
            fmt_ratio(o.agreement),
            help=f"{o.agree} coche(s) sur {o.n} : la suggestion est la coche du juré.",
            border=True,
        )
        cols[1].metric(
            "Kappa de Cohen",
            fmt_number(o.kappa),
            help="Accord corrigé du hasard : 1 parfait, 0 dû au hasard, négatif systématique.",
            border=True,
        )
        cols[2].metric(
            "Précision « acquis »",
            fmt_ratio(o.precision),
            help="Parmi les « acquis » suggérés, part que le juré a cochés acquis.",
            border=True,
        )
        cols[3].metric(
            "Rappel « acquis »",
            fmt_ratio(o.recall),
            help="Parmi les « acquis » du juré, part que l'outil a suggérés.",
            border=True,
        )
        cols[4].metric("Désaccords", len(report.disagreements), border=True)
    st.caption(
        f"{view.timing_text(report)} Grille « {common.md_escape(report.rubric.get('id'))} » "
        f"version {report.rubric.get('version')}."
    )
    for warning in report.warnings:
        st.warning(warning)

    st.subheader("Accord par critère")
    rows = view.criterion_rows(report)
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        height=_table_height(len(rows)),
        key="cal_criteria_table",
        column_config={
            "Critère": st.column_config.TextColumn(width=60),
            "Libellé": st.column_config.TextColumn(width="large"),
            "n": st.column_config.NumberColumn(width=40),
        },
    )
    st.caption(
        "Kappa de Cohen : accord corrigé du hasard (1 parfait, 0 dû au hasard, négatif "
        "systématique) ; « — » : non défini (le juré et l'outil n'ont employé qu'un seul et "
        "même état). Les critères à noter par le jury (sans suggestion) ne sont pas comparés."
    )
    left, right = st.columns([0.37, 0.63], gap="large")
    with left:
        st.subheader("Confusion des états")
        ids = [ALL, *(m.id for m in report.criteria)]
        labels = {
            ALL: "Tous les critères",
            **{m.id: f"{m.id} — {m.label}" for m in report.criteria},
        }
        chosen = st.selectbox(
            "Critère", options=ids, format_func=labels.get, key="cal_confusion_criterion"
        )
        metrics = report.metrics(chosen) if chosen != ALL else report.overall
        if metrics is None:
            metrics = report.overall
        st.dataframe(
            view.confusion_rows(metrics), hide_index=True, width="stretch", key="cal_confusion"
        )
        st.caption(
            "Lignes : coche du juré ; colonnes : suggestion de l'outil. La diagonale est l'accord."
        )
    with right:
        st.subheader("Par appel")
        per_call = view.call_rows(report)
        st.dataframe(
            per_call,
            hide_index=True,
            width="stretch",
            height=_table_height(len(per_call), 8),
            column_config={
                "Appel": st.column_config.TextColumn(width="small"),
                "Titre": st.column_config.TextColumn(width="medium"),
            },
        )
        st.caption(
            "Accord : coches du juré égales à la suggestion, sur les critères comparés. Score "
            "(outil) : les acquis suggérés sur toute la grille."
        )

    _disagreements(report)
    if report.juror_criteria:
        _jurors(report)


def _table_height(rows: int, most: int = 20) -> int:
    """A dataframe height showing up to ``most`` rows without an inner scroll bar."""
    return 38 + 35 * max(1, min(rows, most))


def _disagreements(report: CalibrationReport) -> None:
    st.subheader(f"Désaccords ({len(report.disagreements)})")
    if not report.disagreements:
        st.success("Aucun désaccord : toutes les suggestions concordent avec les coches du juré.")
        return
    ids = list(dict.fromkeys(d.criterion for d in report.disagreements))
    counts = {cid: sum(1 for d in report.disagreements if d.criterion == cid) for cid in ids}
    chosen = st.selectbox(
        "Afficher les désaccords du critère",
        options=[ALL, *ids],
        format_func=lambda c: "Tous les critères" if c == ALL else f"{c} ({counts[c]})",
        key="cal_dis_criterion",
        width=320,
    )
    shown = [d for d in report.disagreements if chosen == ALL or d.criterion == chosen]
    st.caption(
        "Pour chaque désaccord : la raison de l'outil et ses preuves (citations avec le "
        "locuteur et le moment), à côté de la justification du juré."
    )
    for i, d in enumerate(shown[:MAX_DISAGREEMENTS]):
        with st.container(border=True, key=f"dis-{i}"):
            title = f" · {common.md_escape(d.title)}" if d.title else ""
            st.markdown(
                f"**{d.criterion}** — {common.md_escape(d.label)}  \n"
                f":small[:gray[Appel **{common.md_escape(d.call_id)}**{title}]]"
            )
            st.markdown(
                f"Juré : {common.STATE_BADGES.get(d.juror_state, d.juror_state)} · "
                f"suggestion : {common.STATE_BADGES.get(d.suggested, d.suggested)} · "
                f"{common.md_escape(d.kind)} · confiance {fmt_number(d.confidence)}"
            )
            st.markdown(f"**Raison de l'outil** : {common.md_escape(d.reason) or '—'}")
            if d.evidence:
                st.markdown(
                    "**Preuves** :\n"
                    + "\n".join(
                        f"- {common.md_escape(line)}" for line in view.evidence_lines(d.evidence)
                    )
                )
            else:
                st.markdown("**Preuves** : aucune citation (rien de trouvé dans l'appel).")
            why = common.md_escape(d.juror_why) if d.juror_why else ":gray[(pas de justification)]"
            st.markdown(f"**Le juré** : {why}")
    if len(shown) > MAX_DISAGREEMENTS:
        st.caption(
            f"… et {len(shown) - MAX_DISAGREEMENTS} autre(s) : choisissez un critère ou "
            "téléchargez le rapport pour la liste complète."
        )


def _jurors(report: CalibrationReport) -> None:
    st.subheader("Accord entre jurés")
    overall = report.juror_overall
    if overall is not None:
        st.markdown(
            f"Kappa de Fleiss, tous critères : **{fmt_number(overall.fleiss_kappa)}** · accord "
            f"observé **{fmt_ratio(overall.observed)}** (sur {overall.subjects} critère(s) × appel "
            f"notés par au moins deux jurés ; jurés : {common.md_escape(', '.join(report.jurors))})."
        )
    left, right = st.columns([0.45, 0.55], gap="large")
    with left:
        st.markdown("**Par critère**")
        rows = view.juror_rows(report)
        st.dataframe(
            rows,
            hide_index=True,
            width="stretch",
            height=_table_height(len(rows)),
            key="cal_jurors",
            column_config={"Critère": st.column_config.TextColumn(width=80)},
        )
    with right:
        st.markdown("**Chaque juré face aux suggestions**")
        st.dataframe(view.per_juror_rows(report), hide_index=True, width="stretch")
    st.caption(
        "Un critère où les jurés divergent entre eux est à revoir dans sa formulation ou la "
        "session d'information des jurés, plutôt que dans les réglages de l'outil."
    )
    if report.juror_disagreements:
        with st.expander(f"Désaccords entre jurés ({len(report.juror_disagreements)})"):
            for jd in report.juror_disagreements:
                states = ", ".join(
                    f"{common.md_escape(k)} : {view.state_name(v)}" for k, v in jd.states.items()
                )
                st.markdown(f"- **{jd.criterion}** — {common.md_escape(jd.call_id)} : {states}")
                for k, w in jd.whys.items():
                    st.markdown(f"    - {common.md_escape(k)} : {common.md_escape(w)}")


# --------------------------------------------------------------------------- tab 2: drafts
def _drafts() -> dict[int, dict[str, Any]]:
    return st.session_state.setdefault(DRAFTS, {})


def _base_advice(version: RubricVersion) -> str:
    """The advice texts of a version (the shipped ones when it has none)."""
    return version.advice_text or store.default_advice_text() or ""


def _draft(version: RubricVersion) -> dict[str, Any]:
    """The edits in progress starting from ``version`` (created on first use)."""
    drafts = _drafts()
    if version.id not in drafts:
        drafts[version.id] = {
            "text": version.text,
            "advice": _base_advice(version),
            "gen": 0,  # form widgets are re-seeded from the text when it changes elsewhere
            "raw_gen": 0,  # the expert editor is re-seeded when the form changed the text
            "adv_gen": 0,
            "raw_adv_gen": 0,
            "errors": {},
            "problems": None,
            "trial": None,
        }
    return drafts[version.id]


def _touched(draft: dict[str, Any]) -> None:
    draft["problems"] = None
    draft["trial"] = None


def _on_param(base_id: int, key: str, widget: str, kind: str) -> None:
    draft = _drafts()[base_id]
    value = st.session_state.get(widget)
    if kind == "phrases":
        value = view.text_to_phrases(str(value or ""))
    try:
        draft["text"] = rubric_edit.apply_edits(draft["text"], {key: value})
    except (CallEvalError, ValueError) as exc:
        draft["errors"][key] = str(exc)
        return
    draft["errors"].pop(key, None)
    draft["raw_gen"] += 1
    _touched(draft)


def _on_advice(base_id: int, key: str, widget: str) -> None:
    draft = _drafts()[base_id]
    try:
        draft["advice"] = rubric_edit.apply_advice_edits(
            draft["advice"], {key: str(st.session_state.get(widget) or "")}
        )
    except (CallEvalError, ValueError) as exc:
        draft["errors"][key] = str(exc)
        return
    draft["errors"].pop(key, None)
    draft["raw_adv_gen"] += 1
    _touched(draft)


def _on_raw(base_id: int, widget: str, field: str) -> None:
    draft = _drafts()[base_id]
    draft[field] = str(st.session_state.get(widget) or "")
    draft["gen" if field == "text" else "adv_gen"] += 1
    draft["errors"] = {}
    _touched(draft)


def _raw_key(base_id: int, draft: dict[str, Any], field: str) -> str:
    gen = draft["raw_gen"] if field == "text" else draft["raw_adv_gen"]
    return f"calraw-{field}-{base_id}-{gen}"


def _sync_raw(base_id: int) -> dict[str, Any]:
    """Take over what the expert editors hold (a button may be clicked before their
    change is applied)."""
    draft = _drafts()[base_id]
    for field in ("text", "advice"):
        value = st.session_state.get(_raw_key(base_id, draft, field))
        if isinstance(value, str) and value != draft[field]:
            draft[field] = value
            draft["gen" if field == "text" else "adv_gen"] += 1
            _touched(draft)
    return draft


def _problems(draft: dict[str, Any]) -> list[str]:
    return store.validate_rubric_text(draft["text"], draft["advice"] or None)


def _on_check(base_id: int) -> None:
    draft = _sync_raw(base_id)
    draft["problems"] = _problems(draft)


def _on_trial(base_id: int) -> None:
    draft = _sync_raw(base_id)
    draft["trial"] = _sha(draft["text"])


def _on_reset(base_id: int) -> None:
    _drafts().pop(base_id, None)


def _on_save(base_id: int) -> None:
    db = resources.database()
    draft = _sync_raw(base_id)
    try:
        user = common.actor(db)
        base = store.get_rubric_version(db, user, base_id)
        problems = _problems(draft)
        if problems:
            draft["problems"] = problems
            st.session_state["flash_error"] = (
                "Version non enregistrée : corrigez d'abord les problèmes listés (vos "
                "modifications sont conservées)."
            )
            return
        advice = draft["advice"] if draft["advice"] != _base_advice(base) else None
        note = str(st.session_state.get("cal_note") or "")
        saved = store.save_rubric_version(
            db, user, draft["text"], advice, note=note, based_on=base_id
        )
        message = (
            f"Version {saved.version} de la grille « {saved.rubric_id} » enregistrée "
            f"(à partir de la version {base.version})."
        )
        if st.session_state.get("cal_activate"):
            store.activate_rubric_version(db, user, saved.id)
            message += (
                " Elle est en service : les prochaines analyses l'utiliseront ; les analyses "
                "déjà faites gardent leur version."
            )
    except CallEvalError as exc:
        st.session_state["flash_error"] = str(exc)
        return
    log.info("rubric %s v%s saved from the calibration page", saved.rubric_id, saved.version)
    _drafts().pop(base_id, None)
    st.session_state["cal_note"] = ""
    st.session_state["cal_activate"] = False
    for key, value in (
        ("cal_edit_base", saved.id),
        ("cal_version", saved.id),
        ("cal_cmp_a", base_id),
        ("cal_cmp_b", saved.id),
    ):
        st.session_state[key] = value
        st.session_state[f"_{key}"] = value
    st.session_state["cal_saved"] = {"id": saved.id, "message": message}


def _on_activate(version_id: int) -> None:
    db = resources.database()
    try:
        v = store.activate_rubric_version(db, common.actor(db), version_id)
    except CallEvalError as exc:
        st.session_state["flash_error"] = str(exc)
        return
    if v is not None:
        st.session_state["flash_success"] = (
            f"La version {v.version} est en service : les prochaines analyses l'utiliseront ; "
            "les analyses déjà faites gardent leur version."
        )


def _goto_tab(name: str) -> None:
    st.session_state["onglet"] = name


# --------------------------------------------------------------------------- tab 2
def _edit_tab(
    db: Database, user: User, versions: Sequence[RubricVersion], chosen: ChosenSet
) -> None:
    saved = st.session_state.pop("cal_saved", None)
    if saved:
        st.success(saved["message"], icon=":material/check_circle:")
        st.button(
            "Voir l'accord de cette version avec les jurés",
            key="cal_see_saved",
            icon=":material/arrow_forward:",
            on_click=_goto_tab,
            args=(TABS[0],),
        )
    base = _version_select(versions, "Partir de la version", "cal_edit_base")
    draft = _draft(base)
    row = st.container(horizontal=True, vertical_alignment="center")
    if base.active:
        row.caption(":green[En service : les nouvelles analyses utilisent cette version.]")
    else:
        row.caption("Cette version n'est pas en service.")
        row.button(
            "Mettre cette version en service",
            key="cal_activate_base",
            icon=":material/published_with_changes:",
            on_click=_on_activate,
            args=(base.id,),
        )
    text_changed = draft["text"] != base.text
    advice_changed = draft["advice"] != _base_advice(base)
    if text_changed or advice_changed:
        with st.container(border=True, key="cal-pending"):
            _pending(base, draft, text_changed, advice_changed)

    form, advice, raw, raw_advice = st.tabs(
        [
            "Paramètres de la grille",
            "Conseils aux stagiaires",
            "Expert : grille (YAML)",
            "Expert : conseils (YAML)",
        ]
    )
    with form:
        _parameters_form(base, draft)
    with advice:
        _advice_form(base, draft)
    with raw:
        st.caption(
            "Le texte complet de la grille (format décrit dans rubrics/README.md). Les "
            "modifications sont reprises par le formulaire ; « Vérifier » liste les problèmes."
        )
        key = _raw_key(base.id, draft, "text")
        st.text_area(
            "Grille (YAML)",
            value=draft["text"],
            height=520,
            key=key,
            on_change=_on_raw,
            args=(base.id, key, "text"),
        )
    with raw_advice:
        st.caption("Les conseils montrés aux stagiaires (« Mes entraînements »), par critère.")
        key = _raw_key(base.id, draft, "advice")
        st.text_area(
            "Conseils (YAML)",
            value=draft["advice"],
            height=520,
            key=key,
            on_change=_on_raw,
            args=(base.id, key, "advice"),
        )

    _save_box(base, draft)
    _trial(db, base, draft, chosen)


def _pending(
    base: RubricVersion, draft: dict[str, Any], text_changed: bool, advice_changed: bool
) -> None:
    parts = []
    if text_changed:
        parts.append(f"grille : {view.changed_lines(base.text, draft['text'])} ligne(s)")
    if advice_changed:
        parts.append(
            f"conseils : {view.changed_lines(_base_advice(base), draft['advice'])} ligne(s)"
        )
    row = st.container(horizontal=True, vertical_alignment="center")
    row.markdown(
        f":orange[:material/edit_note:] **Modifications non enregistrées** par rapport à la "
        f"version {base.version} ({', '.join(parts)}) — gardées pendant votre session."
    )
    row.button(
        "Abandonner les modifications",
        key="cal_reset",
        icon=":material/undo:",
        type="tertiary",
        on_click=_on_reset,
        args=(base.id,),
    )
    if text_changed:
        try:
            rows = view.changed_parameters(
                rubric_edit.editable_parameters(base.text),
                rubric_edit.editable_parameters(draft["text"]),
            )
        except CallEvalError:
            rows = []
        if rows:
            st.dataframe(rows, hide_index=True, width="stretch", key="cal_changes")
        with st.expander("Différences (texte)"):
            st.code(view.unified_diff(base.text, draft["text"]) or "(aucune)", language="diff")


def _field_error(draft: dict[str, Any], key: str) -> None:
    message = draft["errors"].get(key)
    if message:
        st.error(message, icon=":material/error:")


def _parameters_form(base: RubricVersion, draft: dict[str, Any]) -> None:
    try:
        params = rubric_edit.editable_parameters(draft["text"])
    except CallEvalError as exc:
        st.error(
            f"Le texte de la grille n'est pas lisible : {exc} Corrigez-le dans l'onglet "
            "« Expert : grille (YAML) » (vos modifications y sont conservées)."
        )
        return
    gen = draft["gen"]
    numbers = [p for p in params if p.kind == "number"]
    labels = view.criterion_labels_from_text(draft["text"])
    st.markdown("**Seuils et plages** :small[:gray[— par critère]]")
    for title, items in view.group_parameters(numbers, labels):
        with st.expander(f"{title} ({len(items)})"):
            cols = st.columns(2)
            for i, p in enumerate(items):
                widget = f"calp-{base.id}-{gen}-{p.key}"
                label = p.label.split(" — ", 1)[1] if " — " in p.label else p.label
                with cols[i % 2]:
                    st.number_input(
                        label,
                        key=widget,
                        help=f"Ligne {p.line} de la grille." if p.line else None,
                        on_change=_on_param,
                        args=(base.id, p.key, widget, "number"),
                        **view.number_widget_args(p),
                    )
                    _field_error(draft, p.key)

    st.markdown("**Formulations repérées par les détecteurs** :small[:gray[— une par ligne]]")
    groups = view.phrase_groups(params)
    if not groups:
        st.caption("Aucune liste de formulations dans les détecteurs de cette grille.")
        return
    uses = view.detector_criteria(draft["text"])
    overridden = [p for p in params if p.kind == "phrases" and p.source == "grille"]
    if overridden:
        st.caption(
            "Listes modifiées dans cette grille : "
            + ", ".join(f"{view.detector_name(p)} / {view.list_label(p)}" for p in overridden)
        )
    names = list(groups)
    cols = st.columns(2)
    detector = cols[0].selectbox(
        "Détecteur",
        options=names,
        format_func=lambda n: f"{n} — {', '.join(uses[n])}" if uses.get(n) else n,
        key=f"cal_detector-{base.id}",
    )
    lists = groups[detector or names[0]]
    keys = [p.key for p in lists]
    by_key = {p.key: p for p in lists}
    chosen = cols[1].selectbox(
        "Liste",
        options=keys,
        format_func=lambda k: (
            f"{view.list_label(by_key[k])} — {len(by_key[k].value)} formulation(s)"
            + (", modifiée dans la grille" if by_key[k].source == "grille" else "")
        ),
        key=f"cal_list-{base.id}-{detector}",
    )
    p = by_key[chosen or keys[0]]
    widget = f"calph-{base.id}-{gen}-{p.key}"
    st.text_area(
        f"{view.detector_name(p)} — {view.list_label(p)}",
        value=view.phrases_to_text(p.value),
        height=260,
        key=widget,
        help="Une formulation par ligne. La liste modifiée est écrite dans la grille "
        "(section detectors), le lexique n'est pas changé.",
        on_change=_on_param,
        args=(base.id, p.key, widget, "phrases"),
    )
    _field_error(draft, p.key)


def _advice_form(base: RubricVersion, draft: dict[str, Any]) -> None:
    if not draft["advice"].strip():
        st.info("Pas de conseils pour cette version : ceux livrés avec l'application s'appliquent.")
        return
    try:
        fields = rubric_edit.advice_fields(draft["advice"])
    except CallEvalError as exc:
        st.error(
            f"Les conseils ne sont pas lisibles : {exc} Corrigez-les dans l'onglet « Expert : "
            "conseils (YAML) »."
        )
        return
    by_criterion: dict[str, list[Any]] = {}
    for f in fields:
        by_criterion.setdefault(str(f.criterion or "?"), []).append(f)
    if not by_criterion:
        st.caption("Aucun conseil par critère dans ce fichier.")
        return
    titles = {cid: items[0].label.split(" : ", 1)[0] for cid, items in by_criterion.items()}
    cid = st.selectbox(
        "Critère", options=list(by_criterion), format_func=titles.get, key=f"cal_adv_crit-{base.id}"
    )
    gen = draft["adv_gen"]
    for f in by_criterion[cid or next(iter(by_criterion))]:
        widget = f"caladv-{base.id}-{gen}-{f.key}"
        st.text_area(
            f.label.split(" : ", 1)[1] if " : " in f.label else f.label,
            value=str(f.value),
            height=90,
            key=widget,
            on_change=_on_advice,
            args=(base.id, f.key, widget),
        )
        _field_error(draft, f.key)


def _save_box(base: RubricVersion, draft: dict[str, Any]) -> None:
    with st.container(border=True, key="cal-save"):
        st.markdown("**Enregistrer**")
        problems = draft.get("problems")
        if problems:
            st.error(
                f"La grille a {len(problems)} problème(s) à corriger :\n"
                + "\n".join(f"- {common.md_escape(p)}" for p in problems),
                icon=":material/error:",
            )
        elif problems is not None:
            st.success("Aucun problème : la grille et les conseils sont valides.")
        st.text_input(
            "Note de version",
            key="cal_note",
            placeholder="Ce qui change et pourquoi (ex. bande de débit élargie à 220 mots/min)",
        )
        st.checkbox(
            "Mettre en service dès l'enregistrement",
            key="cal_activate",
            help="Les nouvelles analyses utiliseront cette version ; les analyses déjà faites "
            "gardent la leur (rien de ce qui a été noté ne change).",
        )
        row = st.container(horizontal=True)
        row.button(
            "Vérifier",
            key="cal_check",
            icon=":material/rule:",
            on_click=_on_check,
            args=(base.id,),
        )
        row.button(
            "Enregistrer une nouvelle version",
            key="cal_save",
            type="primary",
            icon=":material/save:",
            on_click=_on_save,
            args=(base.id,),
        )
        st.caption(
            "Une version enregistrée n'est jamais modifiée ; les analyses déjà faites gardent "
            "la version avec laquelle elles ont été notées."
        )


def _trial(db: Database, base: RubricVersion, draft: dict[str, Any], chosen: ChosenSet) -> None:
    st.markdown("**Essai sur le jeu de calibration** :small[:gray[— sans enregistrer]]")
    if not chosen:
        _no_set()
        return
    st.button(
        "Essayer les modifications sur le jeu",
        key="cal_trial",
        icon=":material/science:",
        on_click=_on_trial,
        args=(base.id,),
        disabled=draft["text"] == base.text,
        help="Re-note le jeu avec la grille modifiée et la compare à la version de départ.",
    )
    if draft.get("trial") != _sha(draft["text"]) or draft["text"] == base.text:
        return
    from call_eval.rubric import parse_rubric

    try:
        rubric = parse_rubric(draft["text"], source="grille modifiée")
        with st.spinner("Re-notation du jeu de calibration…"):
            comparison = chosen.scorer().compare(
                base.sha256, store.version_file(db, base), _sha(draft["text"]), rubric
            )
    except CallEvalError as exc:
        st.error(str(exc))
        return
    _comparison_view(comparison, key="trial")


# --------------------------------------------------------------------------- tab 3
def _compare_tab(db: Database, versions: Sequence[RubricVersion], chosen: ChosenSet) -> None:
    newest = versions[0]
    older = newest.based_on if newest.based_on in _by_id(versions) else None
    if older is None and len(versions) > 1:
        older = versions[1].id
    cols = st.columns(2)
    with cols[0]:
        a = _version_select(versions, "Avant", "cal_cmp_a", default=older or newest.id)
    with cols[1]:
        b = _version_select(versions, "Après", "cal_cmp_b", default=newest.id)
    if len(versions) == 1:
        st.info(
            "Une seule version de la grille : enregistrez une version modifiée (onglet "
            "« Modifier la grille ») pour la comparer."
        )
    if not chosen:
        _no_set()
        return
    if a.id == b.id:
        st.caption("Choisissez deux versions différentes.")
        return
    try:
        with st.spinner("Re-notation du jeu de calibration…"):
            comparison = chosen.scorer().compare(
                a.sha256, store.version_file(db, a), b.sha256, store.version_file(db, b)
            )
    except CallEvalError as exc:
        st.error(str(exc))
        return
    _comparison_view(comparison, key="cmp")
    st.download_button(
        "Comparaison (Markdown)",
        data=comparison.to_markdown().encode("utf-8"),
        file_name=f"comparaison_{a.rubric_id}_v{a.version}_v{b.version}.md",
        mime="text/markdown",
        icon=":material/description:",
        key="cal_download_cmp",
        on_click="ignore",
    )


def _comparison_view(comparison: RubricComparison, key: str) -> None:
    before, after = comparison.before.overall, comparison.after.overall
    counts = view.effect_counts(comparison)
    with st.container(key=f"{key}-metrics"):
        cols = st.columns(3)
        delta = view.delta_points(before.agreement, after.agreement, minus="-")
        cols[0].metric(
            "Accord global",
            fmt_ratio(after.agreement),
            delta=None if delta in ("—", "=") else delta,
            help=f"Avant : {fmt_ratio(before.agreement)} ({before.agree}/{before.n}) ; après : "
            f"{fmt_ratio(after.agreement)} ({after.agree}/{after.n}).",
            border=True,
        )
        kappa_delta = (
            None
            if before.kappa is None or after.kappa is None or before.kappa == after.kappa
            else fmt_number(after.kappa - before.kappa).replace("−", "-")
        )
        cols[1].metric(
            "Kappa de Cohen",
            fmt_number(after.kappa),
            delta=kappa_delta,
            help=f"Avant : {fmt_number(before.kappa)}.",
            border=True,
        )
        cols[2].metric(
            "Suggestions qui changent",
            len(comparison.changes),
            help=", ".join(f"{n} {effect}" for effect, n in counts.items()) or None,
            border=True,
        )
    if comparison.changes:
        st.markdown(
            f"{counts.get('corrigée', 0)} rejoignent la coche du juré, "
            f"{counts.get('dégradée', 0)} s'en écartent, "
            f"{counts.get('toujours en désaccord', 0)} restent en désaccord."
        )
    st.markdown("**Accord par critère, avant et après**")
    rows = view.comparison_rows(comparison)
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        height=_table_height(len(rows)),
        key=f"{key}_criteria",
        column_config={
            "Critère": st.column_config.TextColumn(width=60),
            "Libellé": st.column_config.TextColumn(width="medium"),
            "n": st.column_config.NumberColumn(width=40),
        },
    )
    st.markdown(f"**Suggestions qui changent ({len(comparison.changes)})**")
    if not comparison.changes:
        st.caption("Aucune : les deux grilles donnent les mêmes suggestions sur ce jeu.")
        return
    st.dataframe(
        view.change_rows(comparison), hide_index=True, width="stretch", key=f"{key}_changes"
    )
    with st.expander("Raisons de l'outil, avant et après"):
        for ch in comparison.changes:
            st.markdown(
                f"**{ch.criterion}** — {common.md_escape(ch.call_id)} : "
                f"{view.state_name(ch.before)} → {view.state_name(ch.after)}  \n"
                f"avant : {common.md_escape(ch.reason_before) or '—'}  \n"
                f"après : {common.md_escape(ch.reason_after) or '—'}"
            )
