"""« Fiche de résultat » — the file Streamlit runs for this page (the code is in
:mod:`call_eval.ui.page_fiche`, imported once)."""

from call_eval.ui.page_fiche import render

render()
