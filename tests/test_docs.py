"""Docs that cannot drift: every hook is documented with its exact signature."""

from __future__ import annotations

import inspect
from pathlib import Path

from weishang_core import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs"


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


def test_every_shell_block_of_getting_started_runs(tmp_path: Path) -> None:
    import os
    import re
    import subprocess
    import sys

    text = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if "./scripts/" not in b]
    assert len(blocks) >= 4
    env = {**os.environ, "WEISHANG_HOME": str(tmp_path / "home"), "WEISHANG_BROKER_URL": ""}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.pop("WEISHANG_DATABASE_URL", None)
    for block in blocks:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, f"{block}\n{result.stdout}\n{result.stderr}"
    import json

    shown = subprocess.run(["weishang", "commissions", "--reseller", "勤妹子", "--json"], env=env, capture_output=True)
    assert json.loads(shown.stdout)["balances"]["paid"] == "7.98"  # 10% of 2 × 39.90, released and paid out
