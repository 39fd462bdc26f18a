"""Alembic migrations of the call_eval store, run programmatically by
:func:`call_eval.store.upgrade_db` (no alembic.ini needed).

To write a new migration from a checkout::

    .venv/bin/python -m call_eval.store.revision "message"

which runs Alembic's autogenerate against a scratch SQLite database at head.
"""
