"""Page « Comptes »: accounts, roles, one-time passwords, deactivation.

Administrators manage every account; trainers create trainee accounts. (Juror accounts
are usually created from the session's jury tab by the session manager.) A new account
gets a random one-time password, shown once, changed at the first sign-in.
"""

from __future__ import annotations

import streamlit as st

from call_eval import report, store
from call_eval.auth import GRANTABLE, ROLE_LABELS, ROLES, User
from call_eval.errors import CallEvalError
from call_eval.store import Database
from call_eval.ui import common, resources


def render() -> None:
    db = resources.database()
    user = common.actor(db)
    st.title("Comptes")
    common.flash()
    _show_password()
    grantable = sorted({r for role in user.roles for r in GRANTABLE.get(role, ())}, key=ROLES.index)
    with st.expander("Créer un compte", icon=":material/person_add:"):
        with st.form("new_account", border=False):
            cols = st.columns(2)
            name = cols[0].text_input("Nom affiché (prénom et nom)", key="account_name")
            username = cols[1].text_input("Identifiant (ex. prenom.nom)", key="account_username")
            roles = st.multiselect(
                "Rôles",
                options=grantable,
                format_func=ROLE_LABELS.get,
                default=grantable[:1] if len(grantable) == 1 else None,
                key="account_roles",
            )
            submitted = st.form_submit_button("Créer le compte", type="primary")
        if submitted:
            try:
                account = store.create_user(
                    db, user, username=username, display_name=name, roles=roles
                )
            except CallEvalError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                st.session_state["shown_password"] = (account.user.username, account.password)
                st.rerun()
    accounts = store.list_accounts(db, user)
    if not accounts:
        st.info("Aucun compte à gérer.")
        return
    for info in accounts:
        _account_row(db, user, info)


def _show_password() -> None:
    shown = st.session_state.pop("shown_password", None)
    if not shown:
        return
    username, password = shown
    with st.container(border=True, key="new-account"):
        st.markdown(f":material/key: Mot de passe provisoire de **{username}** :")
        st.code(password, language=None)
        st.caption(
            "Affiché une seule fois : communiquez-le. Il sera changé à la première connexion."
        )


def _account_row(db: Database, user: User, info: store.AccountInfo) -> None:
    u = info.user
    with st.container(border=True, key=f"account-{u.id}"):
        cols = st.columns([2.2, 2.2, 1.6], vertical_alignment="center")
        state = ":green-badge[Actif]" if u.active else ":gray-badge[Désactivé]"
        if info.locked:
            state += " :orange-badge[Bloqué]"
        if u.must_change_password:
            state += " :blue-badge[Mot de passe provisoire]"
        cols[0].markdown(f"**{common.md_escape(u.display_name)}** {state}  \n:gray[`{u.username}`]")
        cols[1].markdown(
            f"{common.md_escape(u.roles_label)}  \n:gray[dernière connexion : "
            f"{report.format_datetime(info.last_login_at) if info.last_login_at else 'jamais'}]"
        )
        with cols[2], st.popover("Gérer", icon=":material/manage_accounts:"):
            if st.button("Mot de passe provisoire", key=f"reset-{u.id}", disabled=u.id == user.id):
                try:
                    password = store.reset_password(db, user, u.id)
                except CallEvalError as exc:
                    st.error(str(exc))
                else:
                    st.session_state["shown_password"] = (u.username, password)
                    st.rerun()
            if not user.can("users.manage"):
                return
            roles = st.multiselect(
                "Rôles", options=list(ROLES), default=sorted(u.roles, key=ROLES.index),
                format_func=ROLE_LABELS.get, key=f"roles-{u.id}",
            )  # fmt: skip
            if st.button("Enregistrer les rôles", key=f"save-roles-{u.id}"):
                try:
                    store.set_roles(db, user, u.id, roles)
                except CallEvalError as exc:
                    st.error(str(exc))
                else:
                    st.session_state["flash_success"] = f"Rôles de {u.username} enregistrés."
                    st.rerun()
            label = "Désactiver" if u.active else "Réactiver"
            if st.button(label, key=f"active-{u.id}", disabled=u.id == user.id):
                try:
                    store.set_active(db, user, u.id, not u.active)
                except CallEvalError as exc:
                    st.error(str(exc))
                else:
                    st.session_state["flash_success"] = f"Compte {u.username} : {label.lower()}."
                    st.rerun()
