"""The rules of an exam session: juror eligibility, jury composition, the 70 % decision,
retakes (once, within a year), deliberation, closing, appeals, dysfunctions, the annual
review."""

from __future__ import annotations

from datetime import date

import pytest
from exam_fixtures import Exam, build_exam, import_call, quick_hashing, score_all

from call_eval import store
from call_eval.auth import SYSTEM, AccessDenied
from call_eval.store import Attempt, Juror, StoreError
from call_eval.store.sessions import add_months, juror_warnings, jury_warnings, retake_decision

DAY = date(2027, 3, 12)


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    quick_hashing(monkeypatch)


@pytest.fixture()
def db(tmp_path) -> store.Database:
    database = store.open_db(data_dir=tmp_path / "data")
    yield database
    database.dispose()


@pytest.fixture()
def exam(db, tmp_path) -> Exam:
    return build_exam(db, tmp_path, session_date=DAY)


def _juror(**kw) -> Juror:
    from datetime import UTC, datetime

    return Juror(id=1, name="Test", created_at=datetime.now(UTC), **kw)


# --------------------------------------------------------------------------- eligibility
def test_an_eligible_juror_has_no_warning() -> None:
    ok = _juror(years_experience=3, briefing_on=date(2027, 3, 1))
    assert juror_warnings(ok, DAY) == []
    left_recently = _juror(
        years_experience=10, left_trade_on=date(2022, 3, 12), briefing_on=date(2027, 1, 5)
    )
    assert juror_warnings(left_recently, DAY) == []  # exactly five years: still allowed


@pytest.mark.parametrize(
    ("juror", "expected"),
    [
        ({"years_experience": 2.5, "briefing_on": date(2027, 1, 1)}, "Moins de 3 ans"),
        ({"briefing_on": date(2027, 1, 1)}, "Expérience dans le métier non renseignée"),
        (
            {
                "years_experience": 12,
                "left_trade_on": date(2022, 3, 11),
                "briefing_on": date(2027, 1, 1),
            },
            "plus de 5 ans avant la session",
        ),  # fmt: skip
        ({"years_experience": 4}, "Session d'information de 2 heures non suivie"),
        (
            {"years_experience": 4, "briefing_on": date(2027, 3, 20)},
            "elle doit avoir lieu en amont",
        ),
    ],
)
def test_juror_warnings_name_the_broken_rule(juror: dict, expected: str) -> None:
    warnings = juror_warnings(_juror(**juror), DAY)
    assert len(warnings) == 1 and expected in warnings[0]


@pytest.mark.parametrize(
    ("qualities", "expected"),
    [
        (["filea", "professionnel"], []),
        (["filea", "professionnel", "professionnel"], []),
        (["professionnel", "professionnel"], ["Aucun représentant de FILEA"]),
        (["filea"], ["Aucun professionnel"]),
        (["filea", "filea", "professionnel"], ["2 représentants de FILEA"]),
        (["filea"] + ["professionnel"] * 3, ["3 professionnels"]),
    ],
)
def test_jury_composition(qualities: list[str], expected: list[str]) -> None:
    warnings = jury_warnings(qualities)
    assert len(warnings) == len(expected)
    for warning, text in zip(warnings, expected, strict=True):
        assert text in warning


def test_session_file_shows_eligibility_and_composition_warnings(db, exam) -> None:
    file = store.session_file(db, exam.manager, exam.session.id)
    assert [m.quality for m in file.jury] == ["filea", "professionnel"]
    assert all(not m.warnings for m in file.jury) and not file.jury_warnings
    store.update_juror(db, exam.manager, exam.juror_b.juror_id, organisation="Acme",
                       years_experience=2, left_trade_on=None, briefing_on=None)  # fmt: skip
    store.remove_jury_member(db, exam.manager, exam.session.id, exam.juror_a.juror_id)
    file = store.session_file(db, exam.manager, exam.session.id)
    [member] = file.jury
    assert any("Moins de 3 ans" in w for w in member.warnings)
    assert any("non suivie" in w for w in member.warnings)
    assert any("FILEA" in w for w in file.jury_warnings)


