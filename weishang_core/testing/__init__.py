"""Tools for testing channel plugins: a real HTTP emulator base class, a conformance suite, fixtures.

``from weishang_core.testing import Emulator, ChannelConformance`` — see ``docs/plugins.md``.
The conformance suite needs pytest and is imported only when asked for: the emulators also run in
``weishang demo``, which a plain install (without the test extras) must be able to run.
"""

from typing import Any

from weishang_core.testing.emulator import Emulator, Request, Response

__all__ = ["ChannelConformance", "Emulator", "Request", "Response"]


def __getattr__(name: str) -> Any:
    if name == "ChannelConformance":
        from weishang_core.testing.conformance import ChannelConformance

        return ChannelConformance
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
