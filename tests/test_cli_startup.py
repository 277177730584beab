"""``weishang --help`` imports no heavy stack, and the lazy commands' summaries are the commands' own help."""

from __future__ import annotations

import json
import subprocess
import sys

import click

HEAVY = ("fastapi", "starlette", "uvicorn", "celery", "kombu", "alembic", "requests", "PIL", "qrcode", "jinja2")
PROBE = """
import json, sys
from weishang_core.cli import cli
try:
    cli.main(["--help"], prog_name="weishang")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def test_help_imports_neither_the_web_stack_nor_celery_nor_alembic_nor_the_orm(tmp_path) -> None:
    # The plugins weishang ships (a third party's, installed in a development venv, pay their own way).
    env = {"WEISHANG_HOME": str(tmp_path), "WEISHANG_PLUGINS": "webstore,wechat,weibo"}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env)
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    assert "Commands:" in done.stdout and "serve" in done.stdout and "worker" in done.stdout
    assert sorted(m for m in modules if m.split(".")[0] in HEAVY) == []
    assert {"sqlalchemy.orm", "weishang_core.models"} & modules == set()


def test_every_lazy_command_is_summarised_as_its_own_help_says() -> None:
    from weishang_core.cli import cli
    from weishang_core.cli.lazy import summarise

    assert {"order", "distribute", "serve", "worker"} <= set(cli.lazy)
    for name, (_, summary) in sorted(cli.lazy.items()):
        command = cli.get_command(click.Context(cli), name)
        assert command is not None, name
        for limit in (40, 60, 200):
            assert summarise(summary, limit) == command.get_short_help_str(limit), name
