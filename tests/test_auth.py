"""Accounts and sign-in: argon2 hashes, one-time passwords, no default account, the
command-line first administrator, lockout, sessions that expire or are revoked."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from exam_fixtures import PASSWORD, account, quick_hashing
from sqlalchemy import text

from call_eval import auth, store
from call_eval.auth import SYSTEM, AccessDenied, AuthError
from call_eval.errors import ConfigError
from call_eval.store.models import utcnow


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    quick_hashing(monkeypatch)


@pytest.fixture()
def db(tmp_path, monkeypatch) -> store.Database:
    monkeypatch.setenv("CALL_EVAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CALL_EVAL_DB_URL", raising=False)
    database = store.open_db(data_dir=tmp_path / "data")
    yield database
    database.dispose()


# --------------------------------------------------------------------------- hashing
def test_passwords_are_argon2id_hashes_never_the_password() -> None:
    hashed = auth.hash_password("une phrase de passe")
    assert hashed.startswith("$argon2id$") and "une phrase" not in hashed
    assert auth.verify_password(hashed, "une phrase de passe")
    assert not auth.verify_password(hashed, "une phrase de passf")
    assert not auth.verify_password(None, "x") and not auth.verify_password("n'importe", "x")
    assert auth.hash_password("une phrase de passe") != hashed  # salted


def test_default_hashing_parameters_are_the_library_defaults(monkeypatch) -> None:
    from argon2 import PasswordHasher

    monkeypatch.delenv("CALL_EVAL_ARGON2_TIME_COST")
    monkeypatch.delenv("CALL_EVAL_ARGON2_MEMORY_KIB")
    hasher = auth.password_hasher()
    reference = PasswordHasher()
    assert (hasher.time_cost, hasher.memory_cost) == (reference.time_cost, reference.memory_cost)
    quick = "$argon2id$v=19$m=8192,t=1,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
    assert auth.needs_rehash(quick)
    monkeypatch.setenv("CALL_EVAL_ARGON2_TIME_COST", "0")
    with pytest.raises(ConfigError, match="hors limites"):
        auth.password_hasher()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("court", "trop court"),
        ("aaaaaaaaaaaa", "trop simple"),
        ("motdepasse1", "trop courant"),
        ("paul.durand2027!", "identifiant"),
    ],
)
def test_weak_passwords_are_refused(password: str, message: str) -> None:
    with pytest.raises(AuthError, match=message):
        auth.check_password_strength(password, username="paul.durand")


def test_generated_passwords_are_random_and_strong() -> None:
    seen = {auth.generate_password() for _ in range(50)}
    assert len(seen) == 50
    for password in seen:
        assert len(password) == 19 and password.count("-") == 3
        auth.check_password_strength(password, username="someone")


# --------------------------------------------------------------------------- accounts
def test_a_fresh_store_has_no_account_at_all(db) -> None:
    assert not store.has_users(db)
    with pytest.raises(AuthError, match="incorrect"):
        store.sign_in(db, "admin", "admin")


def test_create_admin_from_the_command_line(db, tmp_path, capsys) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("le mot de passe du centre\n", encoding="utf-8")
    code = auth.cli_main(
        ["create-admin", "--username", "Direction", "--password-file", str(secret)]
    )
    assert code == 0
    assert "Administrateur « direction » créé" in capsys.readouterr().out
    signed = store.sign_in(db, "direction", "le mot de passe du centre")
    assert signed.user.roles == {"admin"} and not signed.user.must_change_password
    # A weak password, an existing name: French errors, non-zero exit codes.
    secret.write_text("court\n", encoding="utf-8")
    assert (
        auth.cli_main(["create-admin", "--username", "autre", "--password-file", str(secret)]) == 9
    )
    assert "trop court" in capsys.readouterr().err
    secret.write_text("un autre mot de passe\n", encoding="utf-8")
    args = ["create-admin", "--username", "direction", "--password-file", str(secret)]
    assert auth.cli_main(args) == 8
    assert "déjà utilisé" in capsys.readouterr().err


def test_command_line_reads_the_password_from_stdin_and_lists_users(
    db, monkeypatch, capsys
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("mot de passe saisi au clavier\n"))
    assert auth.cli_main(["create-admin", "--username", "admin", "--name", "Alice Admin"]) == 0
    assert store.sign_in(db, "admin", "mot de passe saisi au clavier").user.display_name == (
        "Alice Admin"
    )
    capsys.readouterr()
    assert auth.cli_main(["list-users"]) == 0
    listing = capsys.readouterr().out
    assert "admin" in listing and "Administrateur" in listing and "actif" in listing
    monkeypatch.setattr("sys.stdin", io.StringIO("nouveau mot de passe sûr\n"))
    assert auth.cli_main(["reset-password", "--username", "admin"]) == 0
    assert store.sign_in(db, "admin", "nouveau mot de passe sûr").user.username == "admin"
    with pytest.raises(AuthError):
        store.sign_in(db, "admin", "mot de passe saisi au clavier")


def test_an_account_made_by_someone_else_gets_a_one_time_password(db) -> None:
    manager = account(db, "claire.morel", "Claire Morel", ["manager"])
    created = store.create_user(
        db, manager, username="Paul.Durand", display_name="Paul Durand", roles=["juror"]
    )
    assert created.password and created.user.username == "paul.durand"
    assert created.user.must_change_password and created.user.juror_id is not None
    signed = store.sign_in(db, "paul.durand", created.password)
    assert signed.user.must_change_password
    from call_eval.ui.navigation import visible_pages

    assert [p.key for p in visible_pages(signed.user)] == ["compte"]  # nothing else first
    with pytest.raises(AuthError, match="différent"):
        store.change_password(db, signed.user, created.password, created.password)
    changed = store.change_password(db, signed.user, created.password, "ma nouvelle phrase")
    assert not changed.must_change_password
    assert "revue" in [p.key for p in visible_pages(changed)]


def test_who_may_create_which_accounts(db) -> None:
    admin = account(db, "admin", "Alice Admin", ["admin"])
    manager = account(db, "claire.morel", "Claire Morel", ["manager"])
    trainer = account(db, "fanny.f", "Fanny Formatrice", ["trainer"])
    juror = account(db, "paul.durand", "Paul Durand", ["juror"])
    for actor, roles in (
        (manager, ["admin"]),
        (manager, ["trainee"]),
        (trainer, ["juror"]),
        (juror, ["juror"]),
    ):
        with pytest.raises(AccessDenied):
            store.create_user(db, actor, username="x.y", display_name="X Y", roles=roles)
    store.create_user(db, trainer, username="sam.s", display_name="Sam S", roles=["trainee"])
    store.create_user(db, admin, username="new.admin", display_name="B Admin", roles=["admin"])
    with pytest.raises(AuthError, match="Rôles valides"):
        store.create_user(db, admin, username="z.z", display_name="Z", roles=["superuser"])
    with pytest.raises(AuthError, match="Identifiant invalide"):
        store.create_user(db, admin, username="é", display_name="É", roles=["juror"])
    assert {u.username for u in store.list_users(db, manager)} == {"paul.durand"}
    assert {u.username for u in store.list_users(db, trainer)} == {"sam.s"}
    with pytest.raises(AccessDenied):
        store.list_users(db, juror)


def test_the_last_administrator_stays_one(db) -> None:
    admin = account(db, "admin", "Alice Admin", ["admin"])
    with pytest.raises(store.StoreError, match="dernier administrateur"):
        store.set_roles(db, admin, admin.id, ["manager"])
    other = account(db, "admin2", "Bob Admin", ["admin"])
    with pytest.raises(store.StoreError, match="propre compte"):
        store.set_active(db, admin, admin.id, False)
    assert not store.set_active(db, admin, other.id, False).active
    with pytest.raises(store.StoreError, match="dernier administrateur"):
        store.set_roles(db, admin, admin.id, ["juror"])


# --------------------------------------------------------------------------- sign-in
def test_wrong_password_and_unknown_account_get_the_same_answer(db) -> None:
    account(db, "paul.durand", "Paul Durand", ["juror"])
    with pytest.raises(AuthError) as wrong:
        store.sign_in(db, "paul.durand", "pas le bon mot de passe")
    with pytest.raises(AuthError) as unknown:
        store.sign_in(db, "personne", "pas le bon mot de passe")
    assert str(wrong.value) == str(unknown.value) == "Identifiant ou mot de passe incorrect."
    fails = store.audit_entries(db, SYSTEM, actions=["auth.fail"])
    assert [f.actor for f in fails] == ["paul.durand"]


def test_repeated_failures_lock_the_account_for_a_while(db) -> None:
    account(db, "paul.durand", "Paul Durand", ["juror"])
    for _ in range(5):
        with pytest.raises(AuthError, match="incorrect"):
            store.sign_in(db, "paul.durand", "essai au hasard")
    with pytest.raises(AuthError, match="bloqué"):
        store.sign_in(db, "paul.durand", PASSWORD)  # even the right password
    with db.engine.begin() as c:  # fifteen minutes later
        c.execute(text("UPDATE users SET locked_until = '2000-01-01 00:00:00'"))
    assert store.sign_in(db, "paul.durand", PASSWORD).user.username == "paul.durand"


def test_sessions_expire_and_sign_out_revokes(db, monkeypatch) -> None:
    user = account(db, "paul.durand", "Paul Durand", ["juror"])
    signed = store.sign_in(db, "paul.durand", PASSWORD)
    lasting = signed.expires_at - utcnow()
    assert timedelta(hours=7, minutes=59) < lasting <= timedelta(hours=8)
    assert store.resolve_session(db, signed.token) == user
    with db.engine.connect() as c:  # only a hash of the token is stored
        hashes = c.execute(text("SELECT token_hash FROM auth_sessions")).scalars().all()
    assert signed.token not in hashes and len(hashes[0]) == 64
    with db.engine.begin() as c:
        c.execute(text("UPDATE auth_sessions SET expires_at = '2000-01-01 00:00:00'"))
    assert store.resolve_session(db, signed.token) is None
    again = store.sign_in(db, "paul.durand", PASSWORD)
    store.end_session(db, again.token)
    assert store.resolve_session(db, again.token) is None
    assert store.resolve_session(db, "jeton-inventé") is None
    monkeypatch.setenv("CALL_EVAL_SESSION_HOURS", "0,5")
    short = store.sign_in(db, "paul.durand", PASSWORD)
    assert short.expires_at - utcnow() <= timedelta(minutes=30)
    monkeypatch.setenv("CALL_EVAL_SESSION_HOURS", "jamais")
    with pytest.raises(ConfigError, match="CALL_EVAL_SESSION_HOURS"):
        auth.session_lifetime()


def test_password_change_and_deactivation_close_other_sessions(db) -> None:
    admin = account(db, "admin", "Alice Admin", ["admin"])
    user = account(db, "paul.durand", "Paul Durand", ["juror"])
    here = store.sign_in(db, "paul.durand", PASSWORD)
    elsewhere = store.sign_in(db, "paul.durand", PASSWORD)
    store.change_password(db, user, PASSWORD, "une autre phrase longue", keep_token=here.token)
    assert store.resolve_session(db, here.token) is not None
    assert store.resolve_session(db, elsewhere.token) is None
    store.set_active(db, admin, user.id, False)
    assert store.resolve_session(db, here.token) is None
    with pytest.raises(AuthError, match="désactivé"):
        store.sign_in(db, "paul.durand", "une autre phrase longue")
    temporary = store.reset_password(db, admin, user.id)
    store.set_active(db, admin, user.id, True)
    assert store.sign_in(db, "paul.durand", temporary).user.must_change_password


def test_sign_in_upgrades_an_old_hash(db, monkeypatch) -> None:
    account(db, "paul.durand", "Paul Durand", ["juror"])  # made with the light parameters
    monkeypatch.delenv("CALL_EVAL_ARGON2_TIME_COST")
    monkeypatch.delenv("CALL_EVAL_ARGON2_MEMORY_KIB")
    store.sign_in(db, "paul.durand", PASSWORD)
    with db.engine.connect() as c:
        stored = c.execute(text("SELECT password_hash FROM users")).scalar_one()
    assert "m=65536,t=3" in stored


def test_the_admin_command_plugs_into_the_cli_parser(db, tmp_path) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="call-eval")
    auth.add_admin_command(parser.add_subparsers(dest="command", required=True))
    secret = tmp_path / "secret.txt"
    secret.write_text("le mot de passe du centre\n", encoding="utf-8")
    args = parser.parse_args(
        ["admin", "create-admin", "--username", "direction", "--password-file", str(secret)]
    )
    assert args.func(args) == 0
    assert store.sign_in(db, "direction", "le mot de passe du centre").user.is_admin
    weak = parser.parse_args(["admin", "create-admin", "--username", "autre",
                              "--password-file", str(tmp_path / "absent.txt")])  # fmt: skip
    with pytest.raises(ConfigError, match="illisible"):
        weak.func(weak)