# --------------------------------------------------------------------------- 70 %
@pytest.mark.parametrize(("acquis", "decision"), [(11, "certifie"), (10, "non_certifie"),
                                                  (15, "certifie"), (0, "non_certifie")])  # fmt: skip
def test_the_jury_decision_is_certified_from_70_percent(db, exam, acquis, decision) -> None:
    for juror in (exam.juror_a, exam.juror_b):
        score_all(db, juror, exam.recording.id)
    d = store.get_deliberation(db, exam.manager, exam.candidate.id)
    ids = [r.criterion_id for r in d.rows]
    for i, cid in enumerate(ids):
        store.set_final_tick(db, exam.juror_a, exam.candidate.id, cid,
                             "acquis" if i < acquis else "non_acquis")  # fmt: skip
    done = store.record_decision(db, exam.juror_a, exam.candidate.id)
    assert (done.decision, done.acquis, done.total) == (decision, acquis, 15)


def test_a_decision_needs_every_final_tick(db, exam) -> None:
    store.set_final_tick(db, exam.manager, exam.candidate.id, "C01", "acquis")
    with pytest.raises(StoreError, match="C02, C03"):
        store.record_decision(db, exam.manager, exam.candidate.id)
    with pytest.raises(StoreError, match="acquis ou non_acquis"):
        store.set_final_tick(db, exam.manager, exam.candidate.id, "C02", "bof")


# --------------------------------------------------------------------------- deliberation
def test_deliberation_shows_disagreements_and_adopts_only_unanimous_ticks(db, exam) -> None:
    score_all(db, exam.juror_a, exam.recording.id, {"C13": "acquis", "C14": "acquis"})
    score_all(db, exam.juror_b, exam.recording.id,
              {"C02": "non_acquis", "C13": "acquis", "C14": "non_acquis"})  # fmt: skip
    d = store.get_deliberation(db, exam.juror_a, exam.candidate.id)
    assert d.disagreements == ["C02", "C14"]
    row = {r.criterion_id: r for r in d.rows}
    assert row["C02"].juror_ticks == (("Paul Durand", "acquis", True),
                                      ("Anne Roux", "non_acquis", True))  # fmt: skip
    assert row["C13"].interview and row["C13"].unanimous_tick == "acquis"
    assert row["C01"].suggested == "acquis"
    adopted = store.adopt_unanimous(db, exam.juror_b, exam.candidate.id)
    assert "C02" not in adopted and "C14" not in adopted and len(adopted) == 13
    after = store.get_deliberation(db, exam.juror_b, exam.candidate.id)
    assert [r.criterion_id for r in after.rows if r.final_tick is None] == ["C02", "C14"]
    store.set_final_tick(db, exam.juror_b, exam.candidate.id, "C02", "acquis")
    store.set_final_comment(db, exam.juror_b, exam.candidate.id, "C14",
                            "Discours à proscrire cités mais effets non expliqués")  # fmt: skip
    store.set_final_tick(db, exam.juror_b, exam.candidate.id, "C14", "non_acquis")
    decided = store.record_decision(db, exam.juror_b, exam.candidate.id, "Délibéré à 2")
    assert decided.decision == "certifie" and decided.acquis == 13  # C08, C14 not
    with pytest.raises(StoreError, match="Décision déjà enregistrée"):
        store.set_final_tick(db, exam.juror_a, exam.candidate.id, "C01", "non_acquis")
    with pytest.raises(AccessDenied):  # only the session's manager reopens
        store.reopen_decision(db, exam.juror_a, exam.candidate.id, "erreur")
    store.reopen_decision(db, exam.manager, exam.candidate.id, "Erreur sur C14")
    assert store.get_deliberation(db, exam.juror_a, exam.candidate.id).can_write


