"""Diarization stage: channel backend (stereo, bleed), embedded backend (mono), pyannote
adapter on a real (tiny, randomly initialised) pyannote Pipeline, backend selection, errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from call_eval.diarization import intervals
from call_eval.diarize import BACKENDS, diarize
from call_eval.errors import ConfigError, ModelError
from call_eval.metrics import diarization_error_rate
from call_eval.types import Audio, Diarization, SpeakerTurn

SR = 16000


# --------------------------------------------------------------------------- helpers
def _audio(samples: np.ndarray, *, identical: bool = False) -> Audio:
    samples = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    return Audio(
        samples=samples,
        sample_rate=SR,
        duration=samples.shape[1] / SR,
        path=None,
        format="wav",
        original_sample_rate=SR,
        original_channels=samples.shape[0],
        sha256="",
        identical_channels=identical,
    )


def _voice_burst(
    duration: float, f0: float, rng: np.random.Generator, level_db: float = -20.0
) -> np.ndarray:
    """A speech-like burst: harmonic complex with syllable-rate amplitude modulation."""
    t = np.arange(int(duration * SR)) / SR
    jitter = 1 + 0.05 * np.sin(2 * np.pi * 1.3 * t)
    phase = 2 * np.pi * f0 * np.cumsum(jitter) / SR
    x = sum(np.sin(h * phase) / h for h in range(1, 12))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, np.pi))
    ramp = np.minimum(1, np.minimum(t, t[-1] - t) / 0.01)
    x = x * envelope * ramp
    x = x / np.sqrt(np.mean(x**2)) * 10 ** (level_db / 20)
    return x.astype(np.float32)


def _place(track: np.ndarray, start: float, burst: np.ndarray) -> None:
    s = int(start * SR)
    track[s : s + len(burst)] += burst


def _synthetic_stereo(bleed_db: float = -20.0) -> tuple[Audio, list[tuple[float, float, str]]]:
    """Left (agent) and right (callee) bursts; each channel also carries the other at
    ``bleed_db``, 5 ms late, over a -65 dBFS noise floor. Returns the audio and the expected
    turns (a 0.3 s pause inside the first left turn belongs to it; 2.6 s of silence does not)."""
    rng = np.random.default_rng(3)
    n = int(14.0 * SR)
    left = np.zeros(n, np.float32)
    right = np.zeros(n, np.float32)
    _place(left, 0.50, _voice_burst(1.00, 210, rng))
    _place(left, 1.80, _voice_burst(1.20, 220, rng))  # same turn after a 0.3 s pause
    _place(right, 3.40, _voice_burst(1.60, 110, rng))
    _place(left, 5.40, _voice_burst(2.10, 200, rng))
    _place(right, 7.90, _voice_burst(0.60, 120, rng))
    _place(left, 11.10, _voice_burst(1.50, 215, rng))  # 2.6 s after the callee: a new turn
    expected = [
        (0.50, 3.00, "left"),
        (3.40, 5.00, "right"),
        (5.40, 7.50, "left"),
        (7.90, 8.50, "right"),
        (11.10, 12.60, "left"),
    ]
    lag = int(0.005 * SR)
    leak = 10 ** (bleed_db / 20)
    mixed_l = left.copy()
    mixed_r = right.copy()
    mixed_l[lag:] += leak * right[:-lag]
    mixed_r[lag:] += leak * left[:-lag]
    noise = rng.standard_normal((2, n)).astype(np.float32) * 10 ** (-65 / 20)
    return _audio(np.stack([mixed_l, mixed_r]) + noise), expected


def _check_well_formed(d: Diarization, duration: float) -> None:
    starts = [(t.start, t.end) for t in d.turns]
    assert starts == sorted(starts), "turns must be sorted by start"
    assert all(t.end > t.start for t in d.turns), "no zero-length turn"
    assert all(t.start >= 0.0 and t.end <= duration + 1e-6 for t in d.turns)
    assert set(d.speakers) == {t.speaker for t in d.turns}


def _reference(ref_json: dict) -> list[tuple[float, float, str]]:
    return [(float(t["start"]), float(t["end"]), str(t["speaker"])) for t in ref_json["turns"]]


def _hyp(d: Diarization) -> list[tuple[float, float, str]]:
    return [(t.start, t.end, t.speaker) for t in d.turns]


# --------------------------------------------------------------------------- errors
def test_unknown_backend_is_a_config_error_listing_valid_values() -> None:
    audio = _audio(np.zeros(SR * 2))
    with pytest.raises(ConfigError) as err:
        diarize(audio, "kmeans")
    for name in BACKENDS:
        assert name in str(err.value)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "2", True, 99])
def test_invalid_num_speakers_is_a_config_error(bad: object) -> None:
    with pytest.raises(ConfigError):
        diarize(_audio(np.zeros(SR * 2)), "embedded", num_speakers=bad)  # type: ignore[arg-type]


def test_missing_parameters_file_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CALL_EVAL_DIARIZATION_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="nope.yaml"):
        diarize(_audio(np.zeros(SR * 2)), "embedded")


# --------------------------------------------------------------------------- interval helpers
def test_hysteresis_keeps_runs_that_reach_the_onset() -> None:
    x = np.array([0, 0.4, 0.6, 0.4, 0, 0.4, 0.45, 0.4, 0, 0.9])
    assert intervals.hysteresis(x, 0.5, 0.3).tolist() == [0, 1, 1, 1, 0, 0, 0, 0, 0, 1]


def test_fill_gaps_never_bridges_over_another_speaker() -> None:
    own = np.array([1, 1, 0, 0, 1, 1, 0, 0, 0, 1], bool)
    other = np.array([0, 0, 0, 0, 0, 0, 0, 1, 0, 0], bool)
    filled = intervals.fill_gaps(own, 3, blocked=other)
    assert filled.tolist() == [1, 1, 1, 1, 1, 1, 0, 0, 0, 1]
    assert intervals.fill_gaps(own, 2).tolist() == [1, 1, 1, 1, 1, 1, 0, 0, 0, 1]
    assert intervals.fill_gaps(own, 3).tolist() == [1] * 10


def test_first_appearance_order_and_merging() -> None:
    labels = np.array([-1, 2, 2, -1, 0, 0, 2, 1])
    assert intervals.order_by_first_appearance(labels).tolist() == [-1, 0, 0, -1, 1, 1, 0, 2]
    merged = intervals.merge_turns(
        [
            SpeakerTurn(2.0, 3.0, "A"),
            SpeakerTurn(0.0, 1.0, "A"),
            SpeakerTurn(0.5, 2.5, "A"),
            SpeakerTurn(1.0, 1.0, "B"),
        ]
    )
    assert merged == (SpeakerTurn(0.0, 3.0, "A"),)


# --------------------------------------------------------------------------- channel backend
def test_channel_backend_gives_exact_turns_despite_bleed() -> None:
    audio, expected = _synthetic_stereo(bleed_db=-20.0)
    d = diarize(audio, "channel")
    assert d.backend == "channel"
    assert d.channel_of == {"left": 0, "right": 1}
    _check_well_formed(d, audio.duration)
    assert [t.speaker for t in d.turns] == [e[2] for e in expected], d.turns
    for turn, (start, end, _) in zip(d.turns, expected, strict=True):
        assert abs(turn.start - start) <= 0.06 and abs(turn.end - end) <= 0.06, (turn, start, end)


def test_channel_backend_ignores_a_strong_echo_of_the_other_side() -> None:
    rng = np.random.default_rng(5)
    n = 8 * SR
    left = np.zeros(n, np.float32)
    _place(left, 1.0, _voice_burst(3.0, 200, rng))
    right = np.zeros(n, np.float32)
    right[int(0.004 * SR) :] = (
        0.3 * left[: -int(0.004 * SR)]
    )  # -10 dB crosstalk, nobody on the right
    noise = rng.standard_normal((2, n)).astype(np.float32) * 1e-4
    d = diarize(_audio(np.stack([left, right]) + noise), "channel")
    assert d.speakers == ("left",)
    assert [t.speaker for t in d.turns] == ["left"]


def test_auto_picks_channel_for_true_stereo() -> None:
    audio, _ = _synthetic_stereo()
    d = diarize(audio)
    assert d.backend == "channel"
    assert d.details["requested"] == "auto"


def test_channel_backend_on_synthetic_call_matches_reference(synth_call) -> None:
    from call_eval.audio import load_audio

    call = synth_call("stereo")
    audio = load_audio(call["path"])
    assert audio.is_true_stereo
    # add crosstalk both ways (-20 dB), as a headset picks up the other party
    s = audio.samples.copy()
    lag = int(0.006 * SR)
    s[0, lag:] += 0.1 * audio.samples[1, :-lag]
    s[1, lag:] += 0.1 * audio.samples[0, :-lag]
    d = diarize(_audio(s), "channel")
    ref = _reference(call["reference"])
    mapped = [(t.start, t.end, {"left": "agent", "right": "callee"}[t.speaker]) for t in d.turns]
    assert [t[2] for t in mapped] == [r[2] for r in sorted(ref)]
    for (hs, he, _), (rs, re_, _) in zip(mapped, sorted(ref), strict=True):
        assert abs(hs - rs) <= 0.1 and abs(he - re_) <= 0.1
    assert diarization_error_rate(ref, mapped, collar=0.0) < 0.03


def _config_variant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **changes: object) -> None:
    """Point the diarization parameters at a copy of models/diarization.yaml with changes
    (dotted keys)."""
    import yaml

    from call_eval.diarization.config import load_config

    cfg = yaml.safe_load(yaml.safe_dump(load_config()))
    for dotted, value in changes.items():
        node = cfg
        *parents, leaf = dotted.split("__")
        for key in parents:
            node = node[key]
        node[leaf] = value
    path = tmp_path / "diarization.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    monkeypatch.setenv("CALL_EVAL_DIARIZATION_CONFIG", str(path))


def test_channel_backend_with_silero_vad(
    synth_call, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from call_eval.audio import load_audio

    _config_variant(tmp_path, monkeypatch, channel__vad="silero")
    call = synth_call("stereo")
    d = diarize(load_audio(call["path"]), "channel")
    assert d.details["vad"] == "silero"
    mapped = [(t.start, t.end, {"left": "agent", "right": "callee"}[t.speaker]) for t in d.turns]
    assert diarization_error_rate(_reference(call["reference"]), mapped, collar=0.25) < 0.03


def test_unknown_channel_vad_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config_variant(tmp_path, monkeypatch, channel__vad="webrtc")
    audio, _ = _synthetic_stereo()
    with pytest.raises(ConfigError, match="energy, silero"):
        diarize(audio, "channel")


# --------------------------------------------------------------------------- stereo kinds
def test_identical_channels_are_treated_as_mono(synth_call) -> None:
    from call_eval.audio import load_audio

    call = synth_call("stereo_identical")
    audio = load_audio(call["path"])
    assert audio.channels == 2 and audio.identical_channels
    d = diarize(audio, "channel", num_speakers=2)
    assert d.backend == "embedded"
    assert d.channel_of == {}
    assert "mono" in d.details["reason"]
    assert diarize(audio).backend == "embedded"


# --------------------------------------------------------------------------- embedded backend
@pytest.mark.parametrize("variant", ["mono", "quiet_agent", "fast_agent", "telephone_8k"])
def test_embedded_finds_two_speakers_in_a_synthetic_call(synth_call, variant: str) -> None:
    from call_eval.audio import load_audio

    call = synth_call(variant)
    audio = load_audio(call["path"])
    d = diarize(audio)
    assert d.backend == "embedded"
    _check_well_formed(d, audio.duration)
    assert d.speakers == ("SPEAKER_00", "SPEAKER_01")
    assert d.turns[0].speaker == "SPEAKER_00"  # labels follow first appearance
    der = diarization_error_rate(_reference(call["reference"]), _hyp(d), collar=0.25)
    assert der < 0.08, der


def test_embedded_estimates_the_number_of_speakers(synth_call) -> None:
    from call_eval.audio import load_audio

    call = synth_call("stereo")
    stereo = load_audio(call["path"])
    two = diarize(_audio(stereo.samples.sum(axis=0)), "embedded", num_speakers=None)
    assert len(two.speakers) == 2
    one = diarize(_audio(stereo.samples[0]), "embedded", num_speakers=None)  # the agent alone
    assert one.speakers == ("SPEAKER_00",)


def test_embedded_uses_caller_speech_segments(synth_call) -> None:
    from call_eval.audio import load_audio

    call = synth_call("mono")
    audio = load_audio(call["path"])
    ref = _reference(call["reference"])
    segments = [(s, e) for s, e, _ in ref]
    d = diarize(audio, "embedded", vad_segments=segments)
    assert d.details["vad"] == "caller"
    # every hypothesised turn lies in the given speech (or in a filled same-speaker pause)
    speech = intervals.mask_from_intervals(segments, int(audio.duration * 100) + 1, 0.01)
    hyp = intervals.mask_from_intervals([(t.start, t.end) for t in d.turns], speech.shape[0], 0.01)
    assert (hyp & speech).sum() / speech.sum() > 0.97
    assert diarization_error_rate(ref, _hyp(d), collar=0.25) < 0.08


def test_silence_gives_no_turns() -> None:
    rng = np.random.default_rng(0)
    d = diarize(_audio(rng.standard_normal(6 * SR) * 1e-4), "embedded")
    assert d.turns == () and d.speakers == ()


# --------------------------------------------------------------------------- pyannote
def _save_checkpoint(model, path: Path) -> None:
    import lightning
    import torch

    ckpt = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
    }
    model.on_save_checkpoint(ckpt)  # adds pyannote's versions, architecture, specifications
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)


@pytest.fixture(scope="session")
def tiny_pyannote_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local pyannote pipeline folder laid out like the hub's (config.yaml, segmentation/,
    embedding/, plda/), with tiny randomly initialised models built at test time."""
    os.environ["PYANNOTE_METRICS_ENABLED"] = "0"
    pytest.importorskip("pyannote.audio")
    import torch
    import yaml
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import XVectorMFCC
    from pyannote.audio.models.segmentation import PyanNet

    root = tmp_path_factory.mktemp("pyannote_tiny")
    torch.manual_seed(0)
    seg = PyanNet(
        sincnet={"stride": 10},
        lstm={"hidden_size": 16, "num_layers": 1, "bidirectional": True, "monolithic": True},
        linear={"hidden_size": 16, "num_layers": 1},
    )
    seg.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=5.0,
        min_duration=5.0,
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    seg.build()
    emb = XVectorMFCC(dimension=32)
    emb.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=3.0, min_duration=0.5
    )
    _save_checkpoint(seg, root / "segmentation" / "pytorch_model.bin")
    _save_checkpoint(emb, root / "embedding" / "pytorch_model.bin")
    rng = np.random.default_rng(0)
    lda_dim = 16
    (root / "plda").mkdir()
    np.savez(
        root / "plda" / "xvec_transform.npz",
        mean1=np.zeros(32),
        mean2=np.zeros(lda_dim),
        lda=rng.standard_normal((32, lda_dim)),
    )
    np.savez(
        root / "plda" / "plda.npz",
        mu=np.zeros(lda_dim),
        tr=np.eye(lda_dim),
        psi=np.linspace(2.0, 1.0, lda_dim),
    )
    config = {
        "dependencies": {"pyannote.audio": "4.0.0"},
        "pipeline": {
            "name": "pyannote.audio.pipelines.SpeakerDiarization",
            "params": {
                "clustering": "VBxClustering",
                "segmentation": "$model/segmentation",
                "embedding": "$model/embedding",
                "plda": "$model/plda",
                "segmentation_batch_size": 8,
                "embedding_batch_size": 8,
            },
        },
        "params": {
            "clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8},
            "segmentation": {"min_duration_off": 0.0},
        },
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return root


def _two_voice_mono(seconds: float = 12.0) -> Audio:
    rng = np.random.default_rng(1)
    x = np.zeros(int(seconds * SR), np.float32)
    _place(x, 0.5, _voice_burst(3.0, 210, rng))
    _place(x, 4.0, _voice_burst(3.5, 110, rng))
    _place(x, 8.0, _voice_burst(3.0, 215, rng))
    return _audio(x + rng.standard_normal(x.shape[0]).astype(np.float32) * 1e-3)


def test_pyannote_adapter_on_a_real_pipeline(tiny_pyannote_pipeline: Path) -> None:
    from call_eval.diarization.pyannote_backend import load_pipeline

    audio = _two_voice_mono()
    d = diarize(audio, "pyannote", pyannote_pipeline=tiny_pyannote_pipeline, num_speakers=2)
    assert d.backend == "pyannote"
    assert os.environ["PYANNOTE_METRICS_ENABLED"] == "0"
    _check_well_formed(d, audio.duration)
    assert d.turns, "the random pipeline still labels some speech"
    assert all(s.startswith("SPEAKER_") for s in d.speakers)
    order = list(dict.fromkeys(t.speaker for t in d.turns))
    assert order == sorted(order), "labels numbered by first appearance"
    for spk in d.speakers:  # same-speaker turns never overlap after the adapter
        own = [t for t in d.turns if t.speaker == spk]
        assert all(a.end < b.start for a, b in zip(own, own[1:], strict=False))

    # the adapter's turns cover exactly the time pyannote's Annotation gives each label
    import torch

    pipeline = load_pipeline(str(tiny_pyannote_pipeline), None)
    out = pipeline(
        {"waveform": torch.from_numpy(audio.samples[:1].copy()), "sample_rate": SR}, num_speakers=2
    )
    annotation = out.speaker_diarization
    for ours, theirs in d.details["labels"].items():
        theirs_s = annotation.label_timeline(theirs).support().duration()
        ours_s = sum(t.end - t.start for t in d.turns if t.speaker == ours)
        assert abs(ours_s - theirs_s) < 0.05


def test_auto_picks_pyannote_when_configured(
    tiny_pyannote_pipeline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALL_EVAL_PYANNOTE_PIPELINE", str(tiny_pyannote_pipeline))
    assert diarize(_two_voice_mono()).backend == "pyannote"
    stereo, _ = _synthetic_stereo()
    assert diarize(stereo).backend == "channel"  # true stereo still goes by channel


def test_annotation_to_turns() -> None:
    pytest.importorskip("pyannote.core")
    from pyannote.core import Annotation, Segment

    from call_eval.diarization.pyannote_backend import annotation_turns

    ann = Annotation()
    ann[Segment(5.0, 6.0), "a"] = "spk_b"
    ann[Segment(1.0, 2.0), "b"] = "spk_a"
    ann[Segment(1.5, 3.0), "c"] = "spk_a"  # overlaps its own previous turn: merged
    ann[Segment(4.0, 4.0), "d"] = "spk_c"  # zero length: dropped
    ann[Segment(9.5, 12.0), "e"] = "spk_b"  # past the end: clipped
    turns, labels = annotation_turns(ann, duration=10.0, min_turn_s=0.01)
    assert turns == (
        SpeakerTurn(1.0, 3.0, "SPEAKER_00"),
        SpeakerTurn(5.0, 6.0, "SPEAKER_01"),
        SpeakerTurn(9.5, 10.0, "SPEAKER_01"),
    )
    assert labels == {"SPEAKER_00": "spk_a", "SPEAKER_01": "spk_b"}


def test_pyannote_errors_say_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("CALL_EVAL_PYANNOTE_PIPELINE", raising=False)
    audio = _audio(np.zeros(SR * 6))
    with pytest.raises(ModelError, match="embedded"):
        diarize(audio, "pyannote")  # nothing configured
    with pytest.raises(ModelError, match="config.yaml"):
        diarize(audio, "pyannote", pyannote_pipeline=tmp_path)  # folder without config.yaml
    with pytest.raises(ModelError, match="jeton"):
        diarize(audio, "pyannote", pyannote_pipeline="pyannote/speaker-diarization-community-1")
    with pytest.raises(ModelError, match="introuvable"):
        diarize(audio, "pyannote", pyannote_pipeline=str(tmp_path / "missing"))
