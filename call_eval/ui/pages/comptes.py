"""« Comptes » — the file Streamlit runs for this page (the code is in
:mod:`call_eval.ui.page_comptes`, imported once)."""

from call_eval.ui.page_comptes import render

render()
