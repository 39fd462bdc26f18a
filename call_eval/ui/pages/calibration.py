"""« Calibration des grilles » — the file Streamlit runs for this page (the code is in
:mod:`call_eval.ui.page_calibration`, imported once)."""

from call_eval.ui.page_calibration import render

render()
