"""« Connexion » — the file Streamlit runs for this page (the code is in
:mod:`call_eval.ui.page_connexion`, imported once)."""

from call_eval.ui.page_connexion import render

render()
