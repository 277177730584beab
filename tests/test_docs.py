"""Docs that cannot drift: every hook is documented with its exact signature, and the commands shown run."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from weishang_core import hookspecs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def hook_names() -> list[str]:
    return [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "weishang_spec")]


def test_every_hook_is_documented_with_its_signature() -> None:
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    assert len(hook_names()) >= 9
    for name in hook_names():
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"## {name}({params})" in text, f"docs/hooks.md lacks '## {name}({params})'"


def test_every_documented_hook_exists() -> None:
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    documented = [line[3:].split("(")[0] for line in text.splitlines() if line.startswith("## ")]
    assert sorted(documented) == sorted(hook_names())


def test_the_cli_reference_is_generated_from_the_commands() -> None:
    from weishang_core.cli.reference import reference

    committed = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert committed == reference(), "docs/cli.md is stale: python -m weishang_core.cli.reference > docs/cli.md"


def shell_blocks(text: str) -> list[str]:
    """The ```sh blocks of a Markdown text, but those that install (./scripts/…): the tests run in a venv already."""
    return [b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if "./scripts/" not in b]


def run_blocks(blocks: list[str], where: Path) -> dict[str, str]:
    """Run each block with bash -euo pipefail in the folder WHERE, in a fresh WEISHANG_HOME there, with this
    venv's commands on PATH; every command must succeed. Returns the environment, to look at the result."""
    env = {**os.environ, "WEISHANG_HOME": str(where / "home"), "WEISHANG_BROKER_URL": ""}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.pop("WEISHANG_DATABASE_URL", None)
    for block in blocks:
        assert "&&" not in block, f"bash -e does not stop when a command before && fails: one a line\n{block}"
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block], cwd=where, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, f"{block}\n{result.stdout}\n{result.stderr}"
    return env


def balances(reseller: str, env: dict[str, str]) -> dict[str, str]:
    shown = subprocess.run(["weishang", "commissions", "--reseller", reseller, "--json"], env=env, capture_output=True)
    return json.loads(shown.stdout)["balances"]


def test_every_shell_block_of_getting_started_runs(tmp_path: Path) -> None:
    blocks = shell_blocks((DOCS / "getting-started.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    env = run_blocks(blocks, tmp_path)
    assert balances("勤妹子", env)["paid"] == "7.98"  # 10% of 2 × 39.90, released and paid out


def test_the_readme_quickstart_runs_as_written(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0]
    [block] = shell_blocks(quickstart)
    assert block.startswith(". .venv/bin/activate\n")
    (tmp_path / ".venv").symlink_to(sys.prefix)  # as from a clone set up by ./scripts/demo
    env = run_blocks([block], tmp_path)
    env["WEISHANG_HOME"] = str(tmp_path / ".quickstart")  # the home the quickstart exports
    # The chat order's 10% of 3 × 39.90 was released and paid; 张三's 7.98 is pending, less 2.00 refunded.
    assert balances("勤妹子", env) == {"pending": "5.98", "available": "0.00", "paid": "11.97"}