def test_a_juror_sees_the_others_only_after_validating(db, exam) -> None:
    score_all(db, exam.juror_a, exam.recording.id)
    ev_b = store.open_evaluation(db, exam.juror_b, exam.recording.id)
    store.set_tick(db, exam.juror_b, ev_b.id, "C01", "non_acquis")
    with pytest.raises(AccessDenied, match="Validez d'abord"):
        store.get_deliberation(db, exam.juror_b, exam.candidate.id)
    with pytest.raises(AccessDenied, match="indépendamment"):
        store.get_evaluation(db, exam.juror_b, store.find_evaluation(
            db, exam.juror_a, exam.recording.id).id)  # fmt: skip
    d = store.get_deliberation(db, exam.juror_a, exam.candidate.id)  # A validated: may look
    assert [p.status for p in d.jurors] == ["valide", "en_revue"]
    assert d.rows[0].juror_ticks[1] == ("Anne Roux", "non_acquis", False)
    assert not d.rows[0].disagreement  # unvalidated grids are not compared yet


# --------------------------------------------------------------------------- retakes
def _attempt(day: date, decision: str | None, *, annulled=False, status="decide") -> Attempt:
    return Attempt(session_id=1, session_date=day, place="x", session_candidate_id=day.toordinal(),
                   attempt=1, origin="initiale", status=status, decision=decision,
                   annulled=annulled, session_closed=True)  # fmt: skip


def test_retake_rules() -> None:
    failed = _attempt(date(2026, 6, 15), "non_certifie")
    assert retake_decision([], DAY).origin == "initiale"
    within = retake_decision([failed], date(2027, 6, 15))  # exactly one year later
    assert within.allowed and within.attempt == 2 and within.origin == "rattrapage"
    assert within.deadline == date(2027, 6, 15)
    late = retake_decision([failed], date(2027, 6, 16))
    assert not late.allowed and "Délai de rattrapage dépassé" in late.reason
    assert "15/06/2027" in late.reason
    same_day = retake_decision([failed], date(2026, 6, 15))
    assert not same_day.allowed and "après la session échouée" in same_day.reason
    second = _attempt(date(2027, 1, 10), "non_certifie")
    ended = retake_decision([failed, second], date(2027, 2, 1))
    assert not ended.allowed and "n'est plus admis" in ended.reason
    certified = retake_decision([_attempt(date(2026, 6, 15), "certifie")], DAY)
    assert not certified.allowed and "déjà certifié" in certified.reason
    pending = retake_decision([_attempt(date(2027, 3, 1), None, status="inscrit")], DAY)
    assert not pending.allowed and "déjà inscrit" in pending.reason
    voided = _attempt(date(2027, 1, 10), "non_certifie", annulled=True)
    after_appeal = retake_decision([failed, voided], date(2027, 2, 1))
    assert after_appeal.allowed and after_appeal.origin == "recours" and after_appeal.attempt == 2
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def _decide(db, exam: Exam, sc_id: int, acquis: int, juror=None) -> store.SessionCandidate:
    juror = juror or exam.juror_a
    d = store.get_deliberation(db, exam.manager, sc_id)
    for i, row in enumerate(d.rows):
        store.set_final_tick(db, exam.manager, sc_id, row.criterion_id,
                             "acquis" if i < acquis else "non_acquis")  # fmt: skip
    return store.record_decision(db, exam.manager, sc_id)


def _session(db, exam: Exam, day: date) -> store.ExamSession:
    session = store.create_session(db, exam.manager, session_date=day, place="Lyon")
    store.add_jury_member(db, exam.manager, session.id, exam.juror_a.juror_id, "filea")
    return session


