"""The pages, who sees them, and what runs before each of them (called from ``app.py``).

Navigation is a list of :class:`PageSpec`; each page declares the roles that see it.
Signed out, the only page is « Connexion »; with a one-time password still to change,
only « Mon compte ». A page a role does not see is not registered at all (its URL falls
back to the home page), and every page checks again through the store, which refuses
what the role may not read or change.

Each page is a module of ``call_eval/ui`` with a ``render()`` function, and a two-line file
``call_eval/ui/pages/<key>.py`` that Streamlit runs (``from … import render; render()``).
To add a page (e.g. the trainee's « Mes entraînements »), write both, then::

    from call_eval.ui.navigation import PageSpec, register
    register(PageSpec("entrainements", "Mes entraînements", ":material/school:",
                      "entrainements", "call_eval.ui.page_entrainements",
                      frozenset({"trainee"}), section="Formation"))

and, if it should be the role's landing page, set ``ROLE_HOME["trainee"]``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from call_eval.auth import ADMIN, JUROR, MANAGER, ROLES, TRAINEE, TRAINER, User


@dataclass(frozen=True)
class PageSpec:
    key: str
    title: str
    icon: str
    url_path: str
    module: str  # the module holding the page's ``render()``
    roles: frozenset[str]
    section: str = ""
    function: str = "render"

    def visible_to(self, user: User | None) -> bool:
        return user is not None and bool(user.roles & self.roles)

    def renderer(self) -> Callable[[], None]:
        return getattr(importlib.import_module(self.module), self.function)

    def path(self) -> Path:
        """The file Streamlit runs for the page: ``call_eval/ui/pages/<key>.py``, two lines
        calling the page module's ``render`` (so the module is imported once, and
        ``AppTest.switch_page`` can open the page in tests)."""
        return PAGES_DIR / f"{self.key}.py"


PAGES_DIR = Path(__file__).resolve().parent / "pages"
EXAM = frozenset({ADMIN, MANAGER, JUROR})
PAGES: list[PageSpec] = [
    PageSpec("sessions", "Sessions d'examen", ":material/event_available:", "sessions",
             "call_eval.ui.page_sessions", EXAM, "Examen"),
    PageSpec("appels", "Appels", ":material/call:", "appels",
             "call_eval.ui.page_appels", EXAM, "Examen"),
    PageSpec("revue", "Revue d'un appel", ":material/fact_check:", "revue",
             "call_eval.ui.page_revue", frozenset({JUROR}), "Examen"),
    PageSpec("deliberation", "Délibération", ":material/gavel:", "deliberation",
             "call_eval.ui.page_deliberation", EXAM, "Examen"),
    PageSpec("fiche", "Fiche de résultat", ":material/description:", "fiche",
             "call_eval.ui.page_fiche", EXAM, "Examen"),
    PageSpec("entrainements", "Entraînements", ":material/school:", "entrainements",
             "call_eval.ui.page_entrainements", frozenset({ADMIN, TRAINER, TRAINEE}),
             "Formation"),
    PageSpec("calibration", "Calibration des grilles", ":material/tune:", "calibration",
             "call_eval.ui.page_calibration", frozenset({ADMIN, TRAINER}), "Formation"),
    PageSpec("bilan", "Bilan annuel", ":material/monitoring:", "bilan",
             "call_eval.ui.page_bilan", frozenset({ADMIN, MANAGER, TRAINER}), "Pilotage"),
    PageSpec("comptes", "Comptes", ":material/group:", "comptes",
             "call_eval.ui.page_comptes", frozenset({ADMIN, TRAINER}), "Administration"),
    PageSpec("compte", "Mon compte", ":material/account_circle:", "compte",
             "call_eval.ui.page_compte", frozenset(ROLES), "Compte"),
]  # fmt: skip
SIGN_IN = PageSpec(
    "connexion", "Connexion", ":material/login:", "connexion", "call_eval.ui.page_connexion",
    frozenset(),
)  # fmt: skip
# The landing page of each role (the first role of ROLES the user holds decides).
ROLE_HOME = {
    ADMIN: "sessions",
    MANAGER: "sessions",
    JUROR: "appels",
    TRAINER: "calibration",
    TRAINEE: "entrainements",
}


def register(spec: PageSpec, *, before: str | None = None) -> None:
    """Add a page (or replace the page with the same key)."""
    for i, existing in enumerate(PAGES):
        if existing.key == spec.key:
            PAGES[i] = spec
            return
    if before is not None:
        for i, existing in enumerate(PAGES):
            if existing.key == before:
                PAGES.insert(i, spec)
                return
    PAGES.append(spec)


def visible_pages(user: User | None) -> list[PageSpec]:
    """The pages ``user`` may open, in menu order (signed out: the sign-in page only)."""
    if user is None or not user.active:
        return [SIGN_IN]
    if user.must_change_password:
        return [spec for spec in PAGES if spec.key == "compte"]
    return [spec for spec in PAGES if spec.visible_to(user)]


def home_key(user: User | None, specs: list[PageSpec] | None = None) -> str:
    """The landing page of ``user`` (the sign-in page when signed out)."""
    keys = [s.key for s in (specs if specs is not None else visible_pages(user))]
    if user is not None:
        for role in ROLES:
            if role in user.roles and ROLE_HOME.get(role) in keys:
                return ROLE_HOME[role]
    return keys[0]


def page_objects() -> dict[str, Any]:
    """``st.Page`` objects of every page, by key (the sign-in page is the root, ``/``).

    Every page is registered for everyone, so that any address opens: signed out, it shows
    the sign-in form (and, once signed in, the page asked for); for a role that may not
    open it, a refusal. Only the pages a user may open are in their menu.
    """
    import streamlit as st

    return {
        spec.key: st.Page(
            spec.path(),
            title=spec.title,
            icon=spec.icon,
            url_path=spec.url_path,
            default=spec is SIGN_IN,
        )
        for spec in [SIGN_IN, *PAGES]
    }


def spec_for(page: Any) -> PageSpec:
    """The spec of the ``st.Page`` that ``st.navigation`` selected."""
    url = getattr(page, "url_path", "") or ""
    for spec in [SIGN_IN, *PAGES]:
        if spec.url_path == url:
            return spec
    return SIGN_IN


def run() -> None:
    """Configure the page, sign the user in (or not), route, draw the menu, run."""
    import streamlit as st

    from call_eval.ui import common, resources

    st.set_page_config(
        page_title="Évaluation des appels", page_icon=":material/headset_mic:", layout="wide"
    )
    db = resources.database()
    user = common.signed_in_user(db)
    pages = page_objects()
    navigation = st.navigation(list(pages.values()), position="hidden")
    allowed = visible_pages(user)
    common.sidebar(db, user, allowed, pages)
    selected = spec_for(navigation)
    if selected is SIGN_IN or user is None:
        SIGN_IN.renderer()()  # signed out: the form, here (the address is kept)
        return
    if user.must_change_password:
        PAGES[[p.key for p in PAGES].index("compte")].renderer()()
        return
    if selected not in allowed:
        st.title(selected.title)
        common.denied(
            "Accès refusé : cette page n'est pas ouverte à votre rôle ("
            + user.roles_label
            + "). Choisissez une page dans le menu."
        )
        return
    common.open_target_on_start(db, user)
    navigation.run()
