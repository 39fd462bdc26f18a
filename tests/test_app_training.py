"""The « Entraînements » page driven by streamlit.testing (AppTest): a trainee's
self-assessment before the suggestions, the comparison, the advice, the progress; a
trainer's read-only view; one trainee never sees another's calls.

Practice calls are the stored sample analysis (``tests/data/analysis_sample.json``) imported
for a trainee, so no speech recognition runs (one test uploads a transcript JSON).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from exam_fixtures import Exam, build_exam, sample_analysis, tone_wav
from streamlit.testing.v1 import AppTest

from call_eval import store
from call_eval.auth import SYSTEM, AccessDenied, User
from call_eval.feedback import compare_self_assessment
from call_eval.ui.training_view import AGREEMENT_BADGES

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
PAGE = "call_eval/ui/pages/entrainements.py"
ADVICE = ROOT / "rubrics" / "advice_fr.yaml"
C08_REASON = "Aucune question invitant l'appelé à exprimer ses doutes."
C01_REASON = "Nom et organisation donnés dès la première prise de parole."


@pytest.fixture()
def exam(db: store.Database, tmp_path: Path) -> Exam:
    """Accounts (trainer Fanny, trainees Sam and Léa), an exam session, and Sam's first
    practice call (not analysed)."""
    return build_exam(db, tmp_path)


def practice_call(
    db: store.Database,
    tmp_path: Path,
    owner: User,
    *,
    pitch: float,
    met: tuple[str, ...] = (),
) -> store.Recording:
    """A practice call of ``owner`` analysed as the sample (``met``: criteria turned acquis)."""
    analysis = sample_analysis()
    audio = tone_wav(tmp_path / f"practice_{pitch:.0f}.wav", seconds=3.0, pitch=pitch)
    analysis["call"]["sha256"] = store.file_sha256(audio)
    for criterion in analysis["criteria"]:
        if criterion["id"] in met:
            criterion["suggested"] = "acquis"
    analysis["score"]["acquis"] += len(met)
    result = store.import_analysis(
        db, analysis, audio, actor=SYSTEM, purpose=store.PRACTICE, owner_user_id=owner.id
    )
    return result.recording


def _open(db: store.Database, user: User, **query: object) -> AppTest:
    """A browser session signed in as ``user`` on the « Entraînements » page."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()  # signed out: the sign-in page, then sign in and open the page
    at.session_state["auth_token"] = store.start_session(db, user).token
    at.switch_page(PAGE)
    for name, value in query.items():
        at.query_params[name] = str(value)
    at.run()
    assert not at.exception, at.exception
    return at


def _picker(at: AppTest):
    """The « Tentative affichée » selector (its key changes when the page switches attempt)."""
    return next(s for s in at.selectbox if s.label == "Tentative affichée")


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown]
    for kind in (at.caption, at.info, at.success, at.warning, at.error, at.subheader):
        parts += [str(e.value) for e in kind]
    parts += [b.label for b in at.button]
    parts += [str(m.value) for m in at.metric]
    return "\n".join(parts)


def _row(at: AppTest, criterion: str) -> list[str]:
    """The markdown cells of a criterion's comparison row (title, yours, tool, agreement)."""
    values = [m.value for m in at.markdown]
    start = next(i for i, v in enumerate(values) if v.startswith(f"**{criterion} — "))
    return values[start : start + 4]


