"""The Streamlit app driven by streamlit.testing (AppTest): pages, ticks, locks, uploads.

Each ``AppTest`` is a browser session; a signed-in one carries the sign-in token the way a
browser carries its cookie (``session_state["auth_token"]``), so a "reload" is a new
``AppTest`` with the same token. The sign-in form itself is tested in test_access.py.
"""

from __future__ import annotations

import json
import time
import wave
from pathlib import Path

import pytest
from exam_fixtures import Exam, account, build_exam
from streamlit.testing.v1 import AppTest

from call_eval import store
from call_eval.auth import SYSTEM, User

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
SAMPLE = Path(__file__).parent / "data" / "analysis_sample.json"


def _wav_bytes(seconds: float, rate: int = 8000) -> bytes:
    """An 8-bit mono PCM wav with a tone (not silence) of the given length."""
    import io
    import math

    n = int(rate * seconds)
    frames = bytes(int(128 + 60 * math.sin(2 * math.pi * 300 * i / rate)) for i in range(n))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        w.writeframes(frames)
    return buffer.getvalue()


@pytest.fixture()
def exam(db: store.Database, tmp_path: Path) -> Exam:
    """A session whose jury includes Paul Durand; its candidate Jeanne Martin's call is
    the sample analysis."""
    return build_exam(db, tmp_path)


@pytest.fixture()
def sample(exam: Exam) -> store.ImportResult:
    analysis = store.latest_analysis(exam.db, SYSTEM, exam.recording.id)
    assert analysis is not None
    return store.ImportResult(recording=exam.recording, analysis=analysis, reused=True)


@pytest.fixture()
def paul(exam: Exam) -> User:
    return exam.juror_a


@pytest.fixture()
def manager(db: store.Database) -> User:
    return account(db, "claire.morel", "Claire Morel", ["manager"])


