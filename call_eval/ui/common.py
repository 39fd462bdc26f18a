"""Helpers shared by the pages: the signed-in user, the menu, navigation, badges, messages.

Sign-in: the token returned by :func:`call_eval.store.sign_in` is kept in the session
state and in a cookie (``call_eval_session``, SameSite=Strict, expiring with the
session) so that a reload or a second tab stays signed in; the server resolves it on every
run (:func:`call_eval.store.resolve_session`), so an expired, revoked or deactivated
session stops at once. Signing out revokes the token and clears the cookie.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from call_eval import store
from call_eval.auth import AccessDenied, User
from call_eval.errors import CallEvalError
from call_eval.report import format_time
from call_eval.store import Database
from call_eval.ui import OPEN_ENV, resources

log = logging.getLogger(__name__)

COOKIE = "call_eval_session"
TOKEN_KEY = "auth_token"
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


# --------------------------------------------------------------------------- sign-in
def _cookie_token() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no browser (tests, bare mode)
        return None
    return str(value) if value else None


def signed_in_user(db: Database) -> User | None:
    """The user of this browser session: its token (session state, then cookie), resolved
    against the store on every run. An expired or revoked token signs the user out."""
    token = st.session_state.get(TOKEN_KEY)
    from_cookie = False
    if not token and not st.session_state.get("_signed_out"):
        token = _cookie_token()
        from_cookie = token is not None
    if not token:
        return None
    user = store.resolve_session(db, token)
    if user is None:
        st.session_state.pop(TOKEN_KEY, None)
        st.session_state["_clear_cookie"] = True
        if not from_cookie:
            st.session_state["flash_warning"] = (
                "Votre session a expiré (ou a été fermée) : reconnectez-vous."
            )
        return None
    st.session_state[TOKEN_KEY] = token
    return user


def actor(db: Database) -> User:
    """The signed-in user, for pages and widget callbacks (AccessDenied when signed out)."""
    user = store.resolve_session(db, st.session_state.get(TOKEN_KEY))
    if user is None:
        raise AccessDenied("Session expirée : reconnectez-vous.")
    return user


def sign_in(db: Database, username: str, password: str) -> User:
    signed = store.sign_in(db, username, password)
    st.session_state[TOKEN_KEY] = signed.token
    st.session_state.pop("_signed_out", None)
    st.session_state.pop("_clear_cookie", None)
    return signed.user


def _sign_out(db: Database) -> None:
    store.end_session(db, st.session_state.get(TOKEN_KEY))
    keep = {"_signed_out": True, "_clear_cookie": True}
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state.update(keep)
    st.session_state["flash_info"] = "Vous êtes déconnecté(e)."


def _cookie_script(token: str | None, expires: datetime | None) -> None:
    if token and expires is not None:
        when = expires.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
        body = f"{COOKIE}={token}; path=/; expires={when}; SameSite=Strict"
    else:
        body = f"{COOKIE}=; path=/; max-age=0; SameSite=Strict"
    st.html(
        f"<script>document.cookie = {body!r};</script>",
        unsafe_allow_javascript=True,
        width="content",
    )


def sidebar(db: Database, user: User | None, specs: list[Any], pages: dict[str, Any]) -> None:
    """The menu (the pages this user sees, by section), who is signed in, sign-out."""
    with st.sidebar:
        if user is None:
            if st.session_state.pop("_clear_cookie", False) or _cookie_token():
                _cookie_script(None, None)
            return
        st.markdown(
            f"**{md_escape(user.display_name)}**  \n:small[:gray[{md_escape(user.roles_label)}]]"
        )
        section = None
        for spec in specs:
            if spec.section and spec.section != section:
                section = spec.section
                st.caption(section)
            st.page_link(pages[spec.key], label=spec.title, icon=spec.icon)
        st.divider()
        st.button(
            "Se déconnecter",
            key="sign_out",
            icon=":material/logout:",
            on_click=_sign_out,
            args=(db,),
        )
        token = st.session_state.get(TOKEN_KEY)
        expires = store.session_expiry(db, token)
        if expires is not None:
            st.caption(
                f"Session ouverte jusqu'à {expires.astimezone():%H:%M} ({expires.astimezone():%d/%m})."
            )
        _cookie_script(token, expires)


# --------------------------------------------------------------------------- pages
def _pages() -> dict[str, Any]:
    from call_eval.ui import navigation

    return navigation.page_objects()


def _user() -> User | None:
    return store.resolve_session(resources.database(), st.session_state.get(TOKEN_KEY))


def can_open(page: str) -> bool:
    from call_eval.ui import navigation

    return page in {s.key for s in navigation.visible_pages(_user())}


def goto(page: str, **params: Any) -> None:
    """Switch page; ``params`` become query parameters."""
    if not can_open(page):
        st.session_state["flash_error"] = "Cette page n'est pas ouverte à votre rôle."
        st.rerun()
    query = {k: str(v) for k, v in params.items() if v is not None}
    st.switch_page(_pages()[page], query_params=query)


def goto_home() -> None:
    """Switch to the signed-in user's landing page."""
    from call_eval.ui import navigation

    goto(navigation.home_key(_user()))


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


def denied(message: str) -> None:
    st.error(message, icon=":material/block:")


