"""Who may do what: roles, permissions, password hashing, sign-in sessions' lifetime.

Roles (a person may hold several):

| role      | French                   | may                                                    |
|-----------|--------------------------|--------------------------------------------------------|
| admin     | Administrateur           | manage accounts; everything a session manager may     |
| manager   | Responsable de session   | create and run sessions, jury, candidates, documents, |
|           |                          | appeals, dysfunctions; juror accounts; annual review  |
| juror     | Juré                     | score the candidates of *their* sessions, deliberate  |
| trainer   | Formateur                | trainees' practice calls, calibration, annual review  |
| trainee   | Stagiaire                | *their own* practice calls only                        |

:data:`PERMISSIONS` says which roles hold a permission; object-level rules (a juror and the
sessions they sit on, a trainee and their own calls, the manager of a session) are checked
by the store (:mod:`call_eval.store.access`), so a page cannot forget them.

Passwords are hashed with argon2id (``argon2-cffi``; the library's RFC 9106 defaults,
tunable for small servers with ``CALL_EVAL_ARGON2_TIME_COST`` and
``CALL_EVAL_ARGON2_MEMORY_KIB``). Sign-in sessions last ``CALL_EVAL_SESSION_HOURS`` hours
(default 8). There is no default account or password: the first administrator is created
on the command line::

    call-eval admin create-admin --username admin            # asks for the password
    call-eval admin create-admin --username admin --password-file secret.txt
    call-eval admin reset-password --username admin          # recovery, at the machine
    call-eval admin list-users

(:func:`add_admin_command` registers that ``admin`` command on the CLI's parser;
:func:`cli_main` runs it on its own; the store is imported lazily.)
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .errors import CallEvalError, ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from .store import Database

ADMIN = "admin"
MANAGER = "manager"
JUROR = "juror"
TRAINER = "trainer"
TRAINEE = "trainee"
ROLES = (ADMIN, MANAGER, JUROR, TRAINER, TRAINEE)
SYSTEM_ROLE = "system"
ROLE_LABELS = {
    ADMIN: "Administrateur",
    MANAGER: "Responsable de session",
    JUROR: "Juré",
    TRAINER: "Formateur",
    TRAINEE: "Stagiaire",
    SYSTEM_ROLE: "Système",
}

PERMISSIONS: dict[str, frozenset[str]] = {
    # accounts
    "users.manage": frozenset({ADMIN}),
    "jurors.manage": frozenset({ADMIN, MANAGER}),  # juror records, eligibility, accounts
    "trainees.manage": frozenset({ADMIN, TRAINER}),  # trainee accounts
    # exam sessions (object rule: only the session's manager, or an administrator, changes it)
    "sessions.create": frozenset({ADMIN, MANAGER}),
    "sessions.read_all": frozenset({ADMIN, MANAGER}),
    "exam_calls.manage": frozenset({ADMIN, MANAGER}),  # upload, attach, see every exam call
    # scoring (object rule: a juror scores the candidates of the sessions they sit on)
    "evaluations.score": frozenset({JUROR}),
    # yearly review (aggregates only)
    "review.read": frozenset({ADMIN, MANAGER, TRAINER}),
    # training (object rule: a trainee sees their own practice calls only)
    "practice.own": frozenset({TRAINEE}),
    "practice.read_all": frozenset({ADMIN, TRAINER}),
    "calibration.use": frozenset({ADMIN, TRAINER}),
}

# Which roles each role may give when creating an account.
GRANTABLE: dict[str, frozenset[str]] = {
    ADMIN: frozenset(ROLES),
    MANAGER: frozenset({JUROR}),
    TRAINER: frozenset({TRAINEE}),
}

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
_COMMON_PASSWORDS = frozenset(
    {
        "motdepasse",
        "motdepasse1",
        "password",
        "password1",
        "password123",
        "azertyuiop",
        "qwertyuiop",
        "1234567890",
        "0123456789",
        "administrateur",
        "administrator",
        "changeme123",
        "bienvenue1",
        "soleil1234",
    }
)
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


class AuthError(CallEvalError):
    """Sign-in refused, weak password, expired session (message in French)."""

    exit_code = 9


class AccessDenied(CallEvalError):
    """The signed-in person's role does not allow this (message in French)."""

    exit_code = 10


@dataclass(frozen=True)
class User:
    """The acting person, as the store and the pages see them (never a password)."""

    id: int
    username: str
    display_name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    juror_id: int | None = None
    active: bool = True
    must_change_password: bool = False

    def has(self, *roles: str) -> bool:
        """True when the user holds at least one of ``roles`` (the system holds all)."""
        return self.is_system or any(r in self.roles for r in roles)

    def can(self, permission: str) -> bool:
        if self.is_system:
            return True
        allowed = PERMISSIONS.get(permission)
        if allowed is None:
            raise KeyError(
                f"unknown permission {permission!r}; valid: {', '.join(sorted(PERMISSIONS))}"
            )
        return bool(self.roles & allowed)

    @property
    def is_system(self) -> bool:
        return SYSTEM_ROLE in self.roles

    @property
    def is_admin(self) -> bool:
        return self.has(ADMIN)

    @property
    def roles_label(self) -> str:
        return ", ".join(ROLE_LABELS.get(r, r) for r in ROLES if r in self.roles) or "aucun rôle"


# The trusted local process (command line, background analyses, the demo command).
SYSTEM = User(id=0, username="systeme", display_name="système", roles=frozenset({SYSTEM_ROLE}))

_DENIED = {
    "users.manage": "Seul un administrateur gère les comptes.",
    "jurors.manage": "Seuls un responsable de session ou un administrateur gèrent les jurés.",
    "trainees.manage": "Seuls un formateur ou un administrateur gèrent les comptes stagiaires.",
    "sessions.create": "Seuls un responsable de session ou un administrateur créent une session.",
    "sessions.read_all": "Vous ne voyez que les sessions dont vous êtes membre du jury.",
    "exam_calls.manage": "Seuls un responsable de session ou un administrateur déposent et "
    "rattachent les appels d'examen.",
    "evaluations.score": "Seuls les jurés notent les appels.",
    "review.read": "Le bilan annuel est réservé aux responsables, formateurs et administrateurs.",
    "practice.own": "Seuls les stagiaires déposent des appels d'entraînement.",
    "practice.read_all": "Seuls les formateurs voient les entraînements des stagiaires.",
    "calibration.use": "La calibration est réservée aux formateurs et administrateurs.",
}


def require(user: User | None, permission: str) -> User:
    """``user`` if it holds ``permission``; otherwise :class:`AccessDenied` (French)."""
    if user is None:
        raise AccessDenied("Connectez-vous pour accéder à cette fonction.")
    if not user.active:
        raise AccessDenied("Compte désactivé : adressez-vous à un administrateur.")
    if not user.can(permission):
        raise AccessDenied(_DENIED.get(permission, "Accès refusé pour votre rôle."))
    return user


def check_roles(roles: Iterable[str]) -> frozenset[str]:
    """Validated role names (French error listing the valid ones)."""
    out = frozenset(str(r).strip() for r in roles if str(r).strip())
    unknown = sorted(out - set(ROLES))
    if unknown:
        raise AuthError(
            f"Rôle(s) inconnu(s) : {', '.join(unknown)}. Rôles valides : " + ", ".join(ROLES) + "."
        )
    if not out:
        raise AuthError("Donnez au moins un rôle au compte. Rôles valides : " + ", ".join(ROLES))
    return out


def may_grant(actor: User, roles: Iterable[str]) -> bool:
    """Whether ``actor`` may create (or reset) an account holding ``roles``."""
    wanted = frozenset(roles)
    if actor.is_system:
        return True
    grantable: set[str] = set()
    for role in actor.roles:
        grantable |= GRANTABLE.get(role, frozenset())
    return bool(wanted) and wanted <= grantable


# --------------------------------------------------------------------------- passwords
def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} n'est pas un entier ({low} à {high}).") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} hors limites : valeur attendue de {low} à {high}.")
    return value


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int) -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


def password_hasher() -> Any:
    """argon2id hasher: the library's defaults unless the environment tunes them."""
    from argon2 import PasswordHasher

    default = PasswordHasher()
    return _hasher(
        _env_int("CALL_EVAL_ARGON2_TIME_COST", default.time_cost, 1, 20),
        _env_int("CALL_EVAL_ARGON2_MEMORY_KIB", default.memory_cost, 8 * 1024, 4 * 1024 * 1024),
    )