def _app(user: User | None = None, db: store.Database | None = None) -> AppTest:
    """A new browser session, signed in as ``user`` (a fresh sign-in token)."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    if user is not None:
        database = db or store.open_db()
        at.session_state["auth_token"] = store.start_session(database, user).token
    at.run()
    assert not at.exception, at.exception
    return at


def _button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button « {label} » in {[b.label for b in at.button]}"
    return matches[0]


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _open_review(at: AppTest, recording_id: int) -> AppTest:
    at.button(key=f"review-{recording_id}").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value.startswith("Revue — ")
    return at


def _evaluation_id(db: store.Database, recording_id: int, juror: User) -> int:
    found = store.find_evaluation(db, juror, recording_id)
    assert found is not None
    return found.id


def _wait_for(at: AppTest, predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        if predicate(at):
            return
        time.sleep(0.2)
    raise AssertionError("the app did not reach the expected state in time")


# --------------------------------------------------------------------------- review
def test_tick_is_saved_and_shown_after_reload(db, sample, paul) -> None:
    rid = sample.recording.id
    at = _open_review(_app(paul, db), rid)
    eid = _evaluation_id(db, rid, paul)
    at.segmented_control(key=f"tick-{eid}-C04").set_value("acquis").run()
    at.text_input(key=f"comment-{eid}-C04").input("Script suivi, relances pertinentes").run()
    assert not at.exception
    mark = store.get_evaluation(db, paul, eid).mark("C04")
    assert mark.tick == "acquis" and mark.comment == "Script suivi, relances pertinentes"
    assert at.metric[0].value == "1 / 15"

    reloaded = _open_review(_app(paul, db), rid)  # a new browser session, same juror
    assert reloaded.segmented_control(key=f"tick-{eid}-C04").value == "acquis"
    assert reloaded.text_input(key=f"comment-{eid}-C04").value == (
        "Script suivi, relances pertinentes"
    )
    assert reloaded.segmented_control(key=f"tick-{eid}-C05").value is None


def test_second_tab_takes_over_changes_made_elsewhere(db, sample, paul) -> None:
    rid = sample.recording.id
    first = _open_review(_app(paul, db), rid)
    second = _open_review(_app(paul, db), rid)
    eid = _evaluation_id(db, rid, paul)
    first.segmented_control(key=f"tick-{eid}-C03").set_value("non_acquis").run()
    second.run()
    assert second.segmented_control(key=f"tick-{eid}-C03").value == "non_acquis"
    second.segmented_control(key=f"tick-{eid}-C03").set_value("acquis").run()
    first.run()
    assert first.segmented_control(key=f"tick-{eid}-C03").value == "acquis"


def test_a_tick_whose_callback_was_lost_is_saved_on_the_next_run(db, sample, paul) -> None:
    """The page shows a tick whose change callback never ran (a click interrupting the run
    of the previous one): the next run stores it, and the comment likewise."""
    rid = sample.recording.id
    at = _open_review(_app(paul, db), rid)
    eid = _evaluation_id(db, rid, paul)
    at.session_state[f"tick-{eid}-C06"] = "non_acquis"
    at.session_state[f"comment-{eid}-C06"] = "Questions fermées seulement"
    at.run()
    assert not at.exception, at.exception
    mark = next(m for m in store.get_evaluation(db, paul, eid).marks if m.criterion_id == "C06")
    assert (mark.tick, mark.comment) == ("non_acquis", "Questions fermées seulement")


def test_grid_shows_suggestions_evidence_and_manual_criteria(db, sample, paul) -> None:
    at = _open_review(_app(paul, db), sample.recording.id)
    texts = " ".join(m.value for m in at.markdown)
    assert "C01** — Le candidat se présente" in texts
    assert "Suggestion : :green-badge[Acquis] · confiance 91 %" in texts
    assert texts.count("À noter par le jury") >= 4  # C12 (no note), C13, C14, C15
    assert "Il manque **11** critère(s) acquis" in texts
    evidence = [b.label for b in at.button if b.key and b.key.startswith("ev-")]
    assert any(
        label.startswith("01:00 « Mais je trouve que c'est déjà assez cher") for label in evidence
    )


def test_clicking_evidence_or_an_utterance_plays_from_that_time(db, sample, paul) -> None:
    at = _open_review(_app(paul, db), sample.recording.id)
    eid = _evaluation_id(db, sample.recording.id, paul)

    def audio_start(app: AppTest) -> int:
        return app.get("audio")[0].proto.start_time

    assert audio_start(at) == 0
    at.button(key=f"ev-{eid}-C09-0").click().run()
    assert audio_start(at) == 60
    assert any("a.currentTime = 60.60" in h.proto.body for h in at.get("html"))
    at.button(key="utt-5").click().run()
    assert audio_start(at) == 19
    assert "Lecture à partir de 00:19" in " ".join(c.value for c in at.caption)


def test_accept_validate_lock_and_unlock(db, sample, paul) -> None:
    rid = sample.recording.id
    at = _open_review(_app(paul, db), rid)
    eid = _evaluation_id(db, rid, paul)
    assert at.button(key="validate").disabled
    at.button(key="accept").click().run()
    for cid in ("C04", "C12", "C13", "C14"):
        at.segmented_control(key=f"tick-{eid}-{cid}").set_value("acquis").run()
    at.segmented_control(key=f"tick-{eid}-C15").set_value("non_acquis").run()
    assert at.metric[0].value == "13 / 15"
    at.button(key="validate").click().run()
    assert not at.exception
    assert store.get_evaluation(db, paul, eid).status == "valide"
    assert not [s for s in at.segmented_control if s.key and s.key.startswith("tick-")]
    assert any("la grille est verrouillée" in s.value for s in at.success)
    with pytest.raises(store.StoreError):
        store.set_tick(db, paul, eid, "C01", "non_acquis")

    at.button(key="unlock").click().run()  # no reason: refused
    assert any("Motif de déverrouillage obligatoire" in e for e in _errors(at))
    at.text_input(key=f"unlock-reason-{eid}").input("Erreur sur C15")
    at.button(key="unlock").click().run()
    assert store.get_evaluation(db, paul, eid).status == "en_revue"
    assert at.segmented_control(key=f"tick-{eid}-C15").value == "non_acquis"
    unlock = store.audit_entries(db, paul, evaluation_id=eid, actions=["evaluation.unlock"])
    assert [u.note for u in unlock] == ["Erreur sur C15"]


def test_result_sheet_page_after_validation(db, sample, paul) -> None:
    rid = sample.recording.id
    at = _open_review(_app(paul, db), rid)
    eid = _evaluation_id(db, rid, paul)
    for mark in store.get_evaluation(db, paul, eid).marks:
        store.set_tick(db, paul, eid, mark.criterion_id, "acquis")
    store.validate_evaluation(db, paul, eid)
    at.run()
    at.button(key="to_sheet").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Fiche de résultat"
    texts = " ".join(m.value for m in at.markdown)
    assert ":green-badge[Certifié]" in texts and "**15 / 15**" in texts
    labels = [d.label for d in at.get("download_button")]
    assert labels[:3] == [
        "Télécharger la fiche (PDF)",
        "Télécharger (JSON)",
        "Télécharger (Markdown)",
    ]


def test_open_target_lands_on_the_review(monkeypatch, db, sample, paul) -> None:
    monkeypatch.setenv("CALL_EVAL_OPEN", sample.recording.call_id)
    signed_out = _app()  # the target waits for a signed-in juror
    assert signed_out.title[0].value == "Connexion"
    at = _app(paul, db)
    assert at.title[0].value == "Revue — Jeanne Martin"
    assert at.query_params["appel"] == str(sample.recording.id)
    again = _app(paul, db)  # only the first signed-in session of the server is redirected
    assert again.title[0].value == "Appels"


# --------------------------------------------------------------------------- uploads
def _upload(at: AppTest, name: str, data: bytes, candidate: str = "Nina Petit") -> AppTest:
    """Upload through the « Appels » page (a session manager's: their home is the sessions)."""
    at.switch_page("call_eval/ui/pages/appels.py").run()
    assert at.title[0].value == "Appels"
    at.text_input(key="upload_candidate").input(candidate)
    at.file_uploader(key="upload_file").set_value((name, data, "application/octet-stream"))
    _button(at, "Déposer et analyser").click().run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.txt", b"ceci n'est pas un appel", "n'est pas un enregistrement audio accepté"),
        ("vide.wav", b"", "est vide (0 octet)"),
        ("bruit.mp3", bytes(range(256)) * 40, "n'est pas un fichier audio lisible"),
        ("long.wav", None, "Enregistrement trop long"),
        ("mauvais.json", b'{"utterances": [{"text": ""}]}', "champ « text » manquant"),
    ],
)
def test_bad_upload_shows_a_french_error(db, manager, monkeypatch, name, data, message) -> None:
    monkeypatch.setenv("CALL_EVAL_MAX_DURATION_S", "3")
    at = _upload(_app(manager, db), name, data if data is not None else _wav_bytes(4.0))
    errors = _errors(at)
    assert any(message in e for e in errors), errors
    assert not any("Traceback" in e for e in errors)
    assert store.list_recordings(db, SYSTEM) == []


