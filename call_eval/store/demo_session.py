"""The demo command's session: a first-time user signs in and reviews the demo call.

:func:`ensure_demo_session` puts a recording into a « Session de démonstration » with a
demo juror account and a demo session-manager account. Their passwords are generated at
random on every call (never a fixed default) and returned once, for the terminal::

    creds = ensure_demo_session(db, recording_id)
    print(demo_credentials_text(creds, "http://localhost:8501"))

A second call reuses the session and the accounts and gives them new passwords (the
earlier ones stop working and their open sessions close).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from call_eval.auth import (
    JUROR,
    MANAGER,
    SYSTEM,
    TRAINEE,
    TRAINER,
    generate_password,
    hash_password,
)
from call_eval.store import auth as store_auth
from call_eval.store import sessions
from call_eval.store.db import Database
from call_eval.store.models import (
    ExamSessionRow,
    JurorRow,
    SessionCandidateRow,
    SessionJurorRow,
    UserRow,
    utcnow,
)
from call_eval.store.repo import _audit, _recording_row

DEMO_TITLE = "Session de démonstration"
DEMO_PLACE = "Démonstration (ce poste)"
DEMO_JUROR = ("jure.demo", "Juré démo (Paul Durand)")
DEMO_FILEA = "Représentant FILEA (démo)"
DEMO_MANAGER = ("responsable.demo", "Responsable démo (Claire Morel)")
DEMO_TRAINER = ("formateur.demo", "Formateur démo (Fanny Leroy)")
DEMO_TRAINEE = ("stagiaire.demo", "Stagiaire démo (Sam Girard)")


@dataclass(frozen=True)
class DemoCredentials:
    session_id: int
    session_candidate_id: int | None
    juror_username: str
    juror_password: str
    manager_username: str
    manager_password: str
    trainer_username: str = DEMO_TRAINER[0]
    trainer_password: str = ""
    trainee_username: str = DEMO_TRAINEE[0]
    trainee_password: str = ""


def _account(db: Database, username: str, display_name: str, role: str) -> tuple[int, str]:
    """The demo account (created if missing) with a fresh random password."""
    password = generate_password()
    with db.session() as s:
        row = s.scalars(select(UserRow).where(UserRow.username == username)).first()
    if row is None:
        created = store_auth.create_user(
            db,
            SYSTEM,
            username=username,
            display_name=display_name,
            roles=[role],
            password=password,
            must_change_password=False,
        )
        return created.user.id, password
    with db.session() as s:
        row = s.get(UserRow, row.id)
        assert row is not None
        row.password_hash = hash_password(password)
        row.must_change_password = False
        row.active = True
        row.failed_logins = 0
        row.locked_until = None
        row.password_changed_at = utcnow()
        if role not in {r.role for r in row.roles}:
            store_auth.set_roles(db, SYSTEM, row.id, [*(r.role for r in row.roles), role])
        store_auth._revoke_sessions(s, row.id)
        _audit(s, actor=SYSTEM, action="user.password_reset", entity="user", entity_id=row.id,
               note="démonstration")  # fmt: skip
        s.commit()
        return row.id, password


def ensure_demo_session(db: Database, recording_id: int) -> DemoCredentials:
    """Make ``recording_id`` reviewable by a demo juror; return the one-time credentials."""
    today = datetime.now(UTC).date()
    manager_id, manager_password = _account(db, *DEMO_MANAGER, MANAGER)
    juror_user_id, juror_password = _account(db, *DEMO_JUROR, JUROR)
    _, trainer_password = _account(db, *DEMO_TRAINER, TRAINER)
    _, trainee_password = _account(db, *DEMO_TRAINEE, TRAINEE)
    with db.session() as s:
        recording = _recording_row(s, recording_id)
        juror_id = s.get(UserRow, juror_user_id).juror_id  # type: ignore[union-attr]
        holder = s.scalars(
            select(SessionCandidateRow).where(SessionCandidateRow.recording_id == recording.id)
        ).first()
        session_id = holder.session_id if holder is not None else None
        if session_id is None:
            open_demo = s.scalars(
                select(ExamSessionRow)
                .where(ExamSessionRow.title == DEMO_TITLE, ExamSessionRow.status != "close")
                .order_by(ExamSessionRow.id.desc())
            ).first()
            session_id = open_demo.id if open_demo is not None else None
        candidate_id = recording.candidate_id
    if session_id is None:
        session_id = sessions.create_session(
            db,
            SYSTEM,
            session_date=today,
            place=DEMO_PLACE,
            title=DEMO_TITLE,
            manager_user_id=manager_id,
            epreuves={
                "mise_en_situation": {"heure": "09:00", "salle": "Salle 1"},
                "entretien_technique": {"heure": "10:00", "salle": "Salle 1"},
            },
        ).id
    with db.session() as s:
        if juror_id is not None:
            juror = s.get(JurorRow, juror_id)
            if juror is not None and juror.years_experience is None:
                juror.years_experience = 6
                juror.organisation = "Centre de relation client (démo)"
                juror.briefing_on = today - timedelta(days=7)
            if s.get(SessionJurorRow, {"session_id": session_id, "juror_id": juror_id}) is None:
                s.add(SessionJurorRow(session_id=session_id, juror_id=juror_id,
                                      quality="professionnel", added_at=utcnow()))  # fmt: skip
        filea = s.scalars(select(JurorRow).where(JurorRow.name == DEMO_FILEA)).first()
        if filea is None:
            filea = JurorRow(name=DEMO_FILEA, created_at=utcnow(), years_experience=10,
                             organisation="FILEA", briefing_on=today - timedelta(days=7))  # fmt: skip
            s.add(filea)
            s.flush()
        if s.get(SessionJurorRow, {"session_id": session_id, "juror_id": filea.id}) is None:
            s.add(SessionJurorRow(session_id=session_id, juror_id=filea.id, quality="filea",
                                  added_at=utcnow()))  # fmt: skip
        s.commit()
    sc_id = None
    with db.session() as s:
        holder = s.scalars(
            select(SessionCandidateRow).where(SessionCandidateRow.recording_id == recording_id)
        ).first()
        sc_id = holder.id if holder is not None else None
    if sc_id is None:
        candidate = candidate_id if candidate_id is not None else "Candidat démo"
        sc_id = sessions.register_candidate(
            db, SYSTEM, session_id, candidate, recording_id=recording_id
        ).id
    return DemoCredentials(
        session_id=session_id,
        session_candidate_id=sc_id,
        juror_username=DEMO_JUROR[0],
        juror_password=juror_password,
        manager_username=DEMO_MANAGER[0],
        manager_password=manager_password,
        trainer_password=trainer_password,
        trainee_password=trainee_password,
    )


def demo_credentials_text(creds: DemoCredentials, url: str) -> str:
    """What the demo command prints (French): where to go and the one-time passwords."""
    return (
        f"\nApplication : {url}\n"
        "Comptes de démonstration (mots de passe tirés au hasard pour cette démonstration, "
        "affichés une seule fois) :\n"
        f"  Juré                    identifiant {creds.juror_username:<18} "
        f"mot de passe {creds.juror_password}\n"
        f"  Responsable de session  identifiant {creds.manager_username:<18} "
        f"mot de passe {creds.manager_password}\n"
        f"  Formateur               identifiant {creds.trainer_username:<18} "
        f"mot de passe {creds.trainer_password}\n"
        f"  Stagiaire               identifiant {creds.trainee_username:<18} "
        f"mot de passe {creds.trainee_password}\n"
        "Connectez-vous comme juré pour noter l'appel de démonstration ; comme stagiaire pour "
        "déposer un appel d'entraînement (par exemple call_eval/data/demo/demo_call.ogg) et "
        "vous auto-évaluer ; comme formateur pour calibrer la grille. Pour une vraie "
        "session, créez d'abord un administrateur : call-eval admin create-admin "
        "--username VOTRE_IDENTIFIANT\n"
    )