def test_a_failed_candidate_sits_once_more_within_a_year(db, exam, tmp_path) -> None:
    first = _decide(db, exam, exam.candidate.id, 9)
    assert first.decision == "non_certifie"
    too_late = _session(db, exam, date(2028, 3, 13))
    with pytest.raises(StoreError, match="Délai de rattrapage dépassé.*12/03/2028"):
        store.register_candidate(db, exam.manager, too_late.id, "Jeanne Martin")
    retake = _session(db, exam, date(2027, 9, 20))
    second = store.register_candidate(db, exam.manager, retake.id, "Jeanne Martin")
    assert (second.attempt, second.origin) == (2, "rattrapage")
    assert any("justificatif d'expérience" in w for w in second.warnings)
    store.set_experience_justified(db, exam.manager, second.id, True)
    path = store.candidate_path(db, exam.manager, second.candidate_id, on=date(2027, 9, 1))
    assert path.state == "en_cours"
    failed_again = _decide(db, exam, second.id, 10)
    assert failed_again.decision == "non_certifie"
    path = store.candidate_path(db, exam.manager, second.candidate_id, on=date(2027, 10, 1))
    assert path.state == "termine" and "n'est plus admis" in path.message
    third = _session(db, exam, date(2027, 11, 5))
    with pytest.raises(StoreError, match="2 échecs"):
        store.register_candidate(db, exam.manager, third.id, "Jeanne Martin")


def test_a_well_founded_appeal_voids_the_sitting(db, exam) -> None:
    _decide(db, exam, exam.candidate.id, 8)
    appeal = store.file_appeal(db, exam.manager, exam.candidate.id,
                               received_on=date(2027, 3, 20),
                               motives="Panne du casque pendant l'appel")  # fmt: skip
    with pytest.raises(StoreError, match="obligatoire : motivation de la décision"):
        store.decide_appeal(db, exam.manager, appeal.id, status="fonde")
    store.decide_appeal(db, exam.manager, appeal.id, status="en_instruction")
    decided = store.decide_appeal(db, exam.manager, appeal.id, status="fonde",
                                  note="Dysfonctionnement matériel avéré",
                                  decided_on=date(2027, 3, 28))  # fmt: skip
    assert decided.final and decided.decided_on == date(2027, 3, 28)
    with pytest.raises(StoreError, match="déjà tranché"):
        store.decide_appeal(db, exam.manager, appeal.id, status="non_recevable", note="x")
    file = store.session_file(db, exam.manager, exam.session.id)
    assert file.candidates[0].annulled and file.appeals[0].status == "fonde"
    new = _session(db, exam, date(2027, 4, 15))
    again = store.register_candidate(db, exam.manager, new.id, "Jeanne Martin")
    assert again.origin == "recours" and again.attempt == 1
    with pytest.raises(StoreError, match="précède la session"):
        store.file_appeal(db, exam.manager, again.id, received_on=date(2027, 4, 1), motives="x")


def test_an_absent_candidate_has_no_attempt(db, exam) -> None:
    store.mark_absent(db, exam.manager, exam.candidate.id)
    with pytest.raises(StoreError, match="absent"):
        store.set_final_tick(db, exam.manager, exam.candidate.id, "C01", "acquis")
    later = _session(db, exam, date(2027, 5, 2))
    assert store.register_candidate(db, exam.manager, later.id, "Jeanne Martin").origin == (
        "initiale"
    )


