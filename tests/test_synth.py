"""Tests of the synthetic call generator (call_eval.synth) and of the bundled demo call."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from call_eval.errors import ConfigError
from call_eval.types import STATES

pytest.importorskip("py_nanotts", reason="py-nanotts (dev dependency) is needed")

from call_eval.synth import (  # noqa: E402
    FORMATS,
    VOICES,
    main,
    render_call,
    write_call,
)

SILENCE = 10 ** (-60 / 20)  # amplitude below which a channel counts as silent
FRAME_S = 0.02


def _read(path: Path) -> tuple[np.ndarray, int]:
    """(channels, n) float32 and the sample rate."""
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    return data.T, rate


def _frame_db(x: np.ndarray, rate: int) -> np.ndarray:
    hop = int(FRAME_S * rate)
    n = len(x) // hop
    frames = x[: n * hop].reshape(n, hop)
    return 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-12)


def _rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x**2)) + 1e-12))


def _turns(reference: dict, speaker: str) -> list[dict]:
    return [t for t in reference["turns"] if t["speaker"] == speaker]


def _inside_mask(turns: list[dict], n: int, rate: int, pad_s: float = 0.0) -> np.ndarray:
    mask = np.zeros(n, bool)
    for t in turns:
        mask[max(0, int((t["start"] - pad_s) * rate)) : int((t["end"] + pad_s) * rate) + 1] = True
    return mask


def _turn_level_db(channel: np.ndarray, turns: list[dict], rate: int) -> float:
    """Mean RMS level (dB) of a channel over the given turns."""
    parts = [channel[int(t["start"] * rate) : int(t["end"] * rate)] for t in turns]
    return _rms_db(np.concatenate(parts))


def _active_seconds(channel: np.ndarray, rate: int, threshold_db: float = -50.0) -> float:
    return float((_frame_db(channel, rate) > threshold_db).sum() * FRAME_S)


# --------------------------------------------------------------------------- timing


def test_turn_times_match_the_audio_of_each_channel(synth_call):
    call = synth_call("stereo")
    ref = call["reference"]
    audio, rate = _read(call["path"])
    assert audio.shape[0] == 2 and rate == 16000
    assert abs(audio.shape[1] / rate - ref["audio"]["duration"]) < 0.01
    assert ref["audio"]["stereo_channels"] == {"left": "agent", "right": "callee"}
    for index, role in enumerate(("agent", "callee")):
        channel, turns = audio[index], _turns(ref, role)
        assert len(turns) >= 4
        # Near-silence wherever this speaker has no turn (1 ms of rounding allowed).
        outside = ~_inside_mask(turns, channel.size, rate, pad_s=0.001)
        assert np.abs(channel[outside]).max() < SILENCE, role
        for t in turns:
            seg = channel[int(t["start"] * rate) : int(t["end"] * rate)]
            frames = _frame_db(seg, rate)
            assert _rms_db(seg) > -30, (role, t["text"])
            assert (frames > -50).mean() > 0.5, (role, t["text"])  # mostly speech
            # Tight boundaries: speech within 0.25 s of the reference start and end.
            edge = int(0.25 / FRAME_S)
            assert frames[:edge].max() > -40 and frames[-edge:].max() > -40, (role, t["text"])


def test_mono_is_the_sum_of_the_stereo_channels(synth_call):
    mono, rate = _read(synth_call("mono")["path"])
    stereo, rate_s = _read(synth_call("stereo")["path"])
    assert mono.shape[0] == 1 and rate == rate_s
    assert np.abs(mono[0] - stereo.sum(axis=0)).max() < 3 / 32768
    identical, _ = _read(synth_call("stereo_identical")["path"])
    assert identical.shape[0] == 2
    np.testing.assert_array_equal(identical[0], identical[1])
    np.testing.assert_array_equal(identical[0], mono[0])


def test_rttm_lists_the_reference_turns(synth_call):
    call = synth_call("mono")
    turns = sorted(call["reference"]["turns"], key=lambda t: t["start"])
    lines = call["rttm"].read_text().splitlines()
    assert len(lines) == len(turns)
    for line, turn in zip(lines, turns, strict=True):
        fields = line.split()
        assert fields[0] == "SPEAKER" and fields[7] == turn["speaker"]
        assert float(fields[3]) == pytest.approx(turn["start"], abs=1e-3)
        assert float(fields[4]) == pytest.approx(turn["end"] - turn["start"], abs=2e-3)


def test_reference_texts_are_the_dialogue_turns(synth_call, short_call_yaml):
    dialogue = yaml.safe_load(short_call_yaml.read_text(encoding="utf-8"))
    ref = synth_call("mono")["reference"]
    assert [(t["speaker"], t["text"]) for t in ref["turns"]] == [
        (t["speaker"], t["text"]) for t in dialogue["turns"]
    ]
    starts = [t["start"] for t in ref["turns"]]
    assert starts == sorted(starts)
    assert 25 <= ref["audio"]["duration"] <= 45


# --------------------------------------------------------------------------- knobs


def test_agent_gain_lowers_the_agent_level_only(synth_call):
    base, quiet = synth_call("stereo"), synth_call("quiet_agent")
    a_base, rate = _read(base["path"])
    a_quiet, _ = _read(quiet["stereo"])

    def agent_minus_callee(audio: np.ndarray, ref: dict) -> float:
        agent = _turn_level_db(audio[0], _turns(ref, "agent"), rate)
        callee = _turn_level_db(audio[1], _turns(ref, "callee"), rate)
        return agent - callee

    base_diff = agent_minus_callee(a_base, base["reference"])
    quiet_diff = agent_minus_callee(a_quiet, quiet["reference"])
    assert abs(base_diff) < 1.5  # both voices normalised to the same level
    assert quiet_diff - base_diff == pytest.approx(-20.0, abs=1.0)
    # The callee is untouched: same level in both files.
    callee_base = _turn_level_db(a_base[1], _turns(base["reference"], "callee"), rate)
    callee_quiet = _turn_level_db(a_quiet[1], _turns(quiet["reference"], "callee"), rate)
    assert callee_quiet == pytest.approx(callee_base, abs=0.5)


def test_agent_speed_shortens_agent_speech_only(synth_call):
    base, fast = synth_call("stereo"), synth_call("fast_agent")
    a_base, rate = _read(base["path"])
    a_fast, _ = _read(fast["stereo"])
    agent_ratio = _active_seconds(a_fast[0], rate) / _active_seconds(a_base[0], rate)
    callee_ratio = _active_seconds(a_fast[1], rate) / _active_seconds(a_base[1], rate)
    assert 0.55 < agent_ratio < 0.85
    assert callee_ratio == pytest.approx(1.0, abs=0.02)
    assert fast["reference"]["audio"]["duration"] < base["reference"]["audio"]["duration"] - 3


def test_telephone_variant_is_8khz_and_band_limited(synth_call):
    from scipy.signal import welch

    tel, base = synth_call("telephone_8k"), synth_call("mono")
    info = sf.info(tel["path"])
    assert info.samplerate == 8000 and info.channels == 1
    assert sf.info(tel["stereo"]).samplerate == 8000
    assert tel["reference"]["audio"]["sample_rate"] == 8000
    assert info.duration == pytest.approx(tel["reference"]["audio"]["duration"], abs=0.01)

    def low_share(path: Path) -> float:
        audio, rate = _read(path)
        freqs, power = welch(audio[0], rate, nperseg=1024)
        return float(power[freqs < 200].sum() / power.sum())

    assert low_share(base["path"]) > 0.1  # the voices have energy below 200 Hz...
    assert low_share(tel["path"]) < 0.005  # ...that the telephone band removes


def test_synth_call_rejects_unknown_variant(synth_call):
    with pytest.raises(ValueError, match="telephone_8k"):
        synth_call("karaoke")


# --------------------------------------------------------------------------- determinism

_TINY = {
    "options": {"gap": [0.2, 1.0], "overlap_prob": 0.5},
    "turns": [
        {"speaker": "agent", "text": "Bonjour Madame, ici le service client."},
        {"speaker": "callee", "text": "Oui, bonjour."},
        {"speaker": "agent", "text": "Avez-vous un instant ?"},
        {"speaker": "callee", "text": "Oui, je vous écoute."},
    ],
}


def test_same_seed_gives_the_same_call_whatever_came_before():
    first = render_call(_TINY, seed=3)
    render_call(_TINY, seed=5, agent_speed=1.7, callee_speed=0.6)  # other state in between
    again = render_call(_TINY, seed=3)
    np.testing.assert_array_equal(first.mono, again.mono)
    np.testing.assert_array_equal(first.stereo, again.stereo)
    assert first.turns == again.turns


def test_seed_changes_the_timeline_not_the_voices():
    a, b = render_call(_TINY, seed=1), render_call(_TINY, seed=2)
    assert [t["start"] for t in a.turns] != [t["start"] for t in b.turns]
    durations_a = [round(t["end"] - t["start"], 4) for t in a.turns]
    durations_b = [round(t["end"] - t["start"], 4) for t in b.turns]
    assert durations_a == durations_b


def test_explicit_pause_and_overlap_are_exact():
    dialogue = {
        "turns": [
            {"speaker": "agent", "text": "Bonjour Monsieur."},
            {"speaker": "callee", "text": "Bonjour.", "pause": 1.25},
            {
                "speaker": "agent",
                "text": "Je vous appelle au sujet de votre commande.",
                "overlap": 0.2,
            },
        ]
    }
    call = render_call(dialogue, seed=0)
    t = call.turns
    assert t[1]["start"] - t[0]["end"] == pytest.approx(1.25, abs=1e-3)
    assert t[1]["end"] - t[2]["start"] == pytest.approx(0.2, abs=1e-3)
    assert call.stereo.shape == (2, call.mono.shape[0])
    assert call.mono.dtype == np.float32 and call.sample_rate == 16000


def test_inline_pause_tag_is_silence_inside_the_turn():
    text = "Un instant, je regarde. [pause 1.5] Voilà, c'est bon."
    with_pause = render_call({"turns": [{"speaker": "agent", "text": text}]})
    turn = with_pause.turns[0]
    assert turn["text"] == "Un instant, je regarde. Voilà, c'est bon."
    rate = with_pause.sample_rate
    seg = with_pause.stereo[0, int(turn["start"] * rate) : int(turn["end"] * rate)]
    silent = _frame_db(seg, rate) < -60
    longest, run = 0, 0
    for s in silent:
        run = run + 1 if s else 0
        longest = max(longest, run)
    assert longest * FRAME_S >= 1.4


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("dialogue", "expected"),
    [
        ({}, "turns"),
        ({"turns": []}, "turns"),
        ({"turns": [{"speaker": "client", "text": "Bonjour"}]}, "agent, callee"),
        ({"turns": [{"speaker": "agent"}]}, "text"),
        ({"turns": [{"speaker": "agent", "text": "   "}]}, "text"),
        ({"turns": [{"speaker": "agent", "text": "Oui", "pasue": 1}]}, "pause"),
        ({"turns": [{"speaker": "agent", "text": "Oui", "pause": -1}]}, "pause"),
        (
            {
                "speakers": {"agent": {"voice": "robot"}},
                "turns": [{"speaker": "agent", "text": "Oui"}],
            },
            "pico-male",
        ),
        (
            {"options": {"overlap_prob": 2}, "turns": [{"speaker": "agent", "text": "Oui"}]},
            "overlap_prob",
        ),
        ({"options": {"gaps": 1}, "turns": [{"speaker": "agent", "text": "Oui"}]}, "long_gap_prob"),
        ("turns: [1, 2]\nx: 1\n", "tour 1"),
    ],
)
def test_bad_dialogue_raises_a_clear_error(dialogue, expected):
    with pytest.raises(ConfigError, match=expected):
        render_call(dialogue)


def test_missing_dialogue_file_and_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="introuvable"):
        render_call(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="agent_speed"):
        render_call(_TINY, agent_speed=0)


def test_write_call_rejects_unknown_format(tmp_path):
    call = render_call({"turns": [{"speaker": "agent", "text": "Bonjour."}]})
    with pytest.raises(ConfigError, match="wav, flac, ogg, mp3"):
        write_call(call, tmp_path, "x", fmt="aac")
    assert "pico" in VOICES and "ogg" in FORMATS


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize(
    ("fmt", "rate"), [("ogg", 16000), ("ogg", 8000), ("flac", 8000), ("mp3", 16000)]
)
def test_write_call_formats_round_trip(tmp_path, fmt, rate):
    call = render_call(_TINY, seed=0)
    paths = write_call(call, tmp_path, "call", fmt=fmt, sample_rate=rate)
    assert set(paths) == {"mono", "stereo", "json", "rttm"}
    assert paths["mono"].name == f"call.{fmt}" and paths["stereo"].name == f"call_stereo.{fmt}"
    mono, got_rate = _read(paths["mono"])
    stereo, _ = _read(paths["stereo"])
    assert got_rate == rate and mono.shape[0] == 1 and stereo.shape[0] == 2
    assert mono.shape[1] / rate == pytest.approx(call.duration, abs=0.08)
    # Agent on the left: louder than the right channel inside the first (agent) turn.
    t = call.turns[0]
    seg = slice(int(t["start"] * rate), int(t["end"] * rate))
    assert _rms_db(stereo[0, seg]) > _rms_db(stereo[1, seg]) + 20
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert doc["audio"]["sample_rate"] == rate and doc["audio"]["mono"] == f"call.{fmt}"


def test_write_call_m4a_through_ffmpeg(tmp_path):
    ffprobe = shutil.which("ffprobe")
    if shutil.which("ffmpeg") is None or ffprobe is None:
        pytest.skip("ffmpeg is not installed")
    call = render_call(_TINY, seed=0)
    paths = write_call(call, tmp_path, "call", fmt="m4a", sample_rate=16000)
    out = subprocess.run(
        [
            ffprobe,
            "-v",
            "error",
            "-show_entries",
            "stream=sample_rate,channels",
            "-of",
            "json",
            str(paths["stereo"]),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    stream = json.loads(out.stdout)["streams"][0]
    assert stream["channels"] == 2 and int(stream["sample_rate"]) == 16000


def test_cli_writes_the_requested_files(tmp_path, short_call_yaml):
    rc = main(
        [
            str(short_call_yaml),
            "-o",
            str(tmp_path),
            "--name",
            "cli",
            "--seed",
            "2",
            "--format",
            "flac",
            "--sample-rate",
            "8000",
            "--telephone",
            "--agent-gain-db",
            "-6",
        ]
    )
    assert rc == 0
    assert sf.info(tmp_path / "cli.flac").samplerate == 8000
    assert sf.info(tmp_path / "cli_stereo.flac").channels == 2
    doc = json.loads((tmp_path / "cli.json").read_text(encoding="utf-8"))
    assert doc["generator"]["seed"] == 2 and doc["generator"]["options"]["telephone"] is True
    assert doc["speakers"]["agent"]["gain_db"] == -6.0
    assert (tmp_path / "cli.rttm").exists()
    assert not (tmp_path / "cli.script.txt").exists()  # the short call has no script


def test_cli_reports_a_bad_dialogue_with_an_exit_code(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("turns:\n  - {speaker: robot, text: Bonjour}\n", encoding="utf-8")
    assert main([str(bad), "-o", str(tmp_path)]) == ConfigError.exit_code
    assert not list(tmp_path.glob("*.wav"))


# --------------------------------------------------------------------------- bundled demo


def test_demo_bundle_is_complete_and_consistent(demo_dir):
    dialogue = yaml.safe_load((demo_dir / "demo_call.yaml").read_text(encoding="utf-8"))
    ref = json.loads((demo_dir / "demo_call.json").read_text(encoding="utf-8"))
    assert [(t["speaker"], t["text"]) for t in ref["turns"]] == [
        (t["speaker"], t["text"]) for t in dialogue["turns"]
    ]
    assert (demo_dir / "demo_call.script.txt").read_text(encoding="utf-8").splitlines() == dialogue[
        "script"
    ]["questions"]
    assert (demo_dir / "demo_call.crm.txt").read_text(encoding="utf-8").strip() == dialogue[
        "crm_note"
    ].strip()
    assert len((demo_dir / "demo_call.rttm").read_text().splitlines()) == len(ref["turns"])
    labels = dialogue["labels"]
    assert sorted(labels) == [f"C{i:02d}" for i in range(1, 13)]
    assert all(v["state"] in STATES and v["why"].strip() for v in labels.values())
    for name, channels in (("demo_call.ogg", 1), ("demo_call_stereo.ogg", 2)):
        info = sf.info(demo_dir / name)
        assert (info.samplerate, info.channels) == (16000, channels)
        assert info.duration == pytest.approx(ref["audio"]["duration"], abs=0.05)
    assert 90 <= ref["audio"]["duration"] <= 180
    assert sum(p.stat().st_size for p in demo_dir.iterdir()) < 2_000_000


def test_demo_audio_matches_its_reference_turns(demo_dir):
    ref = json.loads((demo_dir / "demo_call.json").read_text(encoding="utf-8"))
    audio, rate = _read(demo_dir / "demo_call_stereo.ogg")
    for index, role in enumerate(("agent", "callee")):
        turns = _turns(ref, role)
        outside = ~_inside_mask(turns, audio.shape[1], rate, pad_s=0.05)
        assert _rms_db(audio[index, outside]) < -55, role  # lossy codec: near-silence only
        for t in turns:
            assert _rms_db(audio[index, int(t["start"] * rate) : int(t["end"] * rate)]) > -32


def test_demo_is_reproducible_from_its_yaml(demo_dir):
    ref = json.loads((demo_dir / "demo_call.json").read_text(encoding="utf-8"))
    call = render_call(demo_dir / "demo_call.yaml", seed=ref["generator"]["seed"])
    assert len(call.turns) == len(ref["turns"])
    for got, want in zip(call.turns, ref["turns"], strict=True):
        assert got["start"] == pytest.approx(want["start"], abs=1e-3)
        assert got["end"] == pytest.approx(want["end"], abs=1e-3)
