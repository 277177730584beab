"""weishang: social commerce on people's own networks.

Plugins import ``hookimpl`` from here: ``from weishang_core import hookimpl``.
"""

from weishang_core.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["hookimpl", "__version__"]
