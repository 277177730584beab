"""pytest fixtures for plugin authors (loaded automatically through the ``pytest11`` entry point).

``weishang_cli``: run the real ``weishang`` CLI against a fresh SQLite store in a temporary folder, with
the seller 老李 already set up: ``weishang_cli("product", "list", "--json")``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result


@pytest.fixture
def weishang_cli(tmp_path: Path) -> Callable[..., Result]:
    from weishang_core.cli import cli

    runner = CliRunner()
    env = {
        "WEISHANG_HOME": str(tmp_path / "weishang"),
        "WEISHANG_DATABASE_URL": f"sqlite:///{tmp_path / 'weishang' / 'weishang.db'}",
        "WEISHANG_BROKER_URL": "",
    }

    def run(*args: str) -> Result:
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        if result.exit_code != 0:
            raise AssertionError(f"weishang {' '.join(args)} failed: {result.output}")
        return result

    run("init", "--seller", "老李")
    return run
