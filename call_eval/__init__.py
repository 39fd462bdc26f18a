"""call_eval: offline assistant for evaluating recorded French outbound calls.

Importing the package is cheap: heavy libraries (torch, faster-whisper, spaCy, librosa,
pyannote) are imported lazily inside cached loaders.
"""

__version__ = "0.1.0"
SCHEMA_VERSION = "1.0"

__all__ = ["SCHEMA_VERSION", "__version__"]
