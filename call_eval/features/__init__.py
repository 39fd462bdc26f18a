"""How each speaker speaks: rate, level, pauses, talk share, overlaps, pitch, fillers.

Public entry: :func:`compute_features` (utterances with roles + the decoded audio →
:class:`CallFeatures`). Measurement settings are data (``rubrics/features.yaml``, filler
list ``rubrics/fillers_fr.yaml``); the *decision* bands of criterion C02 live in the rubric.

What is measured, per speaker (agent and callee)
------------------------------------------------
* ``speech_rate_wpm``: words per minute over speech time. Speech time is the span of the
  speaker's words, joined across gaps up to ``rate.pause_exclude_s`` (1 s) inside a turn;
  longer gaps are dead air. Word durations are capped first (Whisper stretches the word
  before a silence over it), and words without usable times are placed between their
  neighbours.
* ``syllable_rate_sps`` / ``articulation_rate_sps``: acoustic syllables (syllable nuclei:
  voiced intensity peaks, see :mod:`.acoustic`) per second of acoustic speech time, and per
  second of articulation time (pauses over 0.25 s removed). Independent of the transcript.
* ``level_dbfs``: active speech level after ITU-T P.56 method B (speech samples only) in
  dBFS (full-scale square wave = 0); ``level_spread_db``: 90th minus 10th percentile of the
  1 s block levels; ``level_vs_callee_db`` (agent) / ``level_vs_agent_db`` (callee);
  ``quiet_stretches``: stretches more than ``level.quiet_drop_db`` below the speaker's own
  median, and ``quiet_stretch_share`` (share of speech inside them).
* ``asr_confidence_mean`` (mean word probability) and ``low_confidence_share``.
* ``pitch_median_hz``, ``pitch_range_st`` (5th-95th percentile, semitones), ``pitch_sd_st``.
* ``fillers_per_min`` (see :mod:`.fillers` for how far this can be trusted: hesitations
  are a lower bound because Whisper drops most of them).
* pauses inside turns, turns, ``longest_monologue_s``, ``talk_share``, ``interruptions``
  (times this speaker cut the other off).

Per call: ``turns`` (changes of floor + 1), ``overlap_s`` and the list of overlaps with who
started over whom, ``longest_silence_s``, ``silence_share`` (silences of at least
``turns.min_silence_s`` between the first and the last word, over that span),
``gap_median_s`` (median gap at a change of floor, overlaps excluded), ``duration_s``.

Which signal
------------
For a true stereo call each speaker is measured on their own channel (within their turns);
``channel_of_role`` says which channel is whose, otherwise it is inferred from where each
speaker's turns carry energy. For mono audio (or identical channels) the mix is used,
restricted to the speaker's turns minus the parts where both speak.

Missing values
--------------
A value that cannot be measured (no callee, no words, too little voiced speech) is None in
:meth:`CallFeatures.to_dict` and **absent** from :meth:`CallFeatures.flat`, which only holds
finite numbers: a rubric rule on a missing feature must treat it as "cannot judge".
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from call_eval.errors import ConfigError
from call_eval.features import intervals as iv
from call_eval.features.params import load_fillers, load_params
from call_eval.features.timing import (
    Overlap,
    TimedWord,
    clean_words,
    find_overlaps,
    floor_blocks,
    gap_stats,
    inner_pauses,
    median,
    rate_series,
    rate_wpm,
    silences,
    speech_runs,
)
from call_eval.types import ROLES, Audio, Utterance

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["CallFeatures", "SpeakerFeatures", "compute_features", "load_params"]

log = logging.getLogger(__name__)

BANDS_NOTE = (
    "Les seuils de décision (débit, volume, confiance ASR pour le critère C02) sont "
    "définis dans la grille (rubrics/cp_ffp_appels_sortants.yaml), pas dans ces mesures."
)

_OTHER = {"agent": "callee", "callee": "agent"}


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


@dataclass(frozen=True)
class SpeakerFeatures:
    """How one speaker (``agent`` or ``callee``) speaks. None = could not be measured."""

    role: str
    source: str  # "channel 0", "channel 1" or "mix"
    utterances: int
    words: int
    speech_time_s: float
    talk_share: float | None
    speech_rate_wpm: float | None
    syllables: int | None
    syllable_rate_sps: float | None
    articulation_rate_sps: float | None
    acoustic_speech_time_s: float | None
    articulation_time_s: float | None
    level_dbfs: float | None
    level_activity: float | None
    level_spread_db: float | None
    level_vs_other_db: float | None
    quiet_stretches: tuple[Mapping[str, float], ...]
    quiet_stretch_share: float | None
    asr_confidence_mean: float | None
    low_confidence_share: float | None
    pitch_median_hz: float | None
    pitch_range_st: float | None
    pitch_sd_st: float | None
    fillers_count: int
    hesitations_count: int
    markers_count: int
    fillers_per_min: float | None
    fillers: tuple[tuple[str, int], ...]
    pause_count: int
    pause_total_s: float
    pauses_per_min: float | None
    longest_pause_s: float | None
    turns: int
    longest_monologue_s: float | None
    interruptions: int  # times this speaker cut the other off
    interrupted: int  # times the other cut this speaker off

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "level_vs_other_db":
                d[f"level_vs_{_OTHER[self.role]}_db"] = _r(v)
            elif f.name == "fillers":
                d["fillers"] = dict(v)
            elif f.name == "quiet_stretches":
                d["quiet_stretches"] = [dict(s) for s in v]
            elif isinstance(v, float):
                d[f.name] = _r(v, 4 if f.name.endswith("share") else 2)
            else:
                d[f.name] = v
        return d

    def flat(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, v in self.to_dict().items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                continue
            if math.isfinite(v):
                out[f"{self.role}.{key}"] = float(v)
        return out


@dataclass(frozen=True)
class CallFeatures:
    """Features of a whole call: per speaker, per call, and series for plots."""

    agent: SpeakerFeatures | None
    callee: SpeakerFeatures | None
    duration_s: float
    turns: int
    overlap_s: float
    overlaps: tuple[Overlap, ...]
    interruptions: int
    longest_silence_s: float | None
    silence_share: float | None
    gap_median_s: float | None
    gap_max_s: float | None
    longest_silences: tuple[tuple[float, float], ...]
    stereo: bool
    channel_of_role: Mapping[str, int] = field(default_factory=dict)
    series: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    def speaker(self, role: str) -> SpeakerFeatures | None:
        if role not in ROLES:
            raise ConfigError(f"Rôle inconnu « {role} ». Valeurs possibles : agent, callee.")
        return self.agent if role == "agent" else self.callee

    def call_dict(self) -> dict[str, Any]:
        return {
            "duration_s": _r(self.duration_s),
            "turns": self.turns,
            "overlap_s": _r(self.overlap_s),
            "overlap_count": len(self.overlaps),
            "interruptions": self.interruptions,
            "longest_silence_s": _r(self.longest_silence_s),
            "silence_share": _r(self.silence_share, 4),
            "gap_median_s": _r(self.gap_median_s),
            "gap_max_s": _r(self.gap_max_s),
            "stereo": self.stereo,
            "channel_of_role": dict(self.channel_of_role),
            "overlaps": [o.to_dict() for o in self.overlaps],
            "longest_silences": [
                {"start": round(s, 2), "end": round(e, 2), "duration": round(e - s, 2)}
                for s, e in self.longest_silences
            ],
        }

    def to_dict(self) -> dict[str, Any]:
        """Nested JSON-ready dict (the ``features`` section of the analysis output)."""
        return {
            "agent": self.agent.to_dict() if self.agent else None,
            "callee": self.callee.to_dict() if self.callee else None,
            "call": self.call_dict(),
            "series": self.series,
            "bands_note": BANDS_NOTE,
            "notes": list(self.notes),
            "params": self.params,
        }

    def flat(self) -> dict[str, float]:
        """Dotted names → finite numbers, for rubric rules (``agent.speech_rate_wpm``...).

        Missing values are absent, never NaN.
        """
        out: dict[str, float] = {}
        for sp in (self.agent, self.callee):
            if sp is not None:
                out.update(sp.flat())
        for key, v in self.call_dict().items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                continue
            if math.isfinite(v):
                out[f"call.{key}"] = float(v)
        return out


# --------------------------------------------------------------------------- helpers
def _sample_mask(n: int, sr: int, regions: list[iv.Interval]) -> np.ndarray:
    import numpy as np

    m = np.zeros(n, dtype=bool)
    for s, e in regions:
        a, b = max(0, int(round(s * sr))), min(n, int(round(e * sr)))
        if b > a:
            m[a:b] = True
    return m


def _infer_channels(audio: Audio, spans: Mapping[str, list[iv.Interval]]) -> dict[str, int]:
    """Which channel carries the agent: the one louder during agent-only than callee-only time."""
    import numpy as np

    only = {r: iv.subtract(spans[r], spans[_OTHER[r]]) for r in ROLES}
    if not only["agent"] or not only["callee"]:
        return {"agent": 0, "callee": 1}
    sr = audio.sample_rate
    n = audio.samples.shape[1]
    scores = []
    for c in range(2):
        pw = {}
        for r in ROLES:
            m = _sample_mask(n, sr, only[r])
            x = audio.samples[c][m].astype(np.float64)
            pw[r] = float(np.mean(x * x)) if x.size else 0.0
        scores.append((pw["agent"] + 1e-12) / (pw["callee"] + 1e-12))
    a = int(np.argmax(scores))
    return {"agent": a, "callee": 1 - a}


def _check_channels(audio: Audio, channel_of_role: Mapping[str, int]) -> dict[str, int]:
    out = {}
    for role, ch in channel_of_role.items():
        if role not in ROLES:
            raise ConfigError(
                f"channel_of_role : rôle inconnu « {role} ». Valeurs possibles : agent, callee."
            )
        if not isinstance(ch, int) or not 0 <= ch < audio.channels:
            raise ConfigError(
                f"channel_of_role : canal {ch!r} invalide pour « {role} ». Valeurs possibles : "
                + ", ".join(str(i) for i in range(audio.channels))
                + "."
            )
        out[role] = ch
    if len(out) == 1 and audio.channels == 2:
        ((r, c),) = out.items()
        out[_OTHER[r]] = 1 - c
    return out


@dataclass
class _Signal:
    """One analysed signal (a channel or the mix) and what is computed on it once."""

    x: np.ndarray
    power: np.ndarray
    env: np.ndarray
    contour: Any


def _signal(x: np.ndarray, sr: int, p: Mapping[str, Any]) -> _Signal:
    import numpy as np

    from call_eval.features.acoustic import intensity_contour
    from call_eval.features.level import envelope

    x64 = np.asarray(x, dtype=np.float64)
    return _Signal(
        x, x64 * x64, envelope(x64, sr, p["level"]), intensity_contour(x, sr, p["acoustic"])
    )


# --------------------------------------------------------------------------- entry
def compute_features(
    audio: Audio,
    utterances: Sequence[Utterance],
    *,
    params: Mapping[str, Any] | None = None,
    channel_of_role: Mapping[str, int] | None = None,
) -> CallFeatures:
    """Measure how the agent and the callee speak in one call.

    ``utterances`` need ``role`` set (``agent``/``callee``; others are ignored) and,
    ideally, ASR ``words``. ``params`` overrides ``rubrics/features.yaml`` (nested
    mapping). ``channel_of_role`` says which channel of a true stereo recording carries
    whom (e.g. ``{"agent": 0, "callee": 1}``); when None it is inferred.
    """
    import numpy as np

    from call_eval.features.acoustic import (
        pitch_stats,
        sounding,
        syllable_nuclei,
        voiced_share,
    )
    from call_eval.features.fillers import compile_lexicon, find_fillers
    from call_eval.features.level import active_level_from, block_levels, quiet_stretches

    p = load_params(params)
    lexicon = compile_lexicon(load_fillers(p))
    sr = int(audio.sample_rate)
    n = int(audio.samples.shape[-1])
    dur = float(audio.duration) if audio.duration else n / sr
    notes: list[str] = []

    utts = list(utterances)
    others = {u.role for u in utts if u.role not in ROLES}
    if others:
        notes.append(f"{sum(u.role not in ROLES for u in utts)} tours sans rôle ignorés.")
    by_role: dict[str, list[int]] = {
        r: [i for i, u in enumerate(utts) if u.role == r] for r in ROLES
    }
    words: dict[str, list[TimedWord]] = {r: [] for r in ROLES}
    for r in ROLES:
        for i in by_role[r]:
            words[r].extend(clean_words(utts[i], i, p["words"]))
    made_up = sum(1 for r in ROLES for w in words[r] if w.probability is None)
    if made_up:
        notes.append(
            f"{made_up} mots sans horodatage ASR : temps répartis sur le tour "
            "(débit approximatif, pas de confiance ASR)."
        )
    spans = {
        r: iv.merge((max(0.0, utts[i].start), min(dur, utts[i].end)) for i in by_role[r])
        for r in ROLES
    }

    # ---------------------------------------------------------------- signals
    stereo = bool(audio.is_true_stereo)
    chan: dict[str, int] = {}
    regions: dict[str, list[iv.Interval]] = {}
    if stereo:
        if channel_of_role:
            chan = _check_channels(audio, channel_of_role)
        else:
            chan = _infer_channels(audio, spans)
            notes.append(
                f"Canaux attribués d'après l'énergie : agent = canal {chan['agent']}, "
                f"appelé = canal {chan['callee']}."
            )
        pad = float(p["level"]["stereo_pad_s"])
        for r in ROLES:
            regions[r] = iv.merge((max(0.0, s - pad), min(dur, e + pad)) for s, e in spans[r])
    else:
        for r in ROLES:
            regions[r] = iv.subtract(spans[r], spans[_OTHER[r]])
    signals: dict[str, _Signal] = {}

    def sig_for(role: str) -> tuple[str, _Signal]:
        key = f"channel {chan[role]}" if stereo else "mix"
        if key not in signals:
            x = audio.samples[chan[role]] if stereo else audio.mono()
            signals[key] = _signal(x, sr, p)
        return key, signals[key]

    # ---------------------------------------------------------------- per speaker raw
    overlaps = find_overlaps(utts, p["turns"])
    blocks = floor_blocks(utts)
    speech_time = {
        r: iv.total(speech_runs(words[r], float(p["rate"]["pause_exclude_s"]))) if words[r] else 0.0
        for r in ROLES
    }
    total_speech = sum(speech_time.values())
    level: dict[str, float | None] = {}
    results: dict[str, dict[str, Any]] = {}
    level_series: dict[str, list[dict[str, float]]] = {}
    rate_ser: dict[str, Any] = {}
    for r in ROLES:
        if not by_role[r]:
            continue
        key, s = sig_for(r)
        res: dict[str, Any] = {"source": key}
        reg = regions[r]
        # level
        mask = _sample_mask(n, sr, reg)
        al = (
            active_level_from(s.power[mask], s.env[mask], float(p["level"]["margin_db"]))
            if mask.any()
            else None
        )
        level[r] = al.level_db if al else None
        res["level_activity"] = al.activity if al else None
        if al:
            blk = block_levels(
                s.power,
                s.env >= al.threshold,
                mask,
                sr,
                float(p["level"]["block_s"]),
                float(p["level"]["block_min_active"]),
            )
        else:
            blk = []
        levs = [lv for _, _, lv in blk]
        res["level_spread_db"] = (
            float(np.percentile(levs, 90) - np.percentile(levs, 10)) if len(levs) >= 3 else None
        )
        qs, qshare = quiet_stretches(
            blk, float(p["level"]["quiet_drop_db"]), float(p["level"]["quiet_min_s"])
        )
        res["quiet_stretches"] = tuple(qs)
        res["quiet_stretch_share"] = qshare if blk else None
        level_series[r] = [
            {
                "start": round(a, 2),
                "end": round(b, 2),
                "t": round((a + b) / 2, 2),
                "dbfs": round(lv, 1),
            }
            for a, b, lv in blk
        ]
        # acoustic rate
        snd = sounding(
            s.contour,
            reg,
            p["acoustic"],
            float(p["rate"]["pause_exclude_s"]),
            float(p["rate"]["articulation_pause_s"]),
        )
        if snd is not None and snd.speech_time > 0:
            nuclei = syllable_nuclei(
                s.x, sr, s.contour, reg, snd.threshold_db, p["acoustic"], p["pitch"]
            )
            res["syllables"] = int(nuclei.size)
            res["acoustic_speech_time_s"] = snd.speech_time
            res["articulation_time_s"] = snd.articulation_time
            res["syllable_rate_sps"] = nuclei.size / snd.speech_time
            res["articulation_rate_sps"] = (
                nuclei.size / snd.articulation_time if snd.articulation_time > 0 else None
            )
        # pitch
        # pitch, only where there is voiced sound (pyin on noise is slow and meaningless)
        voiced = (
            voiced_share(s.x, sr, s.contour, reg, snd.threshold_db, p["acoustic"], p["pitch"])
            if snd is not None
            else 0.0
        )
        ps = (
            pitch_stats(s.x, sr, reg, p["pitch"])
            if voiced >= float(p["pitch"]["min_voiced_share"])
            else None
        )
        res["pitch"] = ps
        results[r] = res
        rate_ser[r] = rate_series(words[r], utts, p["rate"])

    # ---------------------------------------------------------------- assemble
    speakers: dict[str, SpeakerFeatures | None] = {r: None for r in ROLES}
    low = float(p["words"]["low_confidence"])
    for r in ROLES:
        if r not in results:
            continue
        res = results[r]
        ws = words[r]
        st = speech_time[r]
        probs = [w.probability for w in ws if w.probability is not None]
        hits = [
            h
            for i in by_role[r]
            for h in find_fillers(utts[i].text or " ".join(w.text for w in utts[i].words), lexicon)
        ]
        counts: dict[str, int] = {}
        for h in hits:
            counts[h.label] = counts.get(h.label, 0) + 1
        pauses = inner_pauses(ws, float(p["turns"]["min_pause_s"]))
        my_blocks = [(s, e) for role, s, e in blocks if role == r]
        ps = res.get("pitch")
        other_level = level.get(_OTHER[r])
        speakers[r] = SpeakerFeatures(
            role=r,
            source=res["source"],
            utterances=len(by_role[r]),
            words=len(ws),
            speech_time_s=st,
            talk_share=st / total_speech if total_speech > 0 else None,
            speech_rate_wpm=rate_wpm(len(ws), st),
            syllables=res.get("syllables"),
            syllable_rate_sps=res.get("syllable_rate_sps"),
            articulation_rate_sps=res.get("articulation_rate_sps"),
            acoustic_speech_time_s=res.get("acoustic_speech_time_s"),
            articulation_time_s=res.get("articulation_time_s"),
            level_dbfs=level[r],
            level_activity=res["level_activity"],
            level_spread_db=res["level_spread_db"],
            level_vs_other_db=(
                level[r] - other_level if level[r] is not None and other_level is not None else None
            ),
            quiet_stretches=res["quiet_stretches"],
            quiet_stretch_share=res["quiet_stretch_share"],
            asr_confidence_mean=float(np.mean(probs)) if probs else None,
            low_confidence_share=float(np.mean([q < low for q in probs])) if probs else None,
            pitch_median_hz=ps.median_hz if ps else None,
            pitch_range_st=ps.range_st if ps else None,
            pitch_sd_st=ps.sd_st if ps else None,
            fillers_count=len(hits),
            hesitations_count=sum(h.kind == "hesitation" for h in hits),
            markers_count=sum(h.kind == "marker" for h in hits),
            fillers_per_min=60.0 * len(hits) / st if st > 0 else None,
            fillers=tuple(sorted(counts.items())),
            pause_count=len(pauses),
            pause_total_s=iv.total(pauses),
            pauses_per_min=60.0 * len(pauses) / st if st > 0 else None,
            longest_pause_s=max((e - s for s, e in pauses), default=None),
            turns=len(my_blocks),
            longest_monologue_s=max((e - s for s, e in my_blocks), default=None),
            interruptions=sum(o.interruption and o.by == r for o in overlaps),
            interrupted=sum(o.interruption and o.over == r for o in overlaps),
        )
    if not by_role["callee"]:
        notes.append("Aucun tour de l'appelé : mesures relatives à l'appelé absentes.")
    if not by_role["agent"]:
        notes.append("Aucun tour de l'agent : mesures de l'agent absentes.")

    # ---------------------------------------------------------------- call level
    activity = [(w.start, w.end) for r in ROLES for w in words[r] if w.end > w.start]
    sil = silences(activity, float(p["turns"]["min_silence_s"]))
    act = iv.merge(activity)
    span = act[-1][1] - act[0][0] if act else 0.0
    offsets = gap_stats(blocks)
    pos_gaps = [g for g in offsets if g > 0]
    ov_total = iv.total(iv.merge((o.start, o.end) for o in overlaps))
    return CallFeatures(
        agent=speakers["agent"],
        callee=speakers["callee"],
        duration_s=dur,
        turns=len(blocks),
        overlap_s=ov_total,
        overlaps=tuple(overlaps),
        interruptions=sum(o.interruption for o in overlaps),
        longest_silence_s=max((e - s for s, e in sil), default=0.0) if act else None,
        silence_share=iv.total(sil) / span if span > 0 else None,
        gap_median_s=median(pos_gaps),
        gap_max_s=max(pos_gaps, default=None),
        longest_silences=tuple(sorted(sil, key=lambda x: x[0] - x[1])[:5]),
        stereo=stereo,
        channel_of_role=chan,
        series={"rate": rate_ser, "level": level_series},
        notes=tuple(notes),
        params=p,
    )
