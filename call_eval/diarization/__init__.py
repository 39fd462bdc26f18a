"""Diarization backends behind :func:`call_eval.diarize.diarize` (the stage's one public entry).

- :mod:`.channel`: stereo calls with one party per channel (speech activity per channel).
- :mod:`.embedded`: offline mono diarization (VAD, speaker windows, clustering, smoothing).
- :mod:`.pyannote_backend`: a pyannote.audio pipeline from a local folder or the hub.

Heavy libraries are imported inside functions, so importing this package stays cheap.
"""