# --------------------------------------------------------------------------- closing
def test_closing_needs_every_decision_and_freezes_the_session(db, exam, tmp_path) -> None:
    with pytest.raises(StoreError, match="décision du jury manquante pour Jeanne Martin"):
        store.close_session(db, exam.manager, exam.session.id)
    score_all(db, exam.juror_a, exam.recording.id)
    _decide(db, exam, exam.candidate.id, 12)
    closed = store.close_session(db, exam.manager, exam.session.id)
    assert closed.closed
    late = import_call(db, tmp_path, "Zoé Leroy", pitch=660.0)
    for attempt in (
        lambda: store.register_candidate(
            db, exam.manager, exam.session.id, "Zoé Leroy", recording_id=late.recording.id
        ),  # fmt: skip
        lambda: store.add_jury_member(
            db, exam.manager, exam.session.id, exam.outsider.juror_id, "professionnel"
        ),  # fmt: skip
        lambda: store.update_session(db, exam.manager, exam.session.id, place="Ailleurs"),
    ):
        with pytest.raises(StoreError, match="Session close"):
            attempt()
    ev = store.find_evaluation(db, exam.juror_a, exam.recording.id)
    with pytest.raises(AccessDenied, match="Session close"):
        store.unlock_evaluation(db, exam.juror_a, ev.id, "changer une coche")
    with pytest.raises(StoreError, match="Motif"):
        store.reopen_session(db, exam.manager, exam.session.id, "")
    assert not store.reopen_session(db, exam.manager, exam.session.id, "Erreur de date").closed
    journal = store.audit_entries(db, exam.manager, session_id=exam.session.id)
    assert [e.action for e in journal][-2:] == ["session.close", "session.reopen"]


# --------------------------------------------------------------------------- dysfunctions
def test_dysfunction_log(db, exam) -> None:
    item = store.log_dysfunction(db, exam.manager, exam.session.id, observed_on=DAY,
                                 category="materiel", description="Casque défaillant salle A12")  # fmt: skip
    with pytest.raises(StoreError, match="action corrective"):
        store.update_dysfunction(db, exam.manager, item.id, status="traite")
    done = store.update_dysfunction(db, exam.manager, item.id, status="traite",
                                    action="Casques de rechange en salle")  # fmt: skip
    assert done.status == "traite" and done.closed_at is not None
    with pytest.raises(StoreError, match="Catégorie inconnue"):
        store.log_dysfunction(db, exam.manager, exam.session.id, observed_on=DAY,
                              category="météo", description="x")  # fmt: skip
    file = store.session_file(db, exam.manager, exam.session.id)
    assert [d.description for d in file.dysfunctions] == ["Casque défaillant salle A12"]


# --------------------------------------------------------------------------- annual review
def test_annual_review_figures(db, exam, tmp_path) -> None:
    # Candidate 1: both jurors; the tool suggested acquis on C01 (both agree), acquis on
    # C02 (A agrees, B not), non_acquis on C08 (both agree).
    score_all(db, exam.juror_a, exam.recording.id)
    score_all(db, exam.juror_b, exam.recording.id, {"C02": "non_acquis"})
    store.adopt_unanimous(db, exam.manager, exam.candidate.id)
    store.set_final_tick(db, exam.manager, exam.candidate.id, "C02", "acquis")
    first = store.record_decision(db, exam.manager, exam.candidate.id)
    # Candidate 2: one juror only, failed.
    other = import_call(db, tmp_path, "Zoé Leroy", pitch=660.0)
    sc = store.register_candidate(db, exam.manager, exam.session.id, "Zoé Leroy",
                                  recording_id=other.recording.id)  # fmt: skip
    score_all(db, exam.juror_a, other.recording.id)
    second = _decide(db, exam, sc.id, 5)
    # Another year's session does not count.
    _session(db, exam, date(2026, 11, 2))
    review = store.annual_review(db, exam.manager, 2027)
    assert (review.sessions, review.registered, review.decided) == (2, 3, 2)
    assert first.decision == "certifie" and second.decision == "non_certifie"
    assert review.certified == 1 and review.success_rate == pytest.approx(0.5)
    stats = {c.criterion_id: c for c in review.criteria}
    # Final ticks: C01 acquis for candidate 1 (unanimous), acquis for 2 (first five rows).
    assert (stats["C01"].final_acquis, stats["C01"].final_ticked) == (2, 2)
    assert stats["C15"].acquis_rate == pytest.approx(0.5)
    # Juror–tool on C02: 3 grids, suggestion acquis; ticks acquis, non_acquis, acquis.
    assert (stats["C02"].tool_pairs, stats["C02"].tool_agree) == (3, 2)
    # « à vérifier » suggestions (C04, C12–C15) are counted apart, not compared.
    assert stats["C04"].tool_pairs == 0 and stats["C04"].tool_a_verifier == 3
    # Juror–juror: only candidate 1 had two grids; C02 split, C01 unanimous.
    assert stats["C02"].jury_subjects == 1 and stats["C02"].jury_unanimous == 0
    assert stats["C01"].jury_unanimity == 1.0
    # Pooled Fleiss' kappa over candidate 1's 15 criteria (2 jurors): 14 agreements.
    # acquis shares: A 14/15 (C08 non), B 13/15 → p_acquis = 27/30, p_non = 3/30;
    # P_e = 0.9² + 0.1² = 0.82; P̄ = 14/15; kappa = (14/15 − 0.82) / 0.18 = 0.6296.
    assert review.jury_kappa == pytest.approx((14 / 15 - 0.82) / 0.18)
    with pytest.raises(AccessDenied):
        store.annual_review(db, exam.juror_a, 2027)
    trainer_view = store.annual_review(db, exam.trainer, 2027)
    assert trainer_view.decided == 2
    assert store.review_years(db, exam.manager) == [2027, 2026]


