"""How to start the app (no Streamlit import here: the CLI uses it before launching).

    argv, env = streamlit_command(open_ref=result.recording.call_id, port=8501)
    subprocess.run(argv, env=env, check=False)

The app is started with telemetry off (this tool handles personal data and runs offline),
the developer toolbar hidden and, with ``open_ref``, ``CALL_EVAL_OPEN`` set so that the
first browser session lands on that recording's review page.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from call_eval.ui import OPEN_ENV

APP_PATH = Path(__file__).resolve().parent.parent.parent / "app.py"


def streamlit_command(
    *,
    app_path: str | Path | None = None,
    port: int | None = None,
    open_ref: str | int | None = None,
    headless: bool = False,
    address: str | None = None,
    data_dir: str | Path | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment to run ``streamlit run app.py`` with the project's flags."""
    app = Path(app_path) if app_path is not None else APP_PATH
    argv = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        "--server.headless", "true" if headless else "false",
    ]  # fmt: skip
    if port is not None:
        argv += ["--server.port", str(port)]
    if address is not None:
        argv += ["--server.address", address]
    env = dict(os.environ)
    if open_ref is not None:
        env[OPEN_ENV] = str(open_ref)
    if data_dir is not None:
        env["CALL_EVAL_DATA_DIR"] = str(data_dir)
    return argv, env
