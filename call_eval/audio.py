"""Audio loading: any common recording format → :class:`Audio` at 16 kHz, channels kept.

Decoding uses PyAV (bundled with faster-whisper), which reads wav, mp3, m4a/aac, ogg
(Vorbis/Opus), flac and telephone codecs without a system ffmpeg. Every rejection is an
:class:`~call_eval.errors.AudioError` whose one-line French message says what was wrong and
what to do.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from . import settings
from .errors import AudioError
from .types import Audio

log = logging.getLogger(__name__)

TARGET_SR = 16000
MIN_DURATION_S = 5.0
MIN_SOURCE_SR = 8000
MAX_SOURCE_SR = 48000
SILENCE_DBFS = -60.0  # a file whose loudest 50 ms window is below this is "silence only"
SUPPORTED = ("wav", "mp3", "m4a", "aac", "ogg", "opus", "oga", "flac", "webm", "mp4")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _decode(path: Path) -> tuple[object, int, int, str]:
    """Decode with PyAV → (float32 array (channels, n) at 16 kHz, source rate, channels, format)."""
    import av
    import numpy as np

    try:
        container = av.open(str(path))
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise AudioError(
            f"Fichier audio illisible ou corrompu : {path.name} ({exc.__class__.__name__}). "
            f"Vérifiez le fichier ou convertissez-le en WAV/MP3 ({', '.join(SUPPORTED)})."
        ) from exc
    with container:
        if not container.streams.audio:
            raise AudioError(
                f"Aucune piste audio dans {path.name}. Fournissez un enregistrement "
                f"({', '.join(SUPPORTED)})."
            )
        stream = container.streams.audio[0]
        source_sr = int(stream.codec_context.sample_rate or 0)
        source_channels = int(stream.codec_context.channels or 0)
        if source_channels > 2:
            raise AudioError(
                f"{path.name} a {source_channels} canaux ; seuls le mono et la stéréo (un "
                "interlocuteur par canal) sont acceptés. Exportez l'appel en mono ou en stéréo."
            )
        layout = "stereo" if source_channels == 2 else "mono"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=TARGET_SR)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except (av.error.InvalidDataError, av.error.FFmpegError) as exc:
            raise AudioError(
                f"Fichier audio corrompu : {path.name} ne se décode pas jusqu'au bout "
                f"({exc.__class__.__name__}). Réexportez l'enregistrement."
            ) from exc
        fmt = path.suffix.lower().lstrip(".") or container.format.name.split(",")[0]
    n_ch = 2 if layout == "stereo" else 1
    samples = (
        np.concatenate(chunks, axis=1).astype(np.float32)
        if chunks
        else np.zeros((n_ch, 0), dtype=np.float32)
    )
    return samples, source_sr, source_channels, fmt


def _channels_identical(samples) -> bool:
    import numpy as np

    a, b = samples[0], samples[1]
    energy = float(np.mean(a * a) + np.mean(b * b))
    if energy <= 0:
        return True
    return float(np.mean((a - b) ** 2)) < 1e-4 * energy


def _peak_window_dbfs(mono) -> float:
    import numpy as np

    win = int(0.05 * TARGET_SR)
    n = len(mono) // win
    if n == 0:
        return float("-inf")
    frames = mono[: n * win].reshape(n, win)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    return float(20 * np.log10(max(rms.max(), 1e-12)))


def load_audio(path: str | Path, *, max_duration_s: float | None = None) -> Audio:
    """Load a recording, resampled to 16 kHz with its channels kept.

    Raises :class:`AudioError` for a missing, unreadable or corrupt file, zero length,
    silence only, a recording shorter than 5 s or longer than ``max_duration_s`` (default
    ``CALL_EVAL_MAX_DURATION_S``, 30 min), more than two channels, or a sample rate outside
    8–48 kHz.
    """
    p = Path(path)
    limit = settings.max_duration_s() if max_duration_s is None else float(max_duration_s)
    if not p.exists():
        raise AudioError(f"Fichier introuvable : {p}. Vérifiez le chemin de l'enregistrement.")
    if not p.is_file():
        raise AudioError(f"{p} n'est pas un fichier. Donnez le chemin d'un enregistrement audio.")
    if p.stat().st_size == 0:
        raise AudioError(f"Fichier vide (0 octet) : {p.name}. Réexportez l'enregistrement.")
    samples, source_sr, source_channels, fmt = _decode(p)
    if source_sr and not MIN_SOURCE_SR <= source_sr <= MAX_SOURCE_SR:
        raise AudioError(
            f"Fréquence d'échantillonnage non prise en charge : {source_sr} Hz dans {p.name} "
            f"(acceptée : {MIN_SOURCE_SR}–{MAX_SOURCE_SR} Hz). Rééchantillonnez le fichier."
        )
    n = samples.shape[1]
    duration = n / TARGET_SR
    if n == 0:
        raise AudioError(f"Enregistrement de durée nulle : {p.name}. Réexportez l'appel.")
    if duration < MIN_DURATION_S:
        raise AudioError(
            f"Enregistrement trop court : {duration:.1f} s dans {p.name} (minimum "
            f"{MIN_DURATION_S:.0f} s). Fournissez l'appel complet."
        )
    if duration > limit:
        raise AudioError(
            f"Enregistrement trop long : {duration / 60:.1f} min dans {p.name} (maximum "
            f"{limit / 60:.0f} min, réglable par CALL_EVAL_MAX_DURATION_S). Découpez l'appel."
        )
    identical = samples.shape[0] == 2 and _channels_identical(samples)
    loudest = max(_peak_window_dbfs(channel) for channel in samples)
    if loudest < SILENCE_DBFS:
        raise AudioError(
            f"Enregistrement silencieux : {p.name} ne contient pas de parole audible "
            f"(niveau max {loudest:.0f} dBFS). Vérifiez le micro ou le fichier exporté."
        )
    log.info(
        "loaded %s: %.1f s, %d ch (source %d Hz, %d ch)%s",
        p.name,
        duration,
        samples.shape[0],
        source_sr,
        source_channels,
        ", identical channels" if identical else "",
    )
    return Audio(
        samples=samples,
        sample_rate=TARGET_SR,
        duration=duration,
        path=str(p),
        format=fmt,
        original_sample_rate=source_sr,
        original_channels=source_channels,
        sha256=_sha256(p),
        identical_channels=identical,
    )
