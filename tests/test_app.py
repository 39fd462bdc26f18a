"""The Streamlit app driven by streamlit.testing (AppTest): pages, ticks, locks, uploads."""

from __future__ import annotations

import json
import time
import wave
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from call_eval import store

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
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "data"
    monkeypatch.setenv("CALL_EVAL_DATA_DIR", str(directory))
    for name in ("CALL_EVAL_DB_URL", "CALL_EVAL_OPEN", "CALL_EVAL_MAX_DURATION_S"):
        monkeypatch.delenv(name, raising=False)
    return directory


@pytest.fixture()
def db(data_dir: Path) -> store.Database:
    database = store.open_db(data_dir=data_dir)
    yield database
    database.dispose()


@pytest.fixture()
def sample(db: store.Database, tmp_path: Path) -> store.ImportResult:
    audio = tmp_path / "appel.wav"
    audio.write_bytes(_wav_bytes(6.0))
    analysis = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return store.import_analysis(db, analysis, audio, candidate="Jeanne Martin")


def _app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button « {label} » in {[b.label for b in at.button]}"
    return matches[0]


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _open_review(at: AppTest, recording_id: int, juror: str | None = None) -> AppTest:
    at.button(key=f"review-{recording_id}").click().run()
    if juror is not None:
        at.text_input(key="ask_juror_name").input(juror)
        _button(at, "Commencer").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value.startswith("Revue — ")
    return at


def _evaluation_id(db: store.Database, recording_id: int, juror: str) -> int:
    juror_row = store.get_or_create_juror(db, juror)
    found = store.find_evaluation(db, recording_id, juror_row.id)
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
def test_tick_is_saved_and_shown_after_reload(db, sample) -> None:
    rid = sample.recording.id
    at = _open_review(_app(), rid, juror="Paul Durand")
    eid = _evaluation_id(db, rid, "Paul Durand")
    at.segmented_control(key=f"tick-{eid}-C04").set_value("acquis").run()
    at.text_input(key=f"comment-{eid}-C04").input("Script suivi, relances pertinentes").run()
    assert not at.exception
    mark = store.get_evaluation(db, eid).mark("C04")
    assert mark.tick == "acquis" and mark.comment == "Script suivi, relances pertinentes"
    assert at.metric[0].value == "1 / 15"

    reloaded = _open_review(_app(), rid)  # a new browser session: same juror by default
    assert reloaded.segmented_control(key=f"tick-{eid}-C04").value == "acquis"
    assert reloaded.text_input(key=f"comment-{eid}-C04").value == (
        "Script suivi, relances pertinentes"
    )
    assert reloaded.segmented_control(key=f"tick-{eid}-C05").value is None


def test_second_tab_takes_over_changes_made_elsewhere(db, sample) -> None:
    rid = sample.recording.id
    first = _open_review(_app(), rid, juror="Paul Durand")
    second = _open_review(_app(), rid)
    eid = _evaluation_id(db, rid, "Paul Durand")
    first.segmented_control(key=f"tick-{eid}-C03").set_value("non_acquis").run()
    second.run()
    assert second.segmented_control(key=f"tick-{eid}-C03").value == "non_acquis"
    second.segmented_control(key=f"tick-{eid}-C03").set_value("acquis").run()
    first.run()
    assert first.segmented_control(key=f"tick-{eid}-C03").value == "acquis"


def test_grid_shows_suggestions_evidence_and_manual_criteria(sample) -> None:
    at = _open_review(_app(), sample.recording.id, juror="Paul Durand")
    texts = " ".join(m.value for m in at.markdown)
    assert "C01** — Le candidat se présente" in texts
    assert "Suggestion : :green-badge[Acquis] · confiance 91 %" in texts
    assert texts.count("À noter par le jury") >= 4  # C12 (no note), C13, C14, C15
    assert "Il manque **11** critère(s) acquis" in texts
    evidence = [b.label for b in at.button if b.key and b.key.startswith("ev-")]
    assert any(
        label.startswith("01:00 « Mais je trouve que c'est déjà assez cher") for label in evidence
    )


def test_clicking_evidence_or_an_utterance_plays_from_that_time(db, sample) -> None:
    at = _open_review(_app(), sample.recording.id, juror="Paul Durand")
    eid = _evaluation_id(db, sample.recording.id, "Paul Durand")

    def audio_start(app: AppTest) -> int:
        return app.get("audio")[0].proto.start_time

    assert audio_start(at) == 0
    at.button(key=f"ev-{eid}-C09-0").click().run()
    assert audio_start(at) == 60
    assert any("a.currentTime = 60.60" in h.proto.body for h in at.get("html"))
    at.button(key="utt-5").click().run()
    assert audio_start(at) == 19
    assert "Lecture à partir de 00:19" in " ".join(c.value for c in at.caption)