# --------------------------------------------------------------------------- self-assessment
def test_self_assessment_then_reveal_and_compare(db, exam, tmp_path) -> None:
    sam = exam.trainee
    rid = practice_call(db, tmp_path, sam, pitch=610.0).id
    at = _open(db, sam)
    assert at.title[0].value == "Mes entraînements"
    assert _picker(at).value == rid  # the latest attempt
    assert at.query_params["appel"] == str(rid)

    at.segmented_control(key=f"self-{rid}-C01").set_value("acquis").run()
    at.segmented_control(key=f"self-{rid}-C08").set_value("acquis").run()
    assert not at.exception
    ticks = dict(store.get_self_assessment(db, sam, rid).ticks)
    assert ticks == {"C01": "acquis", "C08": "acquis"}
    assert "2 / 12 critères cochés" in [p.proto.text for p in at.get("progress")]

    # Nothing of the tool's opinion before the reveal.
    texts = _texts(at)
    for hidden in (C08_REASON, C01_REASON, "confiance", "Suggestion de l'outil", "9 / 15"):
        assert hidden not in texts, hidden
    assert not [b for b in at.button if (b.key or "").startswith("seek-")]
    assert any("s'afficheront ici quand vous aurez affiché" in i.value for i in at.info)
    listing = at.dataframe[0].value  # newest first; no score before the reveal
    assert list(listing["Tentative"]) == [2, 1]
    assert list(listing["Statut"]) == ["Auto-évaluation en cours", "Pas encore analysé"]
    assert list(listing["Critères acquis (outil)"]) == ["—", "—"]

    at.button(key="reveal").click().run()
    assert not at.exception, at.exception
    assert store.get_self_assessment(db, sam, rid).revealed
    analysis = store.latest_analysis(db, sam, rid).result
    expected = {r.criterion: r for r in compare_self_assessment(ticks, analysis)}
    assert expected["C01"].agree is True and expected["C08"].gap == "surestimé"
    assert _row(at, "C01")[3].startswith(AGREEMENT_BADGES["agree"])
    assert _row(at, "C08")[3].startswith(AGREEMENT_BADGES["surestimé"])
    assert _row(at, "C05")[3].startswith(AGREEMENT_BADGES["none"])  # not ticked
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["D'accord avec l'outil"] == "1 / 2"
    assert metrics["Surestimés"] == "1" and metrics["Sous-estimés"] == "0"
    assert metrics["Suggestion de l'outil"] == "9 / 15"
    texts = _texts(at)
    assert C08_REASON in texts and "confiance 91 %" in texts
    listing = at.dataframe[0].value
    assert listing["Statut"][0] == "Suggestions affichées"
    assert listing["Critères acquis (outil)"][0] == "9 / 15"

    # Frozen: no tick widget any more, and the store refuses a change.
    assert not [s for s in at.segmented_control if (s.key or "").startswith("self-")]
    with pytest.raises(store.StoreError, match="figée"):
        store.set_self_tick(db, sam, rid, "C08", "non_acquis")

    # A piece of evidence plays the call from its moment.
    evidence = at.button(key=f"seek-ev-{rid}-C09-0")
    assert evidence.label.startswith("**01:00** :violet-badge[Appelé]")
    evidence.click().run()
    assert at.get("audio")[0].proto.start_time == 60
    assert "Lecture à partir de 01:00" in " ".join(c.value for c in at.caption)


def test_grid_before_the_analysis_ends_uses_the_rubric_in_service(db, exam) -> None:
    sam = exam.trainee
    rid = exam.practice.id  # uploaded, never analysed
    at = _open(db, sam, appel=rid)
    assert _picker(at).value == rid
    assert at.button(key="reveal").disabled
    assert any("pas encore été analysé" in i.value for i in at.info)
    controls = [s.key for s in at.segmented_control if (s.key or "").startswith("self-")]
    assert len(controls) == 12 and f"self-{rid}-C12" in controls
    assert f"self-{rid}-C13" not in controls  # technical interview: the jury's
    assert any(v.startswith("**C01 — Se présenter**") for v in (m.value for m in at.markdown))
    at.segmented_control(key=f"self-{rid}-C02").set_value("non_acquis").run()
    assert store.get_self_assessment(db, sam, rid).ticks == {"C02": "non_acquis"}
    with pytest.raises(store.StoreError, match="pas terminée"):
        store.reveal_suggestions(db, sam, rid)


# --------------------------------------------------------------------------- isolation
def test_a_trainee_never_sees_another_trainees_call(db, exam, tmp_path) -> None:
    sam, lea = exam.trainee, exam.other_trainee
    rid = practice_call(db, tmp_path, sam, pitch=620.0).id
    store.set_self_tick(db, sam, rid, "C01", "acquis")
    utterance = sample_analysis()["utterances"][0]["text"]

    at = _open(db, lea, appel=rid)
    assert not at.exception
    assert any("appartient à un autre stagiaire" in e.value for e in at.error)
    texts = _texts(at)
    assert utterance not in texts and C01_REASON not in texts
    assert not at.get("audio")
    assert "appel" not in at.query_params
    assert not [s for s in at.segmented_control if (s.key or "").startswith("self-")]

    # An exam call is not opened here either.
    at = _open(db, sam, appel=exam.recording.id)
    assert any("Accès refusé" in e.value for e in at.error)
    assert "Jeanne Martin" not in _texts(at)

    # The store refuses the same through its API.
    for attempt in (
        lambda: store.get_self_assessment(db, lea, rid),
        lambda: store.set_self_tick(db, lea, rid, "C01", "non_acquis"),
        lambda: store.reveal_suggestions(db, lea, rid),
        lambda: store.latest_analysis(db, lea, rid),
        lambda: store.get_recording(db, lea, rid),
    ):
        with pytest.raises(AccessDenied):
            attempt()
    assert [a.recording.id for a in store.list_practice_attempts(db, lea)] == []
    assert store.get_self_assessment(db, sam, rid).ticks == {"C01": "acquis"}


