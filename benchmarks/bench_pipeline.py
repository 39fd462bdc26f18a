"""Speech half of the pipeline on reference calls: WER, DER, roles, time per stage, RTF.

Usage:
    .venv/bin/python benchmarks/bench_pipeline.py ../shared/corpus/public/audio/*.ogg
Each CALL.ogg (or CALL_stereo.ogg) needs its reference CALL.json beside it (turns with
speaker agent|callee, text, start, end). Prints one row per call and the means.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import statistics
from pathlib import Path

from call_eval.metrics import diarization_error_rate, role_accuracy, wer
from call_eval.pipeline import AnalysisOptions, analyze_file


def reference_for(path: Path) -> dict:
    stem = path.stem.removesuffix("_stereo")
    ref = path.with_name(stem + ".json")
    if not ref.is_file():
        raise SystemExit(f"no reference {ref} for {path}")
    return json.loads(ref.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("calls", nargs="+", type=Path)
    parser.add_argument("--diarization", default="auto")
    parser.add_argument("--asr-model")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    rows = []
    header = f"{'call':<16}{'dur s':>7}{'backend':>10}{'WER':>7}{'DER':>7}{'DER0':>7}{'roles':>7}{'agent':>7}{'asr s':>7}{'diar s':>7}{'feat s':>7}{'nlp s':>7}{'RTF':>7}"
    print(header)
    for path in args.calls:
        ref = reference_for(path)
        turns = sorted(ref["turns"], key=lambda t: t["start"])
        options = AnalysisOptions(diarization=args.diarization, asr_model=args.asr_model)
        analysis = analyze_file(path, options)
        data = analysis.to_dict()
        ref_text = " ".join(t["text"] for t in turns)
        hyp_text = " ".join(u["text"] for u in data["utterances"])
        ref_turns = [(t["start"], t["end"], t["speaker"]) for t in turns]
        hyp_turns = [tuple(t) for t in data["diarization"]["turns"]]
        t = data["timings"]
        row = {
            "call": path.stem,
            "duration": data["call"]["duration"],
            "backend": data["diarization"]["backend"],
            "wer": wer(ref_text, hyp_text),
            "der": diarization_error_rate(ref_turns, hyp_turns, collar=0.25),
            "der_nocollar": diarization_error_rate(ref_turns, hyp_turns, collar=0.0),
            "role_acc": role_accuracy(ref_turns, analysis.utterances),
            "agent_right": role_accuracy(ref_turns, analysis.utterances) > 0.5,
            "asr_s": t.get("transcribe", 0.0),
            "diar_s": t.get("diarize", 0.0),
            "feat_s": t.get("features", 0.0),
            "nlp_s": t.get("detectors", 0.0) + t.get("scoring", 0.0),
            "total_s": t["total"],
        }
        row["rtf"] = row["total_s"] / row["duration"]
        rows.append(row)
        print(
            f"{row['call']:<16}{row['duration']:>7.1f}{row['backend']:>10}{row['wer']:>7.1%}{row['der']:>7.1%}"
            f"{row['der_nocollar']:>7.1%}{row['role_acc']:>7.1%}{'yes' if row['agent_right'] else 'NO':>7}"
            f"{row['asr_s']:>7.1f}{row['diar_s']:>7.1f}{row['feat_s']:>7.1f}{row['nlp_s']:>7.2f}{row['rtf']:>7.3f}",
            flush=True,
        )
    if rows:
        mean = statistics.mean
        print(
            f"{'MEAN':<16}{mean(r['duration'] for r in rows):>7.1f}{'':>10}{mean(r['wer'] for r in rows):>7.1%}"
            f"{mean(r['der'] for r in rows):>7.1%}{mean(r['der_nocollar'] for r in rows):>7.1%}"
            f"{mean(r['role_acc'] for r in rows):>7.1%}{sum(r['agent_right'] for r in rows):>5}/{len(rows)}"
            f"{mean(r['asr_s'] for r in rows):>7.1f}{mean(r['diar_s'] for r in rows):>7.1f}"
            f"{mean(r['feat_s'] for r in rows):>7.1f}{mean(r['nlp_s'] for r in rows):>7.2f}{mean(r['rtf'] for r in rows):>7.3f}"
        )
        print(
            f"max WER {max(r['wer'] for r in rows):.1%}  max DER {max(r['der'] for r in rows):.1%}  max RTF {max(r['rtf'] for r in rows):.3f}"
        )
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
