"""Accounts and sign-in sessions: users, roles, passwords (argon2id), tokens that expire.

- Accounts are created by an administrator (any role), a session manager (juror accounts)
  or a trainer (trainee accounts); the first administrator by the command line
  (:func:`call_eval.auth.create_admin`). An account created by someone else gets a
  random one-time password, shown once, to be changed at the first sign-in.
- :func:`sign_in` checks the password (same timing for unknown accounts), locks the account
  for 15 minutes after 5 failures in a row, and returns a random token; only its SHA-256
  is stored. :func:`resolve_session` turns a token back into the :class:`User` while the
  session lasts (``CALL_EVAL_SESSION_HOURS``, default 8) and is neither revoked nor the
  account deactivated.
- A juror account points at its ``jurors`` row (the identity of their evaluations).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from call_eval import auth
from call_eval.auth import (
    ADMIN,
    JUROR,
    SYSTEM,
    AccessDenied,
    AuthError,
    User,
)
from call_eval.store import access
from call_eval.store.db import Database
from call_eval.store.models import (
    AuthSessionRow,
    JurorRow,
    UserRoleRow,
    UserRow,
    utcnow,
)
from call_eval.store.repo import StoreError, _audit, _clean_name, _utc

MAX_FAILED_SIGN_INS = 5
LOCK_DURATION = timedelta(minutes=15)
LAST_SEEN_EVERY = timedelta(minutes=5)
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,78}[a-z0-9]$")
_BAD_CREDENTIALS = "Identifiant ou mot de passe incorrect."


@dataclass(frozen=True)
class NewAccount:
    """A created account and, when generated, its one-time password (show it once)."""

    user: User
    password: str | None


@dataclass(frozen=True)
class AccountInfo:
    """One line of the accounts list (never the hash)."""

    user: User
    created_at: datetime
    last_login_at: datetime | None
    locked_until: datetime | None
    juror_name: str | None

    @property
    def locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > utcnow()


@dataclass(frozen=True)
class SignIn:
    user: User
    token: str
    expires_at: datetime


# --------------------------------------------------------------------------- helpers
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        roles=frozenset(r.role for r in row.roles),
        juror_id=row.juror_id,
        active=bool(row.active),
        must_change_password=bool(row.must_change_password),
    )


def normalize_username(username: str) -> str:
    text = str(username or "").strip().lower()
    if not _USERNAME.match(text):
        raise AuthError(
            f"Identifiant invalide « {username} » : 3 à 80 caractères, lettres minuscules sans "
            "accent, chiffres, point, tiret, tiret bas ou @ (ex. jeanne.martin)."
        )
    return text


def _user_row(s: Session, user_id: int) -> UserRow:
    row = s.get(UserRow, user_id)
    if row is None:
        raise StoreError(f"Compte n° {user_id} introuvable.")
    return row


def _check_may_handle(actor: User, row: UserRow) -> None:
    """Administrators handle every account; managers juror accounts; trainers trainees'."""
    access.check_active(actor)
    roles = {r.role for r in row.roles}
    if actor.is_system or ADMIN in actor.roles:
        return
    if roles and auth.may_grant(actor, roles):
        return
    raise AccessDenied("Accès refusé : ce compte n'est pas de ceux que votre rôle gère.")


def _active_admins(s: Session) -> int:
    return int(
        s.scalar(
            select(func.count(UserRow.id))
            .join(UserRoleRow, UserRoleRow.user_id == UserRow.id)
            .where(UserRoleRow.role == ADMIN, UserRow.active.is_(True))
        )
        or 0
    )


def _link_juror(s: Session, row: UserRow, actor: User, juror_id: int | None) -> None:
    """Point a juror account at its juror record (an unlinked one of the same name, or new)."""
    if juror_id is not None:
        juror = s.get(JurorRow, juror_id)
        if juror is None:
            raise StoreError(f"Juré n° {juror_id} introuvable.")
    else:
        name = _clean_name(row.display_name, "juré")
        juror = s.scalars(select(JurorRow).where(JurorRow.name == name)).first()
        if juror is None:
            juror = JurorRow(name=name, created_at=utcnow())
            s.add(juror)
            s.flush()
            _audit(s, actor=actor, action="juror.create", entity="juror", entity_id=juror.id,
                   juror_id=juror.id, after={"name": name})  # fmt: skip
    taken = s.scalars(
        select(UserRow).where(UserRow.juror_id == juror.id, UserRow.id != row.id)
    ).first()
    if taken is not None:
        raise StoreError(
            f"Le juré « {juror.name} » a déjà un compte ({taken.username}). Pour une autre "
            "personne du même nom, précisez le nom (ex. ajoutez l'initiale du second prénom)."
        )
    row.juror_id = juror.id


