"""User-facing errors. Each message says what was wrong and what to do about it.

The CLI prints ``str(error)`` on one line and exits non-zero; the UI shows it in French-
speaking pages as is (messages are in French because jurors read them).
"""

from __future__ import annotations


class CallEvalError(Exception):
    """Base class: an error a user can act on (never a bug)."""

    exit_code = 2


class AudioError(CallEvalError):
    """The recording cannot be used (missing, corrupt, too short, too long...)."""

    exit_code = 3


class ModelError(CallEvalError):
    """A model is missing or cannot be loaded."""

    exit_code = 4


class TranscriptError(CallEvalError):
    """A transcript JSON given instead of audio is malformed."""

    exit_code = 5


class RubricError(CallEvalError):
    """A rubric file is invalid; the message names the file, criterion and field."""

    exit_code = 6


class ConfigError(CallEvalError):
    """An option or setting has an invalid value; the message lists the valid ones."""

    exit_code = 7
