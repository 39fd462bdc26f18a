"""Streamlit entry point: ``streamlit run app.py`` (pages live in call_eval/ui)."""

from call_eval.ui import navigation

navigation.run()
