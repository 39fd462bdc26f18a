"""« Appels » — the file Streamlit runs for this page (the code is in
:mod:`call_eval.ui.page_appels`, imported once)."""

from call_eval.ui.page_appels import render

render()