# --------------------------------------------------------------------------- advice
def test_advice_for_a_criterion_not_met_and_downloads(db, exam, tmp_path) -> None:
    sam = exam.trainee
    rid = practice_call(db, tmp_path, sam, pitch=630.0).id
    store.set_self_tick(db, sam, rid, "C08", "non_acquis")
    store.reveal_suggestions(db, sam, rid)
    at = _open(db, sam)
    assert [t.label for t in at.tabs] == ["Comparaison", "Conseils", "Progression"]
    advice = yaml.safe_load(ADVICE.read_text(encoding="utf-8"))["criteria"]["C08"]
    infos = [i.value for i in at.info]
    assert any(advice["example"] in i for i in infos), infos
    texts = _texts(at)
    assert "À travailler (1)" in texts and "Vos points forts (9)" in texts
    assert "**C08 — Faire exprimer les freins**" in texts
    assert "Formulations à éviter (0)" in texts and "Votre voix" in texts
    assert "Aucune formulation à éviter relevée" in texts
    moment = at.button(key=f"seek-mo-{rid}-C08-0")
    assert moment.label.startswith("À cet endroit : **01:22** :blue-badge[Vous]")
    labels = [d.label for d in at.get("download_button")]
    assert labels == ["Télécharger le retour (PDF)", "Télécharger (Markdown)"]


# --------------------------------------------------------------------------- progress
def test_progress_over_two_attempts(db, exam, tmp_path) -> None:
    sam = exam.trainee
    first = practice_call(db, tmp_path, sam, pitch=640.0).id
    second = practice_call(db, tmp_path, sam, pitch=650.0, met=("C08", "C04")).id
    store.reveal_suggestions(db, sam, first)
    at = _open(db, sam)
    table = at.dataframe[-1].value  # only the revealed attempt so far
    assert list(table["Tentative"]) == [2]
    assert any("Seules les tentatives dont vous avez affiché" in c.value for c in at.caption)

    store.reveal_suggestions(db, sam, second)
    at = _open(db, sam)
    table = at.dataframe[-1].value
    assert list(table["Tentative"]) == [2, 3]  # attempt 1 (not analysed) is left out
    assert list(table["Critères acquis"]) == ["9 / 15", "11 / 15"]
    assert list(table["Débit (mots/min)"]) == ["156", "156"]
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert figure["data"][0]["x"] == ["Tentative 2", "Tentative 3"]
    assert figure["data"][0]["y"] == [9, 11]
    rate = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert len(rate["data"][0]["x"]) == 2


# --------------------------------------------------------------------------- trainer
def test_trainer_follows_a_trainee_read_only(db, exam, tmp_path) -> None:
    sam = exam.trainee
    rid = practice_call(db, tmp_path, sam, pitch=660.0).id
    store.set_self_tick(db, sam, rid, "C01", "non_acquis")
    at = _open(db, exam.trainer)
    assert at.title[0].value == "Entraînements des stagiaires"
    chooser = at.selectbox(key="train_trainee")
    assert chooser.value == sam.id
    assert {"Sam Stagiaire — 2 appel(s)", "Léa Stagiaire — 0 appel(s)"} <= set(chooser.options)
    assert not at.file_uploader
    assert not [s for s in at.segmented_control if (s.key or "").startswith("self-")]
    assert not [b for b in at.button if b.key == "reveal"]
    # Not compared yet: the suggestions, not Sam's ticks.
    texts = _texts(at)
    assert "n'a pas encore comparé son auto-évaluation" in texts
    assert C08_REASON in texts
    assert "D'accord avec l'outil" not in texts

    store.reveal_suggestions(db, sam, rid)
    at.run()
    assert _row(at, "C01")[3].startswith(AGREEMENT_BADGES["sous-estimé"])
    with pytest.raises(AccessDenied):
        store.set_self_tick(db, exam.trainer, rid, "C02", "acquis")

    # A shared link to the call opens it, on its trainee.
    linked = _open(db, exam.trainer, appel=exam.practice.id)
    assert linked.session_state["train_trainee"] == sam.id
    assert linked.session_state["train_attempt"] == exam.practice.id
    assert any("pas encore été analysé" in i.value for i in linked.info)

    at.selectbox(key="train_trainee").set_value(exam.other_trainee.id).run()
    assert any("n'a encore déposé aucun appel" in i.value for i in at.info)
    assert C08_REASON not in _texts(at)