# --------------------------------------------------------------------------- accounts
def has_users(db: Database) -> bool:
    """Whether any account exists (the sign-in page explains how to create the first)."""
    with db.session() as s:
        return s.scalars(select(UserRow.id).limit(1)).first() is not None


def create_user(
    db: Database,
    actor: User,
    *,
    username: str,
    display_name: str,
    roles: Iterable[str],
    password: str | None = None,
    must_change_password: bool | None = None,
    juror_id: int | None = None,
) -> NewAccount:
    """Create an account. Without ``password`` a random one-time password is generated and
    returned (to hand over once); the user must change it at the first sign-in.

    A juror account is linked to ``juror_id`` or to the juror record of the same name
    (created when missing).
    """
    access.check_active(actor)
    wanted = auth.check_roles(roles)
    if not auth.may_grant(actor, wanted):
        raise AccessDenied(
            "Accès refusé : votre rôle ne permet pas de créer un compte avec ce(s) rôle(s) ("
            + ", ".join(auth.ROLE_LABELS[r] for r in sorted(wanted))
            + ")."
        )
    name = normalize_username(username)
    shown = _clean_name(display_name, "titulaire du compte")
    generated = None
    if password is None:
        generated = password = auth.generate_password()
        must_change = True if must_change_password is None else must_change_password
    else:
        auth.check_password_strength(password, username=name)
        must_change = (
            (not actor.is_system) if must_change_password is None else must_change_password
        )
    password_hash = auth.hash_password(password)
    with db.session() as s:
        if s.scalars(select(UserRow.id).where(UserRow.username == name)).first() is not None:
            raise StoreError(f"L'identifiant « {name} » est déjà utilisé : choisissez-en un autre.")
        now = utcnow()
        row = UserRow(
            username=name,
            display_name=shown,
            password_hash=password_hash,
            active=True,
            must_change_password=must_change,
            failed_logins=0,
            created_at=now,
            created_by=actor.display_name,
            password_changed_at=now,
        )
        row.roles = [UserRoleRow(role=r) for r in sorted(wanted)]
        s.add(row)
        s.flush()
        if JUROR in wanted:
            _link_juror(s, row, actor, juror_id)
        _audit(
            s,
            actor=actor,
            action="user.create",
            entity="user",
            entity_id=row.id,
            juror_id=row.juror_id,
            after={"username": name, "display_name": shown, "roles": sorted(wanted)},
        )
        try:
            s.commit()
        except IntegrityError as exc:
            s.rollback()
            raise StoreError(
                f"L'identifiant « {name} » est déjà utilisé : choisissez-en un autre."
            ) from exc
        s.refresh(row)
        return NewAccount(user=_user(row), password=generated)


def get_user(db: Database, actor: User, user_id: int) -> User:
    with db.session() as s:
        row = _user_row(s, user_id)
        if actor.id != row.id:
            _check_may_handle(actor, row)
        return _user(row)


def list_users(db: Database, actor: User) -> list[User]:
    return [info.user for info in list_accounts(db, actor)]


def list_accounts(db: Database, actor: User) -> list[AccountInfo]:
    """Accounts ``actor`` handles: all (administrator), juror accounts (manager), trainee
    accounts (trainer)."""
    access.check_active(actor)
    if not (actor.is_system or actor.can("users.manage") or actor.can("jurors.manage")
            or actor.can("trainees.manage")):  # fmt: skip
        raise AccessDenied("Accès refusé : la liste des comptes est réservée aux gestionnaires.")
    with db.session() as s:
        rows = s.scalars(select(UserRow).order_by(UserRow.display_name)).all()
        jurors = {j.id: j.name for j in s.scalars(select(JurorRow))}
        out = []
        for row in rows:
            try:
                _check_may_handle(actor, row)
            except AccessDenied:
                continue
            out.append(
                AccountInfo(
                    user=_user(row),
                    created_at=_utc(row.created_at),  # type: ignore[arg-type]
                    last_login_at=_utc(row.last_login_at),
                    locked_until=_utc(row.locked_until),
                    juror_name=jurors.get(row.juror_id) if row.juror_id else None,
                )
            )
        return out


