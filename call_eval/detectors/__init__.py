"""NLP detectors: one module per family, each registering versioned detector functions.

Public entry: :func:`run_detectors`. See :mod:`call_eval.detectors.base`.
"""

from .base import CallContext, get, load_lexicon, register, registry, run_detectors

__all__ = ["CallContext", "get", "load_lexicon", "register", "registry", "run_detectors"]
