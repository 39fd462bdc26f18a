"""The « Calibration des grilles » page driven by streamlit.testing (AppTest).

The calibration sets are the files of call_eval/data/calibration_example (uploaded through the
page) and exam calls whose jurors validated their grids (built with exam_fixtures). What
the page shows is checked against :class:`~call_eval.calibration.Rescorer` run directly,
and a few numbers against values computed by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from exam_fixtures import Exam, account, build_exam, score_all
from streamlit.testing.v1 import AppTest

from call_eval import store
from call_eval.auth import SYSTEM, User
from call_eval.calibration import EXAMPLE_SET, Rescorer, load_calibration_set
from call_eval.ui import calibration_view as view

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
PAGE = "call_eval/ui/pages/calibration.py"
SET = EXAMPLE_SET
RATE_MAX = "criteria.C02.rule.all[0].max"  # C02's speaking-rate band, upper end


@pytest.fixture()
def trainer(db: store.Database) -> User:
    return account(db, "nina.formatrice", "Nina Formatrice", ["trainer"])


@pytest.fixture()
def exam(db: store.Database, tmp_path: Path) -> Exam:
    """Two exam calls (the sample analysis) with validated grids: Jeanne Martin's scored by
    the two jurors of her session (they differ on C05), Karim Benali's by one juror."""
    exam = build_exam(db, tmp_path)
    score_all(db, exam.juror_a, exam.recording.id)
    score_all(db, exam.juror_b, exam.recording.id, {"C05": "non_acquis", "C08": "acquis"})
    score_all(db, exam.outsider, exam.other_recording.id)
    return exam


def _app(db: store.Database, user: User) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["auth_token"] = store.start_session(db, user).token
    at.run()
    assert not at.exception, at.exception
    return at


def _calibration(db: store.Database, user: User) -> AppTest:
    at = _app(db, user)
    if not at.title or at.title[0].value != "Calibration des grilles":
        at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def _tab(at: AppTest, name: str) -> AppTest:
    """Open a tab: it is kept in the URL (?onglet=…), except the first one (the default)."""
    if name == "Accord avec les jurés":
        at.query_params.pop("onglet", None)
        at.session_state["onglet"] = name
    else:
        at.query_params["onglet"] = name
    return _run(at)


def _upload_set(at: AppTest, files: list[Path] | None = None) -> AppTest:
    at.segmented_control(key="cal_source").set_value("fichiers")
    _run(at)
    paths = files or sorted(SET.glob("*.yaml"))
    at.file_uploader(key="cal_files").set_value(
        [(p.name, p.read_bytes(), "application/x-yaml") for p in paths]
    )
    return _run(at)


def _table(at: AppTest, column: str) -> pd.DataFrame:
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with a « {column} » column")


def _button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button « {label} » in {[b.label for b in at.button]}"
    return matches[0]