# --------------------------------------------------------------------------- open target
def open_target_on_start(db: Database, user: User) -> None:
    """With CALL_EVAL_OPEN set, the first signed-in session lands on that call's review."""
    target = os.environ.get(OPEN_ENV, "").strip()
    if not target or "appel" in st.query_params or user.juror_id is None:
        return
    if not resources.take_open_target(target, db):
        return
    recording = store.find_recording(db, user, target)
    if recording is None:
        st.session_state["flash_warning"] = (
            f"Appel « {target} » introuvable parmi vos appels (variable {OPEN_ENV}) : "
            "choisissez-le dans la liste."
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


def tick_control_css(prefix: str) -> str:
    """CSS colouring the « Acquis » (green) / « Non acquis » (red) choice of the
    segmented controls whose key starts with ``prefix`` (no ``<style>`` tag)."""
    sel = f'[class*="st-key-{prefix}"] button[aria-checked="true"]'
    return (
        f"{sel}:first-child {{\n  background: rgba(33, 195, 84, 0.16) !important; "
        "border-color: rgb(21, 130, 60) !important; }\n"
        f"{sel}:first-child p {{\n  color: rgb(21, 115, 55) !important; font-weight: 600; }}\n"
        f"{sel}:last-child {{\n  background: rgba(255, 43, 43, 0.10) !important; "
        "border-color: rgb(190, 35, 35) !important; }\n"
        f"{sel}:last-child p {{\n  color: rgb(175, 30, 30) !important; font-weight: 600; }}\n"
    )


def link_buttons_css(*prefixes: str, size: str = "0.85rem", wrap: bool = True) -> str:
    """CSS turning the buttons whose key starts with one of ``prefixes`` into left-aligned
    text links (a quote with its time that plays the call from there); ``wrap``: long
    texts wrap, in ``size``."""

    def each(suffix: str) -> str:
        return ", ".join(f'[class*="st-key-{p}"] {suffix}' for p in prefixes)

    css = (
        each("button") + " {\n  justify-content: flex-start; text-align: left; "
        "padding: 0.1rem 0.3rem; }\n"
        + each("button > div")
        + " {\n  justify-content: flex-start; width: 100%; }\n"
        + each("button p")
        + " { text-align: left; }\n"
        + each("button:hover")
        + " { background: rgba(28, 131, 225, 0.08); }\n"
    )
    if wrap:
        css += (
            each("button p")
            + f" {{ font-size: {size}; white-space: normal !important; }}\n"
            + each('[data-testid="stMarkdownContainer"]')
            + " {\n  white-space: normal !important; overflow: visible !important; }\n"
        )
    return css


def call_upload_fields(
    prefix: str, *, file_label: str, crm_label: str, crm_help: str
) -> tuple[Any, Any, str]:
    """Inside a form: the call (audio or transcript JSON), the optional call script and the
    optional CRM note; widget keys ``<prefix>_file``, ``_script``, ``_crm``."""
    from call_eval.ui.uploads import accepted_extensions

    formats = ", ".join(accepted_extensions())
    upload = st.file_uploader(
        file_label,
        key=f"{prefix}_file",
        help=f"Formats acceptés : {formats}. Une transcription JSON (utterances) est "
        "acceptée à la place de l'audio.",
    )
    left, right = st.columns(2)
    with left:
        script = st.file_uploader(
            "Script d'appel (facultatif)",
            key=f"{prefix}_script",
            help="Texte : une question par ligne ; ou YAML : une liste de questions.",
        )
    with right:
        crm_note = st.text_area(crm_label, key=f"{prefix}_crm", height=100, help=crm_help)
    return upload, script, crm_note


_MISSING = object()


def sync_widget(key: str, db_value: Any) -> None:
    """Show the stored value in the widget ``key``, unless this session already shows the
    latest one: a change saved elsewhere (another tab, another juror, « Reprendre les
    suggestions ») is taken over on the next run; the value the user just set is kept.
    ``_db:<key>`` holds the stored value last shown (the callbacks restore it on a refusal)."""
    seen_key = f"_db:{key}"
    if key not in st.session_state or st.session_state.get(seen_key, _MISSING) != db_value:
        st.session_state[key] = db_value
    st.session_state[seen_key] = db_value


def save_widget(key: str, save: Callable[[Any], Any]) -> None:
    """``on_change`` callback of an input that is stored at once: ``save(new value)``; on a
    refusal (French :class:`CallEvalError`), show why and put back the stored value."""
    try:
        save(st.session_state.get(key))
    except CallEvalError as exc:
        st.session_state["flash_error"] = str(exc)
        st.session_state[key] = st.session_state.get(f"_db:{key}")


def save_if_changed(key: str, save: Callable[[Any], Any]) -> bool:
    """Call right after drawing an input synced by :func:`sync_widget` and saved by
    :func:`save_widget`: when its value still differs from the stored value it last showed,
    save it now and return True.

    The ``on_change`` callback normally saved it already. But a click made while the run
    triggered by the previous click is still going interrupts that run, and Streamlit may
    then drop the callback: the page shows the new tick, the store does not have it. This
    check on every run makes sure a change the user sees is a change that is stored."""
    seen_key = f"_db:{key}"
    if seen_key not in st.session_state:
        return False
    value = st.session_state.get(key)
    if (value or None) == (st.session_state.get(seen_key) or None):
        return False
    try:
        save(value)
    except CallEvalError as exc:
        st.session_state["flash_error"] = str(exc)
        st.session_state[seen_key] = _MISSING  # the next run shows the stored value again
        st.rerun()
    log.info("saved %s on the next run (its change callback did not run)", key)
    st.session_state[seen_key] = value
    return True
