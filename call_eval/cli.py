"""Command line: ``call-eval analyze | models | rubric check | demo``.

Errors a user can act on (:class:`~call_eval.errors.CallEvalError`) are printed on one line
to stderr with a non-zero exit code; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__, settings
from .diarize import BACKENDS as DIARIZATION_BACKENDS
from .errors import CallEvalError, ConfigError

log = logging.getLogger("call_eval")

def _add_analysis_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--asr-model", help="faster-whisper model name or local folder (default: embedded base)"
    )
    p.add_argument("--language", default="fr", help="language of the call (default: fr)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument(
        "--compute-type", default="auto", help="CTranslate2 compute type (default: int8 on CPU)"
    )
    p.add_argument("--beam-size", type=int, help="beam size (default from models/manifest.yaml)")
    p.add_argument("--diarization", default="auto", choices=DIARIZATION_BACKENDS)
    p.add_argument("--num-speakers", type=int, default=2, help="speakers in the call (0: estimate)")
    p.add_argument("--pyannote-pipeline", help="local pyannote pipeline folder or hub name")
    p.add_argument(
        "--agent-channel", choices=("left", "right"), help="stereo: the candidate's channel"
    )
    p.add_argument(
        "--agent-speaker", help="diarization label of the candidate (overrides inference)"
    )
    p.add_argument("--rubric", help="rubric YAML (default: rubrics/cp_ffp_appels_sortants.yaml)")
    p.add_argument("--script", help="call script: text file, one question per line, or a YAML list")
    p.add_argument("--crm-note", help="the CRM note the candidate typed (text file)")
    p.add_argument(
        "--max-duration", type=float, help="longest recording accepted, in seconds (default 1800)"
    )


def _options(args: argparse.Namespace):
    from .inputs import load_crm_note, load_script
    from .pipeline import AnalysisOptions

    return AnalysisOptions(
        asr_model=args.asr_model,
        language=args.language,
        device=args.device,
        compute_type=args.compute_type,
        beam_size=args.beam_size,
        diarization=args.diarization,
        num_speakers=args.num_speakers or None,
        pyannote_pipeline=args.pyannote_pipeline,
        agent_speaker=args.agent_speaker,
        agent_channel=args.agent_channel,
        rubric=args.rubric,
        script_questions=load_script(args.script) if args.script else (),
        crm_note=load_crm_note(args.crm_note) if args.crm_note else None,
        max_duration_s=args.max_duration,
    )


def _progress(stage: str, fraction: float) -> None:
    if fraction in (0.0,):
        log.info("… %s", stage)


def _emit(text: str, out: str | None) -> None:
    if out:
        Path(out).write_text(text, encoding="utf-8")
        log.info("écrit : %s", out)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def cmd_analyze(args: argparse.Namespace) -> int:
    from .pipeline import analyze_file, analyze_transcript

    if bool(args.call) == bool(args.transcript):
        raise ConfigError("Donnez soit un enregistrement (CALL), soit --transcript FICHIER.json.")
    options = _options(args)
    if args.transcript:
        analysis = analyze_transcript(args.transcript, options, _progress)
    else:
        analysis = analyze_file(args.call, options, _progress)
    data = analysis.to_dict()
    if args.format == "json":
        _emit(json.dumps(data, ensure_ascii=False, indent=2), args.out)
    else:
        from .report import render_markdown

        _emit(render_markdown(data), args.out)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from . import models

    if args.action == "install":
        path = models.install_embedded(force=args.force)
        sys.stdout.write(f"Modèle embarqué installé : {path}\n")
        return 0
    rows = models.installed_models()
    lines = ["Modèles installés :"]
    for r in rows:
        lines.append(f"  [{r['kind']}] {r['name']:<36} {r['size']:>7}  {r['where']}")
    lines += [
        "",
        f"Dossier des modèles : {settings.models_dir()}",
        "Modèle plus grand : call-eval analyze APPEL --asr-model small (ou large-v3) — téléchargé",
        "depuis le hub si le réseau le permet — ou un dossier CTranslate2 local copié dans",
        f"{settings.models_dir()}/whisper-<nom>/ puis --asr-model <nom>.",
        "pyannote : --pyannote-pipeline DOSSIER (config.yaml + checkpoints) ou CALL_EVAL_PYANNOTE_PIPELINE.",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def cmd_rubric(args: argparse.Namespace) -> int:
    from .rubric import check_rubric

    problems = check_rubric(args.file)
    if problems:
        sys.stdout.write("\n".join(f"✗ {p}" for p in problems) + "\n")
        return 1
    sys.stdout.write(f"✓ {args.file} : grille valide.\n")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from .calibration import calibrate_command

    text = calibrate_command(args.rubric, args.set, compare_path=args.compare, fmt=args.format)
    _emit(text, args.out)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Analyse the bundled demo call, store it and (unless --no-ui) open the app on it."""
    from .demo import run_demo

    return run_demo(open_ui=not args.no_ui, port=args.port, fmt=args.format)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="call-eval", description="Évaluation assistée d'appels sortants (français)."
    )
    parser.add_argument("--version", action="version", version=f"call_eval {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="detailed logs")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("analyze", help="analyse a recorded call (or a transcript JSON)")
    p.add_argument("call", nargs="?", help="recording: wav, mp3, m4a, ogg/opus, flac")
    p.add_argument(
        "--transcript", help="transcript JSON instead of audio (utterances with role/speaker)"
    )
    p.add_argument("--format", choices=("json", "md"), default="md")
    p.add_argument("--out", help="write the result to this file instead of stdout")
    _add_analysis_options(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("models", help="list installed models; 'install' assembles the embedded one")
    p.add_argument("action", nargs="?", choices=("list", "install"), default="list")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("rubric", help="rubric tools")
    rsub = p.add_subparsers(dest="rubric_command", required=True)
    pc = rsub.add_parser("check", help="validate a rubric file")
    pc.add_argument("file")
    pc.set_defaults(func=cmd_rubric)

    p = sub.add_parser("calibrate", help="agreement of suggestions with jurors on a calibration set")
    p.add_argument("--rubric", default=None, help="rubric YAML (default: the certification rubric)")
    p.add_argument("--set", required=True, help="calibration set: a folder or YAML file (corpus format + labels)")
    p.add_argument("--compare", help="a second rubric: which suggestions change, agreement before/after")
    p.add_argument("--format", choices=("json", "md"), default="md")
    p.add_argument("--out", help="write the report to this file instead of stdout")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("demo", help="analyse the bundled demo call and open the app on it")
    p.add_argument("--no-ui", action="store_true", help="print the report only")
    p.add_argument("--port", type=int, default=int(os.environ.get("CALL_EVAL_PORT", 8501)))
    p.add_argument("--format", choices=("json", "md"), default="md")
    p.set_defaults(func=cmd_demo)

    from .auth import add_admin_command

    add_admin_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s" if args.verbose else "%(message)s",
    )
    if not args.verbose:
        # progress lines for a person at a terminal; scripts and pipes get errors only
        logging.getLogger("call_eval").setLevel(logging.INFO if sys.stderr.isatty() else logging.WARNING)
        for noisy in ("faster_whisper", "speechbrain", "pyannote", "numba"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except CallEvalError as exc:
        sys.stderr.write(f"Erreur : {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("Interrompu.\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
