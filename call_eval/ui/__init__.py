"""The Streamlit application (French interface) — the only package that imports streamlit.

Sign-in first (« Connexion »; accounts and roles in :mod:`call_eval.auth`); then the pages
of the user's roles (:mod:`.navigation`, a list of pages each declaring its roles):
``Sessions d'examen`` (sessions, jury, candidates, documents, appeals, dysfunctions),
``Appels`` (list, upload, analysis progress), ``Revue d'un appel`` (a juror's grid),
``Délibération`` (disagreements, the jury's final ticks and decision), ``Fiche de
résultat``, ``Bilan annuel``, ``Comptes``, ``Mon compte``. ``app.py`` at the repository
root only routes (``st.navigation``). Every page reads and writes through the store with the
signed-in user, and the store checks what that user may see or change.

Open the app on a given recording: set ``CALL_EVAL_OPEN`` to its id, its call id (first
16 hex of the sha256) or its full sha256 before ``streamlit run app.py``; the first
signed-in juror session then lands on that call's review page. A page URL can also be
shared directly: ``/revue?appel=<id>``, ``/sessions?session=<id>&onglet=Jury``,
``/deliberation?candidat=<id>`` (signed out, the sign-in form comes first).

Modules without Streamlit (usable in tests and the CLI): :mod:`.launch` (the
``streamlit run`` command line with the project's flags), :mod:`.uploads` (checks on an
uploaded file), :mod:`.jobs` (background analyses with progress).
"""

OPEN_ENV = "CALL_EVAL_OPEN"
