"""The Streamlit application (French interface) — the only package that imports streamlit.

Pages: ``Appels`` (list, upload, analysis progress), ``Revue d'un appel`` (audio,
transcript, figures, criteria grid with the juror's ticks), ``Fiche de résultat`` (PDF and
JSON). ``app.py`` at the repository root only routes (``st.navigation``).

Open the app on a given recording: set ``CALL_EVAL_OPEN`` to its id, its call id (first
16 hex of the sha256) or its full sha256 before ``streamlit run app.py``; the first browser
session then lands on that call's review page. A page URL can also be shared directly:
``/revue?appel=<id>`` (``&jure=<juror id>`` keeps the juror).

Modules without Streamlit (usable in tests and the CLI): :mod:`.launch` (the
``streamlit run`` command line with the project's flags), :mod:`.uploads` (checks on an
uploaded file), :mod:`.jobs` (background analyses with progress).
"""

OPEN_ENV = "CALL_EVAL_OPEN"
