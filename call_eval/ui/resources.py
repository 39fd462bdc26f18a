"""The app's only ``st.cache_resource`` wrappers: database, job queue, stored results,
the calibration sets' scorers."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from call_eval import store
from call_eval.auth import SYSTEM, User
from call_eval.store import Database
from call_eval.ui.jobs import JobManager

if TYPE_CHECKING:  # pragma: no cover
    from call_eval.calibration import CalibrationCall
    from call_eval.ui.calibration_view import SetScorer


@st.cache_resource(show_spinner=False)
def _database(url: str, data_dir: str) -> Database:
    return store.open_db(url, data_dir)


def database() -> Database:
    """The store named by CALL_EVAL_DB_URL / CALL_EVAL_DATA_DIR (migrated on first use)."""
    data_dir = store.default_data_dir().resolve()
    return _database(store.default_url(data_dir), str(data_dir))


@st.cache_resource(show_spinner=False)
def _jobs(url: str) -> JobManager:
    return JobManager()


def jobs(db: Database) -> JobManager:
    """The background analysis queue of this server process (one per database)."""
    return _jobs(db.url)


@st.cache_resource(show_spinner=False, max_entries=16)
def _analysis_result(_db: Database, url: str, analysis_id: int) -> dict[str, Any]:
    return store.get_analysis(_db, SYSTEM, analysis_id).result  # access checked by the caller


def analysis_result(db: Database, actor: User, analysis_id: int) -> dict[str, Any]:
    """A stored analysis' JSON, parsed once per process (analyses never change), after
    checking that ``actor`` may read it.

    Treat it as read-only: the same dict is shared by every session.
    """
    store.check_analysis_access(db, actor, analysis_id)
    return _analysis_result(db, db.url, analysis_id)


@st.cache_resource(show_spinner=False, max_entries=4)
def _media_bytes(path: str, mtime: float, size: int) -> bytes:
    return Path(path).read_bytes()


def media_bytes(path: Path) -> bytes:
    """A recording's bytes for the audio player, read once while the file is unchanged."""
    stat = path.stat()
    return _media_bytes(str(path), stat.st_mtime, stat.st_size)


class _Once:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False

    def take(self) -> bool:
        with self._lock:
            if self._done:
                return False
            self._done = True
            return True


@st.cache_resource(show_spinner=False)
def _open_once(target: str, url: str) -> _Once:
    return _Once()


def take_open_target(target: str, db: Database) -> bool:
    """True for the first session of this server asking to open ``target`` (then False)."""
    return _open_once(target, db.url).take()


@st.cache_resource(show_spinner=False, max_entries=4)
def _set_scorer(fingerprint: str, _calls: tuple[CalibrationCall, ...]) -> SetScorer:
    from call_eval.ui.calibration_view import SetScorer

    return SetScorer(_calls)


def set_scorer(calls: Sequence[CalibrationCall], fingerprint: str | None = None) -> SetScorer:
    """The scorer of a calibration set: one per set (by fingerprint), shared by reruns,
    sessions and rubric edits, so that re-scoring an edited rubric takes seconds."""
    from call_eval.ui.calibration_view import set_fingerprint

    return _set_scorer(fingerprint or set_fingerprint(calls), tuple(calls))
