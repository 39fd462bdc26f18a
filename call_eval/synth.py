"""Synthetic two-speaker French phone calls, for test fixtures and the bundled demo.

A dialogue (YAML file, YAML text or a mapping) is voiced with SVOX Pico fr-FR
(PyPI ``py-nanotts``, a development dependency imported lazily), placed on a timeline with
seeded random gaps and optional overlaps, and mixed into a mono track and a stereo track
(agent on the left, callee on the right). The exact start and end of every turn are kept,
so that tests and benchmarks have a reference transcript with times.

Dialogue format (every key but ``turns`` is optional; unknown top-level keys such as
``script``, ``crm_note`` or ``labels`` are ignored, so a labelled call file can be rendered
as is)::

    meta: {call_id: demo}            # copied to the reference JSON
    speakers:
      agent:  {voice: pico, speed: 1.0, gain_db: 0}
      callee: {voice: pico-male}     # voices: see VOICES
    delivery:                        # corpus-style alternative to speakers
      agent: {rate: 1.0, gain_db: 0}
    options:
      gap: [0.25, 0.8]               # random silence between turns (s)
      long_gap_prob: 0.08            # chance of a longer "thinking" silence
      long_gap: [1.0, 1.8]
      overlap_prob: 0.0              # chance a change of speaker starts early
      overlap: [0.1, 0.3]            # overlap length (s)
      lead_in: 0.5                   # silence before the first turn (s)
      tail: 0.8                      # silence after the last turn (s)
      telephone: false               # 300-3400 Hz band-pass
      noise_snr_db: null             # white noise in each channel at this SNR
    turns:
      - speaker: agent               # agent | callee
        text: "Bonjour ..."          # reference text; "[pause 0.6]" inserts a silence
        say: "..."                   # optional text for the TTS when it must differ
        pause: 0.4                   # optional exact silence before the turn (s)
        overlap: 0.3                 # optional exact overlap with the previous turn (s)
        speed: 1.2                   # optional, multiplies the speaker's speed
        gain_db: -3                  # optional, added to the speaker's gain

Speeds multiply (speaker x ``render_call`` argument x turn); gains add. Every utterance is
normalised to the same RMS level (``TARGET_RMS_DBFS``) before its gain, so a gain is the
level difference a listener hears.

Command line (also writes ``NAME.script.txt`` and ``NAME.crm.txt`` when the dialogue has
``script.questions`` or ``crm_note``)::

    python -m call_eval.synth DIALOGUE.yaml -o OUTDIR [--name N] [--seed S]
        [--agent-gain-db X] [--agent-speed X] [--callee-gain-db X] [--callee-speed X]
        [--telephone] [--overlap-prob P] [--sample-rate 8000] [--format ogg]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import math
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from call_eval.errors import ConfigError, ModelError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
TARGET_RMS_DBFS = -23.0
ROLES = ("agent", "callee")
TELEPHONE_BAND_HZ = (300.0, 3400.0)
PEAK_CEILING = 0.95


@dataclass(frozen=True)
class Voice:
    """A Pico voice preset: ``pitch`` is Pico's F0 factor; ``formant`` scales every
    frequency (formants and F0) by resampling, which is what makes the voice sound male."""

    pitch: float = 1.0
    formant: float = 1.0


VOICES: dict[str, Voice] = {
    "pico": Voice(),
    "pico-male": Voice(pitch=0.70, formant=0.87),
    "pico-male2": Voice(pitch=0.62, formant=0.83),
    "pico-female2": Voice(pitch=1.12, formant=1.05),
}
DEFAULT_VOICES = {"agent": "pico", "callee": "pico-male"}

DEFAULT_OPTIONS: dict[str, Any] = {
    "gap": [0.25, 0.8],
    "long_gap_prob": 0.08,
    "long_gap": [1.0, 1.8],
    "overlap_prob": 0.0,
    "overlap": [0.1, 0.3],
    "lead_in": 0.5,
    "tail": 0.8,
    "telephone": False,
    "noise_snr_db": None,
}
TURN_KEYS = ("speaker", "text", "say", "pause", "overlap", "speed", "gain_db", "tags")
SPEAKER_KEYS = ("voice", "speed", "gain_db", "pitch", "formant")
FORMATS = ("wav", "flac", "ogg", "mp3", "m4a")

_PAUSE_TAG = re.compile(r"\[pause[ =:]?\s*([0-9]*\.?[0-9]+)\s*s?\]", re.IGNORECASE)


@dataclass(frozen=True, eq=False)
class RenderedCall:
    """A synthesised call: mono mix, stereo (row 0 = agent/left, row 1 = callee/right) and
    the exact turn times (``speaker``, ``text``, ``start``, ``end`` in seconds)."""

    mono: np.ndarray
    stereo: np.ndarray
    sample_rate: int
    turns: tuple[dict, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.mono.shape[-1] / self.sample_rate


# --------------------------------------------------------------------------- TTS engine
@functools.lru_cache(maxsize=1)
def _pico() -> Any:
    try:
        from py_nanotts import NanoTTS
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelError(
            "Le synthétiseur vocal py-nanotts (SVOX Pico) n'est pas installé : il sert à "
            "générer les appels de test. Installez-le avec "
            "`pip install -c constraints.txt py-nanotts==0.1.1` (ou `pip install -e .[dev]`)."
        ) from exc
    return NanoTTS()


_M_PERTURB = -6  # glibc mallopt parameter
_pico_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _glibc() -> Any | None:
    if platform.libc_ver()[0] != "glibc":
        log.warning("Not glibc: Pico output may depend on earlier calls in this process")
        return None
    import ctypes
    import ctypes.util

    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


@contextlib.contextmanager
def _zero_filled_mallocs() -> Iterator[None]:
    """Make malloc return zero-filled memory for the duration of the block.

    Pico reads part of its 2.5 MB work area before writing it: in a long-lived process that
    memory holds leftovers of earlier calls, so the same text came out differently depending
    on what was synthesised before. glibc's M_PERTURB fills every allocation with the
    complement of the given byte (0xFF -> zeros), which gives the output of a fresh process.
    """
    libc = _glibc()
    if libc is None:
        yield
        return
    libc.mallopt(_M_PERTURB, 0xFF)
    try:
        yield
    finally:
        libc.mallopt(_M_PERTURB, 0)


def _pico_say(text: str, speed: float, voice: Voice) -> np.ndarray:
    """One stretch of speech at 16 kHz, float32, voice preset applied."""
    text = text.replace("<", " ").replace(">", " ")  # Pico reads <...> as markup
    engine = _pico()
    # Resampling by `formant` lengthens by 1/formant: ask Pico to speak faster to match.
    with _pico_lock, _zero_filled_mallocs():
        pcm = engine.speak(
            text,
            voice="fr-FR",
            speed=float(np.clip(speed / voice.formant, 0.2, 5.0)),
            pitch=float(np.clip(voice.pitch, 0.5, 2.0)),
        )
    audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
    if abs(voice.formant - 1.0) > 1e-3:
        from scipy.signal import resample_poly

        ratio = Fraction(voice.formant).limit_denominator(100)
        audio = resample_poly(audio, ratio.denominator, ratio.numerator).astype(np.float32)
    return audio


def _trim(audio: np.ndarray, rel_db: float = -45.0, margin_s: float = 0.015) -> np.ndarray:
    """Cut leading and trailing silence (10 ms frames quieter than peak + rel_db)."""
    hop = SAMPLE_RATE // 100
    n = len(audio) // hop
    if n == 0:
        return audio[:0]
    frames = audio[: n * hop].reshape(n, hop)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    threshold = max(float(rms.max()) * 10 ** (rel_db / 20), 10 ** (-60 / 20))
    active = np.flatnonzero(rms > threshold)
    if active.size == 0:
        return audio[:0]
    margin = int(margin_s * SAMPLE_RATE)
    return audio[
        max(0, active[0] * hop - margin) : min(len(audio), (active[-1] + 1) * hop + margin)
    ]


@functools.lru_cache(maxsize=1)
def _telephone_sos() -> np.ndarray:
    from scipy.signal import butter

    return butter(4, TELEPHONE_BAND_HZ, btype="bandpass", fs=SAMPLE_RATE, output="sos")


def telephone_filter(audio: np.ndarray) -> np.ndarray:
    """Zero-phase 300-3400 Hz band-pass of a 16 kHz signal."""
    from scipy.signal import sosfiltfilt

    return sosfiltfilt(_telephone_sos(), audio).astype(np.float32)


def _speak_turn(
    text: str, *, voice: Voice, speed: float, gain_db: float, telephone: bool
) -> np.ndarray:
    pieces: list[np.ndarray] = []
    parts = _PAUSE_TAG.split(text)  # text, seconds, text, seconds, ...
    for i, part in enumerate(parts):
        if i % 2:
            pieces.append(np.zeros(int(round(float(part) * SAMPLE_RATE)), np.float32))
        elif part.strip():
            pieces.append(_trim(_pico_say(part.strip(), speed, voice)))
    audio = _trim(np.concatenate(pieces)) if pieces else np.zeros(0, np.float32)
    if audio.size == 0:
        raise ConfigError(f"Le synthétiseur n'a produit aucun son pour le texte {text!r}.")
    if telephone:  # band-limit before levelling, like a line with automatic gain control
        audio = telephone_filter(audio)
    rms = float(np.sqrt(np.mean(audio**2)))
    return (audio * (10 ** ((TARGET_RMS_DBFS + gain_db) / 20) / rms)).astype(np.float32)


def clean_text(text: str) -> str:
    """Reference text of a turn: pause tags removed, spaces collapsed."""
    return re.sub(r"\s+", " ", _PAUSE_TAG.sub(" ", text)).strip()


# --------------------------------------------------------------------------- dialogue
def load_dialogue(dialogue: Mapping | str | Path) -> dict[str, Any]:
    """Read a dialogue: a mapping, a YAML/JSON file path, or YAML text (a str with a newline)."""
    import yaml

    if isinstance(dialogue, Mapping):
        return dict(dialogue)
    if isinstance(dialogue, str) and "\n" in dialogue:
        data = yaml.safe_load(dialogue)
        source = "texte YAML"
    else:
        path = Path(dialogue)
        if not path.is_file():
            raise ConfigError(f"Fichier de dialogue introuvable : {path}.")
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise ConfigError(f"Fichier de dialogue illisible ({path}) : {exc}") from exc
        source = str(path)
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"Dialogue invalide ({source}) : attendu un dictionnaire avec une clé 'turns'."
        )
    return dict(data)


def _number(value: Any, where: str, *, low: float | None = None) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"Dialogue invalide : {where} doit être un nombre, reçu {value!r}."
        ) from None
    if not math.isfinite(x) or (low is not None and x < low):
        bound = f" supérieur ou égal à {low}" if low is not None else ""
        raise ConfigError(
            f"Dialogue invalide : {where} doit être un nombre fini{bound}, reçu {value!r}."
        )
    return x


def _positive(value: Any, where: str) -> float:
    x = _number(value, where, low=0.0)
    if x <= 0:
        raise ConfigError(
            f"Dialogue invalide : {where} doit être strictement positif, reçu {value!r}."
        )
    return x


def _speaker_settings(dlg: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    speakers = dlg.get("speakers") or {}
    delivery = dlg.get("delivery") or {}
    if not isinstance(speakers, Mapping) or not isinstance(delivery, Mapping):
        raise ConfigError(
            "Dialogue invalide : 'speakers' et 'delivery' doivent être des dictionnaires."
        )
    for key in (*speakers, *delivery):
        if key not in ROLES:
            raise ConfigError(
                f"Dialogue invalide : locuteur {key!r} inconnu ; valeurs possibles : {', '.join(ROLES)}."
            )
    out: dict[str, dict[str, Any]] = {}
    for role in ROLES:
        cfg = dict(delivery.get(role) or {})
        if "rate" in cfg:
            cfg["speed"] = cfg.pop("rate")
        cfg.update(speakers.get(role) or {})
        unknown = sorted(set(cfg) - set(SPEAKER_KEYS))
        if unknown:
            raise ConfigError(
                f"Dialogue invalide : réglage(s) {unknown} du locuteur {role!r} inconnu(s) ; "
                f"valeurs possibles : {', '.join(SPEAKER_KEYS)}."
            )
        name = str(cfg.get("voice", DEFAULT_VOICES[role]))
        if name not in VOICES:
            raise ConfigError(
                f"Dialogue invalide : voix {name!r} inconnue pour {role!r} ; "
                f"valeurs possibles : {', '.join(VOICES)}."
            )
        preset = VOICES[name]
        out[role] = {
            "voice": name,
            "pitch": _positive(cfg.get("pitch", preset.pitch), f"speakers.{role}.pitch"),
            "formant": _positive(cfg.get("formant", preset.formant), f"speakers.{role}.formant"),
            "speed": _positive(cfg.get("speed", 1.0), f"speakers.{role}.speed"),
            "gain_db": _number(cfg.get("gain_db", 0.0), f"speakers.{role}.gain_db"),
        }
    return out


def _range(value: Any, where: str) -> tuple[float, float]:
    if isinstance(value, int | float):
        x = _number(value, where, low=0.0)
        return x, x
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        lo, hi = (_number(v, where, low=0.0) for v in value)
        if lo <= hi:
            return lo, hi
    raise ConfigError(
        f"Dialogue invalide : {where} doit être un nombre ou [min, max], reçu {value!r}."
    )


def _validated_turns(dlg: Mapping[str, Any]) -> list[dict[str, Any]]:
    turns = dlg.get("turns")
    if not isinstance(turns, Sequence) or isinstance(turns, str) or not turns:
        raise ConfigError(
            "Dialogue invalide : 'turns' doit être une liste non vide de tours "
            "({speaker: agent|callee, text: ...})."
        )
    out = []
    for i, turn in enumerate(turns, start=1):
        if not isinstance(turn, Mapping):
            raise ConfigError(
                f"Dialogue invalide (tour {i}) : attendu un dictionnaire, reçu {turn!r}."
            )
        unknown = sorted(set(turn) - set(TURN_KEYS))
        if unknown:
            raise ConfigError(
                f"Dialogue invalide (tour {i}) : clé(s) {unknown} inconnue(s) ; "
                f"valeurs possibles : {', '.join(TURN_KEYS)}."
            )
        if turn.get("speaker") not in ROLES:
            raise ConfigError(
                f"Dialogue invalide (tour {i}) : speaker {turn.get('speaker')!r} inconnu ; "
                f"valeurs possibles : {', '.join(ROLES)}."
            )
        text = turn.get("text")
        if not isinstance(text, str) or not clean_text(text):
            raise ConfigError(f"Dialogue invalide (tour {i}) : 'text' doit être un texte non vide.")
        say = turn.get("say", text)
        if not isinstance(say, str) or not clean_text(say):
            raise ConfigError(f"Dialogue invalide (tour {i}) : 'say' doit être un texte non vide.")
        if "pause" in turn and "overlap" in turn:
            raise ConfigError(f"Dialogue invalide (tour {i}) : 'pause' et 'overlap' s'excluent.")
        for key in ("pause", "overlap"):
            if key in turn:
                _number(turn[key], f"tour {i}, {key}", low=0.0)
        if "speed" in turn:
            _positive(turn["speed"], f"tour {i}, speed")
        if "gain_db" in turn:
            _number(turn["gain_db"], f"tour {i}, gain_db")
        out.append(dict(turn))
    return out


def _options(dlg: Mapping[str, Any], telephone: bool, overlap_prob: float | None) -> dict[str, Any]:
    given = dlg.get("options") or {}
    if not isinstance(given, Mapping):
        raise ConfigError("Dialogue invalide : 'options' doit être un dictionnaire.")
    unknown = sorted(set(given) - set(DEFAULT_OPTIONS))
    if unknown:
        raise ConfigError(
            f"Dialogue invalide : option(s) {unknown} inconnue(s) ; "
            f"valeurs possibles : {', '.join(DEFAULT_OPTIONS)}."
        )
    opts = {**DEFAULT_OPTIONS, **given}
    if telephone:
        opts["telephone"] = True
    if overlap_prob is not None:
        opts["overlap_prob"] = overlap_prob
    for key in ("long_gap_prob", "overlap_prob"):
        p = _number(opts[key], f"options.{key}", low=0.0)
        if p > 1:
            raise ConfigError(
                f"Dialogue invalide : options.{key} doit être entre 0 et 1, reçu {p}."
            )
        opts[key] = p
    for key in ("gap", "long_gap", "overlap"):
        opts[key] = list(_range(opts[key], f"options.{key}"))
    for key in ("lead_in", "tail"):
        opts[key] = _number(opts[key], f"options.{key}", low=0.0)
    if opts["noise_snr_db"] is not None:
        opts["noise_snr_db"] = _number(opts["noise_snr_db"], "options.noise_snr_db")
    opts["telephone"] = bool(opts["telephone"])
    return opts


# --------------------------------------------------------------------------- rendering
def render_call(
    dialogue: Mapping | str | Path,
    *,
    seed: int = 0,
    agent_speed: float = 1.0,
    callee_speed: float = 1.0,
    agent_gain_db: float = 0.0,
    callee_gain_db: float = 0.0,
    telephone: bool = False,
    overlap_prob: float | None = None,
) -> RenderedCall:
    """Voice a dialogue into a two-speaker call; the same inputs and seed give the same call.

    ``agent_speed``/``callee_speed`` multiply the dialogue's speeds, ``*_gain_db`` add to its
    gains, ``telephone`` band-passes every utterance to 300-3400 Hz, ``overlap_prob`` (0-1)
    overrides the dialogue's chance that a change of speaker starts early.
    Raises :class:`ConfigError` for an invalid dialogue, :class:`ModelError` when py-nanotts
    is missing.
    """
    dlg = load_dialogue(dialogue)
    turns = _validated_turns(dlg)
    speakers = _speaker_settings(dlg)
    speakers["agent"]["speed"] *= _positive(agent_speed, "agent_speed")
    speakers["callee"]["speed"] *= _positive(callee_speed, "callee_speed")
    speakers["agent"]["gain_db"] += _number(agent_gain_db, "agent_gain_db")
    speakers["callee"]["gain_db"] += _number(callee_gain_db, "callee_gain_db")
    opts = _options(dlg, telephone, overlap_prob)
    rng = np.random.default_rng(int(seed))
    sr = SAMPLE_RATE

    placed: list[tuple[str, int, np.ndarray]] = []
    records: list[dict[str, Any]] = []
    cursor = round(opts["lead_in"] * sr)  # end of everything placed so far (samples)
    own_end = {role: 0 for role in ROLES}
    for i, turn in enumerate(turns):
        role = turn["speaker"]
        spk = speakers[role]
        audio = _speak_turn(
            str(turn.get("say", turn["text"])),
            voice=Voice(spk["pitch"], spk["formant"]),
            speed=spk["speed"] * float(turn.get("speed", 1.0)),
            gain_db=spk["gain_db"] + float(turn.get("gain_db", 0.0)),
            telephone=opts["telephone"],
        )
        # Draw the random numbers for every turn, used or not, so that a per-turn pause in
        # one place does not reshuffle the gaps of all the following turns.
        overlap_draw = rng.random()
        long_draw = rng.random()
        gap_s = float(
            rng.uniform(*(opts["long_gap"] if long_draw < opts["long_gap_prob"] else opts["gap"]))
        )
        overlap_s = float(rng.uniform(*opts["overlap"]))
        if i == 0:
            offset = float(turn.get("pause", 0.0))
        elif "overlap" in turn:
            offset = -float(turn["overlap"])
        elif "pause" in turn:
            offset = float(turn["pause"])
        elif role != records[-1]["speaker"] and overlap_draw < opts["overlap_prob"]:
            offset = -overlap_s
        else:
            offset = gap_s
        start = cursor + round(offset * sr)
        # Never before the previous turn began (+0.3 s), never over one's own speech.
        if records:
            start = max(start, round(records[-1]["start"] * sr) + round(0.3 * sr))
        if own_end[role]:
            start = max(start, own_end[role] + round(0.1 * sr))
        end = start + len(audio)
        placed.append((role, start, audio))
        own_end[role] = end
        cursor = max(cursor, end)
        records.append(
            {
                "speaker": role,
                "text": clean_text(turn["text"]),
                "start": start / sr,
                "end": end / sr,
            }
        )

    total = cursor + round(opts["tail"] * sr)
    tracks = np.zeros((2, total), np.float32)
    for role, start, audio in placed:
        tracks[ROLES.index(role), start : start + len(audio)] += audio
    if opts["noise_snr_db"] is not None:
        level = 10 ** ((TARGET_RMS_DBFS - opts["noise_snr_db"]) / 20)
        tracks += (rng.standard_normal(tracks.shape) * level).astype(np.float32)
    mono = tracks.sum(axis=0)
    peak = max(float(np.abs(mono).max()), float(np.abs(tracks).max()), 1e-9)
    scale = min(1.0, PEAK_CEILING / peak)
    mono *= scale
    tracks *= scale

    metadata = {
        "meta": _meta(dlg),
        "speakers": speakers,
        "generator": {
            "module": "call_eval.synth",
            "engine": "SVOX Pico fr-FR (py-nanotts)",
            "seed": int(seed),
            "options": opts,
            "target_rms_dbfs": TARGET_RMS_DBFS,
            "output_scale": round(scale, 4),
        },
        "tags": [turn.get("tags") for turn in turns],
    }
    n_overlaps = sum(1 for a, b in zip(records, records[1:], strict=False) if b["start"] < a["end"])
    log.info(
        "Rendered %d turns (%d overlapping), %.1f s, seed %d",
        len(records),
        n_overlaps,
        total / sr,
        seed,
    )
    return RenderedCall(
        mono=mono, stereo=tracks, sample_rate=sr, turns=tuple(records), metadata=metadata
    )


def _meta(dlg: Mapping[str, Any]) -> dict[str, Any]:
    meta = dict(dlg.get("meta") or {})
    for key in ("id", "title", "sector", "campaign", "objective"):
        if key in dlg:
            meta.setdefault(key, dlg[key])
    return meta


# --------------------------------------------------------------------------- writing
def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling along the last axis (float32)."""
    if from_rate == to_rate:
        return audio.astype(np.float32)
    from scipy.signal import resample_poly

    g = math.gcd(from_rate, to_rate)
    return resample_poly(audio, to_rate // g, from_rate // g, axis=-1).astype(np.float32)


_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def write_audio(path: Path, audio: np.ndarray, sample_rate: int, fmt: str) -> None:
    """Write float audio ``(n,)`` or ``(channels, n)`` as wav/flac (PCM 16), ogg (Opus, or
    Vorbis at rates Opus lacks), mp3, or m4a (AAC, through ffmpeg)."""
    import soundfile as sf

    if fmt not in FORMATS:
        raise ConfigError(
            f"Format audio {fmt!r} inconnu ; valeurs possibles : {', '.join(FORMATS)}."
        )
    data = np.clip(audio, -1.0, 1.0).T  # soundfile wants (n, channels)
    if fmt == "m4a":
        _write_with_ffmpeg(path, data, sample_rate)
        return
    kwargs: dict[str, Any] = {
        "wav": {"format": "WAV", "subtype": "PCM_16"},
        "flac": {"format": "FLAC", "subtype": "PCM_16"},
        "ogg": {"format": "OGG", "subtype": "OPUS" if sample_rate in _OPUS_RATES else "VORBIS"},
        "mp3": {"format": "MP3"},
    }[fmt]
    try:
        sf.write(path, data, sample_rate, **kwargs)
    except (sf.LibsndfileError, TypeError, ValueError) as exc:
        log.info("soundfile cannot write %s (%s): using ffmpeg", fmt, exc)
        _write_with_ffmpeg(path, data, sample_rate)


def _write_with_ffmpeg(path: Path, data: np.ndarray, sample_rate: int) -> None:
    import soundfile as sf

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise ConfigError(
            f"ffmpeg est nécessaire pour écrire {path.name} : installez-le (apt install ffmpeg)."
        )
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "in.wav"
        sf.write(wav, data, sample_rate, subtype="PCM_16")
        cmd = [
            ffmpeg,
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(wav),
            "-ar",
            str(sample_rate),
            str(path),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ConfigError(f"ffmpeg n'a pas pu écrire {path} : {result.stderr.strip()[-300:]}")


def write_call(
    call: RenderedCall,
    out_dir: Path,
    name: str,
    *,
    fmt: str = "wav",
    sample_rate: int | None = None,
) -> dict[str, Path]:
    """Write ``NAME.<fmt>`` (mono), ``NAME_stereo.<fmt>``, ``NAME.json`` (reference turns) and
    ``NAME.rttm``; returns their paths under the keys mono, stereo, json, rttm."""
    if fmt not in FORMATS:
        raise ConfigError(
            f"Format audio {fmt!r} inconnu ; valeurs possibles : {', '.join(FORMATS)}."
        )
    rate = int(sample_rate or call.sample_rate)
    if rate < 8000 or rate > 48000:
        raise ConfigError(f"Fréquence d'échantillonnage {rate} Hz hors limites (8000 à 48000 Hz).")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "mono": out_dir / f"{name}.{fmt}",
        "stereo": out_dir / f"{name}_stereo.{fmt}",
        "json": out_dir / f"{name}.json",
        "rttm": out_dir / f"{name}.rttm",
    }
    mono = resample(call.mono, call.sample_rate, rate)
    write_audio(paths["mono"], mono, rate, fmt)
    write_audio(paths["stereo"], resample(call.stereo, call.sample_rate, rate), rate, fmt)
    paths["json"].write_text(
        json.dumps(
            reference_document(call, name, paths, rate, mono.shape[-1] / rate),
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    paths["rttm"].write_text(rttm_text(call, name), encoding="utf-8")
    log.info("Wrote %s", ", ".join(str(p) for p in paths.values()))
    return paths


def reference_document(
    call: RenderedCall, name: str, paths: Mapping[str, Path], sample_rate: int, duration: float
) -> dict[str, Any]:
    """The reference JSON: audio description, generator settings and the timed turns."""
    md = call.metadata
    turns = []
    tags = md.get("tags") or [None] * len(call.turns)
    for i, (turn, tag) in enumerate(zip(call.turns, tags, strict=False)):
        rec: dict[str, Any] = {
            "id": i,
            "speaker": turn["speaker"],
            "text": turn["text"],
            "start": round(turn["start"], 4),
            "end": round(turn["end"], 4),
        }
        if i:
            rec["offset_from_prev_end"] = round(turn["start"] - call.turns[i - 1]["end"], 4)
        if tag:
            rec["tags"] = tag
        turns.append(rec)
    return {
        "call_id": name,
        "language": "fr",
        "audio": {
            "mono": paths["mono"].name,
            "stereo": paths["stereo"].name,
            "sample_rate": sample_rate,
            "duration": round(duration, 4),
            "stereo_channels": {"left": "agent", "right": "callee"},
        },
        "meta": md.get("meta", {}),
        "speakers": md.get("speakers", {}),
        "generator": md.get("generator", {}),
        "turns": turns,
    }


def rttm_text(call: RenderedCall, name: str) -> str:
    """RTTM lines (one per turn, sorted by start), speaker labels agent/callee."""
    lines = [
        f"SPEAKER {name} 1 {t['start']:.3f} {t['end'] - t['start']:.3f} <NA> <NA> {t['speaker']} <NA> <NA>"
        for t in sorted(call.turns, key=lambda t: t["start"])
    ]
    return "\n".join(lines) + "\n"


def write_companion_texts(dialogue: Mapping[str, Any], out_dir: Path, name: str) -> dict[str, Path]:
    """Write the call script (``NAME.script.txt``, one question per line) and the CRM note
    (``NAME.crm.txt``) when the dialogue has ``script.questions`` / ``crm_note``."""
    out_dir = Path(out_dir)
    written: dict[str, Path] = {}
    script = dialogue.get("script")
    questions = script.get("questions") if isinstance(script, Mapping) else None
    if questions:
        if not isinstance(questions, Sequence) or isinstance(questions, str):
            raise ConfigError(
                "Dialogue invalide : 'script.questions' doit être une liste de questions."
            )
        written["script"] = out_dir / f"{name}.script.txt"
        lines = [" ".join(str(q).split()) for q in questions]
        written["script"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    note = dialogue.get("crm_note")
    if isinstance(note, str) and note.strip():
        written["crm"] = out_dir / f"{name}.crm.txt"
        written["crm"].write_text(note.strip() + "\n", encoding="utf-8")
    for path in written.values():
        log.info("Wrote %s", path)
    return written


# --------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m call_eval.synth",
        description="Synthesise a two-speaker French call (mono, stereo, reference JSON, RTTM).",
    )
    parser.add_argument("dialogue", type=Path, help="dialogue YAML or JSON file")
    parser.add_argument("-o", "--out-dir", type=Path, default=Path("."))
    parser.add_argument(
        "--name", help="base name of the files (default: meta.call_id, id or file stem)"
    )
    parser.add_argument("--seed", type=int, default=0)
    for role in ROLES:
        parser.add_argument(f"--{role}-speed", dest=f"{role}_speed", type=float, default=1.0)
        parser.add_argument(f"--{role}-gain-db", dest=f"{role}_gain_db", type=float, default=0.0)
    parser.add_argument("--telephone", action="store_true", help="300-3400 Hz band-pass")
    parser.add_argument("--overlap-prob", type=float, default=None)
    parser.add_argument("--sample-rate", type=int, default=None, help="output rate (default 16000)")
    parser.add_argument("--format", dest="fmt", choices=FORMATS, default="wav")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    try:
        dlg = load_dialogue(args.dialogue)
        call = render_call(
            dlg,
            seed=args.seed,
            agent_speed=args.agent_speed,
            callee_speed=args.callee_speed,
            agent_gain_db=args.agent_gain_db,
            callee_gain_db=args.callee_gain_db,
            telephone=args.telephone,
            overlap_prob=args.overlap_prob,
        )
        meta = _meta(dlg)
        name = args.name or str(meta.get("call_id") or meta.get("id") or args.dialogue.stem)
        write_call(call, args.out_dir, name, fmt=args.fmt, sample_rate=args.sample_rate)
        write_companion_texts(dlg, args.out_dir, name)
    except (ConfigError, ModelError) as exc:
        log.error("%s", exc)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
