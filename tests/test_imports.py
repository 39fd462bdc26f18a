"""`import call_eval` stays cheap: heavy libraries load lazily, inside the stages that use
them; nothing outside the UI package imports streamlit."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "torch",
    "faster_whisper",
    "ctranslate2",
    "spacy",
    "librosa",
    "pyannote",
    "streamlit",
    "sqlalchemy",
    "plotly",
    "resemblyzer",
)
PACKAGE = Path(__file__).resolve().parent.parent / "call_eval"


def test_package_and_cli_import_no_heavy_library():
    code = (
        "import sys, call_eval, call_eval.cli, call_eval.pipeline, call_eval.types, call_eval.detectors;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_streamlit_only_in_ui_package():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "ui" in path.relative_to(PACKAGE).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] == "streamlit" for n in names):
                offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []
