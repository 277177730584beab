"""weishang channel plugin: {{display}}."""

from typing import Any

from weishang_core import hookimpl


@hookimpl
def register_channels(register):
    # Imported here, not at the top: every `weishang` command loads every plugin, and this keeps the
    # channel's own imports (requests) off `weishang --help`.
    from {{module}}.channel import {{Class}}Channel

    register({{Class}}Channel())


def __getattr__(name: str) -> Any:
    """`{{module}}.{{Class}}Channel` still works, imported on first use."""
    if name == "{{Class}}Channel":
        from {{module}}.channel import {{Class}}Channel

        return {{Class}}Channel
    raise AttributeError(name)
