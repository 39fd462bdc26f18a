"""« Délibération » — the file Streamlit runs for this page (the code is in
:mod:`call_eval.ui.page_deliberation`, imported once)."""

from call_eval.ui.page_deliberation import render

render()
