"""Store functions of training and calibration: a trainee's self-assessment (frozen once the
suggestions are shown, isolated from other trainees), rubric versions (validated, numbered,
one in service, earlier analyses untouched) and the calibration set from validated grids."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from exam_fixtures import (
    Exam,
    build_exam,
    quick_hashing,
    sample_analysis,
    score_all,
    tone_wav,
)

from call_eval import settings, store
from call_eval.auth import SYSTEM, AccessDenied
from call_eval.calibration import Rescorer, rescore_analysis
from call_eval.errors import RubricError
from call_eval.rubric import load_rubric, parse_rubric


@pytest.fixture()
def exam(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Exam:
    quick_hashing(monkeypatch)
    db = store.open_db(data_dir=tmp_path / "data")
    return build_exam(db, tmp_path)


def _practice_with_analysis(exam: Exam, tmp_path: Path, owner, pitch: float = 660.0):
    analysis = sample_analysis()
    audio = tone_wav(tmp_path / f"practice_{pitch:.0f}.wav", pitch=pitch)
    analysis["call"]["sha256"] = store.file_sha256(audio)
    return store.import_analysis(
        exam.db, analysis, audio, actor=owner, purpose=store.PRACTICE, owner_user_id=owner.id
    )


# --------------------------------------------------------------------------- self-assessment
def test_self_ticks_are_saved_at_once_then_frozen_by_the_reveal(exam: Exam, tmp_path) -> None:
    db, sam = exam.db, exam.trainee
    rid = _practice_with_analysis(exam, tmp_path, sam).recording.id
    assert store.get_self_assessment(db, sam, rid).ticks == {}
    store.set_self_tick(db, sam, rid, "C01", "acquis")
    store.set_self_tick(db, sam, rid, "C05", "non_acquis")
    store.set_self_tick(db, sam, rid, "C05", "acquis")
    store.set_self_tick(db, sam, rid, "C01", None)
    got = store.get_self_assessment(db, sam, rid)
    assert got.ticks == {"C05": "acquis"} and not got.revealed
    revealed = store.reveal_suggestions(db, sam, rid)
    assert revealed.revealed and revealed.ticks == {"C05": "acquis"}
    with pytest.raises(store.StoreError, match="figée"):
        store.set_self_tick(db, sam, rid, "C05", "non_acquis")
    assert store.get_self_assessment(db, sam, rid).ticks == {"C05": "acquis"}
    actions = [e.action for e in store.audit_entries(db, SYSTEM, recording_id=rid)]
    assert actions.count("self.tick") == 4 and "self.reveal" in actions


def test_self_tick_checks_value_and_criterion(exam: Exam, tmp_path) -> None:
    db, sam = exam.db, exam.trainee
    rid = _practice_with_analysis(exam, tmp_path, sam).recording.id
    with pytest.raises(store.StoreError, match="acquis, non_acquis"):
        store.set_self_tick(db, sam, rid, "C01", "peut-être")
    with pytest.raises(store.StoreError, match="Critères valides : C01"):
        store.set_self_tick(db, sam, rid, "C99", "acquis")


def test_ticking_before_the_analysis_uses_the_rubric_and_reveal_waits(exam: Exam) -> None:
    db, sam, rid = exam.db, exam.trainee, exam.practice.id  # no analysis yet
    store.set_self_tick(db, sam, rid, "C03", "acquis")
    assert store.get_self_assessment(db, sam, rid).ticks == {"C03": "acquis"}
    with pytest.raises(store.StoreError, match="pas terminée"):
        store.reveal_suggestions(db, sam, rid)


def test_one_trainee_cannot_reach_another_trainees_call(exam: Exam, tmp_path) -> None:
    db, sam, lea = exam.db, exam.trainee, exam.other_trainee
    rid = _practice_with_analysis(exam, tmp_path, sam).recording.id
    for call in (
        lambda: store.get_self_assessment(db, lea, rid),
        lambda: store.set_self_tick(db, lea, rid, "C01", "acquis"),
        lambda: store.reveal_suggestions(db, lea, rid),
        lambda: store.latest_analysis(db, lea, rid),
        lambda: store.get_recording(db, lea, rid),
    ):
        with pytest.raises(AccessDenied):
            call()
    assert store.list_practice_attempts(db, lea) == []
    assert [a.recording.id for a in store.list_practice_attempts(db, sam)] == [
        exam.practice.id,
        rid,
    ]


def test_trainer_reads_every_trainee_but_does_not_tick(exam: Exam, tmp_path) -> None:
    db, sam, trainer = exam.db, exam.trainee, exam.trainer
    rid = _practice_with_analysis(exam, tmp_path, sam).recording.id
    store.set_self_tick(db, sam, rid, "C01", "acquis")
    assert store.get_self_assessment(db, trainer, rid).ticks == {"C01": "acquis"}
    with pytest.raises(AccessDenied, match="Seul le stagiaire"):
        store.set_self_tick(db, trainer, rid, "C01", "non_acquis")
    attempts = store.list_practice_attempts(db, trainer, owner_user_id=sam.id)
    assert [a.recording.id for a in attempts] == [exam.practice.id, rid]
    assert attempts[1].analysis_id is not None and attempts[0].analysis_id is None
    assert attempts[1].owner_name == "Sam Stagiaire"
    trainees = {t.username: t.practice_calls for t in store.list_trainees(db, trainer)}
    assert trainees == {"sam.stagiaire": 2, "lea.stagiaire": 0}
    with pytest.raises(AccessDenied):
        store.list_trainees(db, sam)


def test_exam_calls_have_no_self_assessment(exam: Exam) -> None:
    with pytest.raises(store.StoreError, match="appel d'examen"):
        store.get_self_assessment(exam.db, exam.admin, exam.recording.id)


# --------------------------------------------------------------------------- rubric versions
def _edited(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_shipped_rubric_is_the_first_version(exam: Exam) -> None:
    versions = store.list_rubric_versions(exam.db, exam.trainer)
    shipped = settings.default_rubric_path().read_text(encoding="utf-8")
    assert len(versions) == 1
    v = versions[0]
    assert v.text == shipped and v.version == load_rubric().version and not v.active
    assert v.origin.endswith("cp_ffp_appels_sortants.yaml") and v.advice_text
    # listing again does not import it twice
    assert len(store.list_rubric_versions(exam.db, exam.trainer)) == 1


def test_saving_an_edit_makes_the_next_version_and_keeps_earlier_analyses(
    exam: Exam, tmp_path
) -> None:
    db, trainer = exam.db, exam.trainer
    (base,) = store.list_rubric_versions(db, trainer)
    edited = _edited(base.text, "pass_ratio: 0.70", "pass_ratio: 0.80")
    v2 = store.save_rubric_version(db, trainer, edited, note="seuil 80 %", based_on=base.id)
    assert v2.version == base.version + 1 and v2.based_on == base.id
    rubric = parse_rubric(v2.text)
    assert rubric.version == v2.version and rubric.pass_ratio == 0.8
    assert v2.advice_text == base.advice_text  # advice carried over
    path = store.version_file(db, v2)
    assert load_rubric(path).sha256 == v2.sha256
    # not in service until activated: new analyses keep using the shipped file
    assert store.active_rubric_path(db) is None
    store.activate_rubric_version(db, trainer, v2.id)
    assert store.active_rubric_path(db) == str(path)
    # an earlier analysis is untouched; re-scoring it under v2 gives a new dict
    stored = store.latest_analysis(db, SYSTEM, exam.recording.id)
    before = stored.result
    rescored = rescore_analysis(before, path)
    assert rescored["rubric"]["version"] == v2.version
    assert rescored["score"]["needed"] == 12 and before["score"]["needed"] == 11
    again = store.latest_analysis(db, SYSTEM, exam.recording.id)
    assert again.result["rubric"] == before["rubric"] and again.result["score"]["needed"] == 11
    # back to the shipped rubric
    store.activate_rubric_version(db, trainer, None, rubric_id=base.rubric_id)
    assert store.active_rubric_path(db) is None
    actions = [e.action for e in store.audit_entries(db, SYSTEM)]
    assert actions.count("rubric.activate") == 2 and "rubric.save" in actions


def test_invalid_or_unchanged_rubrics_are_not_saved(exam: Exam) -> None:
    db, trainer = exam.db, exam.trainer
    (base,) = store.list_rubric_versions(db, trainer)
    bad = _edited(base.text, "pass_ratio: 0.70", "pass_ratio: 1.7")
    assert store.validate_rubric_text(bad)
    with pytest.raises(RubricError, match="pass_ratio"):
        store.save_rubric_version(db, trainer, bad, based_on=base.id)
    with pytest.raises(store.StoreError, match="Aucune modification"):
        store.save_rubric_version(db, trainer, base.text, based_on=base.id)
    bad_advice = "criteria:\n  C01:\n    titre: oups\n"
    assert store.validate_rubric_text(base.text, bad_advice)
    assert len(store.list_rubric_versions(db, trainer)) == 1


def test_only_trainers_and_admins_edit_rubrics(exam: Exam) -> None:
    for user in (exam.trainee, exam.juror_a, exam.manager):
        with pytest.raises(AccessDenied, match="formateurs"):
            store.list_rubric_versions(exam.db, user)
    assert store.list_rubric_versions(exam.db, exam.admin)


def test_new_analyses_from_the_app_use_the_version_in_service(exam: Exam) -> None:
    from call_eval.ui.jobs import analysis_options

    db, trainer = exam.db, exam.trainer
    (base,) = store.list_rubric_versions(db, trainer)
    assert analysis_options(db, (), None).rubric is None
    v2 = store.save_rubric_version(
        db, trainer, _edited(base.text, "pass_ratio: 0.70", "pass_ratio: 0.75"), based_on=base.id
    )
    store.activate_rubric_version(db, trainer, v2.id)
    options = analysis_options(db, (), None)
    assert options.rubric == str(store.version_file(db, v2))
    assert yaml.safe_load(Path(options.rubric).read_text(encoding="utf-8"))["pass_ratio"] == 0.75


def test_analysis_finds_the_advice_of_its_version(exam: Exam) -> None:
    db, trainer = exam.db, exam.trainer
    (base,) = store.list_rubric_versions(db, trainer)
    advice = base.advice_text.replace("Se présenter", "Se présenter clairement", 1)
    v2 = store.save_rubric_version(db, trainer, base.text + "\n", advice, based_on=base.id)
    analysis = rescore_analysis(sample_analysis(), store.version_file(db, v2))
    found = store.version_for_analysis(db, analysis)
    assert found is not None and found.id == v2.id
    assert "Se présenter clairement" in store.advice_file(db, found).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- calibration set
def test_calibration_set_from_validated_grids(exam: Exam) -> None:
    db = exam.db
    rid = exam.recording.id
    assert store.calibration_calls(db, exam.trainer) == []  # nothing validated yet
    score_all(db, exam.juror_a, rid, {"C01": "non_acquis"})
    ev_b = store.open_evaluation(db, exam.juror_b, rid)
    store.set_tick(db, exam.juror_b, ev_b.id, "C01", "acquis")
    store.set_comment(db, exam.juror_b, ev_b.id, "C01", "Présentation complète.")
    assert len(store.calibration_calls(db, exam.trainer)) == 1  # B not validated: A only
    score_all(db, exam.juror_b, rid)
    (call,) = store.calibration_calls(db, exam.trainer)
    assert call.call_id == f"appel-{rid}" and "Jeanne Martin" in call.title
    assert set(call.juror_labels) == {"Paul Durand", "Anne Roux"}
    assert call.juror_labels["Paul Durand"]["C01"] == "non_acquis"
    assert call.juror_labels["Anne Roux"]["C01"] == "acquis"
    assert call.juror_why["Anne Roux"]["C01"] == "Présentation complète."
    assert call.utterances and call.features_flat
    report = Rescorer([call]).calibrate(None)
    assert report.metrics("C01") is None  # the two jurors tie: no reference tick
    assert report.metrics("C03") is not None and report.metrics("C03").n == 1
    assert set(report.jurors) == {"Paul Durand", "Anne Roux"}
    assert any(d.criterion == "C01" for d in report.juror_disagreements)
    with pytest.raises(AccessDenied):
        store.calibration_calls(db, exam.juror_a)
