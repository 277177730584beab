"""``weishang --help`` ÷ ``python -c "import click, sqlalchemy, pluggy"``: the CLI's cost over its three pillars.

Each command is run as a fresh process, alternately, and the medians compared, so a busy moment on the
machine falls on both. A command that imported the web stack, Celery or Alembic at start shows here.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import report

RUNS = 15
LIMIT = 2.0


def _seconds(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def run() -> None:
    weishang = shutil.which("weishang") or str(Path(sys.executable).with_name("weishang"))
    home = tempfile.mkdtemp(prefix="weishang-bench-cli-")
    env = {"PATH": str(Path(sys.executable).parent), "WEISHANG_HOME": home, "HOME": home}
    baseline, cli = [], []
    for _ in range(RUNS):
        baseline.append(_seconds([sys.executable, "-c", "import click, sqlalchemy, pluggy"], env))
        cli.append(_seconds([weishang, "--help"], env))
    base, help_ = statistics.median(baseline), statistics.median(cli)
    figure = f"`weishang --help` {help_ * 1000:.0f} ms vs imports {base * 1000:.0f} ms (medians of {RUNS})"
    report("cli_startup", figure, help_ / base, f"≤ {LIMIT}")
