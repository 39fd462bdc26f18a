"""The pages and what runs before each of them (called from ``app.py``)."""

from __future__ import annotations

from typing import Any

import streamlit as st


def pages() -> dict[str, Any]:
    """The app's pages by short name (the same objects identify pages for switch_page)."""
    from call_eval.ui import page_appels, page_fiche, page_revue

    return {
        "appels": st.Page(
            page_appels.render,
            title="Appels",
            icon=":material/call:",
            url_path="appels",
            default=True,
        ),
        "revue": st.Page(
            page_revue.render,
            title="Revue d'un appel",
            icon=":material/fact_check:",
            url_path="revue",
        ),
        "fiche": st.Page(
            page_fiche.render,
            title="Fiche de résultat",
            icon=":material/description:",
            url_path="fiche",
        ),
    }


def run() -> None:
    """Configure the page, route, show the juror picker, honour CALL_EVAL_OPEN, run."""
    from call_eval.ui import common, resources

    st.set_page_config(
        page_title="Évaluation des appels", page_icon=":material/headset_mic:", layout="wide"
    )
    navigation = st.navigation(list(pages().values()))
    db = resources.database()
    common.open_target_on_start(db)
    common.juror_sidebar(db)
    navigation.run()
