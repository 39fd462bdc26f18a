"""Command line: ``call-eval analyze | feedback | models | rubric check | calibrate | demo``
(and the account commands of :mod:`call_eval.auth`).

- ``analyze`` — analyse a recording (or a transcript JSON): Markdown or the JSON contract.
- ``feedback`` — a trainee's feedback report (Markdown or PDF) from an analysis JSON
  (``analyze --format json``), optionally with the trainee's self-assessment
  (``--self TICKS.yaml``: criterion id → acquis / non_acquis) beside the tool's suggestions.
- ``models`` — list the installed models, or assemble the embedded one.
- ``rubric check`` — validate a rubric file.
- ``calibrate`` — agreement of the suggestions with jurors on a calibration set (files, or
  ``--from-db``: the validated grids in the database); ``--compare`` a second rubric.
- ``rubric versions`` — the rubric versions saved from the app (which one is in service).
- ``demo`` — analyse the bundled demo call and open the app on it.

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
from typing import Any

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


class FeedbackInputError(ConfigError):
    """An input of ``call-eval feedback`` (analysis, self-assessment) is unusable."""


SELF_TICK_VALUES = ("acquis", "non_acquis")


def _read_data_file(path: str, what: str, example: str) -> Any:
    """A JSON or YAML file (by its extension; YAML otherwise) as data; French errors."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise FeedbackInputError(f"{path} : {what} introuvable.")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FeedbackInputError(f"{path} : le {what} doit être en UTF-8.") from exc
    except OSError as exc:
        raise FeedbackInputError(f"{path} : {what} illisible (droits d'accès ?).") from exc
    try:
        if p.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise FeedbackInputError(
            f"{path} : JSON invalide (ligne {exc.lineno}, colonne {exc.colno}) ; attendu {example}."
        ) from exc
    except yaml.YAMLError as exc:
        raise FeedbackInputError(f"{path} : YAML invalide ; attendu {example}.") from exc


def load_self_ticks(path: str) -> dict[str, str | None]:
    """The trainee's self-assessment file: a mapping criterion id → ``acquis`` /
    ``non_acquis`` (empty: not ticked). Raises :class:`FeedbackInputError` (French)."""
    from .calibration import normalize_state

    example = "un dictionnaire « C01: acquis », un critère par ligne"
    data = _read_data_file(path, "fichier d'auto-évaluation", example)
    if not isinstance(data, dict) or not data:
        raise FeedbackInputError(
            f"{path} : l'auto-évaluation doit être {example} (valeurs valides : "
            f"{', '.join(SELF_TICK_VALUES)})."
        )
    ticks: dict[str, str | None] = {}
    for cid, value in data.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            ticks[str(cid)] = None
            continue
        state = normalize_state(value) if isinstance(value, str) else None
        if state not in SELF_TICK_VALUES:
            raise FeedbackInputError(
                f"{path} : critère {cid} : valeur {value!r} invalide. Valeurs valides : "
                f"{', '.join(SELF_TICK_VALUES)} (ou vide pour ne pas cocher)."
            )
        ticks[str(cid)] = state
    return ticks


def cmd_feedback(args: argparse.Namespace) -> int:
    """The trainee's feedback report on an analysed practice call (Markdown or PDF)."""
    from .feedback import build_feedback, compare_self_assessment, load_advice
    from .report import feedback_markdown, feedback_pdf

    if args.format == "pdf" and not args.out:
        raise ConfigError(
            "Le format pdf s'écrit dans un fichier : ajoutez --out FICHIER.pdf "
            "(ou --format md pour l'afficher ici)."
        )
    analysis = _read_data_file(
        args.analysis, "fichier d'analyse", "le JSON de « call-eval analyze --format json »"
    )
    if not isinstance(analysis, dict) or not isinstance(analysis.get("criteria"), list):
        raise FeedbackInputError(
            f"{args.analysis} : ce n'est pas une analyse (pas de liste « criteria ») ; donnez "
            "le JSON produit par « call-eval analyze --format json »."
        )
    ticks = load_self_ticks(args.self_ticks) if args.self_ticks else None
    book = load_advice(args.advice)
    feedback = build_feedback(analysis, advice=book, rubric=args.rubric)
    rows = None if ticks is None else compare_self_assessment(ticks, analysis, advice=book)
    kwargs: dict[str, Any] = {"self_assessment": rows, "trainee": args.trainee}
    try:
        if args.format == "pdf":
            Path(args.out).write_bytes(feedback_pdf(feedback, analysis, **kwargs))
            log.info("écrit : %s", args.out)
        else:
            _emit(feedback_markdown(feedback, analysis, **kwargs), args.out)
    except OSError as exc:
        raise ConfigError(
            f"{args.out} : écriture impossible (vérifiez que le dossier existe et "
            "que vous pouvez y écrire)."
        ) from exc
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