def test_failed_analysis_shows_the_pipeline_message(db, manager) -> None:
    at = _upload(_app(manager, db), "court.wav", _wav_bytes(2.0))
    _wait_for(at, lambda a: any("trop court" in e for e in _errors(a)))
    assert not at.exception
    assert all("Traceback" not in e for e in _errors(at))
    listing = store.list_recordings(db, SYSTEM)
    assert len(listing) == 1 and listing[0].status == "a_analyser"
    failures = store.audit_entries(db, SYSTEM, actions=["analysis.fail"])
    assert failures and "trop court" in failures[0].note


def test_upload_transcript_analyse_tick_reload(db, manager, tmp_path) -> None:
    analysis = json.loads(SAMPLE.read_text(encoding="utf-8"))
    transcript = {
        "utterances": [
            {"role": u["role"], "start": u["start"], "end": u["end"], "text": u["text"]}
            for u in analysis["utterances"]
        ]
    }
    at = _upload(_app(manager, db), "appel_nina.json", json.dumps(transcript).encode("utf-8"))
    assert any("Analyse lancée" in s.value for s in at.success)

    def finished(app: AppTest) -> bool:
        rid = _rid(db)
        return bool(_errors(app)) or (
            rid > 0 and store.latest_analysis_id(db, SYSTEM, rid) is not None
        )

    _wait_for(at, finished)
    assert not _errors(at), _errors(at)
    rid = _rid(db)
    stored = store.latest_analysis(db, SYSTEM, rid)
    assert stored is not None and len(stored.result["criteria"]) == 15
    assert store.get_recording(db, SYSTEM, rid).input_kind == "transcript"

    # The manager puts the candidate in a session whose jury includes Paul Durand.
    paul = account(db, "paul.durand", "Paul Durand", ["juror"])
    session = store.create_session(db, manager, session_date="2027-05-04", place="Lyon")
    store.add_jury_member(db, manager, session.id, paul.juror_id, "professionnel")
    store.register_candidate(db, manager, session.id, "Nina Petit", recording_id=rid)

    at = _open_review(_app(paul, db), rid)
    eid = _evaluation_id(db, rid, paul)
    assert any("pas d'audio à écouter" in i.value for i in at.info)
    at.segmented_control(key=f"tick-{eid}-C01").set_value("non_acquis").run()
    reloaded = _open_review(_app(paul, db), rid)
    assert reloaded.segmented_control(key=f"tick-{eid}-C01").value == "non_acquis"

    again = _upload(_app(manager, db), "appel_nina.json", json.dumps(transcript).encode("utf-8"))
    assert any("déjà été analysé" in s.value for s in again.success)


def _rid(db: store.Database) -> int:
    listing = store.list_recordings(db, SYSTEM)
    return listing[0].recording.id if listing else -1
