"""« Revue d'un appel » — the file Streamlit runs for this page (the code is in
:mod:`call_eval.ui.page_revue`, imported once)."""

from call_eval.ui.page_revue import render

render()
