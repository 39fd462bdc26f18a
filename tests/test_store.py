"""The store: migrations, recordings, analysis reuse, evaluations, locking, audit log.

Evaluations are made by signed-in jurors of the session the recording's candidate sits
(``jury`` fixture); the command-line side (import, reuse) acts as the local system.
"""

from __future__ import annotations

import copy
import json
import wave
from pathlib import Path

import pytest
from exam_fixtures import PASSWORD, quick_hashing
from sqlalchemy import text

from call_eval import store
from call_eval.auth import SYSTEM
from call_eval.store import StoreError

SAMPLE = Path(__file__).parent / "data" / "analysis_sample.json"


@pytest.fixture(autouse=True)
def _quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    quick_hashing(monkeypatch)


def _wav(path: Path, seconds: float = 1.0, seed: int = 0) -> Path:
    """A small PCM wav whose bytes depend on ``seed`` (distinct content hashes)."""
    rate = 8000
    frames = bytes((i * (seed + 3)) % 251 for i in range(int(rate * seconds)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


@pytest.fixture()
def analysis() -> dict:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture()
def db(tmp_path: Path) -> store.Database:
    database = store.open_db(data_dir=tmp_path / "data")
    yield database
    database.dispose()


@pytest.fixture()
def imported(db: store.Database, analysis: dict, tmp_path: Path) -> store.ImportResult:
    return store.import_analysis(
        db, analysis, _wav(tmp_path / "call.wav"), candidate="Éloïse Lefèvre"
    )


class Jury:
    """Two juror accounts seated on a session where the imported call's candidate sits."""

    def __init__(self, db: store.Database, recording: store.Recording) -> None:
        self.manager = _user(db, "claire.morel", "Claire Morel", "manager")
        paul = _user(db, "paul.durand", "Paul Durand", "juror")
        anne = _user(db, "anne.roux", "Anne Roux", "juror")
        self.session = store.create_session(
            db, self.manager, session_date="2027-03-12", place="Lyon"
        )
        store.add_jury_member(db, self.manager, self.session.id, paul.juror_id, "filea")
        store.add_jury_member(db, self.manager, self.session.id, anne.juror_id, "professionnel")
        store.register_candidate(
            db, self.manager, self.session.id, recording.candidate_id or "Candidat",
            recording_id=recording.id,
        )  # fmt: skip
        self.paul, self.anne = paul, anne


def _user(db: store.Database, username: str, name: str, role: str) -> store.User:
    return store.create_user(
        db, SYSTEM, username=username, display_name=name, roles=[role], password=PASSWORD,
        must_change_password=False,
    ).user  # fmt: skip


@pytest.fixture()
def jury(db: store.Database, imported: store.ImportResult) -> Jury:
    return Jury(db, imported.recording)


# --------------------------------------------------------------------------- schema
def test_migrations_create_the_schema_at_head(db: store.Database) -> None:
    assert store.current_revision(db) == store.head_revision()
    assert {
        "candidates",
        "jurors",
        "recordings",
        "analyses",
        "evaluations",
        "evaluation_items",
        "audit_log",
    } <= set(store.table_names(db))


def test_migrations_match_the_models(db: store.Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from call_eval.store.models import Base

    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_downgrade_then_upgrade_round_trips(tmp_path: Path) -> None:
    db = store.open_db(data_dir=tmp_path)
    store.downgrade_db(db, "base")
    assert store.table_names(db) == ["alembic_version"]
    store.upgrade_db(db)
    assert store.current_revision(db) == store.head_revision()
    db.dispose()


def test_upgrade_from_the_first_schema_keeps_data_and_the_audit_guard(tmp_path: Path) -> None:
    from sqlalchemy.exc import DatabaseError

    db = store.open_db(data_dir=tmp_path, migrate=False)
    store.upgrade_db(db, "0001")
    with db.engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO recordings (sha256, filename, format, input_kind, size_bytes, "
                "created_at) VALUES (:sha, 'ancien.wav', 'wav', 'audio', 10, '2026-01-01')"
            ),
            {"sha": "ab" * 32},
        )
        c.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, entity) "
                "VALUES ('2026-01-01', 'cli', 'recording.create', 'recording')"
            )
        )
    store.upgrade_db(db)
    assert store.current_revision(db) == store.head_revision()
    [old] = store.list_recordings(db, SYSTEM)
    assert old.recording.filename == "ancien.wav" and old.recording.purpose == "exam"
    assert [e.action for e in store.audit_entries(db, SYSTEM)] == ["recording.create"]
    with pytest.raises(DatabaseError, match="append-only"), db.engine.begin() as c:
        c.execute(text("DELETE FROM audit_log"))
    store.downgrade_db(db, "0001")  # and back: the recording is still there
    with db.engine.connect() as c:
        assert c.execute(text("SELECT filename FROM recordings")).scalars().all() == ["ancien.wav"]
    db.dispose()