def test_accept_validate_lock_and_unlock(db, sample) -> None:
    rid = sample.recording.id
    at = _open_review(_app(), rid, juror="Paul Durand")
    eid = _evaluation_id(db, rid, "Paul Durand")
    assert at.button(key="validate").disabled
    at.button(key="accept").click().run()
    for cid in ("C04", "C12", "C13", "C14"):
        at.segmented_control(key=f"tick-{eid}-{cid}").set_value("acquis").run()
    at.segmented_control(key=f"tick-{eid}-C15").set_value("non_acquis").run()
    assert at.metric[0].value == "13 / 15"
    at.button(key="validate").click().run()
    assert not at.exception
    assert store.get_evaluation(db, eid).status == "valide"
    assert not [s for s in at.segmented_control if s.key and s.key.startswith("tick-")]
    assert any("la grille est verrouillée" in s.value for s in at.success)
    with pytest.raises(store.StoreError):
        store.set_tick(
            db, eid, "C01", "non_acquis", juror_id=store.get_evaluation(db, eid).juror_id
        )

    at.button(key="unlock").click().run()  # no reason: refused
    assert any("Motif de déverrouillage obligatoire" in e for e in _errors(at))
    at.text_input(key=f"unlock-reason-{eid}").input("Erreur sur C15")
    at.button(key="unlock").click().run()
    assert store.get_evaluation(db, eid).status == "en_revue"
    assert at.segmented_control(key=f"tick-{eid}-C15").value == "non_acquis"
    unlock = store.audit_entries(db, evaluation_id=eid, actions=["evaluation.unlock"])
    assert [u.note for u in unlock] == ["Erreur sur C15"]


def test_result_sheet_page_after_validation(db, sample) -> None:
    rid = sample.recording.id
    at = _open_review(_app(), rid, juror="Paul Durand")
    eid = _evaluation_id(db, rid, "Paul Durand")
    juror_id = store.get_evaluation(db, eid).juror_id
    for mark in store.get_evaluation(db, eid).marks:
        store.set_tick(db, eid, mark.criterion_id, "acquis", juror_id=juror_id)
    store.validate_evaluation(db, eid, juror_id=juror_id)
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


def test_open_target_lands_on_the_review(monkeypatch, db, sample) -> None:
    store.get_or_create_juror(db, "Paul Durand")
    monkeypatch.setenv("CALL_EVAL_OPEN", sample.recording.call_id)
    at = _app()
    assert at.title[0].value == "Revue — Jeanne Martin"
    assert at.query_params["appel"] == str(sample.recording.id)
    again = _app()  # only the first session of the server is redirected
    assert again.title[0].value == "Appels"


# --------------------------------------------------------------------------- uploads
def _upload(at: AppTest, name: str, data: bytes, candidate: str = "Nina Petit") -> AppTest:
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
def test_bad_upload_shows_a_french_error(db, monkeypatch, name, data, message) -> None:
    monkeypatch.setenv("CALL_EVAL_MAX_DURATION_S", "3")
    at = _upload(_app(), name, data if data is not None else _wav_bytes(4.0))
    errors = _errors(at)
    assert any(message in e for e in errors), errors
    assert not any("Traceback" in e for e in errors)
    assert store.list_recordings(db) == []


def test_failed_analysis_shows_the_pipeline_message(db) -> None:
    at = _upload(_app(), "court.wav", _wav_bytes(2.0))
    _wait_for(at, lambda a: any("trop court" in e for e in _errors(a)))
    assert not at.exception
    assert all("Traceback" not in e for e in _errors(at))
    listing = store.list_recordings(db)
    assert len(listing) == 1 and listing[0].status == "a_analyser"
    failures = store.audit_entries(db, actions=["analysis.fail"])
    assert failures and "trop court" in failures[0].note


def test_upload_transcript_analyse_tick_reload(db, tmp_path) -> None:
    analysis = json.loads(SAMPLE.read_text(encoding="utf-8"))
    transcript = {
        "utterances": [
            {"role": u["role"], "start": u["start"], "end": u["end"], "text": u["text"]}
            for u in analysis["utterances"]
        ]
    }
    at = _upload(_app(), "appel_nina.json", json.dumps(transcript).encode("utf-8"))
    assert any("Analyse lancée" in s.value for s in at.success)

    def finished(app: AppTest) -> bool:
        return bool(_errors(app)) or any(b.key == f"review-{_rid(db)}" for b in app.button)

    _wait_for(at, finished)
    assert not _errors(at), _errors(at)
    rid = _rid(db)
    stored = store.latest_analysis(db, rid)
    assert stored is not None and len(stored.result["criteria"]) == 15
    assert store.get_recording(db, rid).input_kind == "transcript"

    _open_review(at, rid, juror="Paul Durand")
    eid = _evaluation_id(db, rid, "Paul Durand")
    assert any("pas d'audio à écouter" in i.value for i in at.info)
    at.segmented_control(key=f"tick-{eid}-C01").set_value("non_acquis").run()
    reloaded = _open_review(_app(), rid)
    assert reloaded.segmented_control(key=f"tick-{eid}-C01").value == "non_acquis"

    again = _upload(_app(), "appel_nina.json", json.dumps(transcript).encode("utf-8"))
    assert any("déjà été analysé" in s.value for s in again.success)


def _rid(db: store.Database) -> int:
    listing = store.list_recordings(db)
    return listing[0].recording.id if listing else -1