def set_roles(db: Database, actor: User, user_id: int, roles: Iterable[str]) -> User:
    """Change an account's roles (administrators). The last active administrator stays one."""
    auth.require(actor, "users.manage")
    wanted = auth.check_roles(roles)
    with db.session() as s:
        row = _user_row(s, user_id)
        before = sorted(r.role for r in row.roles)
        if ADMIN in before and ADMIN not in wanted and row.active and _active_admins(s) <= 1:
            raise StoreError(
                "Impossible de retirer le rôle d'administrateur au dernier administrateur actif."
            )
        row.roles = [UserRoleRow(role=r) for r in sorted(wanted)]
        s.flush()
        if JUROR in wanted and row.juror_id is None:
            _link_juror(s, row, actor, None)
        _audit(s, actor=actor, action="user.roles", entity="user", entity_id=row.id,
               before={"roles": before}, after={"roles": sorted(wanted)})  # fmt: skip
        s.commit()
        s.refresh(row)
        return _user(row)


def set_active(db: Database, actor: User, user_id: int, active: bool) -> User:
    """Deactivate (sessions closed at once) or reactivate an account (administrators)."""
    auth.require(actor, "users.manage")
    with db.session() as s:
        row = _user_row(s, user_id)
        if not active and row.id == actor.id:
            raise StoreError("Vous ne pouvez pas désactiver votre propre compte.")
        if not active and ADMIN in {r.role for r in row.roles} and _active_admins(s) <= 1:
            raise StoreError("Impossible de désactiver le dernier administrateur actif.")
        if bool(row.active) == bool(active):
            return _user(row)
        row.active = bool(active)
        if not active:
            _revoke_sessions(s, row.id)
        _audit(s, actor=actor, action="user.activate" if active else "user.deactivate",
               entity="user", entity_id=row.id, after={"active": bool(active)})  # fmt: skip
        s.commit()
        s.refresh(row)
        return _user(row)


def reset_password(db: Database, actor: User, user_id: int) -> str:
    """A new one-time password for an account ``actor`` handles; returned once, to be
    changed at the next sign-in. Open sessions are closed and the account unlocked."""
    with db.session() as s:
        row = _user_row(s, user_id)
        _check_may_handle(actor, row)
        if row.id == actor.id:
            raise StoreError(
                "Pour votre propre compte, utilisez « Mon compte » → changer le mot de passe."
            )
        password = auth.generate_password()
        row.password_hash = auth.hash_password(password)
        row.must_change_password = True
        row.failed_logins = 0
        row.locked_until = None
        row.password_changed_at = utcnow()
        _revoke_sessions(s, row.id)
        _audit(s, actor=actor, action="user.password_reset", entity="user", entity_id=row.id)
        s.commit()
        return password


def set_password_at_console(db: Database, username: str, password: str) -> User:
    """Recovery at the machine (command line): set a chosen password, unlock, close sessions."""
    name = normalize_username(username)
    auth.check_password_strength(password, username=name)
    with db.session() as s:
        row = s.scalars(select(UserRow).where(UserRow.username == name)).first()
        if row is None:
            raise StoreError(f"Aucun compte « {name} ». Voir : call-eval admin list-users")
        row.password_hash = auth.hash_password(password)
        row.must_change_password = False
        row.failed_logins = 0
        row.locked_until = None
        row.active = True
        row.password_changed_at = utcnow()
        _revoke_sessions(s, row.id)
        _audit(s, actor=SYSTEM, action="user.password_reset", entity="user", entity_id=row.id,
               note="en ligne de commande")  # fmt: skip
        s.commit()
        s.refresh(row)
        return _user(row)


def change_password(
    db: Database, actor: User, current: str, new: str, *, keep_token: str | None = None
) -> User:
    """The signed-in user changes their own password (other sessions are closed)."""
    access.check_active(actor)
    with db.session() as s:
        row = _user_row(s, actor.id)
        if not auth.verify_password(row.password_hash, current):
            raise AuthError("Mot de passe actuel incorrect.")
        if new == current:
            raise AuthError("Le nouveau mot de passe doit être différent de l'actuel.")
        auth.check_password_strength(new, username=row.username)
        row.password_hash = auth.hash_password(new)
        row.must_change_password = False
        row.password_changed_at = utcnow()
        _revoke_sessions(s, row.id, keep=_token_hash(keep_token) if keep_token else None)
        _audit(s, actor=actor, action="user.password_change", entity="user", entity_id=row.id)
        s.commit()
        s.refresh(row)
        return _user(row)


