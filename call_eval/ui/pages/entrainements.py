"""« Entraînements » — the file Streamlit runs for this page (the code is in
:mod:`call_eval.ui.page_entrainements`, imported once)."""

from call_eval.ui.page_entrainements import render

render()
