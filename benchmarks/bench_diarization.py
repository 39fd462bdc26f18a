"""Diarization benchmark: DER per call (pyannote.metrics, collar 0 and 0.25 s, overlap scored)
and timings, for the embedded backend on mono mixes and the channel backend on stereo files.

    .venv/bin/python benchmarks/bench_diarization.py --corpus ../shared/corpus/public/audio
    .venv/bin/python benchmarks/bench_diarization.py --corpus DIR --synth --real --bleed

--corpus DIR  NAME.ogg (mono) / NAME_stereo.ogg with NAME.rttm references.
--synth       also render the corpus dialogues (DIR/..) with other voice pairs, among them
              close voices (Pico vs Pico pitch x0.85), mono mix (needs py-nanotts).
--real        real recorded speech: pyannote.audio's bundled two-speaker sample.
--bleed       stereo files with crosstalk added (each channel gets the other at -20 dB, 8 ms late).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from call_eval.diarize import diarize  # noqa: E402
from call_eval.types import Audio, Diarization  # noqa: E402

VOICE_PAIRS: dict[str, dict[str, dict[str, Any]]] = {
    # close voices: the same Pico voice, callee pitch x0.85 only
    "close_pitch085": {"agent": {"voice": "pico"}, "callee": {"voice": "pico", "pitch": 0.85}},
    "two_males": {"agent": {"voice": "pico-male"}, "callee": {"voice": "pico-male2"}},
    "two_females": {"agent": {"voice": "pico"}, "callee": {"voice": "pico-female2"}},
}


def load(path: Path) -> Audio:
    try:
        from call_eval.audio import load_audio

        return load_audio(path)
    except ImportError:  # before call_eval.audio existed
        from faster_whisper import decode_audio

        left, right = decode_audio(str(path), sampling_rate=16000, split_stereo=True)
        samples = np.stack([left, right]).astype(np.float32)
        identical = bool(np.allclose(left, right))
        if identical:
            samples = samples[:1]
        return Audio(
            samples,
            16000,
            samples.shape[1] / 16000,
            str(path),
            path.suffix[1:],
            16000,
            samples.shape[0],
            "",
            False,
        )


def audio_from_array(samples: np.ndarray, name: str) -> Audio:
    samples = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    return Audio(
        samples, 16000, samples.shape[1] / 16000, name, "wav", 16000, samples.shape[0], "", False
    )


def rttm_annotation(lines: list[tuple[float, float, str]]) -> Any:
    from pyannote.core import Annotation, Segment

    ann = Annotation()
    for i, (start, end, spk) in enumerate(lines):
        ann[Segment(start, end), i] = spk
    return ann


def read_rttm(path: Path) -> list[tuple[float, float, str]]:
    out = []
    for line in path.read_text().splitlines():
        f = line.split()
        if f and f[0] == "SPEAKER":
            out.append((float(f[3]), float(f[3]) + float(f[4]), f[7]))
    return out


def hyp_annotation(d: Diarization) -> Any:
    return rttm_annotation([(t.start, t.end, t.speaker) for t in d.turns])


def der(
    reference: list[tuple[float, float, str]], d: Diarization, duration: float
) -> dict[str, float]:
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    ref = rttm_annotation(reference)
    hyp = hyp_annotation(d)
    uem = Timeline([Segment(0, duration)])
    out = {}
    for collar in (0.0, 0.25):
        metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
        comp = metric(ref, hyp, uem=uem, detailed=True)
        total = max(comp["total"], 1e-9)
        key = f"c{collar:g}"
        out[key] = 100 * comp["diarization error rate"]
        if collar:
            out["miss"] = 100 * comp["missed detection"] / total
            out["fa"] = 100 * comp["false alarm"] / total
            out["conf"] = 100 * comp["confusion"] / total
    return out


def run(name: str, audio: Audio, reference: list, backend: str, rows: list, **kw: Any) -> None:
    t = time.perf_counter()
    c = time.process_time()
    d = diarize(audio, backend, **kw)
    elapsed = time.perf_counter() - t
    cpu = time.process_time() - c
    scores = der(reference, d, audio.duration)
    rows.append(
        {
            "name": name,
            "backend": d.backend,
            "dur": audio.duration,
            "time": elapsed,
            "spk": len(d.speakers),
            **scores,
        }
    )
    print(
        f"{name:28s} {d.backend:9s} {audio.duration:6.1f}s  spk={len(d.speakers)}  "
        f"DER c0={scores['c0']:5.2f}%  c0.25={scores['c0.25']:5.2f}%  "
        f"(miss {scores['miss']:4.2f} fa {scores['fa']:4.2f} conf {scores['conf']:4.2f})  "
        f"wall {elapsed:5.2f}s cpu {cpu:5.2f}s  {d.details.get('timings_s', '')}",
        flush=True,
    )


def summary(title: str, rows: list[dict]) -> None:
    if not rows:
        return
    c0 = [r["c0"] for r in rows]
    c25 = [r["c0.25"] for r in rows]
    rtf = sum(r["time"] for r in rows[1:] or rows) / sum(r["dur"] for r in rows[1:] or rows)
    print(
        f"== {title}: n={len(rows)}  DER c0.25 mean {statistics.mean(c25):.2f}% max {max(c25):.2f}%  "
        f"| c0 mean {statistics.mean(c0):.2f}% max {max(c0):.2f}%  | wall time per 3 min of audio "
        f"{rtf * 180:.2f}s (first call excluded: it loads the models)"
    )


# recording conditions: render_call keyword arguments, dialogue options, output sample rate
CONDITIONS: dict[str, tuple[dict[str, Any], dict[str, Any], int | None]] = {
    "quiet_agent_m20db": ({"agent_gain_db": -20.0}, {}, None),
    "telephone_8k": ({"telephone": True}, {}, 8000),
    "noise_snr15": ({}, {"noise_snr_db": 15.0}, None),
    "fast_agent_x1.4": ({"agent_speed": 1.4}, {}, None),
}


def synth_calls(
    dialogues: list[Path], cache: Path, kinds: dict[str, tuple]
) -> list[tuple[str, Path, Path]]:
    """Render the dialogues in other voices / conditions (cached as wav + rttm)."""
    import yaml

    from call_eval.synth import render_call, write_call

    out = []
    for dlg_path in dialogues:
        dlg = yaml.safe_load(dlg_path.read_text(encoding="utf-8"))
        for kind, (speakers, kwargs, options, rate) in kinds.items():
            name = f"{dlg_path.stem}_{kind}"
            wav, rttm = cache / f"{name}.wav", cache / f"{name}.rttm"
            if not wav.exists():
                d = {
                    "turns": [{"speaker": t["speaker"], "text": t["text"]} for t in dlg["turns"]],
                    "speakers": speakers,
                }
                d["options"] = {"overlap_prob": 0.08, "long_gap_prob": 0.08, **options}
                call = render_call(d, seed=11, **kwargs)
                write_call(call, cache, name, sample_rate=rate)
            out.append((name, wav, rttm))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--corpus", type=Path, help="folder with NAME.ogg, NAME_stereo.ogg, NAME.rttm")
    ap.add_argument(
        "--synth", action="store_true", help="render the corpus dialogues with other voices"
    )
    ap.add_argument("--synth-calls", type=int, default=3, help="how many dialogues to re-render")
    ap.add_argument(
        "--conditions", action="store_true", help="quiet agent, telephone 8 kHz, noise, fast agent"
    )
    ap.add_argument(
        "--real", action="store_true", help="pyannote.audio's bundled real two-speaker sample"
    )
    ap.add_argument("--bleed", action="store_true", help="stereo with -20 dB crosstalk")
    ap.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "call_eval_bench_diar"
    )
    ap.add_argument("--only", default="", help="substring filter on call names")
    ap.add_argument("--no-mono", action="store_true")
    ap.add_argument("--no-stereo", action="store_true")
    ap.add_argument("--config", type=Path, help="another diarization.yaml to try")
    args = ap.parse_args(argv)
    if args.config:
        os.environ["CALL_EVAL_DIARIZATION_CONFIG"] = str(args.config.resolve())
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")

    mono_rows: list[dict] = []
    stereo_rows: list[dict] = []
    if args.corpus:
        for rttm in sorted(args.corpus.glob("*.rttm")):
            name = rttm.stem
            if args.only not in name:
                continue
            ref = read_rttm(rttm)
            if not args.no_mono and (args.corpus / f"{name}.ogg").exists():
                run(name, load(args.corpus / f"{name}.ogg"), ref, "embedded", mono_rows)
            if not args.no_stereo and (args.corpus / f"{name}_stereo.ogg").exists():
                st = load(args.corpus / f"{name}_stereo.ogg")
                run(f"{name}_stereo", st, ref, "channel", stereo_rows)
                if args.bleed:
                    s = st.samples
                    lag = int(0.008 * 16000)
                    leak = 10 ** (-20 / 20)
                    mixed = s.copy()
                    mixed[0, lag:] += leak * s[1, :-lag]
                    mixed[1, lag:] += leak * s[0, :-lag]
                    run(
                        f"{name}_stereo_bleed",
                        audio_from_array(mixed, name),
                        ref,
                        "channel",
                        stereo_rows,
                    )
        summary("corpus mono, embedded", mono_rows)
        summary("corpus stereo, channel", stereo_rows)

    synth_rows: list[dict] = []
    if args.synth and args.corpus:
        args.cache.mkdir(parents=True, exist_ok=True)
        dialogues = sorted(args.corpus.parent.glob("*.yaml"))[: args.synth_calls]
        kinds = {pair: (spk, {}, {}, None) for pair, spk in VOICE_PAIRS.items()}
        for name, wav, rttm in synth_calls(dialogues, args.cache, kinds):
            if args.only in name:
                run(name, load(wav), read_rttm(rttm), "embedded", synth_rows)
        summary("re-rendered voices, embedded", synth_rows)

    cond_rows: list[dict] = []
    if args.conditions and args.corpus:
        args.cache.mkdir(parents=True, exist_ok=True)
        dialogues = sorted(args.corpus.parent.glob("*.yaml"))[: args.synth_calls]
        default = {"agent": {"voice": "pico"}, "callee": {"voice": "pico-male"}}
        kinds = {c: (default, kw, opts, rate) for c, (kw, opts, rate) in CONDITIONS.items()}
        for name, wav, rttm in synth_calls(dialogues, args.cache, kinds):
            if args.only in name:
                run(name, load(wav), read_rttm(rttm), "embedded", cond_rows)
        summary("recording conditions, embedded", cond_rows)

    real_rows: list[dict] = []
    if args.real:
        import importlib.util

        spec = importlib.util.find_spec("pyannote.audio")
        sample = Path(next(iter(spec.submodule_search_locations))) / "sample"
        audio = load(sample / "sample.wav")
        ref = read_rttm(sample / "sample.rttm")
        run("pyannote_sample (real)", audio, ref, "embedded", real_rows)
        run("pyannote_sample (real, n?)", audio, ref, "embedded", real_rows, num_speakers=None)
        summary("real speech, embedded", real_rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