# --------------------------------------------------------------------------- sign-in
def authenticate(db: Database, username: str, password: str) -> User:
    """The account for these credentials, or :class:`AuthError` (one message for unknown
    accounts and wrong passwords; a lock after repeated failures)."""
    try:
        name = normalize_username(username)
    except AuthError:
        auth.verify_password(auth.dummy_hash(), password or "")
        raise AuthError(_BAD_CREDENTIALS) from None
    with db.session() as s:
        row = s.scalars(select(UserRow).where(UserRow.username == name)).first()
        if row is None:
            auth.verify_password(auth.dummy_hash(), password or "")
            raise AuthError(_BAD_CREDENTIALS)
        now = utcnow()
        locked_until = _utc(row.locked_until)
        if locked_until is not None and locked_until > now:
            minutes = max(1, int((locked_until - now).total_seconds() // 60) + 1)
            raise AuthError(
                "Compte bloqué après plusieurs essais infructueux : réessayez dans "
                f"{minutes} min, ou demandez à un administrateur de réinitialiser le mot de passe."
            )
        if not auth.verify_password(row.password_hash, password or ""):
            row.failed_logins = int(row.failed_logins or 0) + 1
            note = None
            if row.failed_logins >= MAX_FAILED_SIGN_INS:
                row.locked_until = now + LOCK_DURATION
                row.failed_logins = 0
                note = f"compte bloqué {int(LOCK_DURATION.total_seconds() // 60)} min"
            _audit(s, actor=row.username, action="auth.fail", entity="user", entity_id=row.id,
                   note=note)  # fmt: skip
            s.commit()
            raise AuthError(_BAD_CREDENTIALS)
        if not row.active:
            raise AuthError("Compte désactivé : adressez-vous à un administrateur.")
        row.failed_logins = 0
        row.locked_until = None
        row.last_login_at = now
        if auth.needs_rehash(row.password_hash or ""):
            row.password_hash = auth.hash_password(password)
        s.commit()
        s.refresh(row)
        return _user(row)


def start_session(db: Database, user: User) -> SignIn:
    """Open a signed-in session for ``user`` (after :func:`authenticate`)."""
    token = auth.new_token()
    now = utcnow()
    expires = now + auth.session_lifetime()
    with db.session() as s:
        s.add(
            AuthSessionRow(
                token_hash=_token_hash(token),
                user_id=user.id,
                created_at=now,
                expires_at=expires,
                last_seen_at=now,
            )
        )
        _audit(s, actor=user, action="auth.login", entity="user", entity_id=user.id)
        s.commit()
    return SignIn(user=user, token=token, expires_at=expires)


def sign_in(db: Database, username: str, password: str) -> SignIn:
    """Check the credentials and open a session: the token to keep in the browser."""
    return start_session(db, authenticate(db, username, password))


def resolve_session(db: Database, token: str | None) -> User | None:
    """The signed-in user for ``token`` while the session is valid; None otherwise."""
    if not token:
        return None
    with db.session() as s:
        row = s.scalars(
            select(AuthSessionRow).where(AuthSessionRow.token_hash == _token_hash(token))
        ).first()
        if row is None or row.revoked_at is not None:
            return None
        now = utcnow()
        if _utc(row.expires_at) <= now:  # type: ignore[operator]
            return None
        user = s.get(UserRow, row.user_id)
        if user is None or not user.active:
            return None
        seen = _utc(row.last_seen_at)
        if seen is None or now - seen > LAST_SEEN_EVERY:
            row.last_seen_at = now
            s.commit()
        return _user(user)


def session_expiry(db: Database, token: str | None) -> datetime | None:
    """When the session of ``token`` ends (None when it is unknown or over)."""
    if not token:
        return None
    with db.session() as s:
        row = s.scalars(
            select(AuthSessionRow).where(AuthSessionRow.token_hash == _token_hash(token))
        ).first()
        if row is None or row.revoked_at is not None:
            return None
        expires = _utc(row.expires_at)
        return expires if expires is not None and expires > utcnow() else None


def end_session(db: Database, token: str | None) -> None:
    """Sign out: the token stops working at once."""
    if not token:
        return
    with db.session() as s:
        row = s.scalars(
            select(AuthSessionRow).where(AuthSessionRow.token_hash == _token_hash(token))
        ).first()
        if row is None or row.revoked_at is not None:
            return
        row.revoked_at = utcnow()
        user = s.get(UserRow, row.user_id)
        _audit(s, actor=user.display_name if user else "?", action="auth.logout", entity="user",
               entity_id=row.user_id)  # fmt: skip
        s.commit()


def _revoke_sessions(s: Session, user_id: int, keep: str | None = None) -> None:
    now = utcnow()
    for row in s.scalars(
        select(AuthSessionRow).where(
            AuthSessionRow.user_id == user_id, AuthSessionRow.revoked_at.is_(None)
        )
    ):
        if keep is not None and row.token_hash == keep:
            continue
        row.revoked_at = now
