"""Audio loading: formats, channels, rates, and every rejection with a clear message."""

from __future__ import annotations

import numpy as np
import pytest
from audio_files import tone, write_audio

from call_eval.audio import load_audio
from call_eval.errors import AudioError


def _speechlike(seconds: float, sr: int, freq: float = 220.0) -> np.ndarray:
    sig = tone(seconds, sr, freq)
    env = (np.sin(2 * np.pi * 2.0 * np.arange(len(sig)) / sr) > 0).astype(np.float32)
    return sig * env


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "m4a", "ogg"])
def test_formats_decode_to_16k(tmp_path, fmt):
    path = write_audio(tmp_path / f"call.{fmt}", _speechlike(6.0, 16000), 16000)
    audio = load_audio(path)
    assert audio.sample_rate == 16000
    assert audio.channels == 1
    assert audio.format == fmt
    assert 5.9 < audio.duration < 6.2
    assert len(audio.sha256) == 64
    assert audio.samples.dtype == np.float32


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 48000])
def test_sample_rates_resampled(tmp_path, sr):
    path = write_audio(tmp_path / "call.wav", _speechlike(6.0, sr, 440.0), sr)
    audio = load_audio(path)
    assert audio.original_sample_rate == sr
    assert abs(audio.duration - 6.0) < 0.05
    # the 440 Hz tone survives resampling: its spectral peak stays at 440 Hz
    spectrum = np.abs(np.fft.rfft(audio.samples[0]))
    peak = np.argmax(spectrum) * 16000 / len(audio.samples[0])
    assert abs(peak - 440) < 5


def test_stereo_channels_kept(tmp_path):
    left, right = _speechlike(6.0, 16000, 200.0), _speechlike(6.0, 16000, 600.0) * 0.5
    audio = load_audio(write_audio(tmp_path / "st.wav", np.stack([left, right]), 16000))
    assert audio.channels == 2 and audio.is_true_stereo
    assert audio.samples[0].std() > 1.5 * audio.samples[1].std()


def test_identical_stereo_is_flagged(tmp_path):
    sig = _speechlike(6.0, 16000)
    audio = load_audio(write_audio(tmp_path / "dup.wav", np.stack([sig, sig]), 16000))
    assert audio.identical_channels and not audio.is_true_stereo


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="introuvable"):
        load_audio(tmp_path / "absent.wav")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(AudioError, match="vide"):
        load_audio(p)


def test_corrupt_file(tmp_path):
    p = tmp_path / "bad.mp3"
    p.write_bytes(b"this is not audio at all " * 200)
    with pytest.raises(AudioError, match="illisible|corrompu|Aucune piste"):
        load_audio(p)


def test_zero_length_audio(tmp_path):
    import soundfile as sf

    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16000)  # a valid header, no samples
    with pytest.raises(AudioError, match="nulle|illisible"):
        load_audio(path)


def test_silence_only(tmp_path):
    path = write_audio(tmp_path / "silence.wav", np.zeros(16000 * 8, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="silencieux"):
        load_audio(path)


def test_too_short(tmp_path):
    path = write_audio(tmp_path / "short.wav", _speechlike(3.0, 16000), 16000)
    with pytest.raises(AudioError, match="trop court"):
        load_audio(path)


def test_too_long_is_configurable(tmp_path):
    path = write_audio(tmp_path / "long.wav", _speechlike(12.0, 16000), 16000)
    with pytest.raises(AudioError, match="trop long"):
        load_audio(path, max_duration_s=10)
    assert load_audio(path, max_duration_s=20).duration > 11


def test_more_than_two_channels(tmp_path):
    import av

    p = tmp_path / "surround.wav"
    with av.open(str(p), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=16000, layout="5.1")
        data = (np.tile(_speechlike(6.0, 16000), (6, 1)) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(data.T.reshape(1, -1).copy(), format="s16", layout="5.1")
        frame.sample_rate = 16000
        for packet in list(stream.encode(frame)) + list(stream.encode(None)):
            out.mux(packet)
    with pytest.raises(AudioError, match="6 canaux"):
        load_audio(p)


def test_not_a_file(tmp_path):
    with pytest.raises(AudioError, match="n'est pas un fichier"):
        load_audio(tmp_path)