def test_results_rows_for_the_office(db, exam) -> None:
    score_all(db, exam.juror_a, exam.recording.id)
    _decide(db, exam, exam.candidate.id, 11)
    [row] = store.results_rows(db, exam.manager, exam.session.id)
    assert row["candidat"] == "Jeanne Martin" and row["decision"] == "Certifié"
    assert (row["criteres_acquis"], row["criteres_total"], row["pourcentage"]) == (11, 15, "73")
    assert row["C01"] == "A" and row["C15"] == "NA"
    assert row["session_date"] == "2027-03-12"
    with pytest.raises(AccessDenied):
        store.results_rows(db, exam.outsider, exam.session.id)
    assert store.results_rows(db, SYSTEM, exam.session.id) == [row]


# --------------------------------------------------------------------------- demo
def test_demo_session_gives_fresh_random_passwords_each_time(db, tmp_path) -> None:
    from call_eval.store.demo_session import demo_credentials_text, ensure_demo_session

    call = import_call(db, tmp_path, "Candidat démo (Sophie Lambert)", pitch=700.0)
    first = ensure_demo_session(db, call.recording.id)
    juror = store.sign_in(db, first.juror_username, first.juror_password).user
    assert not juror.must_change_password
    assert [r.recording.id for r in store.list_recordings(db, juror)] == [call.recording.id]
    store.open_evaluation(db, juror, call.recording.id)  # the demo juror may score it
    file = store.session_file(db, SYSTEM, first.session_id)
    assert {m.quality for m in file.jury} == {"filea", "professionnel"}
    assert not file.jury_warnings and all(not m.warnings for m in file.jury)
    manager = store.sign_in(db, first.manager_username, first.manager_password).user
    assert store.session_file(db, manager, first.session_id).rights.manage
    again = ensure_demo_session(db, call.recording.id)
    assert again.session_id == first.session_id
    assert again.juror_password != first.juror_password
    with pytest.raises(store.AuthError):  # the earlier password no longer works
        store.sign_in(db, first.juror_username, first.juror_password)
    text = demo_credentials_text(again, "http://localhost:8501")
    assert again.juror_password in text and "http://localhost:8501" in text
    assert "jure.demo" in text and "create-admin" in text
    trainee = store.sign_in(db, again.trainee_username, again.trainee_password).user
    trainer = store.sign_in(db, again.trainer_username, again.trainer_password).user
    assert trainee.roles == {"trainee"} and trainer.roles == {"trainer"}
    assert store.list_recordings(db, trainee) == []  # no exam call for a trainee
    assert again.trainee_password in text and again.trainer_password in text
