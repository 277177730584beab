"""weishang channel plugin: {{display}}."""

from weishang_core import hookimpl

from {{module}}.channel import {{Class}}Channel


@hookimpl
def register_channels(register):
    register({{Class}}Channel())
