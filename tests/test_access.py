"""Access control: each role tried against what it must not see or change — through the
store API (the rules live there) and through the app (AppTest: menus, URLs tampered with,
pages refusing)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from exam_fixtures import PASSWORD, Exam, build_exam, quick_hashing, score_all, tone_wav
from streamlit.testing.v1 import AppTest

from call_eval import store
from call_eval.auth import SYSTEM, AccessDenied, User
from call_eval.errors import CallEvalError

APP = Path(__file__).resolve().parent.parent / "app.py"


@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> store.Database:
    directory = tmp_path / "data"
    monkeypatch.setenv("CALL_EVAL_DATA_DIR", str(directory))
    for name in ("CALL_EVAL_DB_URL", "CALL_EVAL_OPEN"):
        monkeypatch.delenv(name, raising=False)
    quick_hashing(monkeypatch)
    database = store.open_db(data_dir=directory)
    yield database
    database.dispose()


@pytest.fixture()
def exam(db: store.Database, tmp_path: Path) -> Exam:
    return build_exam(db, tmp_path)


def _refused(action: Callable[[], object]) -> str:
    with pytest.raises(AccessDenied) as caught:
        action()
    return str(caught.value)


# =========================================================================== store API
def test_a_juror_reaches_only_the_candidates_of_their_sessions(db, exam) -> None:
    juror, outsider = exam.juror_a, exam.outsider
    assert [r.recording.id for r in store.list_recordings(db, juror)] == [exam.recording.id]
    assert [s.id for s in store.list_sessions(db, juror)] == [exam.session.id]
    message = _refused(lambda: store.get_recording(db, juror, exam.other_recording.id))
    assert "sessions dont vous êtes juré" in message
    _refused(lambda: store.open_evaluation(db, juror, exam.other_recording.id))
    _refused(lambda: store.latest_analysis(db, juror, exam.other_recording.id))
    _refused(lambda: store.audit_entries(db, juror, recording_id=exam.other_recording.id))
    _refused(lambda: store.session_file(db, juror, exam.other_session.id))
    _refused(lambda: store.get_recording(db, juror, exam.practice.id))
    assert store.find_recording(db, juror, exam.other_recording.call_id) is None
    # the outsider: the other way round
    _refused(lambda: store.get_recording(db, outsider, exam.recording.id))
    _refused(lambda: store.get_deliberation(db, outsider, exam.candidate.id))
    _refused(lambda: store.minutes_export(db, outsider, exam.session.id))
    _refused(lambda: store.jury_sheet_export(db, outsider, exam.candidate.id))
    _refused(lambda: store.set_final_tick(db, outsider, exam.candidate.id, "C01", "acquis"))


def test_a_juror_changes_nothing_but_their_own_grid_and_the_deliberation(db, exam) -> None:
    juror = exam.juror_a
    for action in (
        lambda: store.create_session(db, juror, session_date="2027-04-01", place="Lyon"),
        lambda: store.update_session(db, juror, exam.session.id, place="Ailleurs"),
        lambda: store.add_jury_member(
            db, juror, exam.session.id, exam.outsider.juror_id, "professionnel"
        ),  # fmt: skip
        lambda: store.register_candidate(db, juror, exam.session.id, "Intrus"),
        lambda: store.close_session(db, juror, exam.session.id),
        lambda: store.file_appeal(
            db, juror, exam.candidate.id, received_on="2027-03-20", motives="x"
        ),  # fmt: skip
        lambda: store.log_dysfunction(
            db, juror, exam.session.id, observed_on="2027-03-12", category="autre", description="x"
        ),  # fmt: skip
        lambda: store.update_juror(
            db,
            juror,
            juror.juror_id,
            organisation=None,
            years_experience=30,
            left_trade_on=None,
            briefing_on=None,
        ),  # fmt: skip
        lambda: store.create_user(
            db, juror, username="ami.ami", display_name="Ami", roles=["juror"]
        ),  # fmt: skip
        lambda: store.list_accounts(db, juror),
        lambda: store.annual_review(db, juror, 2027),
        lambda: store.set_recording_candidate(db, juror, exam.recording.id, "Autre nom"),
        lambda: store.add_recording(
            db, tone_wav(Path(db.data_dir) / "x.wav", pitch=770.0), actor=juror
        ),  # fmt: skip
    ):
        _refused(action)
    own = store.open_evaluation(db, juror, exam.recording.id)
    other = store.open_evaluation(db, exam.juror_b, exam.recording.id)
    with pytest.raises(store.StoreError, match="autre juré"):
        store.set_tick(db, juror, other.id, "C01", "acquis")
    _refused(lambda: store.get_evaluation(db, juror, other.id))  # not before validating
    score_all(db, juror, exam.recording.id)
    assert store.get_evaluation(db, juror, other.id).juror_id == exam.juror_b.juror_id
    store.set_final_tick(db, juror, exam.candidate.id, "C13", "acquis")  # the jury may
    assert own.id != other.id


def test_managers_run_their_own_sessions_only_and_never_score(db, exam) -> None:
    other = exam.other_manager
    file = store.session_file(db, other, exam.session.id)  # may read (same office)
    assert not file.rights.manage and file.rights.read
    for action in (
        lambda: store.update_session(db, other, exam.session.id, place="Ailleurs"),
        lambda: store.add_jury_member(
            db, other, exam.session.id, exam.outsider.juror_id, "professionnel"
        ),  # fmt: skip
        lambda: store.register_candidate(db, other, exam.session.id, "Intrus"),
        lambda: store.set_final_tick(db, other, exam.candidate.id, "C01", "acquis"),
        lambda: store.record_decision(db, other, exam.candidate.id),
        lambda: store.close_session(db, other, exam.session.id),
        lambda: store.file_appeal(
            db, other, exam.candidate.id, received_on="2027-03-20", motives="x"
        ),  # fmt: skip
        lambda: store.mark_absent(db, other, exam.candidate.id),
        lambda: store.open_evaluation(db, exam.manager, exam.recording.id),  # not a juror
        lambda: store.set_roles(db, exam.manager, exam.juror_a.id, ["admin"]),
        lambda: store.create_user(
            db, exam.manager, username="chef.chef", display_name="Chef", roles=["admin"]
        ),  # fmt: skip
        lambda: store.get_recording(db, exam.manager, exam.practice.id),
        lambda: store.create_session(
            db, exam.manager, session_date="2027-04-01", place="x", manager_user_id=other.id
        ),  # fmt: skip
    ):
        _refused(action)
    # The administrator may act on any session, but does not score either.
    store.update_session(db, exam.admin, exam.session.id, notes="Salle A12 confirmée")
    _refused(lambda: store.open_evaluation(db, exam.admin, exam.recording.id))


def test_trainees_see_only_their_own_practice_calls(db, exam, tmp_path) -> None:
    me, other = exam.trainee, exam.other_trainee
    assert [r.recording.id for r in store.list_recordings(db, me)] == [exam.practice.id]
    assert store.list_recordings(db, other) == []
    assert store.get_recording(db, me, exam.practice.id).owner_user_id == me.id
    message = _refused(lambda: store.get_recording(db, other, exam.practice.id))
    assert "autre stagiaire" in message
    _refused(lambda: store.audit_entries(db, other, recording_id=exam.practice.id))
    _refused(lambda: store.get_recording(db, me, exam.recording.id))
    _refused(lambda: store.session_file(db, me, exam.session.id))
    assert store.list_sessions(db, me) == []
    _refused(lambda: store.add_recording(db, tone_wav(tmp_path / "t.wav", pitch=880.0),
                                         actor=me, purpose=store.EXAM))  # fmt: skip
    _refused(lambda: store.add_recording(db, tone_wav(tmp_path / "u.wav", pitch=990.0),
                                         actor=me, purpose=store.PRACTICE,
                                         owner_user_id=other.id))  # fmt: skip
    # The same file as someone else's practice call is refused without saying whose.
    clone = tmp_path / "clone.wav"
    clone.write_bytes((tmp_path / "practice.wav").read_bytes())
    with pytest.raises(store.StoreError, match="autre espace"):
        store.add_recording(db, clone, actor=other, purpose=store.PRACTICE)
    # A trainer follows every trainee, but no exam call.
    assert [r.recording.id for r in store.list_recordings(db, exam.trainer)] == [exam.practice.id]
    _refused(lambda: store.get_recording(db, exam.trainer, exam.recording.id))
    _refused(lambda: store.open_evaluation(db, exam.trainee, exam.practice.id))


def test_a_deactivated_account_can_do_nothing(db, exam) -> None:
    token = store.sign_in(db, "paul.durand", PASSWORD).token
    store.set_active(db, exam.admin, exam.juror_a.id, False)
    assert store.resolve_session(db, token) is None
    stale = exam.juror_a  # a User object kept from before
    gone = User(**{**stale.__dict__, "active": False})
    _refused(lambda: store.list_recordings(db, gone))
    _refused(lambda: store.open_evaluation(db, gone, exam.recording.id))


# =========================================================================== the app
def _app(db: store.Database, user: User | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    if user is not None:
        at.session_state["auth_token"] = store.start_session(db, user).token
    at.run()
    assert not at.exception, at.exception
    return at


def _menu(at: AppTest) -> list[str]:
    """The page links the sidebar offers."""
    return [el.proto.label for el in at.sidebar.get("page_link")]


def _texts(at: AppTest) -> str:
    return " ".join(
        [e.value for e in at.error] + [m.value for m in at.markdown] + [i.value for i in at.info]
    )


def test_signed_out_there_is_only_the_sign_in_page(db, exam) -> None:
    at = _app(db)
    assert at.title[0].value == "Connexion" and _menu(at) == []
    # Any address asks for the sign-in first, and opens once signed in.
    at.switch_page("call_eval/ui/pages/sessions.py")
    at.query_params["session"] = str(exam.session.id)
    at.run()
    assert at.title[0].value == "Connexion"
    assert "Jeanne Martin" not in _texts(at)
    at.text_input(key="signin_username").input("claire.morel")
    at.text_input(key="signin_password").input(PASSWORD)
    at.button[0].click().run()
    assert at.title[0].value == exam.session.short_label
    at.button(key="sign_out").click().run()
    assert at.title[0].value == "Connexion"
    at.text_input(key="signin_username").input("paul.durand")
    at.text_input(key="signin_password").input("mauvais mot de passe")
    at.button[0].click().run()
    assert "Identifiant ou mot de passe incorrect." in [e.value for e in at.error]
    at.text_input(key="signin_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    at.switch_page("call_eval/ui/pages/connexion.py").run()  # the root: a juror's home
    assert at.title[0].value == "Appels"
    assert "Paul Durand" in " ".join(m.value for m in at.sidebar.markdown)


def test_first_sign_in_with_a_one_time_password_forces_a_change(db, exam) -> None:
    created = store.create_user(db, exam.manager, username="nina.jure", display_name="Nina Jure",
                                roles=["juror"])  # fmt: skip
    at = _app(db)
    at.text_input(key="signin_username").input("nina.jure")
    at.text_input(key="signin_password").input(created.password)
    at.button[0].click().run()
    assert at.title[0].value == "Choisissez votre mot de passe"
    assert _menu(at) == ["Mon compte"]
    at.text_input(key="pw_current").input(created.password)
    at.text_input(key="pw_new").input("ma propre phrase de passe")
    at.text_input(key="pw_again").input("ma propre phrase de passe")
    next(b for b in at.button if b.label == "Enregistrer le mot de passe").click().run()
    assert not at.exception
    assert "Revue d'un appel" in _menu(at)
    assert store.sign_in(db, "nina.jure", "ma propre phrase de passe").user.id == created.user.id


@pytest.mark.parametrize(
    ("who", "sees", "never"),
    [
        ("juror_a", {"Appels", "Revue d'un appel", "Délibération", "Sessions d'examen"},
         {"Comptes", "Bilan annuel"}),
        ("manager", {"Sessions d'examen", "Appels", "Bilan annuel"},
         {"Revue d'un appel", "Comptes"}),
        ("trainee", {"Mon compte"}, {"Appels", "Sessions d'examen", "Délibération", "Comptes",
                                     "Bilan annuel", "Fiche de résultat"}),
        ("trainer", {"Bilan annuel", "Comptes"}, {"Appels", "Sessions d'examen", "Délibération"}),
        ("admin", {"Comptes", "Sessions d'examen", "Bilan annuel"}, {"Revue d'un appel"}),
    ],
)  # fmt: skip
def test_each_role_sees_its_own_menu(db, exam, who, sees, never) -> None:
    menu = set(_menu(_app(db, getattr(exam, who))))
    assert sees <= menu and not (never & menu)


def test_a_trainee_cannot_open_exam_pages_even_by_url(db, exam) -> None:
    at = _app(db, exam.trainee)
    at.query_params["session"] = str(exam.session.id)
    at.query_params["appel"] = str(exam.recording.id)
    at.query_params["candidat"] = str(exam.candidate.id)
    for page in ("sessions", "revue", "deliberation", "appels",
                 "comptes", "bilan"):  # fmt: skip
        at.switch_page(f"call_eval/ui/pages/{page}.py").run()
        assert not at.exception
        assert any("pas ouverte à votre rôle" in e.value for e in at.error), page
        assert "Jeanne Martin" not in _texts(at)


def test_a_juror_cannot_open_another_sessions_call_by_changing_the_url(db, exam) -> None:
    at = _app(db, exam.juror_a)
    at.switch_page("call_eval/ui/pages/revue.py")
    at.query_params["appel"] = str(exam.other_recording.id)
    at.run()
    assert not at.exception
    assert any("Accès refusé" in e.value for e in at.error)
    assert not [s for s in at.segmented_control if (s.key or "").startswith("tick-")]
    at.query_params["appel"] = str(exam.recording.id)  # their own candidate opens
    at.run()
    assert at.title[0].value == "Revue — Jeanne Martin"


def test_an_outsider_juror_cannot_open_the_session_or_its_deliberation(db, exam) -> None:
    at = _app(db, exam.outsider)
    at.switch_page("call_eval/ui/pages/sessions.py")
    at.query_params["session"] = str(exam.session.id)
    at.run()
    assert any("pas membre du jury" in e.value for e in at.error)
    assert "Jeanne Martin" not in _texts(at)
    at.switch_page("call_eval/ui/pages/deliberation.py")
    at.query_params["candidat"] = str(exam.candidate.id)
    at.run()
    assert any("Accès refusé" in e.value for e in at.error)


def test_the_deliberation_waits_for_the_jurors_own_grid(db, exam) -> None:
    at = _app(db, exam.juror_b)
    at.switch_page("call_eval/ui/pages/deliberation.py")
    at.query_params["candidat"] = str(exam.candidate.id)
    at.run()
    assert any("Validez d'abord votre propre grille" in e.value for e in at.error)
    score_all(db, exam.juror_b, exam.recording.id)
    at.query_params["candidat"] = str(exam.candidate.id)
    at.run()
    assert at.title[0].value == "Délibération — Jeanne Martin"
    assert [s.key for s in at.segmented_control][:1] == [f"final-{exam.candidate.id}-C01"]


def test_another_manager_reads_the_session_but_gets_no_controls(db, exam) -> None:
    def session_page(user: User) -> AppTest:
        at = _app(db, user)
        at.query_params["session"] = str(exam.session.id)
        at.run()
        assert not at.exception
        return at

    def controls(at: AppTest, tab: str) -> tuple[set[str], set[str]]:
        at.query_params["onglet"] = tab  # the open tab is kept in the URL
        at.run()
        return {e.label for e in at.expander}, {b.key for b in at.button if b.key}

    own = session_page(exam.manager)
    other = session_page(exam.other_manager)
    assert own.title[0].value == other.title[0].value == exam.session.short_label
    assert "Inscrire un candidat" in controls(own, "Candidats")[0]
    assert "Inscrire un candidat" not in controls(other, "Candidats")[0]
    assert "Ajouter un membre du jury" in controls(own, "Jury")[0]
    assert "Ajouter un membre du jury" not in controls(other, "Jury")[0]
    assert "close_session" in controls(own, "Documents")[1]
    assert "close_session" not in controls(other, "Documents")[1]


def test_an_expired_session_sends_back_to_sign_in(db, exam) -> None:
    at = _app(db, exam.juror_a)
    assert at.title[0].value == "Appels"
    from sqlalchemy import text

    with db.engine.begin() as c:
        c.execute(text("UPDATE auth_sessions SET expires_at = '2000-01-01 00:00:00'"))
    at.run()
    assert at.title[0].value == "Connexion"
    assert any("expiré" in w.value for w in at.warning)


def test_sign_out_revokes_the_token(db, exam) -> None:
    at = _app(db, exam.manager)
    token = at.session_state["auth_token"]
    at.button(key="sign_out").click().run()
    assert at.title[0].value == "Connexion"
    assert store.resolve_session(db, token) is None
    assert "Vous êtes déconnecté(e)." in [i.value for i in at.info]


def test_store_errors_in_pages_are_french_messages_not_tracebacks(db, exam) -> None:
    at = _app(db, exam.manager)
    at.query_params["session"] = "999"
    at.run()
    assert not at.exception
    assert any("Session n° 999 introuvable" in e.value for e in at.error)
    with pytest.raises(CallEvalError):
        store.get_session(db, SYSTEM, 999)


def test_the_accounts_page_creates_an_account_with_a_one_time_password(db, exam) -> None:
    at = _app(db, exam.admin)
    at.switch_page("call_eval/ui/pages/comptes.py").run()
    assert at.title[0].value == "Comptes"
    at.text_input(key="account_name").input("Bruno Formateur")
    at.text_input(key="account_username").input("bruno.f")
    at.multiselect(key="account_roles").select("trainer")
    next(b for b in at.button if b.label == "Créer le compte").click().run()
    assert not at.exception
    [shown] = at.code
    created = store.sign_in(db, "bruno.f", shown.value)
    assert created.user.roles == {"trainer"} and created.user.must_change_password
    trainer_view = _app(db, exam.trainer)  # a trainer may only create trainee accounts
    trainer_view.switch_page("call_eval/ui/pages/comptes.py").run()
    assert trainer_view.multiselect(key="account_roles").options == ["Stagiaire"]


def test_the_annual_review_page(db, exam) -> None:
    score_all(db, exam.juror_a, exam.recording.id)
    score_all(db, exam.juror_b, exam.recording.id)
    store.adopt_unanimous(db, exam.manager, exam.candidate.id)
    store.record_decision(db, exam.manager, exam.candidate.id)
    at = _app(db, exam.trainer)
    assert at.title[0].value == "Calibration des grilles"  # the trainer's landing page
    at.switch_page("call_eval/ui/pages/bilan.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Bilan annuel"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Sessions"] == "2" and metrics["Taux de réussite"] == "100 %"
    assert "Jeanne Martin" not in _texts(at)  # aggregates only


def test_the_calls_journal_hides_the_other_jurors_ticks_until_validation(db, exam) -> None:
    ev_a = store.open_evaluation(db, exam.juror_a, exam.recording.id)
    store.set_tick(db, exam.juror_a, ev_a.id, "C01", "non_acquis")
    seen_by_b = store.audit_entries(db, exam.juror_b, recording_id=exam.recording.id)
    assert not [e for e in seen_by_b if e.juror_id == exam.juror_a.juror_id]
    score_all(db, exam.juror_b, exam.recording.id)
    seen_after = store.audit_entries(db, exam.juror_b, recording_id=exam.recording.id)
    assert [e.criterion_id for e in seen_after
            if e.juror_id == exam.juror_a.juror_id and e.action == "item.tick"] == ["C01"]  # fmt: skip
    manager_view = store.audit_entries(db, exam.manager, recording_id=exam.recording.id)
    assert any(e.juror_id == exam.juror_a.juror_id for e in manager_view)
    _refused(lambda: store.audit_entries(db, exam.manager))  # the whole journal: admins
    assert store.audit_entries(db, exam.admin)
