"""Agreement of suggested criterion states with a juror's labels, and confidence reliability.

Usage:
    .venv/bin/python benchmarks/bench_criteria.py [CORPUS_DIR] [--audio [--stereo]]
        [--rubric FILE] [--criteria C01,C03-C12] [--show-all] [--json OUT]

Text path (default): every call's YAML turns become role-labelled utterances (reference
times from audio/<id>.json when present), with the call script's questions and the CRM
note from the YAML; detectors + scoring run on them (no audio features: C02 comes out
a_verifier). ``--audio`` runs the full pipeline (``call_eval.pipeline.analyze_file``) on
audio/<id>.ogg (``--stereo``: <id>_stereo.ogg) with the same script and CRM note, then
detectors + scoring on its utterances and features (``--cache DIR`` keeps that speech
half, so that rules can be tuned without transcribing again).

Prints, per criterion, agreement with the labels; the confusion of states (label rows,
suggestion columns); every disagreement with its reason; a reliability table (confidence
bins vs accuracy) over the target criteria; and the time of detectors + scoring for each
call (model loading excluded), with the longest call scaled to 5 minutes.
Targets (issue 4): C01 and C03–C12 ≥ 90 % from transcripts, ≥ 85 % from audio.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import DEFAULT_CORPUS, CorpusCall, load_corpus, utterances  # noqa: E402

from call_eval.types import CriterionResult  # noqa: E402

STATES = ("acquis", "non_acquis", "a_verifier")
SHORT = {"acquis": "A", "non_acquis": "NA", "a_verifier": "AV"}
DEFAULT_TARGETS = "C01,C03-C12"
BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)


@dataclass
class CallResult:
    call: CorpusCall
    results: tuple[CriterionResult, ...]
    seconds: float  # detectors + scoring
    duration: float  # call duration (s)
    n_findings: int


def parse_ids(spec: str) -> list[str]:
    """'C01,C03-C12' → ['C01', 'C03', ..., 'C12']."""
    out: list[str] = []
    for part in spec.split(","):
        part = part.strip()
        m = re.fullmatch(r"([A-Za-z]+)(\d+)-(?:[A-Za-z]+)?(\d+)", part)
        if m:
            prefix, lo, hi = m.group(1), int(m.group(2)), int(m.group(3))
            width = len(m.group(2))
            out += [f"{prefix}{i:0{width}d}" for i in range(lo, hi + 1)]
        elif part:
            out.append(part)
    return out


# --------------------------------------------------------------------------- runs
def run_text(calls: Sequence[CorpusCall], rubric_path: str | None) -> list[CallResult]:
    from call_eval.detectors import CallContext, run_detectors
    from call_eval.nlp import load_nlp
    from call_eval.rubric import load_rubric
    from call_eval.scoring import score

    rubric = load_rubric(rubric_path)
    names = rubric.detector_names()
    overrides = rubric.detector_overrides()
    load_nlp()

    def analyse(call: CorpusCall) -> tuple[tuple[CriterionResult, ...], int, float]:
        utts = utterances(call)
        t0 = time.perf_counter()
        ctx = CallContext(
            utterances=utts,
            script_questions=call.script_questions,
            crm_note=call.crm_note,
            features={},
        )
        findings = run_detectors(ctx, names=names, overrides=overrides)
        results, _ = score(
            findings,
            {},
            rubric,
            has_crm_note=bool(call.crm_note),
            has_script=bool(call.script_questions),
        )
        return results, len(findings), time.perf_counter() - t0

    analyse(calls[0])  # warm-up: lexicons, pattern compilation, lazy imports
    out = []
    for call in calls:
        results, n, seconds = analyse(call)
        utts = utterances(call)
        duration = max(u.end for u in utts) - min(u.start for u in utts)
        out.append(CallResult(call, results, seconds, duration, n))
    return out


def _speech_half(call: CorpusCall, path: Path, cache: Path | None) -> dict[str, Any]:
    """Utterances (with roles and words) and flat features of a recording, through the
    full pipeline (``analyze_file``), cached as JSON when ``cache`` is given."""
    key = cache / f"{path.stem}.json" if cache else None
    if key is not None and key.is_file():
        return json.loads(key.read_text(encoding="utf-8"))
    from call_eval.pipeline import AnalysisOptions, analyze_file

    options = AnalysisOptions(script_questions=call.script_questions, crm_note=call.crm_note)
    t0 = time.perf_counter()
    analysis = analyze_file(path, options)
    data = {
        "utterances": [u.to_dict() for u in analysis.utterances],
        "features": analysis.features.flat() if analysis.features is not None else {},
        "pipeline_criteria": {c.id: c.suggested for c in analysis.criteria},
        "timings": analysis.timings,
        "wall_s": time.perf_counter() - t0,
        "duration": analysis.call.get("duration"),
    }
    print(f"  {call.id}: pipeline {data['wall_s']:.1f} s", file=sys.stderr)
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return data


def run_audio(
    calls: Sequence[CorpusCall], rubric_path: str | None, stereo: bool, cache: Path | None
) -> list[CallResult]:
    """Speech half through the pipeline (or the cache), then detectors + scoring here,
    timed after a warm-up so that model loading is excluded."""
    from call_eval.detectors import CallContext, run_detectors
    from call_eval.nlp import load_nlp
    from call_eval.rubric import load_rubric
    from call_eval.scoring import score
    from call_eval.types import Utterance, Word

    rubric = load_rubric(rubric_path)
    names, overrides = rubric.detector_names(), rubric.detector_overrides()
    load_nlp()
    halves = []
    for call in calls:
        path = call.stereo if stereo else call.mono
        if path is None:
            print(f"{call.id}: no audio, skipped", file=sys.stderr)
            continue
        halves.append((call, _speech_half(call, path, cache)))

    def analyse(call: CorpusCall, half: dict[str, Any]) -> tuple[Any, int, float]:
        utts = tuple(
            Utterance(
                speaker=u["speaker"],
                start=u["start"],
                end=u["end"],
                text=u["text"],
                words=tuple(Word(**w) for w in u.get("words", ())),
                role=u["role"],
            )
            for u in half["utterances"]
        )
        t0 = time.perf_counter()
        ctx = CallContext(
            utterances=utts,
            script_questions=call.script_questions,
            crm_note=call.crm_note,
            features=half["features"],
        )
        findings = run_detectors(ctx, names=names, overrides=overrides)
        results, _ = score(
            findings,
            half["features"],
            rubric,
            has_crm_note=bool(call.crm_note),
            has_script=bool(call.script_questions),
        )
        return results, len(findings), time.perf_counter() - t0

    out: list[CallResult] = []
    if halves:
        analyse(*halves[0])  # warm-up
    for call, half in halves:
        results, n, seconds = analyse(call, half)
        duration = float(half.get("duration") or 0.0)
        out.append(CallResult(call, results, seconds, duration, n))
        if rubric_path is None:
            differ = [
                r.id
                for r in results
                if half["pipeline_criteria"].get(r.id) not in (None, r.suggested)
            ]
            if differ:
                print(
                    f"  {call.id}: pipeline's own suggestions differ on {differ}", file=sys.stderr
                )
    return out


# --------------------------------------------------------------------------- report
def pct(a: int, b: int) -> str:
    return f"{100 * a / b:5.1f} %" if b else "    —"


def report(
    runs: Sequence[CallResult], targets: list[str], target_pct: float, show_all: bool
) -> dict[str, Any]:
    ids = [r.id for r in runs[0].results if any(r.id in c.call.labels for c in runs)]
    per: dict[str, list[tuple[str, str, str, float, str]]] = defaultdict(list)
    for run in runs:
        for r in run.results:
            label = run.call.labels.get(r.id)
            if label is not None:
                per[r.id].append((run.call.id, label.state, r.suggested, r.confidence, r.reason))

    print("\nAgreement per criterion (suggested state == juror's label)")
    print(
        f"{'crit':<6}{'agree':>7}{'n':>4}{'rate':>9}   per call (label→suggested, ✗ = disagreement)"
    )
    summary: dict[str, Any] = {"criteria": {}}
    for cid in ids:
        rows = per[cid]
        agree = sum(1 for _, lab, sug, _, _ in rows if lab == sug)
        marks = " ".join(
            f"{call[-2:]}:{SHORT[lab]}{'' if lab == sug else '→' + SHORT[sug] + '✗'}"
            for call, lab, sug, _, _ in rows
        )
        tag = "*" if cid in targets else " "
        print(f"{cid}{tag:<3}{agree:>7}{len(rows):>4}{pct(agree, len(rows)):>9}   {marks}")
        summary["criteria"][cid] = {"agree": agree, "n": len(rows)}
    tgt_rows = [row for cid in targets for row in per.get(cid, [])]
    tgt_agree = sum(1 for _, lab, sug, _, _ in tgt_rows if lab == sug)
    below = [
        cid
        for cid in targets
        if per.get(cid)
        and sum(1 for _, lab, sug, _, _ in per[cid] if lab == sug) / len(per[cid])
        < target_pct / 100
    ]
    print(
        f"\nTargets (*) {', '.join(targets)}: {tgt_agree}/{len(tgt_rows)} = "
        f"{pct(tgt_agree, len(tgt_rows)).strip()} overall (target ≥ {target_pct:.0f} %); "
        f"criteria below target: {', '.join(below) or 'none'}"
    )
    summary["targets"] = {"agree": tgt_agree, "n": len(tgt_rows), "below": below}

    # confusion
    conf = Counter((lab, sug) for _, lab, sug, _, _ in tgt_rows)
    print("\nConfusion on the targets (rows: label, columns: suggested)")
    print(f"{'':<12}" + "".join(f"{s:>12}" for s in STATES))
    for lab in STATES:
        print(f"{lab:<12}" + "".join(f"{conf[(lab, sug)]:>12}" for sug in STATES))
    summary["confusion"] = {f"{a}->{b}": n for (a, b), n in conf.items()}

    # disagreements
    print("\nDisagreements" if not show_all else "\nAll suggestions")
    for cid in ids:
        for call, lab, sug, c, reason in per[cid]:
            if show_all or lab != sug:
                flag = "  " if lab == sug else "✗ "
                print(f"{flag}{cid} {call}: label {lab}, suggested {sug} ({c:.2f}) — {reason}")

    # reliability
    print("\nReliability on the targets (is the suggestion right, by confidence bin)")
    print(f"{'confidence':<14}{'n':>5}{'right':>7}{'accuracy':>10}{'mean conf':>11}")
    rel = []
    ece = 0.0
    for lo, hi in zip(BINS, BINS[1:], strict=False):
        rows = [r for r in tgt_rows if lo <= r[3] < hi]
        if not rows:
            continue
        right = sum(1 for _, lab, sug, _, _ in rows if lab == sug)
        mean_c = sum(r[3] for r in rows) / len(rows)
        ece += len(rows) / len(tgt_rows) * abs(right / len(rows) - mean_c)
        print(
            f"[{lo:.1f}, {min(hi, 1.0):.1f}{']' if hi > 1 else ')'}"
            f"{'':<4}{len(rows):>5}{right:>7}{pct(right, len(rows)):>10}{mean_c:>11.2f}"
        )
        rel.append({"lo": lo, "hi": min(hi, 1.0), "n": len(rows), "right": right})
    print(f"expected calibration error: {ece:.3f}")
    summary["reliability"] = rel
    summary["ece"] = round(ece, 4)

    # timing
    print("\nDetectors + scoring time (model loading excluded)")
    for run in runs:
        print(
            f"  {run.call.id}: {run.seconds * 1000:7.1f} ms for {run.duration:6.1f} s of call, "
            f"{run.n_findings} findings"
        )
    longest = max(runs, key=lambda r: r.duration)
    scaled = longest.seconds * 300.0 / longest.duration if longest.duration else float("nan")
    print(
        f"  longest call {longest.call.id} ({longest.duration:.0f} s): "
        f"{longest.seconds * 1000:.1f} ms → about {scaled * 1000:.0f} ms for a 5-minute call "
        "(target < 1000 ms)"
    )
    summary["timing"] = {
        "longest_call": longest.call.id,
        "longest_s": longest.seconds,
        "scaled_5min_s": scaled,
    }
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--audio", action="store_true", help="run the full audio pipeline")
    parser.add_argument("--stereo", action="store_true", help="with --audio: the stereo files")
    parser.add_argument("--rubric", help="rubric file (default: the certification grid)")
    parser.add_argument("--criteria", default=DEFAULT_TARGETS, help="target criteria")
    parser.add_argument("--calls", help="only these call ids (comma-separated)")
    parser.add_argument(
        "--cache",
        type=Path,
        help="with --audio: keep each recording's utterances and features here (JSON) and "
        "reuse them, so that only detectors + scoring run again",
    )
    parser.add_argument("--show-all", action="store_true", help="print every suggestion")
    parser.add_argument("--json", type=Path, help="also write the summary as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    calls = load_corpus(args.corpus)
    if args.calls:
        wanted = set(args.calls.split(","))
        calls = [c for c in calls if c.id in wanted]
    targets = parse_ids(args.criteria)
    mode = "audio (full pipeline)" if args.audio else "text (reference transcripts)"
    print(f"{len(calls)} calls from {args.corpus} — {mode}")
    if args.audio:
        runs = run_audio(calls, args.rubric, args.stereo, args.cache)
    else:
        runs = run_text(calls, args.rubric)
    if not runs:
        print("nothing analysed")
        return 1
    summary = report(runs, targets, 85.0 if args.audio else 90.0, args.show_all)
    summary["mode"] = "audio" if args.audio else "text"
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
