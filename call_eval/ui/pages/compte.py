"""« Mon compte » — the file Streamlit runs for this page (the code is in
:mod:`call_eval.ui.page_compte`, imported once)."""

from call_eval.ui.page_compte import render

render()