# --------------------------------------------------------------------------- upload
def test_trainee_uploads_a_transcript_which_is_analysed(db, exam) -> None:
    sam = exam.trainee
    analysis = sample_analysis()
    transcript = {
        "utterances": [
            {"role": u["role"], "start": u["start"], "end": u["end"], "text": u["text"]}
            for u in analysis["utterances"]
        ]
    }
    at = _open(db, sam)
    at.file_uploader(key="train_file").set_value(
        ("mon_appel.json", json.dumps(transcript).encode("utf-8"), "application/json")
    )
    at.text_area(key="train_crm").input("Rappel jeudi 18 h, mise à jour de l'adresse.")
    next(b for b in at.button if b.label == "Déposer et analyser").click().run()
    assert not at.exception, at.exception
    assert any("déposé, analyse lancée" in s.value for s in at.success)
    mine = store.list_practice_attempts(db, sam)
    new = next(a.recording for a in mine if a.recording.filename == "mon_appel.json")
    assert new.purpose == store.PRACTICE and new.owner_user_id == sam.id
    assert new.crm_note == "Rappel jeudi 18 h, mise à jour de l'adresse."
    assert at.session_state["train_attempt"] == new.id

    deadline = time.monotonic() + 120
    while store.latest_analysis_id(db, sam, new.id) is None:
        assert time.monotonic() < deadline, "the analysis did not finish"
        time.sleep(0.2)
    at.run()
    assert not at.exception
    assert not at.button(key="reveal").disabled
    assert not store.list_practice_attempts(db, exam.other_trainee)


def test_a_tick_whose_callback_was_lost_is_saved_on_the_next_run(db, exam, tmp_path) -> None:
    """A click made while the previous click's run is still going can lose its change
    callback (seen in Chromium with the analysis running): the page then shows the tick
    but nothing called the store. The next run saves what the page shows."""
    sam = exam.trainee
    rid = practice_call(db, tmp_path, sam, pitch=640.0).id
    at = _open(db, sam)
    at.session_state[f"self-{rid}-C05"] = "non_acquis"  # the value, without its callback
    at.run()
    assert not at.exception, at.exception
    assert dict(store.get_self_assessment(db, sam, rid).ticks) == {"C05": "non_acquis"}
    assert "1 / 12 critères cochés" in [p.proto.text for p in at.get("progress")]
    assert at.segmented_control(key=f"self-{rid}-C05").value == "non_acquis"


def test_choosing_an_attempt_and_the_address_only_names_it_on_opening(db, exam, tmp_path) -> None:
    sam = exam.trainee
    older = practice_call(db, tmp_path, sam, pitch=670.0).id
    newer = practice_call(db, tmp_path, sam, pitch=680.0).id
    at = _open(db, sam)
    assert _picker(at).value == newer
    _picker(at).set_value(older).run()
    assert not at.exception, at.exception
    assert at.session_state["train_attempt"] == older
    assert at.query_params["appel"] == str(older)
    at.segmented_control(key=f"self-{older}-C03").set_value("acquis").run()
    assert dict(store.get_self_assessment(db, sam, older).ticks) == {"C03": "acquis"}
    assert store.get_self_assessment(db, sam, newer).ticks == {}
    # A late request still naming the newer attempt in the address does not switch back.
    at.query_params["appel"] = str(newer)
    at.run()
    assert at.session_state["train_attempt"] == older
    # Opening the page with an address names the attempt.
    linked = _open(db, sam, appel=newer)
    assert _picker(linked).value == newer
