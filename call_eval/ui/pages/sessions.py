"""« Sessions d'examen » — the file Streamlit runs for this page (the code is in
:mod:`call_eval.ui.page_sessions`, imported once)."""

from call_eval.ui.page_sessions import render

render()