def cmd_rubric_versions(args: argparse.Namespace) -> int:
    """List the stored rubric versions; ``--export N`` writes one to a file (or stdout)."""
    from . import store
    from .auth import SYSTEM
    from .report import format_date

    db = store.open_db()
    versions = store.list_rubric_versions(db, SYSTEM)
    if args.export is not None:
        chosen = [v for v in versions if v.version == args.export]
        if not chosen:
            raise ConfigError(
                f"Version {args.export} introuvable. Versions enregistrées : "
                + ", ".join(str(v.version) for v in versions)
                + "."
            )
        _emit(chosen[0].text, args.out)
        return 0
    lines = ["Versions de grille enregistrées (la plus récente d'abord) :"]
    for v in versions:
        state = "EN SERVICE" if v.active else ""
        lines.append(
            f"  {v.rubric_id} v{v.version:<3} {format_date(v.created_at):<12} "
            f"{v.created_by[:24]:<24} {state:<10} {v.note[:60]}"
        )
    if not any(v.active for v in versions):
        lines.append("Aucune version mise en service : les analyses utilisent la grille livrée.")
    _emit("\n".join(lines), args.out)
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from .calibration import calibrate_command

    if bool(args.set) == bool(args.from_db):
        raise ConfigError(
            "Donnez soit --set DOSSIER_OU_FICHIER (fichiers au format du corpus), soit --from-db "
            "(les grilles validées des jurés dans la base)."
        )
    calls = None
    if args.from_db:
        from . import store
        from .auth import SYSTEM

        db = store.open_db()
        calls = store.calibration_calls(db, SYSTEM)
        if not calls:
            raise ConfigError(
                f"Aucune grille validée dans la base ({db.url}) : validez des évaluations "
                "d'examen dans l'application, ou utilisez --set avec des fichiers."
            )
    text = calibrate_command(
        args.rubric, args.set, compare_path=args.compare, fmt=args.format, calls=calls
    )
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

    p = sub.add_parser("feedback", help="trainee feedback (md or pdf) from an analysis JSON")
    p.add_argument("analysis", help="analysis JSON (output of: call-eval analyze --format json)")
    p.add_argument(
        "--self",
        dest="self_ticks",
        metavar="TICKS",
        help="self-assessment YAML/JSON: criterion id -> acquis | non_acquis",
    )
    p.add_argument("--rubric", help="rubric YAML (default: the one the analysis records)")
    p.add_argument("--advice", help="advice YAML (default: rubrics/advice_fr.yaml)")
    p.add_argument("--trainee", help="trainee's name, printed in the header")
    p.add_argument("--format", choices=("md", "pdf"), default="md")
    p.add_argument("--out", help="write the report to this file (required for pdf)")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("models", help="list installed models; 'install' assembles the embedded one")
    p.add_argument("action", nargs="?", choices=("list", "install"), default="list")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("rubric", help="rubric tools")
    rsub = p.add_subparsers(dest="rubric_command", required=True)
    pc = rsub.add_parser("check", help="validate a rubric file")
    pc.add_argument("file")
    pc.set_defaults(func=cmd_rubric)
    pv = rsub.add_parser("versions", help="rubric versions saved from the app (database)")
    pv.add_argument("--export", type=int, metavar="N", help="print version N's YAML")
    pv.add_argument("--out", help="write to this file instead of stdout")
    pv.set_defaults(func=cmd_rubric_versions)

    p = sub.add_parser(
        "calibrate", help="agreement of suggestions with jurors on a calibration set"
    )
    p.add_argument("--rubric", default=None, help="rubric YAML (default: the certification rubric)")
    p.add_argument(
        "--set",
        help="calibration set: a folder or YAML file (corpus format + labels)",
    )
    p.add_argument(
        "--from-db",
        action="store_true",
        help="calibration set from the database: exam calls with validated juror grids",
    )
    p.add_argument(
        "--compare", help="a second rubric: which suggestions change, agreement before/after"
    )
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
        logging.getLogger("call_eval").setLevel(
            logging.INFO if sys.stderr.isatty() else logging.WARNING
        )
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
