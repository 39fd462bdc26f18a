"""« Bilan annuel » — the file Streamlit runs for this page (the code is in
:mod:`call_eval.ui.page_bilan`, imported once)."""

from call_eval.ui.page_bilan import render

render()
