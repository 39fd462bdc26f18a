"""Calibrate a rubric on the labelled corpus and time the re-scoring (issue 6).

Usage:
    .venv/bin/python benchmarks/bench_calibration.py [CORPUS_DIR] [--rubric FILE]
        [--compare FILE] [--analyses DIR] [--markdown]

Text path (default): each call's stored transcript is its YAML turns, with the reference
turn times of audio/<id>.json (``call_eval.calibration.load_calibration_set``); no audio
features, so C02 comes out « à vérifier ». ``--analyses DIR`` re-scores stored analyses
instead: ``DIR/<id>.json`` holding ``utterances`` (with roles and words) and ``features``
(nested as in the analysis JSON, or flat as in ``bench_criteria.py --cache``), e.g. from
the audio pipeline, so C02 is judged on measured rate and level.

Prints per criterion: agreement with the juror's labels, Cohen's kappa, precision/recall
of « acquis », the confusion; the overall figures; and the times: model loading (once per
process), re-scoring of the set (detectors + scoring, the target: < 10 s for the 8 calls,
transcripts already analysed), a second re-scoring under the same rubric (findings kept by
the Rescorer, as when a trainer edits bands or reasons), and an estimate for 50 calls.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from call_eval.calibration import (  # noqa: E402
    CalibrationCall,
    Rescorer,
    fmt_number,
    fmt_ratio,
    load_calibration_set,
)
from call_eval.rubric import load_rubric  # noqa: E402
from call_eval.types import STATES  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "public"
SHORT = {"acquis": "A", "non_acquis": "NA", "a_verifier": "AV"}


def with_analyses(calls: list[CalibrationCall], folder: Path) -> list[CalibrationCall]:
    out = []
    for call in calls:
        path = folder / f"{call.call_id}.json"
        if not path.is_file():
            print(f"  {call.call_id}: no stored analysis in {folder}, text path kept")
            out.append(call)
            continue
        stored = json.loads(path.read_text(encoding="utf-8"))
        analysis = {
            "utterances": stored["utterances"],
            "features": stored.get("features"),
            "models": stored.get("models") or {},
        }
        out.append(
            CalibrationCall(
                call_id=call.call_id,
                analysis=analysis,
                script_questions=call.script_questions,
                crm_note=call.crm_note,
                labels=call.labels,
                label_why=call.label_why,
                title=call.title,
                source=str(path),
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS))
    ap.add_argument("--rubric", default=None, help="rubric file (default: the shipped grid)")
    ap.add_argument("--compare", default=None, help="a second rubric to compare with")
    ap.add_argument("--analyses", default=None, help="folder of stored analyses <id>.json")
    ap.add_argument("--markdown", action="store_true", help="also print the French report")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    t_wall = time.perf_counter()
    calls = load_calibration_set(args.corpus)
    source = "text (YAML turns, reference times)"
    if args.analyses:
        calls = with_analyses(calls, Path(args.analyses))
        source = f"stored analyses from {args.analyses}"
    rubric = load_rubric(args.rubric)
    print(f"{len(calls)} calls from {args.corpus} — {source}")
    print(f"rubric {rubric.id} v{rubric.version} ({rubric.path})\n")

    rescorer = Rescorer(calls)
    t0 = time.perf_counter()
    rescorer.warm_up(rubric)
    models_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = rescorer.calibrate(rubric)
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rescorer.calibrate(rubric)
    again_s = time.perf_counter() - t0

    print("crit    n   agree   kappa   prec.   recall  confusion (juror→suggested)")
    for m in (*report.criteria, report.overall):
        conf = " ".join(
            f"{SHORT[a]}→{SHORT[b]}:{m.confusion[a][b]}"
            for a in STATES
            for b in STATES
            if m.confusion.get(a, {}).get(b)
        )
        name = "all" if m.id == "ensemble" else m.id
        print(
            f"{name:<6}{m.n:>3}  {fmt_ratio(m.agreement):>7}  {fmt_number(m.kappa):>6}  "
            f"{fmt_ratio(m.precision):>6}  {fmt_ratio(m.recall):>6}  {conf}"
        )
    decided = [m for m in report.criteria if m.id != "C02"] if not args.analyses else []
    if decided:
        pairs_n = sum(m.n for m in decided)
        agree = sum(m.agree for m in decided)
        print(
            f"without C02 (not measurable from text): {agree}/{pairs_n} = {fmt_ratio(agree / pairs_n)}"
        )
    print(f"\ndisagreements: {len(report.disagreements)}")
    for d in report.disagreements:
        print(
            f"  {d.criterion} {d.call_id}: juror {d.juror_state}, suggested {d.suggested} — {d.reason}"
        )

    per_call = [r.seconds for r in report.results]
    print("\ntimes")
    print(f"  model loading (once per process):      {models_s:6.2f} s")
    print(
        f"  re-scoring {len(calls)} calls (detectors + scoring): {first_s:6.2f} s  (target < 10 s)"
    )
    print(f"    slowest call {max(per_call):.2f} s, mean {sum(per_call) / len(per_call):.2f} s")
    print(f"    → about {50 * sum(per_call) / len(per_call):.1f} s for a 50-call set")
    print(f"  second calibration, same detector parameters (findings reused): {again_s:6.3f} s")
    if args.compare:
        t0 = time.perf_counter()
        cmp = rescorer.compare(rubric, args.compare)
        cmp_s = time.perf_counter() - t0
        print(f"  comparison with {args.compare}: {cmp_s:6.2f} s, {len(cmp.changes)} change(s)")
        for ch in cmp.changes:
            print(f"    {ch.criterion} {ch.call_id}: {ch.before} → {ch.after} ({ch.effect})")
    print(f"  wall time, loading the set included:   {time.perf_counter() - t_wall:6.2f} s")
    if args.markdown:
        print("\n" + report.to_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
