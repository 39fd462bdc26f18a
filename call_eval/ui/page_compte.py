"""Page « Mon compte »: who I am, my roles, change my password (forced after a one-time
password)."""

from __future__ import annotations

import streamlit as st

from call_eval import store
from call_eval.auth import MIN_PASSWORD_LENGTH, AuthError
from call_eval.errors import CallEvalError
from call_eval.ui import common, resources


def render() -> None:
    db = resources.database()
    user = common.actor(db)
    forced = user.must_change_password
    st.title("Choisissez votre mot de passe" if forced else "Mon compte")
    common.flash()
    if forced:
        st.info(
            "Vous vous êtes connecté(e) avec un mot de passe provisoire : choisissez le vôtre "
            "pour continuer.",
            icon=":material/key:",
        )
    else:
        st.markdown(
            f"**{common.md_escape(user.display_name)}** — identifiant "
            f"`{user.username}` — {common.md_escape(user.roles_label)}"
        )
    st.subheader("Changer de mot de passe")
    with st.form("change_password", width=520):
        current = st.text_input(
            "Mot de passe actuel" + (" (provisoire)" if forced else ""),
            type="password",
            key="pw_current",
            autocomplete="current-password",
        )
        new = st.text_input(
            "Nouveau mot de passe",
            type="password",
            key="pw_new",
            autocomplete="new-password",
            help=f"Au moins {MIN_PASSWORD_LENGTH} caractères ; une phrase de passe est idéale.",
        )
        again = st.text_input(
            "Confirmez le nouveau mot de passe",
            type="password",
            key="pw_again",
            autocomplete="new-password",
        )
        submitted = st.form_submit_button("Enregistrer le mot de passe", type="primary")
    if not submitted:
        return
    if new != again:
        st.error("Les deux saisies du nouveau mot de passe diffèrent.")
        return
    try:
        store.change_password(
            db, user, current, new, keep_token=st.session_state.get(common.TOKEN_KEY)
        )
    except (AuthError, CallEvalError) as exc:
        st.error(str(exc), icon=":material/error:")
        return
    if forced:
        st.session_state["flash_success"] = "Mot de passe enregistré : bienvenue !"
        common.goto_home()
    st.session_state["flash_success"] = (
        "Mot de passe enregistré. Vos autres sessions ouvertes ont été fermées."
    )
    st.rerun()
