"""Helpers for the tests of accounts, exam sessions and access control.

:func:`build_exam` makes a small, realistic exam in a fresh store: an administrator, two
session managers, three jurors (two sit on the session, one on another session), a trainer
and two trainees, a session with its jury and one candidate whose call is the stored sample
analysis (``tests/data/analysis_sample.json``: no speech recognition runs), and a practice
call owned by the first trainee. Accounts have known passwords and no forced change.

Password hashing stays argon2id but with light parameters (:func:`quick_hashing`), so that
creating a dozen accounts takes milliseconds instead of seconds.
"""

from __future__ import annotations

import json
import math
import wave
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from call_eval import store
from call_eval.auth import SYSTEM, User

SAMPLE = Path(__file__).parent / "data" / "analysis_sample.json"
PASSWORD = "phrase de passe du test"


def quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with 1 pass over 8 MiB (the defaults take ~0.3 s per hash on 2 cores)."""
    monkeypatch.setenv("CALL_EVAL_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("CALL_EVAL_ARGON2_MEMORY_KIB", "8192")


def sample_analysis() -> dict:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def tone_wav(path: Path, seconds: float = 2.0, rate: int = 8000, pitch: float = 330.0) -> Path:
    """A small 8-bit PCM wav; ``pitch`` changes its content (and so its hash)."""
    n = int(rate * seconds)
    frames = bytes(int(128 + 50 * math.sin(2 * math.pi * pitch * i / rate)) for i in range(n))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


def account(db: store.Database, username: str, name: str, roles: list[str]) -> User:
    return store.create_user(
        db,
        SYSTEM,
        username=username,
        display_name=name,
        roles=roles,
        password=PASSWORD,
        must_change_password=False,
    ).user


def refresh(db: store.Database, user: User) -> User:
    """The user as the store sees them now (roles, juror link)."""
    return store.get_user(db, SYSTEM, user.id)


def import_call(
    db: store.Database, tmp_path: Path, candidate: str, *, pitch: float = 330.0, seconds=2.0
) -> store.ImportResult:
    analysis = sample_analysis()
    audio = tone_wav(tmp_path / f"call_{pitch:.0f}.wav", seconds=seconds, pitch=pitch)
    analysis["call"]["sha256"] = store.file_sha256(audio)
    return store.import_analysis(db, analysis, audio, candidate=candidate)


@dataclass
class Exam:
    db: store.Database
    admin: User
    manager: User
    other_manager: User
    juror_a: User  # FILEA representative of the session
    juror_b: User  # professional of the session
    outsider: User  # juror of another session only
    trainer: User
    trainee: User
    other_trainee: User
    session: store.ExamSession
    other_session: store.ExamSession
    candidate: store.SessionCandidate
    recording: store.Recording
    other_recording: store.Recording
    practice: store.Recording


def build_exam(db: store.Database, tmp_path: Path, *, session_date: date | None = None) -> Exam:
    day = session_date or date(2027, 3, 12)
    admin = account(db, "admin", "Alice Admin", ["admin"])
    manager = account(db, "claire.morel", "Claire Morel", ["manager"])
    other_manager = account(db, "marc.petit", "Marc Petit", ["manager"])
    juror_a = account(db, "paul.durand", "Paul Durand", ["juror"])
    juror_b = account(db, "anne.roux", "Anne Roux", ["juror"])
    outsider = account(db, "luc.martin", "Luc Martin", ["juror"])
    trainer = account(db, "fanny.formatrice", "Fanny Formatrice", ["trainer"])
    trainee = account(db, "sam.stagiaire", "Sam Stagiaire", ["trainee"])
    other_trainee = account(db, "lea.stagiaire", "Léa Stagiaire", ["trainee"])
    for juror, years in ((juror_a, 8), (juror_b, 5), (outsider, 4)):
        store.update_juror(
            db, manager, juror.juror_id, organisation="Centre", years_experience=years,
            left_trade_on=None, briefing_on=date(day.year, 1, 15),
        )  # fmt: skip
    first = import_call(db, tmp_path, "Jeanne Martin", pitch=330.0)
    other = import_call(db, tmp_path, "Karim Benali", pitch=440.0)
    session = store.create_session(
        db,
        manager,
        session_date=day,
        place="Lyon — centre FILEA",
        epreuves={
            "mise_en_situation": {"heure": "09:00", "salle": "A12"},
            "entretien_technique": {"heure": "11:00", "salle": "A14"},
        },
    )
    store.add_jury_member(db, manager, session.id, juror_a.juror_id, "filea")
    store.add_jury_member(db, manager, session.id, juror_b.juror_id, "professionnel")
    candidate = store.register_candidate(
        db, manager, session.id, "Jeanne Martin", recording_id=first.recording.id
    )
    other_session = store.create_session(
        db, other_manager, session_date=day, place="Grenoble — autre centre"
    )
    store.add_jury_member(db, other_manager, other_session.id, outsider.juror_id, "professionnel")
    store.register_candidate(
        db, other_manager, other_session.id, "Karim Benali", recording_id=other.recording.id
    )
    practice_audio = tone_wav(tmp_path / "practice.wav", pitch=550.0)
    practice = store.add_recording(db, practice_audio, actor=trainee, purpose=store.PRACTICE)
    return Exam(
        db=db,
        admin=admin,
        manager=manager,
        other_manager=other_manager,
        juror_a=refresh(db, juror_a),
        juror_b=refresh(db, juror_b),
        outsider=refresh(db, outsider),
        trainer=trainer,
        trainee=trainee,
        other_trainee=other_trainee,
        session=store.get_session(db, manager, session.id),
        other_session=store.get_session(db, other_manager, other_session.id),
        candidate=candidate,
        recording=first.recording,
        other_recording=other.recording,
        practice=practice,
    )


def score_all(
    db: store.Database, juror: User, recording_id: int, overrides: dict[str, str] | None = None
) -> store.Evaluation:
    """The juror ticks every criterion (suggestion, else acquis), then validates."""
    overrides = overrides or {}
    ev = store.open_evaluation(db, juror, recording_id)
    for mark in ev.marks:
        tick = overrides.get(
            mark.criterion_id, mark.suggested if mark.suggested in store.TICKS else "acquis"
        )
        store.set_tick(db, juror, ev.id, mark.criterion_id, tick)
    return store.validate_evaluation(db, juror, ev.id)