def hash_password(password: str) -> str:
    return str(password_hasher().hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches the stored hash (never raises on a bad hash)."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    if not password_hash:
        return False
    try:
        return bool(password_hasher().verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's (re-hash on sign-in)."""
    try:
        return bool(password_hasher().check_needs_rehash(password_hash))
    except Exception:  # an unreadable hash: replace it at the next successful sign-in
        return True


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash to verify against for unknown accounts (same timing as a real check)."""
    return hash_password(secrets.token_urlsafe(16))


def check_password_strength(password: str, *, username: str | None = None) -> None:
    """Refuse short, common or obvious passwords (French message says why)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(
            f"Mot de passe trop court : au moins {MIN_PASSWORD_LENGTH} caractères "
            "(une phrase de passe est idéale)."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AuthError(f"Mot de passe trop long : {MAX_PASSWORD_LENGTH} caractères au plus.")
    lowered = password.lower()
    if len(set(password)) < 4:
        raise AuthError("Mot de passe trop simple : variez les caractères.")
    if lowered in _COMMON_PASSWORDS:
        raise AuthError("Mot de passe trop courant : choisissez-en un autre.")
    if username and username.lower() in lowered:
        raise AuthError("Le mot de passe ne doit pas contenir l'identifiant.")


def generate_password() -> str:
    """A random one-time password, easy to read aloud: ``k7mq-2xra-p9te-h4wz`` (~79 bits)."""
    groups = ["".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4)) for _ in range(4)]
    return "-".join(groups)


def session_lifetime() -> timedelta:
    """How long a sign-in lasts: ``CALL_EVAL_SESSION_HOURS`` (default 8, 0.05 to 168)."""
    raw = os.environ.get("CALL_EVAL_SESSION_HOURS", "").strip()
    if not raw:
        return timedelta(hours=8)
    try:
        hours = float(raw.replace(",", "."))
    except ValueError:
        raise ConfigError(
            f"CALL_EVAL_SESSION_HOURS={raw!r} n'est pas un nombre d'heures (ex. 8)."
        ) from None
    if not 0.05 <= hours <= 168:
        raise ConfigError("CALL_EVAL_SESSION_HOURS doit être compris entre 0,05 et 168 heures.")
    return timedelta(hours=hours)


def new_token() -> str:
    """A random sign-in token (only its SHA-256 is stored)."""
    return secrets.token_urlsafe(32)


# --------------------------------------------------------------------------- first admin
def create_admin(
    db: Database, username: str, password: str, *, display_name: str | None = None
) -> User:
    """Create an administrator account (the command line's ``create-admin``).

    The password is the one typed at the machine: checked for strength, hashed, and not
    to be changed at first sign-in.
    """
    from .store import auth as store_auth

    account = store_auth.create_user(
        db,
        SYSTEM,
        username=username,
        display_name=display_name or username,
        roles=[ADMIN],
        password=password,
        must_change_password=False,
    )
    return account.user


def _read_password(args: Any, *, confirm: bool) -> str:
    import getpass

    if args.password_file:
        try:
            with open(args.password_file, encoding="utf-8") as handle:
                return handle.readline().rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(
                f"Fichier de mot de passe illisible ({args.password_file}) : {exc.strerror}."
            ) from exc
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Mot de passe : ")
    if confirm:
        again = getpass.getpass("Confirmez le mot de passe : ")
        if first != again:
            raise AuthError("Les deux saisies du mot de passe diffèrent : recommencez.")
    return first


def configure_admin_parser(parser: Any) -> Any:
    """Add the ``create-admin``, ``reset-password`` and ``list-users`` sub-commands to an
    argparse parser (the ``admin`` command of ``call-eval``); ``func`` runs them."""
    sub = parser.add_subparsers(dest="admin_action", required=True)
    p = sub.add_parser("create-admin", help="create an administrator account")
    p.add_argument("--username", required=True, help="identifiant de connexion")
    p.add_argument("--name", help="nom affiché (par défaut : l'identifiant)")
    p.add_argument(
        "--password-file",
        help="lire le mot de passe dans ce fichier (1re ligne) plutôt qu'au clavier",
    )
    p = sub.add_parser("reset-password", help="set a new password for an account (recovery)")
    p.add_argument("--username", required=True)
    p.add_argument("--password-file")
    sub.add_parser("list-users", help="list the accounts and their roles")
    parser.set_defaults(func=run_admin)
    return parser


def add_admin_command(subparsers: Any) -> Any:
    """Register ``call-eval admin …`` on the CLI's sub-parsers (one line in cli.py)."""
    parser = subparsers.add_parser(
        "admin", help="accounts: create-admin, reset-password, list-users"
    )
    return configure_admin_parser(parser)


def run_admin(args: Any) -> int:
    """Run a parsed ``admin`` sub-command; user errors raise :class:`CallEvalError`."""
    from . import store
    from .store import auth as store_auth

    db = store.open_db()
    try:
        if args.admin_action == "create-admin":
            password = _read_password(args, confirm=True)
            user = create_admin(db, args.username, password, display_name=args.name)
            sys.stdout.write(
                f"Administrateur « {user.username} » créé. Connectez-vous à l'application "
                "avec cet identifiant.\n"
            )
        elif args.admin_action == "reset-password":
            password = _read_password(args, confirm=True)
            user = store_auth.set_password_at_console(db, args.username, password)
            sys.stdout.write(
                f"Mot de passe de « {user.username} » remplacé ; ses sessions ouvertes sont "
                "fermées et le compte est débloqué.\n"
            )
        else:
            users = store_auth.list_users(db, SYSTEM)
            if not users:
                sys.stdout.write(
                    "Aucun compte. Créez le premier : call-eval admin create-admin --username NOM\n"
                )
            for u in users:
                state = "actif" if u.active else "désactivé"
                sys.stdout.write(
                    f"{u.username:<24} {u.display_name:<28} {u.roles_label} ({state})\n"
                )
    finally:
        db.dispose()
    return 0


def cli_main(argv: Sequence[str] | None = None) -> int:
    """``call-eval admin …`` on its own: parse ``argv``, run, return the exit code (errors
    as one French line on stderr)."""
    import argparse

    parser = configure_admin_parser(
        argparse.ArgumentParser(
            prog="call-eval admin",
            description="Comptes de l'application (à lancer sur le serveur).",
        )
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        return run_admin(args)
    except CallEvalError as exc:
        sys.stderr.write(f"Erreur : {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("Interrompu.\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(cli_main())
