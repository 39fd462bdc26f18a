"""Page « Connexion »: sign in with an identifier and a password (no default account).

It is the app's root (``/``): signed in, it leads to the user's home page. Signed out, any
address shows this form in place of the page asked for, which opens once signed in.
"""

from __future__ import annotations

import streamlit as st

from call_eval import store
from call_eval.auth import AuthError
from call_eval.ui import common, resources


def render() -> None:
    db = resources.database()
    if common.signed_in_user(db) is not None:
        common.goto_home()  # signed in, at the root: the user's home page
        return
    _, middle, _ = st.columns([1, 1.3, 1])
    with middle:
        st.title("Connexion")
        st.caption("Évaluation des appels sortants — certificat professionnel FFP")
        common.flash()
        if not store.has_users(db):
            st.info(
                "Aucun compte n'existe encore. Créez le premier administrateur sur le "
                "serveur, en ligne de commande :\n\n"
                "`call-eval admin create-admin --username VOTRE_IDENTIFIANT`\n\n"
                "(le mot de passe est demandé au clavier ; il n'y a aucun mot de passe par "
                "défaut).",
                icon=":material/admin_panel_settings:",
            )
        with st.form("sign_in", border=True):
            username = st.text_input("Identifiant", key="signin_username", autocomplete="username")
            password = st.text_input(
                "Mot de passe",
                type="password",
                key="signin_password",
                autocomplete="current-password",
            )
            submitted = st.form_submit_button(
                "Se connecter", type="primary", icon=":material/login:", width="stretch"
            )
        if submitted:
            try:
                common.sign_in(db, username, password)
            except AuthError as exc:
                st.error(str(exc), icon=":material/error:")
                return
            st.rerun()
        st.caption(
            "Mot de passe oublié ? Demandez à un administrateur (ou, pour un juré, au "
            "responsable de session) un mot de passe provisoire."
        )
