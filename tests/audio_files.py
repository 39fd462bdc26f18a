"""Test helper: write synthetic signals in any container/codec with PyAV."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CODECS = {
    "wav": ("wav", "pcm_s16le", "s16"),
    "flac": ("flac", "flac", "s16"),
    "mp3": ("mp3", "libmp3lame", "fltp"),
    "m4a": ("mp4", "aac", "fltp"),
    "ogg": ("ogg", "libopus", "flt"),
    "opus": ("ogg", "libopus", "flt"),
}


def write_audio(path: Path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write float samples shaped (channels, n) or (n,) to ``path`` (format from the suffix)."""
    import av

    data = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    channels = data.shape[0]
    container_fmt, codec, sample_fmt = CODECS[path.suffix.lstrip(".")]
    rate = (
        48000
        if codec == "libopus" and sample_rate not in (8000, 12000, 16000, 24000, 48000)
        else sample_rate
    )
    layout = "stereo" if channels == 2 else "mono"
    with av.open(str(path), "w", format=container_fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        frame_size = 960 if codec == "libopus" else 1152
        for i in range(0, data.shape[1], frame_size):
            chunk = data[:, i : i + frame_size]
            if sample_fmt == "s16":
                arr = (np.clip(chunk, -1, 1) * 32767).astype(np.int16).T.reshape(1, -1)
            elif sample_fmt == "flt":
                arr = np.ascontiguousarray(chunk.T.reshape(1, -1))
            else:  # planar float
                arr = np.ascontiguousarray(chunk)
            frame = av.AudioFrame.from_ndarray(arr, format=sample_fmt, layout=layout)
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def tone(
    seconds: float, sample_rate: int = 16000, freq: float = 220.0, dbfs: float = -20.0
) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    amp = 10 ** (dbfs / 20) * np.sqrt(2)
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
