"""Audio features on signals whose truth is known by construction.

Tone and noise bursts at set levels, harmonic tones at set pitches, utterances with set
overlaps and silences, and synthesised speech (``synth_call``) at known speeds and gains.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from call_eval.errors import ConfigError
from call_eval.features import CallFeatures, compute_features
from call_eval.features.fillers import compile_lexicon, find_fillers
from call_eval.features.level import active_speech_level
from call_eval.features.params import load_fillers, load_params
from call_eval.features.timing import clean_words, is_word
from call_eval.types import Audio, Utterance, Word

SR = 16000
RNG = np.random.default_rng(3)

CONTRACT_KEYS = [
    f"{role}.{name}"
    for role in ("agent", "callee")
    for name in (
        "speech_rate_wpm",
        "articulation_rate_sps",
        "syllable_rate_sps",
        "level_dbfs",
        "level_spread_db",
        "quiet_stretch_share",
        "asr_confidence_mean",
        "low_confidence_share",
        "pitch_median_hz",
        "pitch_range_st",
        "fillers_per_min",
        "longest_monologue_s",
        "interruptions",
        "talk_share",
    )
] + [
    "agent.level_vs_callee_db",
    "callee.level_vs_agent_db",
    "call.turns",
    "call.overlap_s",
    "call.longest_silence_s",
    "call.silence_share",
    "call.gap_median_s",
    "call.duration_s",
]


# --------------------------------------------------------------------------- builders
def make_audio(samples: np.ndarray, identical: bool = False) -> Audio:
    x = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    return Audio(
        samples=x,
        sample_rate=SR,
        duration=x.shape[1] / SR,
        path=None,
        format="wav",
        original_sample_rate=SR,
        original_channels=x.shape[0],
        sha256="0" * 64,
        identical_channels=identical,
    )


def noise_at(dbfs: float, seconds: float) -> np.ndarray:
    """White noise with mean square exactly ``dbfs`` (10*log10 of the mean square)."""
    x = RNG.standard_normal(int(seconds * SR))
    return x / np.sqrt(np.mean(x**2)) * 10 ** (dbfs / 20)


def sine_at(dbfs: float, seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return np.sqrt(2) * 10 ** (dbfs / 20) * np.sin(2 * np.pi * hz * t)


def harmonic(f0: np.ndarray | float, seconds: float, dbfs: float = -20.0) -> np.ndarray:
    """A voiced-like harmonic tone (10 harmonics) following ``f0`` (Hz, scalar or per sample)."""
    n = int(seconds * SR)
    f = np.broadcast_to(np.asarray(f0, dtype=np.float64), (n,))
    phase = 2 * np.pi * np.cumsum(f) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 11))
    return x / np.sqrt(np.mean(x**2)) * 10 ** (dbfs / 20)


def utt(role: str, start: float, end: float, text: str = "", prob: float = 0.9) -> Utterance:
    """An utterance whose words are spread uniformly over its time."""
    toks = [w for w in (text or "bonjour " * max(1, int((end - start) * 3))).split() if is_word(w)]
    step = (end - start) / len(toks)
    words = tuple(
        Word(start + k * step, start + (k + 1) * step, w, prob) for k, w in enumerate(toks)
    )
    return Utterance(role, start, end, " ".join(toks), words, role)  # type: ignore[arg-type]


def place(total_s: float, parts: list[tuple[float, np.ndarray]]) -> np.ndarray:
    out = np.zeros(int(total_s * SR))
    for start, sig in parts:
        a = int(start * SR)
        out[a : a + sig.size] += sig[: out.size - a]
    return out


def floor_noise(total_s: float, dbfs: float = -80.0) -> np.ndarray:
    return noise_at(dbfs, total_s)


def utterances_from_reference(reference: dict) -> list[Utterance]:
    return [utt(t["speaker"], t["start"], t["end"], t["text"]) for t in reference["turns"]]


def text_syllables(text: str) -> int:
    """Rough French syllable count from spelling: vowel groups, mute final e dropped."""
    n = 0
    for w in re.findall(r"[\w']+", text.lower()):
        if len(w) > 3:
            w = re.sub(r"(e|es|ent)$", "", w)
        n += max(1, len(re.findall(r"[aeiouyàâäéèêëîïôöùûüœæ]+", w)))
    return n


# --------------------------------------------------------------------------- level
@pytest.mark.parametrize("dbfs", [-15.0, -26.0, -40.0])
def test_active_level_of_bursts_ignores_the_silence_between_them(dbfs: float) -> None:
    # 2 s bursts with 3 s of near-silence between: long-term RMS is ~4 dB lower,
    # the active level must still be the bursts' level.
    parts = [(0.5 + 5.0 * k, sine_at(dbfs, 2.0)) for k in range(4)]
    x = place(21.0, parts) + floor_noise(21.0, dbfs - 45)
    long_term = 10 * np.log10(np.mean(x**2))
    level = active_speech_level(x, SR)
    assert level is not None
    assert abs(level - dbfs) <= 1.0
    assert level - long_term > 3.0


def test_active_level_of_noise_bursts_and_digital_silence() -> None:
    x = place(12.0, [(1.0, noise_at(-30.0, 3.0)), (6.0, noise_at(-30.0, 3.0))])
    level = active_speech_level(x, SR)
    assert level is not None and abs(level + 30.0) <= 1.0
    assert active_speech_level(np.zeros(SR), SR) is None


def test_levels_per_speaker_on_a_mono_mix() -> None:
    # agent at -32 dBFS, callee at -20 dBFS, one overlap where both sound
    parts = [
        (0.5, noise_at(-20.0, 3.0)),  # callee
        (4.0, noise_at(-32.0, 4.0)),  # agent
        (8.5, noise_at(-20.0, 3.0)),  # callee
        (12.0, noise_at(-32.0, 4.0)),  # agent, overlapped by the callee at 15.5
        (15.5, noise_at(-20.0, 3.0)),
    ]
    audio = make_audio(place(20.0, parts) + floor_noise(20.0))
    utts = [
        utt("callee", 0.5, 3.5),
        utt("agent", 4.0, 8.0),
        utt("callee", 8.5, 11.5),
        utt("agent", 12.0, 16.0),
        utt("callee", 15.5, 18.5),
    ]
    f = compute_features(audio, utts)
    assert f.agent is not None and f.callee is not None
    assert f.agent.source == "mix"
    assert abs(f.agent.level_dbfs - -32.0) <= 1.0  # overlap excluded from the agent's level
    assert abs(f.callee.level_dbfs - -20.0) <= 1.0
    assert abs(f.flat()["agent.level_vs_callee_db"] - -12.0) <= 1.0
    assert abs(f.flat()["callee.level_vs_agent_db"] - 12.0) <= 1.0


@pytest.mark.parametrize("given", [None, {"agent": 1, "callee": 0}])
def test_stereo_uses_each_speakers_own_channel(given: dict | None) -> None:
    # agent on the RIGHT channel at -28 dBFS, callee on the left at -18 dBFS, each channel
    # with a faint echo of the other (-40 dB): levels per own channel.
    agent_track = place(16.0, [(4.0, noise_at(-28.0, 4.0)), (12.0, noise_at(-28.0, 3.0))])
    callee_track = place(16.0, [(0.5, noise_at(-18.0, 3.0)), (8.5, noise_at(-18.0, 3.0))])
    left = callee_track + 0.01 * agent_track + floor_noise(16.0)
    right = agent_track + 0.01 * callee_track + floor_noise(16.0)
    audio = make_audio(np.stack([left, right]))
    utts = [
        utt("callee", 0.5, 3.5),
        utt("agent", 4.0, 8.0),
        utt("callee", 8.5, 11.5),
        utt("agent", 12.0, 15.0),
    ]
    f = compute_features(audio, utts, channel_of_role=given)
    assert f.stereo and dict(f.channel_of_role) == {"agent": 1, "callee": 0}
    assert f.agent.source == "channel 1"
    assert abs(f.agent.level_dbfs - -28.0) <= 1.0
    assert abs(f.callee.level_dbfs - -18.0) <= 1.0


def test_a_stereo_file_with_identical_channels_is_treated_as_mono() -> None:
    x = place(9.0, [(0.5, noise_at(-20.0, 3.0)), (4.5, noise_at(-30.0, 3.0))])
    audio = make_audio(np.stack([x, x]), identical=True)
    f = compute_features(audio, [utt("callee", 0.5, 3.5), utt("agent", 4.5, 7.5)])
    assert not f.stereo and f.agent.source == "mix"
    assert abs(f.agent.level_dbfs - -30.0) <= 1.0


def test_bad_channel_of_role_is_refused_with_valid_values() -> None:
    audio = make_audio(np.stack([noise_at(-20, 2.0), noise_at(-30, 2.0)]))
    with pytest.raises(ConfigError, match="0, 1"):
        compute_features(audio, [utt("agent", 0.0, 1.0)], channel_of_role={"agent": 2})


def test_quiet_stretch_of_the_agent_is_flagged_where_it_happens() -> None:
    # agent speaks 24 s at -20 dBFS, but 6 s of it (t = 10..16) at -34 dBFS
    agent = np.concatenate([noise_at(-20.0, 9.0), noise_at(-34.0, 6.0), noise_at(-20.0, 9.0)])
    x = place(30.0, [(1.0, agent), (26.0, noise_at(-20.0, 3.0))]) + floor_noise(30.0)
    f = compute_features(make_audio(x), [utt("agent", 1.0, 25.0), utt("callee", 26.0, 29.0)])
    stretches = f.agent.quiet_stretches
    assert len(stretches) == 1
    s = stretches[0]
    assert 9.0 <= s["start"] <= 11.0 and 15.0 <= s["end"] <= 17.0
    assert abs(s["below_median_db"] - 14.0) <= 2.0
    assert abs(f.agent.quiet_stretch_share - 6.0 / 24.0) <= 0.06
    assert f.agent.level_spread_db > 10.0
    # steady callee: no quiet stretch
    assert f.callee.quiet_stretches == () and f.callee.quiet_stretch_share == 0.0


# --------------------------------------------------------------------------- pitch
def test_pitch_median_and_range_of_harmonic_tones() -> None:
    # agent: steady 210 Hz; callee: glide 100 -> 200 Hz (one octave, 12 semitones)
    n = int(4.0 * SR)
    glide = 100.0 * 2 ** (np.arange(n) / n)
    x = place(10.0, [(0.5, harmonic(210.0, 4.0)), (5.5, harmonic(glide, 4.0))])
    f = compute_features(make_audio(x), [utt("agent", 0.5, 4.5), utt("callee", 5.5, 9.5)])
    assert abs(f.agent.pitch_median_hz - 210.0) <= 5.0
    assert f.agent.pitch_range_st < 1.0
    assert abs(f.callee.pitch_median_hz - 141.0) <= 8.0  # geometric middle of the glide
    assert abs(f.callee.pitch_range_st - 0.9 * 12.0) <= 1.5  # 5th..95th percentile


def test_noise_has_no_pitch_and_no_syllables() -> None:
    x = place(8.0, [(0.5, noise_at(-20.0, 3.0)), (4.5, noise_at(-20.0, 3.0))])
    f = compute_features(make_audio(x), [utt("agent", 0.5, 3.5), utt("callee", 4.5, 7.5)])
    assert f.agent.pitch_median_hz is None
    assert "agent.pitch_median_hz" not in f.flat()
    assert f.agent.syllables is not None and f.agent.syllables <= 2


def test_syllable_nuclei_count_modulated_vowels() -> None:
    # 4 s of a voiced tone amplitude-modulated at 5 Hz: 20 "syllables" of ~0.2 s
    t = np.arange(int(4.0 * SR)) / SR
    env = np.sin(np.pi * 5.0 * t) ** 2
    voiced = harmonic(180.0, 4.0) * env
    x = place(6.0, [(1.0, voiced)]) + floor_noise(6.0)
    f = compute_features(make_audio(x), [utt("agent", 1.0, 5.0)])
    assert 18 <= f.agent.syllables <= 21
    assert abs(f.agent.syllable_rate_sps - 5.0) <= 0.6


# --------------------------------------------------------------------------- turns
def _turn_audio(utts: list[Utterance], total: float) -> Audio:
    parts = [(u.start, noise_at(-20.0, u.end - u.start)) for u in utts]
    return make_audio(place(total, parts) + floor_noise(total))


def test_overlaps_and_who_interrupted_whom() -> None:
    utts = [
        utt("agent", 0.5, 5.0),
        utt("callee", 4.2, 8.0),  # callee starts 0.8 s before the agent ends: cuts them off
        utt("agent", 8.6, 14.0),
        utt("callee", 10.0, 10.6),  # backchannel inside the agent's turn: no interruption
        utt("callee", 14.6, 20.0),
        utt("agent", 19.0, 23.0),  # agent cuts the callee off (1.0 s)
        utt("callee", 23.15, 25.0),  # 0.0 s overlap: plain change of speaker
        utt("agent", 24.85, 27.0),  # 0.15 s overlap: too short to be an interruption
    ]
    f = compute_features(_turn_audio(utts, 28.0), utts)
    by = [(o.by, o.over, o.interruption) for o in f.overlaps]
    assert by == [
        ("callee", "agent", True),
        ("callee", "agent", False),
        ("agent", "callee", True),
        ("agent", "callee", False),
    ]
    assert f.callee.interruptions == 1 and f.agent.interrupted == 1
    assert f.agent.interruptions == 1 and f.callee.interrupted == 1
    assert f.interruptions == 2
    assert abs(f.overlap_s - (0.8 + 0.6 + 1.0 + 0.15)) <= 0.01
    # the backchannel does not take the floor: agent, callee, agent, callee, agent, callee, agent
    assert f.turns == 7
    assert abs(f.agent.longest_monologue_s - 5.4) <= 0.01


def test_silences_gaps_and_talk_share() -> None:
    utts = [
        utt("agent", 1.0, 5.0),
        utt("callee", 5.5, 7.5),  # gap 0.5
        utt("agent", 10.5, 14.5),  # gap 3.0 (longest silence)
        utt("callee", 15.5, 17.5),  # gap 1.0
    ]
    f = compute_features(_turn_audio(utts, 18.0), utts)
    assert abs(f.longest_silence_s - 3.0) <= 0.01
    assert abs(f.gap_median_s - 1.0) <= 0.01
    assert abs(f.silence_share - 4.5 / 16.5) <= 0.01
    assert abs(f.agent.talk_share - 8.0 / 12.0) <= 0.01
    assert f.flat()["call.turns"] == 4.0


# --------------------------------------------------------------------------- words and rate
def test_stretched_and_untimed_words_do_not_distort_the_rate() -> None:
    p = load_params()
    step = 0.3
    words = [Word(1.0 + k * step, 1.0 + (k + 1) * step, f" mot{k}", 0.9) for k in range(20)]
    # Whisper stretches the last word over a 4 s silence; two words lost their times
    words[-1] = Word(words[-1].start, words[-1].start + 4.0, " fin", 0.9)
    words[5] = Word(float("nan"), float("nan"), " perdu", 0.9)
    words[6] = Word(9.0, 2.0, " envers", 0.9)
    u = Utterance("agent", 1.0, 11.0, "", tuple(words), "agent")
    cleaned = clean_words(u, 0, p["words"])
    assert len(cleaned) == 20
    assert all(w.end >= w.start for w in cleaned)
    assert cleaned[5].start >= words[4].end - 1e-9 and cleaned[6].end <= words[7].start + 1e-9
    f = compute_features(make_audio(place(12.0, [(1.0, noise_at(-20, 6.0))])), [u])
    # true rate: 20 words in 6 s = 200 wpm; uncapped it would be 20 / 9.7 s = 124 wpm
    assert abs(f.agent.speech_rate_wpm - 200.0) <= 20.0


def test_words_split_at_apostrophes_and_hyphens_count_once() -> None:
    pieces = [" D", "'accord", ",", " avez", "-vous", " quelques", " minutes", " ?"]
    words = tuple(Word(0.5 + 0.3 * k, 0.8 + 0.3 * k, w, 0.8) for k, w in enumerate(pieces))
    u = Utterance("agent", 0.5, 2.9, "D'accord, avez-vous quelques minutes ?", words, "agent")
    cleaned = clean_words(u, 0, load_params()["words"])
    assert [w.text for w in cleaned] == ["D'accord", "avez-vous", "quelques", "minutes"]


def test_confidence_mean_and_low_confidence_share() -> None:
    words = tuple(
        Word(1.0 + 0.4 * k, 1.3 + 0.4 * k, " mot", p) for k, p in enumerate([0.9, 0.9, 0.3, 0.7])
    )
    u = Utterance("agent", 1.0, 2.6, "mot mot mot mot", words, "agent")
    f = compute_features(make_audio(place(4.0, [(1.0, noise_at(-20, 1.6))])), [u])
    assert abs(f.agent.asr_confidence_mean - 0.7) <= 1e-6
    assert abs(f.agent.low_confidence_share - 0.25) <= 1e-6


def test_rate_series_follow_a_speed_change() -> None:
    # 30 s of agent speech: first half 2 words/s (120 wpm), second half 4 words/s (240 wpm)
    words = [Word(0.5 * k, 0.5 * k + 0.45, " a", 0.9) for k in range(30)]
    words += [Word(15.0 + 0.25 * k, 15.0 + 0.25 * k + 0.2, " b", 0.9) for k in range(60)]
    utts = [
        Utterance("agent", 0.0, 14.95, "", tuple(words[:30]), "agent"),
        Utterance("agent", 15.0, 29.95, "", tuple(words[30:]), "agent"),
    ]
    f = compute_features(make_audio(place(31.0, [(0.0, noise_at(-20, 30.0))])), utts)
    rate = f.series["rate"]["agent"]
    assert [p["wpm"] for p in rate["per_utterance"]] == [
        pytest.approx(120, abs=2),
        pytest.approx(240, abs=2),
    ]
    win = rate["window"]
    assert win[0]["wpm"] == pytest.approx(120, abs=5) and win[-1]["wpm"] == pytest.approx(
        240, abs=10
    )
    assert all(a["t"] < b["t"] for a, b in zip(win, win[1:], strict=False))


# --------------------------------------------------------------------------- fillers
def test_filler_list_matches_markers_and_hesitations_in_context() -> None:
    lex = compile_lexicon(load_fillers(load_params()))
    text = "Alors euh, du coup, voilà. Euuuh c'est ce genre de chose, quoi. Quoi de neuf ? Hmm. J'ai eu peur."
    labels = [h.label for h in find_fillers(text, lex)]
    assert labels == ["euh", "du coup", "voilà", "euh", "quoi", "hum"]
    kinds = [h.kind for h in find_fillers(text, lex)]
    assert kinds.count("hesitation") == 3


def test_fillers_per_minute_of_speech() -> None:
    text = "Bonjour euh je vous appelle du coup pour euh le rendez-vous voilà"  # 4 fillers
    u = utt("agent", 1.0, 7.0, text)  # 12 words spread over 6 s of speech
    f = compute_features(make_audio(place(8.0, [(1.0, noise_at(-20, 6.0))])), [u])
    assert f.agent.fillers_count == 4 and f.agent.hesitations_count == 2
    assert abs(f.agent.fillers_per_min - 4 * 60 / 6.0) <= 0.5


# --------------------------------------------------------------------------- contract
def test_flat_names_are_finite_and_missing_callee_is_omitted() -> None:
    x = place(8.0, [(1.0, harmonic(200.0, 5.0))]) + floor_noise(8.0)
    f = compute_features(make_audio(x), [utt("agent", 1.0, 6.0)])
    flat = f.flat()
    assert f.callee is None
    assert not any(k.startswith("callee.") for k in flat)
    assert "agent.level_vs_callee_db" not in flat
    assert flat["agent.talk_share"] == 1.0
    assert all(isinstance(v, float) and math.isfinite(v) for v in flat.values())
    d = json.loads(json.dumps(f.to_dict()))
    assert d["callee"] is None and d["agent"]["level_vs_callee_db"] is None
    assert set(d) >= {"agent", "callee", "call", "series", "bands_note"}


def test_flat_holds_the_contract_names_for_a_full_call() -> None:
    parts = [(0.5, harmonic(120.0, 3.0)), (4.0, harmonic(200.0, 5.0)), (9.5, harmonic(120.0, 3.0))]
    utts = [
        utt("callee", 0.5, 3.5, "Allô euh oui"),
        utt("agent", 4.0, 9.0),
        utt("callee", 9.5, 12.5),
    ]
    f = compute_features(make_audio(place(14.0, parts) + floor_noise(14.0)), utts)
    assert isinstance(f, CallFeatures)
    missing = [k for k in CONTRACT_KEYS if k not in f.flat()]
    assert missing == []


def test_params_override_and_unknown_key() -> None:
    u = [utt("agent", 0.5, 20.5)]
    audio = make_audio(place(21.0, [(0.5, noise_at(-20, 20.0))]))
    f = compute_features(audio, u, params={"rate": {"window_s": 5.0, "window_step_s": 5.0}})
    assert len(f.series["rate"]["agent"]["window"]) == 4
    assert f.params["rate"]["window_s"] == 5.0
    with pytest.raises(ConfigError, match="window_s"):
        compute_features(audio, u, params={"rate": {"windw_s": 5.0}})


# --------------------------------------------------------------------------- synthesised speech
def _load(path) -> Audio:
    from call_eval.audio import load_audio

    return load_audio(path)


def test_fast_agent_is_faster_on_every_rate(synth_call) -> None:
    normal = synth_call("mono")
    fast = synth_call("fast_agent")
    fn = compute_features(_load(normal["path"]), utterances_from_reference(normal["reference"]))
    ff = compute_features(_load(fast["path"]), utterances_from_reference(fast["reference"]))
    ratio = ff.agent.speech_rate_wpm / fn.agent.speech_rate_wpm
    assert 1.3 <= ratio <= 1.7  # voiced at x1.5
    assert ff.agent.articulation_rate_sps > 1.15 * fn.agent.articulation_rate_sps
    assert ff.agent.syllable_rate_sps > 1.15 * fn.agent.syllable_rate_sps
    # the callee was voiced identically in both
    assert abs(ff.callee.speech_rate_wpm / fn.callee.speech_rate_wpm - 1.0) < 0.05
    # acoustic syllables of normal-speed speech match the spelling's syllable count
    agent_text = " ".join(
        t["text"] for t in normal["reference"]["turns"] if t["speaker"] == "agent"
    )
    assert abs(fn.agent.syllables / text_syllables(agent_text) - 1.0) <= 0.2
    assert 4.0 <= fn.agent.articulation_rate_sps <= 7.0


def test_quiet_agent_is_measured_20_db_below_the_callee(synth_call) -> None:
    normal = synth_call("mono")
    quiet = synth_call("quiet_agent")
    fn = compute_features(_load(normal["path"]), utterances_from_reference(normal["reference"]))
    fq = compute_features(_load(quiet["path"]), utterances_from_reference(quiet["reference"]))
    assert abs(fn.flat()["agent.level_vs_callee_db"]) <= 2.0
    assert abs(fq.flat()["agent.level_vs_callee_db"] - -20.0) <= 2.0
    # the rubric's band (min -12 dB relative to the callee) would flag it
    assert fq.flat()["agent.level_vs_callee_db"] < -12.0 < fn.flat()["agent.level_vs_callee_db"]


def test_stereo_call_voices_on_their_channels(synth_call) -> None:
    call = synth_call("stereo")
    f = compute_features(_load(call["path"]), utterances_from_reference(call["reference"]))
    assert dict(f.channel_of_role) == {"agent": 0, "callee": 1}
    assert abs(f.flat()["agent.level_vs_callee_db"]) <= 2.0
    # female agent voice above the pitch-lowered callee voice
    assert f.agent.pitch_median_hz > 1.3 * f.callee.pitch_median_hz


def test_telephone_band_call_still_measures(synth_call) -> None:
    call = synth_call("telephone_8k")
    f = compute_features(_load(call["path"]), utterances_from_reference(call["reference"]))
    assert f.agent.articulation_rate_sps is not None and 3.5 <= f.agent.articulation_rate_sps <= 7.5
    assert f.agent.pitch_median_hz > f.callee.pitch_median_hz
    assert abs(f.flat()["agent.level_vs_callee_db"]) <= 2.0


def test_overlap_in_synthesised_speech_names_the_interrupter() -> None:
    pytest.importorskip("py_nanotts", reason="py-nanotts (dev dependency) is needed")
    from call_eval.synth import render_call

    dialogue = {
        "turns": [
            {
                "speaker": "agent",
                "text": "Je vous propose un rendez-vous jeudi prochain dans la matinée.",
            },
            {
                "speaker": "callee",
                "text": "Non, jeudi je ne peux pas, je travaille toute la journée.",
                "overlap": 0.8,
            },
            {"speaker": "agent", "text": "Très bien, alors vendredi après-midi ?", "pause": 0.5},
        ]
    }
    call = render_call(dialogue, seed=1)
    audio = make_audio(call.mono)
    f = compute_features(audio, utterances_from_reference({"turns": list(call.turns)}))
    cuts = [o for o in f.overlaps if o.interruption]
    assert len(cuts) == 1 and cuts[0].by == "callee" and cuts[0].over == "agent"
    assert abs(cuts[0].duration - 0.8) <= 0.05
    assert f.callee.interruptions == 1 and f.agent.interruptions == 0