def test_upgrade_by_url_without_a_database_object(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    store.upgrade_db(url)
    db = store.open_db(url, tmp_path, migrate=False)
    assert store.current_revision(db) == store.head_revision()
    db.dispose()


def test_database_location_comes_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CALL_EVAL_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.delenv("CALL_EVAL_DB_URL", raising=False)
    assert store.default_url() == f"sqlite:///{(tmp_path / 'd' / 'call_eval.db').resolve()}"
    monkeypatch.setenv("CALL_EVAL_DB_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    db = store.open_db()
    assert db.url.endswith("elsewhere.db")
    assert (tmp_path / "elsewhere.db").is_file()
    assert db.data_dir == tmp_path / "d"
    db.dispose()


def test_invalid_url_is_a_french_config_error(tmp_path: Path) -> None:
    from call_eval.errors import ConfigError

    with pytest.raises(ConfigError, match="Adresse de base de données invalide"):
        store.open_db("pasuneurl://", tmp_path)


def test_audit_log_is_append_only(db: store.Database, imported: store.ImportResult) -> None:
    from sqlalchemy.exc import DatabaseError

    assert store.audit_entries(db, SYSTEM)
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"), db.engine.begin() as c:
            c.execute(text(statement))
    assert all(e.actor != "x" for e in store.audit_entries(db, SYSTEM))


# --------------------------------------------------------------------------- recordings
def test_import_keeps_the_original_file_and_metadata(
    db: store.Database, imported: store.ImportResult, tmp_path: Path
) -> None:
    rec = imported.recording
    original = (tmp_path / "call.wav").read_bytes()
    kept = store.recording_file(db, rec)
    assert kept is not None and kept.is_relative_to(db.data_dir)
    assert kept.read_bytes() == original
    assert rec.sha256 == store.file_sha256(tmp_path / "call.wav")
    assert rec.candidate_name == "Éloïse Lefèvre"
    assert rec.filename == "appel_mutuelle_horizon.wav"  # the analysis' source name
    assert rec.duration == pytest.approx(92.5)
    assert rec.format == "wav" and rec.input_kind == "audio"
    stored = imported.analysis
    assert stored.rubric_id == "cp-ffp-appels-sortants" and stored.rubric_version == "1"
    assert stored.asr_model == "base" and stored.diarization_backend == "channel"
    assert stored.timings["total"] == pytest.approx(15.8)
    assert stored.suggested_acquis == 9 and stored.criteria_total == 15


def test_same_file_same_options_reuses_the_analysis(
    db: store.Database, analysis: dict, tmp_path: Path
) -> None:
    audio = _wav(tmp_path / "call.wav")
    first = store.import_analysis(db, analysis, audio)
    again = store.import_analysis(db, analysis, audio)
    assert not first.reused and again.reused
    assert again.analysis.id == first.analysis.id
    assert again.recording.id == first.recording.id
    other_models = copy.deepcopy(analysis)
    other_models["models"]["asr"]["name"] = "small"
    third = store.import_analysis(db, other_models, audio)
    assert not third.reused and third.analysis.id != first.analysis.id
    assert third.recording.id == first.recording.id
    assert store.latest_analysis_id(db, SYSTEM, first.recording.id) == third.analysis.id


def test_analysis_key_depends_on_what_changes_the_result() -> None:
    from call_eval.pipeline import AnalysisOptions

    sha = "ab" * 32
    a = AnalysisOptions(script_questions=("Q1", "Q2"), crm_note="note")
    assert store.analysis_key(sha, a) == store.analysis_key(sha, AnalysisOptions(
        script_questions=("Q1", "Q2"), crm_note="note"))  # fmt: skip
    assert store.analysis_key(sha, a) != store.analysis_key(sha, AnalysisOptions(crm_note="note"))
    assert store.analysis_key(sha, a) != store.analysis_key("cd" * 32, a)
    assert store.analysis_key(sha, {"x": 1, "y": 2}) == store.analysis_key(sha, {"y": 2, "x": 1})


def test_cli_import_with_options_is_reused_by_the_app_key(
    db: store.Database, analysis: dict, tmp_path: Path
) -> None:
    from call_eval.pipeline import AnalysisOptions

    rubric = tmp_path / "grille.yaml"
    rubric.write_text("id: test\nversion: 1\n", encoding="utf-8")
    options = AnalysisOptions(rubric=str(rubric), script_questions=("Q1",), crm_note="RDV")
    audio = _wav(tmp_path / "call.wav")
    imported = store.import_analysis(db, analysis, audio, options=options)
    app_key = store.analysis_key(
        store.file_sha256(audio),
        store.reuse_options(
            AnalysisOptions(rubric=str(rubric), script_questions=("Q1",), crm_note="RDV")
        ),
    )
    assert store.find_analysis(db, app_key).id == imported.analysis.id
    assert imported.analysis.options["rubric_sha256"] == store.file_sha256(rubric)
    rubric.write_text("id: test\nversion: 2\n", encoding="utf-8")  # an edited rubric
    new_key = store.analysis_key(store.file_sha256(audio), store.reuse_options(options))
    assert new_key != app_key and store.find_analysis(db, new_key) is None


def test_upload_of_known_content_returns_the_same_recording(
    db: store.Database, tmp_path: Path
) -> None:
    audio = _wav(tmp_path / "a.wav")
    first = store.add_recording(db, audio)
    copy_path = tmp_path / "copie.wav"
    copy_path.write_bytes(audio.read_bytes())
    second = store.add_recording(db, copy_path, candidate="Jean Dupont", crm_note="RDV jeudi")
    assert second.id == first.id
    assert second.candidate_name == "Jean Dupont" and second.crm_note == "RDV jeudi"
    updates = store.audit_entries(db, SYSTEM, recording_id=first.id, actions=["recording.update"])
    assert updates and updates[-1].after["crm_note"] == "RDV jeudi"


def test_find_recording_by_id_call_id_or_sha(db: store.Database, imported) -> None:
    rec = imported.recording
    assert store.find_recording(db, SYSTEM, rec.id).id == rec.id
    assert store.find_recording(db, SYSTEM, str(rec.id)).id == rec.id
    assert store.find_recording(db, SYSTEM, rec.call_id).id == rec.id
    assert store.find_recording(db, SYSTEM, rec.sha256.upper()).id == rec.id
    assert store.find_recording(db, SYSTEM, "ffffffffffff") is None
    assert store.find_recording(db, SYSTEM, "") is None


def test_import_without_audio_keeps_the_analysis(db: store.Database, analysis: dict) -> None:
    result = store.import_analysis(db, analysis, None, candidate="Sans Audio")
    assert result.recording.stored_path is None
    assert store.recording_file(db, result.recording) is None
    assert result.recording.sha256 == analysis["call"]["sha256"]


def test_malformed_analysis_is_refused(db: store.Database, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="criteria"):
        store.import_analysis(db, {"call": {}, "criteria": []}, _wav(tmp_path / "x.wav"))


# --------------------------------------------------------------------------- evaluations
def test_evaluation_copies_the_suggestions_in_grid_order(db, imported, analysis, jury) -> None:
    juror = jury.paul
    ev = store.open_evaluation(db, juror, imported.recording.id)
    assert [m.criterion_id for m in ev.marks] == [c["id"] for c in analysis["criteria"]]
    assert [m.suggested for m in ev.marks] == [c["suggested"] for c in analysis["criteria"]]
    assert all(m.tick is None for m in ev.marks)
    assert [m.criterion_id for m in ev.marks if m.manual] == ["C13", "C14", "C15"]
    assert ev.status == "analyse" and ev.analysis_id == imported.analysis.id
    assert store.open_evaluation(db, juror, imported.recording.id).id == ev.id


def test_a_tick_is_saved_at_once_and_seen_by_another_connection(db, imported, jury) -> None:
    juror = jury.paul
    ev = store.open_evaluation(db, juror, imported.recording.id)
    store.set_tick(db, juror, ev.id, "C04", "acquis")
    store.set_comment(db, juror, ev.id, "C04", "  Questions adaptées  ")
    other = store.open_db(db.url, db.data_dir)  # a second process / browser tab
    try:
        mark = store.get_evaluation(other, juror, ev.id).mark("C04")
    finally:
        other.dispose()
    assert mark.tick == "acquis" and mark.comment == "Questions adaptées"
    assert mark.updated_by == juror.juror_id and mark.updated_at is not None
    assert store.get_evaluation(db, juror, ev.id).status == "en_revue"
    ticks = store.audit_entries(db, juror, evaluation_id=ev.id, actions=["item.tick"])
    assert [(t.criterion_id, t.before, t.after["tick"]) for t in ticks] == [
        ("C04", {"tick": None}, "acquis")
    ]


def test_invalid_ticks_and_foreign_jurors_are_refused(db, imported, jury) -> None:
    paul, anne = jury.paul, jury.anne
    ev = store.open_evaluation(db, paul, imported.recording.id)
    with pytest.raises(StoreError, match="acquis, non_acquis"):
        store.set_tick(db, paul, ev.id, "C01", "peut-être")
    with pytest.raises(StoreError, match="C99"):
        store.set_tick(db, paul, ev.id, "C99", "acquis")
    with pytest.raises(StoreError, match="autre juré"):
        store.set_tick(db, anne, ev.id, "C01", "acquis")
    assert store.get_evaluation(db, paul, ev.id).mark("C01").tick is None


def test_each_juror_has_an_independent_evaluation(db, imported, jury) -> None:
    paul, anne = jury.paul, jury.anne
    assert store.get_or_create_juror(db, jury.manager, "  Anne   Roux ").id == anne.juror_id
    ev_p = store.open_evaluation(db, paul, imported.recording.id)
    ev_a = store.open_evaluation(db, anne, imported.recording.id)
    store.set_tick(db, paul, ev_p.id, "C01", "acquis")
    store.set_tick(db, anne, ev_a.id, "C01", "non_acquis")
    assert store.get_evaluation(db, paul, ev_p.id).mark("C01").tick == "acquis"
    assert store.get_evaluation(db, anne, ev_a.id).mark("C01").tick == "non_acquis"
    assert len(store.list_evaluations(db, SYSTEM, imported.recording.id)) == 2
    # Each juror scores independently: before validating, a juror sees only their own grid.
    assert [e.juror_id for e in store.list_evaluations(db, paul, imported.recording.id)] == [
        paul.juror_id
    ]


def test_accept_suggestions_leaves_manual_and_uncertain_criteria(db, imported, jury) -> None:
    juror = jury.paul
    ev = store.open_evaluation(db, juror, imported.recording.id)
    store.set_tick(db, juror, ev.id, "C02", "non_acquis")
    ticked = store.accept_suggestions(db, juror, ev.id)
    after = store.get_evaluation(db, juror, ev.id)
    assert "C02" not in ticked and after.mark("C02").tick == "non_acquis"
    assert set(ticked) == {"C01", "C03", "C05", "C06", "C07", "C08", "C09", "C10", "C11"}
    assert [m.criterion_id for m in after.marks if m.tick is None] == [
        "C04", "C12", "C13", "C14", "C15"
    ]  # fmt: skip
    notes = store.audit_entries(db, juror, evaluation_id=ev.id, actions=["item.tick"])
    assert sum(1 for n in notes if n.note == "suggestion acceptée") == len(ticked)


def test_validation_needs_every_tick_then_locks(db, imported, jury) -> None:
    juror = jury.paul
    ev = store.open_evaluation(db, juror, imported.recording.id)
    store.accept_suggestions(db, juror, ev.id)
    with pytest.raises(StoreError, match="C04, C12, C13, C14, C15"):
        store.validate_evaluation(db, juror, ev.id)
    for cid in ("C04", "C12", "C13"):
        store.set_tick(db, juror, ev.id, cid, "acquis")
    for cid in ("C14", "C15"):
        store.set_tick(db, juror, ev.id, cid, "non_acquis")
    done = store.validate_evaluation(db, juror, ev.id)
    assert done.locked and done.validated_at is not None
    assert done.score.acquis == 12 and done.score.decision == "certifié"
    with pytest.raises(StoreError, match="verrouillée"):
        store.set_tick(db, juror, ev.id, "C01", "non_acquis")
    with pytest.raises(StoreError, match="verrouillée"):
        store.set_comment(db, juror, ev.id, "C01", "trop tard")
    with pytest.raises(StoreError, match="verrouillée"):
        store.validate_evaluation(db, juror, ev.id)


def test_unlock_needs_a_reason_and_is_logged(db, imported, jury) -> None:
    juror = jury.paul
    ev = store.open_evaluation(db, juror, imported.recording.id)
    for mark in ev.marks:
        store.set_tick(db, juror, ev.id, mark.criterion_id, "acquis")
    store.validate_evaluation(db, juror, ev.id)
    with pytest.raises(StoreError, match="Motif"):
        store.unlock_evaluation(db, juror, ev.id, "  ")
    reopened = store.unlock_evaluation(db, juror, ev.id, "Erreur de saisie sur C08")
    assert reopened.status == "en_revue" and reopened.validated_at is None
    store.set_tick(db, juror, ev.id, "C08", "non_acquis")
    actions = [e.action for e in store.audit_entries(db, juror, evaluation_id=ev.id)]
    assert actions[-3:] == ["evaluation.validate", "evaluation.unlock", "item.tick"]
    unlock = store.audit_entries(db, juror, evaluation_id=ev.id, actions=["evaluation.unlock"])[0]
    assert unlock.note == "Erreur de saisie sur C08" and unlock.actor == "Paul Durand"
    assert unlock.user_id == juror.id and unlock.session_id == jury.session.id
    with pytest.raises(StoreError, match="pas validée"):
        store.unlock_evaluation(db, juror, ev.id, "encore")


def test_evaluation_needs_an_analysis(db, tmp_path, jury) -> None:
    rec = store.add_recording(db, _wav(tmp_path / "n.wav", seed=9), candidate="Nina Petit")
    store.register_candidate(db, jury.manager, jury.session.id, "Nina Petit", recording_id=rec.id)
    with pytest.raises(StoreError, match="pas encore été analysé"):
        store.open_evaluation(db, jury.paul, rec.id)


@pytest.mark.parametrize(
    ("ticks", "needed", "missing", "decision"),
    [
        (["acquis"] * 11 + ["non_acquis"] * 4, 11, 0, "certifié"),
        (["acquis"] * 10 + ["non_acquis"] * 5, 11, 1, "non certifié"),
        (["acquis"] * 12 + [None] * 3, 11, 0, "incomplet"),
        (["acquis"] * 7 + ["non_acquis"] * 3, 7, 0, "certifié"),  # 70 % of 10
    ],
)
def test_juror_score_threshold(ticks, needed, missing, decision) -> None:
    score = store.juror_score(ticks, 0.7)
    assert (score.needed, score.missing, score.decision) == (needed, missing, decision)


# --------------------------------------------------------------------------- listing
def test_list_shows_status_and_score_per_juror(db, imported, tmp_path, jury) -> None:
    pending = store.add_recording(db, _wav(tmp_path / "p.wav", seed=5), candidate="Zoé Martin")
    paul, anne = jury.paul, jury.anne

    def status(actor=SYSTEM, juror_id=None):
        return {r.recording.id: r.status for r in store.list_recordings(db, actor, juror_id)}

    assert status() == {pending.id: "a_analyser", imported.recording.id: "analyse"}
    # A juror lists only the calls of their session's candidates, with their own status.
    assert status(paul) == {imported.recording.id: "analyse"}
    ev = store.open_evaluation(db, paul, imported.recording.id)
    store.set_tick(db, paul, ev.id, "C01", "acquis")
    store.set_tick(db, paul, ev.id, "C02", "non_acquis")
    assert status(paul)[imported.recording.id] == "en_revue"
    assert status(anne)[imported.recording.id] == "analyse"
    assert status(SYSTEM, anne.juror_id)[imported.recording.id] == "analyse"
    row = next(r for r in store.list_recordings(db, paul) if r.evaluation_id == ev.id)
    assert (row.juror_acquis, row.juror_ticked, row.suggested_acquis) == (1, 2, 9)
    for mark in ev.marks:
        store.set_tick(db, paul, ev.id, mark.criterion_id, "acquis")
    store.validate_evaluation(db, paul, ev.id)
    assert status()[imported.recording.id] == "valide"


def test_evaluation_export_has_everything_for_the_sheet(db, imported, jury) -> None:
    juror = jury.paul
    ev = store.open_evaluation(db, juror, imported.recording.id)
    store.set_tick(db, juror, ev.id, "C01", "acquis")
    store.set_comment(db, juror, ev.id, "C01", "Présentation nette")
    export = store.evaluation_export(db, juror, ev.id)
    assert export["candidate"]["name"] == "Éloïse Lefèvre"
    assert export["juror"]["name"] == "Paul Durand"
    assert export["recording"]["call_id"] == imported.recording.call_id
    assert export["analysis"]["rubric"]["id"] == "cp-ffp-appels-sortants"
    first = export["criteria"][0]
    assert (first["id"], first["tick"], first["comment"]) == ("C01", "acquis", "Présentation nette")
    json.dumps(export)  # plain data