def _texts(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def _shipped(db: store.Database) -> store.RubricVersion:
    versions = store.list_rubric_versions(db, SYSTEM)
    return next(v for v in versions if v.origin != "édition")


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _criteria_as_page_shows(report) -> pd.DataFrame:
    return pd.DataFrame(view.criterion_rows(report))


# --------------------------------------------------------------------------- report
def test_file_set_report_matches_the_rescorer_and_hand_values(db, trainer) -> None:
    at = _upload_set(_calibration(db, trainer))
    assert not at.error, [e.value for e in at.error]
    assert "**3** appels, dont **3** noté(s) par plusieurs jurés" in _texts(at)

    expected = Rescorer(load_calibration_set(SET)).calibrate(store.version_file(db, _shipped(db)))
    shown = _table(at, "Kappa de Cohen")
    assert list(shown["Critère"]) == [m.id for m in expected.criteria]
    for m in expected.criteria:
        row = shown[shown["Critère"] == m.id].iloc[0]
        assert row["n"] == m.n
        assert row["Accord"] == f"{view.fmt_ratio(m.agreement)} ({m.agree}/{m.n})"
        assert row["Kappa de Cohen"] == view.fmt_number(m.kappa)
        assert row["Précision « acquis »"] == view.fmt_ratio(m.precision)
        assert row["Rappel « acquis »"] == view.fmt_ratio(m.recall)
    assert _metric(at, "Accord global") == view.fmt_ratio(expected.overall.agreement)
    assert _metric(at, "Désaccords") == str(len(expected.disagreements))

    # By hand: C02 reads audio measures only, so on transcripts it is « à vérifier » for
    # the two calls whose reference ticks C02 (both acquis): 0 agreeing of 2; kappa
    # po = 0, pe = 1 × 0 (the juror's acquis share times the tool's) = 0, so 0; no
    # « acquis » suggested: precision undefined (—), recall 0/2.
    c02 = shown[shown["Critère"] == "C02"].iloc[0]
    assert (c02["n"], c02["Accord"], c02["Kappa de Cohen"]) == (2, "0 % (0/2)", "0,00")
    assert (c02["Précision « acquis »"], c02["Rappel « acquis »"]) == ("—", "0 %")

    # Disagreements: the tool's reason beside the juror's why.
    texts = _texts(at)
    assert "Débit et volume non mesurés (pas d'audio)" in texts
    assert "**Le juré** : Débit et volume normaux." in texts
    # Between jurors: Fleiss' kappa of C08 by hand (tests/test_calibration.py):
    # P̄ = 4/9 (44,4 %), kappa = (4/9 − 29/49) / (20/49) = −0,36.
    jurors = _table(at, "Kappa de Fleiss")
    c08 = jurors[jurors["Critère"] == "C08"].iloc[0]
    assert (c08["Accord observé"], c08["Kappa de Fleiss"]) == ("44,4 %", "−0,36")
    # The confusion of a chosen criterion: C02, juror acquis × suggestion à vérifier = 2.
    at.selectbox(key="cal_confusion_criterion").set_value("C02")
    _run(at)
    confusion = _table(at, "Juré \\ suggestion")
    assert confusion.iloc[0]["à vérifier"] == 2 and confusion.iloc[0]["acquis"] == 0
    download = next(d for d in at.get("download_button") if d.label == "Rapport (Markdown)")
    assert download is not None


def test_db_set_report_matches_the_rescorer(db, trainer, exam) -> None:
    at = _calibration(db, trainer)  # the trainer's landing page
    assert at.title[0].value == "Calibration des grilles"
    assert "**2** appels, dont **1** noté(s) par plusieurs jurés" in _texts(at)
    calls = store.calibration_calls(db, trainer)
    expected = Rescorer(calls).calibrate(store.version_file(db, _shipped(db)))
    shown = _table(at, "Kappa de Cohen")
    pd.testing.assert_frame_equal(
        shown.reset_index(drop=True), _criteria_as_page_shows(expected), check_dtype=False
    )
    # Jeanne Martin's jurors split on C05 and C08: no majority there, one call counts.
    c05 = shown[shown["Critère"] == "C05"].iloc[0]
    assert c05["n"] == 1
    assert _table(at, "Kappa de Fleiss") is not None


def test_empty_db_set_says_what_to_do_and_the_example_set_works(db, trainer) -> None:
    at = _calibration(db, trainer)
    assert any("Aucune grille validée" in i.value for i in at.info)
    assert not at.error
    at.segmented_control(key="cal_source").set_value("exemple")
    _run(at)
    assert "**3** appels, dont **3** noté(s) par plusieurs jurés" in _texts(at)
    expected = Rescorer(load_calibration_set(SET)).calibrate(store.version_file(db, _shipped(db)))
    assert _metric(at, "Accord global") == view.fmt_ratio(expected.overall.agreement)


def test_bad_file_shows_a_french_error(db, trainer, tmp_path) -> None:
    bad = tmp_path / "mauvais.yaml"
    bad.write_text("id: x\nturns: [{speaker: agent, text: Bonjour}]\nlabels: {C01: peut-être}\n")
    at = _upload_set(_calibration(db, trainer), [bad])
    errors = [e.value for e in at.error]
    assert any("état 'peut-être' invalide" in e for e in errors), errors
    assert not any("Traceback" in e for e in errors)


# --------------------------------------------------------------------------- edit
def test_band_edit_saves_a_version_and_the_report_follows(db, trainer, exam) -> None:
    before = store.latest_analysis(db, SYSTEM, exam.recording.id)
    at = _tab(_calibration(db, trainer), "Modifier la grille")
    base = _shipped(db)
    widget = f"calp-{base.id}-0-{RATE_MAX}"
    assert at.number_input(key=widget).value == 210
    # The agent speaks at 156 words/min: a band ending at 125 (+20 of tolerance) fails.
    at.number_input(key=widget).set_value(125.0)
    _run(at)
    assert "Modifications non enregistrées" in _texts(at)
    changes = _table(at, "Paramètre")
    assert list(changes["Après"]) == ["125"]
    # A trial on the set before saving: both calls' C02 leave the jurors' tick.
    _button(at, "Essayer les modifications sur le jeu").click()
    _run(at)
    assert _metric(at, "Suggestions qui changent") == "2"
    assert store.list_rubric_versions(db, trainer)[0].version == 1  # nothing saved yet
    at.text_input(key="cal_note").input("Bande de débit resserrée (essai)")
    _button(at, "Enregistrer une nouvelle version").click()
    _run(at)
    versions = store.list_rubric_versions(db, trainer)
    assert [v.version for v in versions] == [2, 1]
    new = versions[0]
    assert new.based_on == base.id and new.note == "Bande de débit resserrée (essai)"
    assert re.search(r"between: \[120, 125\]", new.text)
    assert not new.active  # not put in service unless asked
    assert any("Version 2 de la grille" in s.value for s in at.success)
    # Earlier analyses keep their scoring.
    after = store.latest_analysis(db, SYSTEM, exam.recording.id)
    assert after.id == before.id and after.result == before.result

    # The report of the new version: C02 is no longer acquis for either call.
    _button(at, "Voir l'accord de cette version avec les jurés").click()
    _run(at)
    assert at.selectbox(key="cal_version").value == new.id
    calls = store.calibration_calls(db, trainer)
    expected = Rescorer(calls).calibrate(store.version_file(db, new))
    assert {s["C02"] for s in expected.suggestions.values()} == {"non_acquis"}
    shown = _table(at, "Kappa de Cohen")
    pd.testing.assert_frame_equal(
        shown.reset_index(drop=True), _criteria_as_page_shows(expected), check_dtype=False
    )
    c02 = shown[shown["Critère"] == "C02"].iloc[0]
    assert c02["Accord"].startswith("0 %")

    # Compare: the new version against the one it was based on (chosen after saving).
    at = _tab(at, "Comparer deux versions")
    assert at.selectbox(key="cal_cmp_a").value == base.id
    assert at.selectbox(key="cal_cmp_b").value == new.id
    changed = _table(at, "Effet")
    assert set(changed["Critère"]) == {"C02"} and len(changed) == 2
    assert set(changed["Avant"]) == {"acquis"} and set(changed["Après"]) == {"non acquis"}
    assert set(changed["Coche du juré"]) == {"acquis"}
    assert all(e.startswith("↓ dégradée") for e in changed["Effet"])
    per_criterion = _table(at, "Accord avant")
    c02 = per_criterion[per_criterion["Critère"] == "C02"].iloc[0]
    assert (c02["Accord avant"], c02["Accord après"], c02["Écart"]) == ("100 %", "0 %", "−100 pts")


def test_phrase_list_edit_and_activation(db, trainer) -> None:
    at = _tab(_calibration(db, trainer), "Modifier la grille")
    base = _shipped(db)
    at.selectbox(key=f"cal_detector-{base.id}").set_value("leave_taking.v1")
    _run(at)
    goodbye = "detectors.leave_taking.v1.leave_taking.rules.goodbye"
    lists = at.selectbox(key=f"cal_list-{base.id}-leave_taking.v1")
    assert lists.options[0].startswith("liste « leave_taking.")  # its own lists first
    lists.set_value(goodbye)
    _run(at)
    area = at.text_area(key=f"calph-{base.id}-0-{goodbye}")
    phrases = view.text_to_phrases(area.value)
    assert "au revoir|aurevoir|au-revoir" in phrases
    area.input("\n".join([*phrases, "à la revoyure"]))
    _run(at)
    # An advice text for trainees, in the same new version.
    at.selectbox(key=f"cal_adv_crit-{base.id}").set_value("C11")
    _run(at)
    advice = at.text_area(key=f"caladv-{base.id}-0-criteria.C11.advice")
    advice.input("Récapitulez, remerciez, puis prenez congé.")
    _run(at)
    _button(at, "Vérifier").click()
    _run(at)
    assert any("Aucun problème" in s.value for s in at.success)
    at.checkbox(key="cal_activate").check()
    _button(at, "Enregistrer une nouvelle version").click()
    _run(at)
    new = store.list_rubric_versions(db, trainer)[0]
    assert new.version == 2 and new.active
    assert "à la revoyure" in new.text and "detectors:" in new.text
    assert 'advice: "Récapitulez, remerciez, puis prenez congé."' in (new.advice_text or "")
    assert any("Elle est en service" in s.value for s in at.success)
    assert store.active_rubric_path(db) == str(store.version_file(db, new))


def test_invalid_yaml_in_the_expert_editor_is_kept_and_not_saved(db, trainer) -> None:
    at = _tab(_calibration(db, trainer), "Modifier la grille")
    base = _shipped(db)
    raw = at.text_area(key=f"calraw-text-{base.id}-0")
    broken = raw.value.replace("pass_ratio: 0.70", "pass_ratio: [0.70", 1)
    assert broken != raw.value
    raw.input(broken)
    _run(at)
    _button(at, "Vérifier").click()
    _run(at)
    errors = " ".join(e.value for e in at.error)
    assert "problème(s) à corriger" in errors and "YAML" in errors
    assert "n'est pas lisible" in errors  # the form says where to fix it
    _button(at, "Enregistrer une nouvelle version").click()
    _run(at)
    assert any("Version non enregistrée" in e.value for e in at.error)
    assert [v.version for v in store.list_rubric_versions(db, trainer)] == [1]
    # The edits are kept (same browser session): the expert editor still holds them.
    assert at.text_area(key=f"calraw-text-{base.id}-0").value == broken
    assert "Modifications non enregistrées" in _texts(at)
    assert not any("Traceback" in e.value for e in at.error)


# --------------------------------------------------------------------------- compare
def test_compare_tab_shows_the_changed_suggestions(db, trainer, exam) -> None:
    base = _shipped(db)
    text = base.text.replace("between: [120, 210]", "between: [120, 125]", 1)
    assert text != base.text
    new = store.save_rubric_version(db, trainer, text, note="plus strict", based_on=base.id)
    at = _tab(_calibration(db, trainer), "Comparer deux versions")
    assert at.selectbox(key="cal_cmp_a").value == base.id
    assert at.selectbox(key="cal_cmp_b").value == new.id
    calls = store.calibration_calls(db, trainer)
    expected = Rescorer(calls).compare(store.version_file(db, base), store.version_file(db, new))
    changed = _table(at, "Effet")
    assert list(changed["Appel"]) == [c.call_id for c in expected.changes]
    assert list(changed["Critère"]) == [c.criterion for c in expected.changes] == ["C02", "C02"]
    assert _metric(at, "Suggestions qui changent") == "2"
    assert "0 rejoignent la coche du juré, 2 s'en écartent" in _texts(at)


# --------------------------------------------------------------------------- access
@pytest.mark.parametrize("role", ["trainee", "juror", "manager"])
def test_other_roles_are_refused(db, role) -> None:
    user = account(db, f"compte.{role}", f"Compte {role}", [role])
    at = _app(db, user)
    at.switch_page(PAGE).run()
    assert not at.exception
    assert any("Accès refusé" in e.value for e in at.error)
    assert not at.dataframe and not at.number_input
    with pytest.raises(store.AccessDenied):
        store.calibration_calls(db, user)
