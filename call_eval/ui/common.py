"""Helpers shared by the pages: navigation, the current juror, badges, messages."""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from call_eval import store
from call_eval.report import format_time
from call_eval.store import Database, Juror
from call_eval.ui import OPEN_ENV, resources

STATE_BADGES = {
    "acquis": ":green-badge[Acquis]",
    "non_acquis": ":red-badge[Non acquis]",
    "a_verifier": ":orange-badge[À vérifier]",
}
STATUS_BADGES = {
    "a_analyser": ":gray-badge[À analyser]",
    "analyse": ":blue-badge[Analysé]",
    "en_revue": ":orange-badge[En cours de revue]",
    "valide": ":green-badge[:material/lock: Validé]",
}
ROLE_BADGES = {
    "agent": ":blue-badge[Candidat]",
    "callee": ":violet-badge[Appelé]",
}
TICK_LABELS = {"acquis": "Acquis", "non_acquis": "Non acquis"}


def md_escape(text: Any) -> str:
    """Text shown literally inside Markdown (no emphasis, links or directives)."""
    out = str(text if text is not None else "")
    for ch in ("\\", "`", "*", "_", "[", "]", "<", ">", "#", "|", "$", ":", "~"):
        out = out.replace(ch, "\\" + ch)
    return out


# --------------------------------------------------------------------------- pages
def _pages() -> dict[str, Any]:
    from call_eval.ui import navigation

    return navigation.pages()


def goto(page: str, **params: Any) -> None:
    """Switch page keeping the juror; ``params`` become query parameters."""
    query = {k: str(v) for k, v in params.items() if v is not None}
    juror_id = st.session_state.get("juror_id")
    if juror_id is not None:
        query.setdefault("jure", str(juror_id))
    st.switch_page(_pages()[page], query_params=query)


def query_int(name: str) -> int | None:
    value = st.query_params.get(name)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def set_query(**params: Any) -> None:
    """Keep state in the URL so a reload (or a shared link) opens the same thing."""
    for key, value in params.items():
        text = None if value is None else str(value)
        if text is None:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != text:
            st.query_params[key] = text


# --------------------------------------------------------------------------- juror
def current_juror(db: Database) -> Juror | None:
    """The juror of this browser session: URL, then session, then the last active one."""
    juror_id = query_int("jure") or st.session_state.get("juror_id")
    juror = None
    if juror_id is not None:
        try:
            juror = store.get_juror(db, int(juror_id))
        except store.StoreError:
            juror = None
    if juror is None and "juror_id" not in st.session_state:
        juror = store.last_active_juror(db)
        if juror is None:
            jurors = store.list_jurors(db)
            juror = jurors[0] if len(jurors) == 1 else None
    remember_juror(juror)
    return juror


def remember_juror(juror: Juror | None) -> None:
    st.session_state["juror_id"] = juror.id if juror else None
    set_query(jure=juror.id if juror else None)


def _on_juror_select() -> None:
    juror_id = st.session_state.get("sidebar_juror")
    st.session_state["juror_id"] = juror_id
    set_query(jure=juror_id)


def _on_juror_add(db: Database) -> None:
    name = st.session_state.get("sidebar_new_juror", "")
    try:
        juror = store.get_or_create_juror(db, name)
    except store.StoreError as exc:
        st.session_state["sidebar_juror_error"] = str(exc)
        return
    st.session_state["juror_id"] = juror.id
    st.session_state["sidebar_juror"] = juror.id
    st.session_state["sidebar_new_juror"] = ""
    set_query(jure=juror.id)


def juror_sidebar(db: Database) -> Juror | None:
    """Who is marking: choose or add a juror (sign-in comes with session management)."""
    juror = current_juror(db)
    jurors = store.list_jurors(db)
    with st.sidebar:
        st.markdown("**Juré**")
        if jurors:
            ids = [j.id for j in jurors]
            names = {j.id: j.name for j in jurors}
            if st.session_state.get("sidebar_juror") != (juror.id if juror else None):
                st.session_state["sidebar_juror"] = juror.id if juror else None
            st.selectbox(
                "Vous êtes",
                options=ids,
                format_func=lambda i: names.get(i, f"Juré {i}"),
                key="sidebar_juror",
                index=None,
                placeholder="Choisissez votre nom",
                on_change=_on_juror_select,
            )
        with st.expander("Ajouter un juré"):
            st.text_input("Nom du juré", key="sidebar_new_juror", placeholder="Prénom Nom")
            st.button("Ajouter", key="sidebar_add_juror", on_click=_on_juror_add, args=(db,))
            error = st.session_state.pop("sidebar_juror_error", None)
            if error:
                st.error(error)
    return juror


def ask_juror(db: Database) -> Juror | None:
    """Inline prompt on a page that needs a juror and has none."""
    st.info("Indiquez votre nom de juré : vos coches et commentaires seront enregistrés à ce nom.")
    with st.form("ask_juror", border=False, width=460):
        name = st.text_input("Votre nom (juré)", placeholder="Prénom Nom", key="ask_juror_name")
        if st.form_submit_button("Commencer", type="primary"):
            try:
                juror = store.get_or_create_juror(db, name)
            except store.StoreError as exc:
                st.error(str(exc))
                return None
            remember_juror(juror)
            st.rerun()
    return None


# --------------------------------------------------------------------------- open target
def open_target_on_start(db: Database) -> None:
    """With CALL_EVAL_OPEN set, the first session of the server lands on that review."""
    target = os.environ.get(OPEN_ENV, "").strip()
    if not target or "appel" in st.query_params:
        return
    if not resources.take_open_target(target, db):
        return
    recording = store.find_recording(db, target)
    if recording is None:
        st.session_state["flash_warning"] = (
            f"Appel « {target} » introuvable (variable {OPEN_ENV}) : choisissez-le dans la liste."
        )
        return
    goto("revue", appel=recording.id)


def flash() -> None:
    """Show (once) a message left by a callback or a previous page."""
    for kind in ("error", "warning", "success", "info"):
        message = st.session_state.pop(f"flash_{kind}", None)
        if message:
            getattr(st, kind)(message)


def time_label(seconds: float | None) -> str:
    return format_time(seconds)
