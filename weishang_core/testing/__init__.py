"""Tools for testing channel plugins: a real HTTP emulator base class, a conformance suite, fixtures.

``from weishang_core.testing import Emulator, ChannelConformance`` — see ``docs/plugins.md``.
"""

from weishang_core.testing.conformance import ChannelConformance
from weishang_core.testing.emulator import Emulator, Request, Response

__all__ = ["ChannelConformance", "Emulator", "Request", "Response"]
