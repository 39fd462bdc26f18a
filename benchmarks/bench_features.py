"""Audio features on reference calls: agent rate and level against the truth, C02, time.

Usage:
    .venv/bin/python benchmarks/bench_features.py ../shared/corpus/public/audio [--stereo]
    .venv/bin/python benchmarks/bench_features.py CALL.ogg [CALL2.ogg ...] [--words reference]

Each CALL.ogg (or CALL_stereo.ogg) needs its reference CALL.json beside it (turns with
speaker, text, start, end); the delivery in ../CALL.yaml (agent/callee rate and gain) is
shown when present, and its C02 label is compared with the suggestion.

Words come from the real speech half of the pipeline (load_audio → transcribe → diarize →
align → roles) by default; ``--words reference`` instead spreads the reference turns' words
uniformly over the reference turn times (no ASR: checks the acoustic measures alone; the
measured rate then equals the reference rate by construction). ``--cache DIR`` keeps the
pipeline's utterances between runs.

Reference rate = words of the agent's reference text / the agent's reference speech time
(sum of reference turn durations). C02 is suggested by the real scoring engine with the
default rubric (features only). The time is compute_features alone; the first call of the
process also pays library imports and JIT warm-up ("cold").
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from call_eval.features import compute_features  # noqa: E402
from call_eval.features.timing import is_word  # noqa: E402
from call_eval.types import Utterance, Word  # noqa: E402


def calls_from(args: list[Path], stereo: bool) -> list[Path]:
    out: list[Path] = []
    for p in args:
        if p.is_dir():
            pattern = "*_stereo.ogg" if stereo else "*.ogg"
            found = sorted(f for f in p.glob(pattern) if stereo or not f.stem.endswith("_stereo"))
            out.extend(f for f in found if reference_path(f).is_file())
        else:
            out.append(p)
    if not out:
        raise SystemExit("no call found (give audio files or a folder with CALL.ogg + CALL.json)")
    return out


def reference_path(path: Path) -> Path:
    return path.with_name(path.stem.removesuffix("_stereo") + ".json")


def delivery_for(path: Path) -> dict[str, Any]:
    stem = path.stem.removesuffix("_stereo")
    yml = path.parent.parent / f"{stem}.yaml"
    if not yml.is_file():
        return {}
    import yaml

    data = yaml.safe_load(yml.read_text(encoding="utf-8")) or {}
    return {
        "delivery": data.get("delivery") or {},
        "c02": ((data.get("labels") or {}).get("C02") or {}).get("state"),
    }


def reference_utterances(ref: dict[str, Any]) -> list[Utterance]:
    out = []
    for t in ref["turns"]:
        toks = [w for w in t["text"].split() if is_word(w)]
        step = (t["end"] - t["start"]) / max(1, len(toks))
        words = tuple(
            Word(t["start"] + k * step, t["start"] + (k + 1) * step, w, 1.0)
            for k, w in enumerate(toks)
        )
        out.append(Utterance(t["speaker"], t["start"], t["end"], t["text"], words, t["speaker"]))
    return out


def pipeline_utterances(audio: Any, cache: Path | None, name: str) -> tuple[list[Utterance], dict]:
    if cache is not None:
        f = cache / f"{name}.utterances.json"
        if f.is_file():
            data = json.loads(f.read_text(encoding="utf-8"))
            utts = [
                Utterance(
                    u["speaker"],
                    u["start"],
                    u["end"],
                    u["text"],
                    tuple(
                        Word(w["start"], w["end"], w["text"], w["probability"]) for w in u["words"]
                    ),
                    u["role"],
                )
                for u in data["utterances"]
            ]
            return utts, data["channel_of_role"]
    from call_eval.align import align
    from call_eval.diarize import diarize
    from call_eval.roles import apply_roles, infer_roles
    from call_eval.transcribe import transcribe

    transcript, _ = transcribe(audio)
    diar = diarize(audio, "auto", num_speakers=2)
    raw = align(transcript, diar)
    roles = infer_roles(raw, diar)
    utts = list(apply_roles(raw, roles))
    chan = {roles.role_of(s): ch for s, ch in diar.channel_of.items()} if diar.channel_of else {}
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        (cache / f"{name}.utterances.json").write_text(
            json.dumps(
                {"utterances": [u.to_dict() for u in utts], "channel_of_role": chan},
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
    return utts, chan


def reference_agent_wpm(ref: dict[str, Any]) -> float:
    ag = [t for t in ref["turns"] if t["speaker"] == "agent"]
    words = sum(len([w for w in t["text"].split() if is_word(w)]) for t in ag)
    return 60.0 * words / sum(t["end"] - t["start"] for t in ag)


_RUBRIC_NOTE: list[str] = []


def _plain_c02(flat: dict[str, float]) -> tuple[str, str]:
    """C02's feature bands read straight from the rubric YAML, checked without tolerance
    (used when the rubric does not load yet, e.g. while detectors are being written)."""
    import yaml

    from call_eval import settings

    data = yaml.safe_load(settings.default_rubric_path().read_text(encoding="utf-8"))
    crit = next(c for c in data["criteria"] if c.get("id") == "C02")
    fails = []
    for cond in crit["rule"].get("all", []):
        name = cond.get("feature")
        if not name:
            continue
        v = flat.get(name)
        if v is None:
            if not cond.get("optional"):
                return "a_verifier", f"{name} missing"
            continue
        lo, hi = cond.get("between", [cond.get("min"), cond.get("max")])
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            fails.append(f"{name}={v:.2f} not in [{lo}, {hi}]")
    return ("non_acquis", "; ".join(fails)) if fails else ("acquis", "all bands met")


def c02_suggestion(flat: dict[str, float]) -> tuple[str, str]:
    from call_eval.errors import RubricError
    from call_eval.rubric import load_rubric
    from call_eval.scoring import score

    try:
        rubric = load_rubric()
    except RubricError as exc:
        if not _RUBRIC_NOTE:
            _RUBRIC_NOTE.append(f"rubric does not load ({str(exc)[:120]}...): plain band check")
            print(_RUBRIC_NOTE[0])
        return _plain_c02(flat)
    results, _ = score([], flat, rubric, has_crm_note=False, has_script=False)
    for r in results:
        if r.id == "C02":
            return r.suggested, r.reason
    return "?", "no C02 in the rubric"


def fmt(x: float | None, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("calls", nargs="+", type=Path, help="audio files or folders")
    parser.add_argument("--stereo", action="store_true", help="use CALL_stereo.ogg in folders")
    parser.add_argument("--words", choices=("pipeline", "reference"), default="pipeline")
    parser.add_argument("--cache", type=Path, help="folder keeping the pipeline's utterances")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="print C02 reasons")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from call_eval.audio import load_audio

    print(f"words from: {args.words}")
    header = (
        f"{'call':<15}{'dur s':>6}{'rate':>6}{'gain':>6}{'ref wpm':>9}{'wpm':>7}{'err %':>7}"
        f"{'syl/s':>7}{'art/s':>7}{'dBFS':>7}{'vs cal':>7}{'conf':>6}{'F0':>5}{'quiet':>6}"
        f"{'C02':>12}{'label':>12}{'feat s':>8}{'cpu s':>7}"
    )
    print(header)
    rows = []
    for i, path in enumerate(calls_from(args.calls, args.stereo)):
        ref = json.loads(reference_path(path).read_text(encoding="utf-8"))
        meta = delivery_for(path)
        dlv = meta.get("delivery", {})
        audio = load_audio(path)
        if args.words == "reference":
            utts, chan = reference_utterances(ref), {"agent": 0, "callee": 1}
        else:
            utts, chan = pipeline_utterances(audio, args.cache, path.stem)
        t0, c0 = time.perf_counter(), time.process_time()
        feats = compute_features(
            audio, utts, channel_of_role=chan if audio.is_true_stereo else None
        )
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        flat = feats.flat()
        state, reason = c02_suggestion(flat)
        ref_wpm = reference_agent_wpm(ref)
        wpm = flat.get("agent.speech_rate_wpm")
        err = 100.0 * (wpm / ref_wpm - 1.0) if wpm else None
        row = {
            "call": path.stem,
            "duration_s": audio.duration,
            "delivery_rate": (dlv.get("agent") or {}).get("rate"),
            "delivery_gain_db": (dlv.get("agent") or {}).get("gain_db", 0)
            - (dlv.get("callee") or {}).get("gain_db", 0)
            if dlv
            else None,
            "reference_wpm": ref_wpm,
            "wpm": wpm,
            "wpm_error_pct": err,
            "syllable_rate_sps": flat.get("agent.syllable_rate_sps"),
            "articulation_rate_sps": flat.get("agent.articulation_rate_sps"),
            "level_dbfs": flat.get("agent.level_dbfs"),
            "level_vs_callee_db": flat.get("agent.level_vs_callee_db"),
            "asr_confidence_mean": flat.get("agent.asr_confidence_mean"),
            "pitch_median_hz": flat.get("agent.pitch_median_hz"),
            "quiet_stretch_share": flat.get("agent.quiet_stretch_share"),
            "c02": state,
            "c02_reason": reason,
            "c02_label": meta.get("c02"),
            "features_s": dt,
            "features_cpu_s": cpu,
            "cold": i == 0,
        }
        rows.append(row)
        print(
            f"{path.stem:<15}{audio.duration:>6.0f}{fmt(row['delivery_rate'], '.2f'):>6}"
            f"{fmt(row['delivery_gain_db'], '.0f'):>6}{ref_wpm:>9.1f}{fmt(wpm, '.1f'):>7}"
            f"{fmt(err, '+.1f'):>7}{fmt(row['syllable_rate_sps'], '.2f'):>7}"
            f"{fmt(row['articulation_rate_sps'], '.2f'):>7}{fmt(row['level_dbfs'], '.1f'):>7}"
            f"{fmt(row['level_vs_callee_db'], '+.1f'):>7}{fmt(row['asr_confidence_mean'], '.2f'):>6}"
            f"{fmt(row['pitch_median_hz'], '.0f'):>5}{fmt(row['quiet_stretch_share'], '.2f'):>6}"
            f"{state:>12}{str(meta.get('c02') or '—'):>12}{dt:>7.2f}{'*' if i == 0 else ' '}"
            f"{cpu:>7.2f}"
        )
        if args.verbose:
            print(f"    C02: {reason}")
    errs = [abs(r["wpm_error_pct"]) for r in rows if r["wpm_error_pct"] is not None]
    labelled = [r for r in rows if r["c02_label"] in ("acquis", "non_acquis")]
    agree = sum(r["c02"] == r["c02_label"] for r in labelled)
    warm = [r["features_s"] / r["duration_s"] * 180.0 for r in rows if not r["cold"]]
    warm_cpu = [r["features_cpu_s"] / r["duration_s"] * 180.0 for r in rows if not r["cold"]]
    print()
    if errs:
        within = sum(e <= 10.0 for e in errs)
        print(
            f"agent wpm error: max {max(errs):.1f} %, mean {statistics.mean(errs):.1f} %; "
            f"{within}/{len(errs)} calls within ±10 %"
        )
    if labelled:
        print(f"C02 suggestion agrees with the label on {agree}/{len(labelled)} calls")
        for r in labelled:
            if r["c02"] != r["c02_label"]:
                print(
                    f"  {r['call']}: suggested {r['c02']}, label {r['c02_label']}: {r['c02_reason']}"
                )
    if warm:
        print(
            f"features time per 3 min of call (warm): mean {statistics.mean(warm):.2f} s, "
            f"max {max(warm):.2f} s (CPU time: mean {statistics.mean(warm_cpu):.2f} s, max "
            f"{max(warm_cpu):.2f} s); first call (cold, *): {rows[0]['features_s']:.2f} s "
            f"for {rows[0]['duration_s']:.0f} s"
        )
        print("(wall time rises when other processes share the CPU; CPU time shows the cost)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
