"""The one plugin manager: hookspecs, the ``weishang`` entry-point group, and the channel registry."""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
from typing import Any

import click
import pluggy

from weishang_core import hookspecs
from weishang_core.channels import Channel, validate_channel
from weishang_core.errors import UserError

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "weishang"
# What weishang itself ships, registered like any plugin before the entry points (pytest's default_plugins).
DEFAULT_PLUGINS = (
    "weishang_core.default_plugins.direct_payment",
    "weishang_core.default_plugins.manual_payout",
)

pm = pluggy.PluginManager("weishang")
pm.add_hookspecs(hookspecs)
_loaded = False
load_failures: dict[str, str] = {}


def load_plugins() -> None:
    """Load every entry point in the group once; a broken plugin is reported and skipped, not fatal."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module_name in DEFAULT_PLUGINS:
        if not pm.has_plugin(module_name):
            pm.register(importlib.import_module(module_name), name=module_name)
    allow = os.environ.get("WEISHANG_PLUGINS")
    allowed = {name.strip() for name in allow.split(",")} if allow else None
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and entry_point.name not in allowed:
            continue
        if pm.has_plugin(entry_point.name):
            continue
        try:
            module = entry_point.load()
            pm.register(module, name=entry_point.name)
        except Exception as exc:  # a plugin's bug must not take the seller's CLI down with it
            load_failures[entry_point.name] = f"{type(exc).__name__}: {exc}"
            click.echo(
                f"warning: plugin {entry_point.name!r} failed to load and is skipped ({type(exc).__name__}: {exc})",
                err=True,
            )
    pm.check_pending()  # a misspelt hook name fails loudly here instead of never being called


def get_plugins() -> list[dict[str, Any]]:
    load_plugins()
    dists = {ep.name: ep.dist for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.dist}
    result = []
    for name, plugin in pm.list_name_plugin():
        if name is None:
            continue
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        dist = dists.get(name)
        result.append(
            {
                "name": name,
                "hooks": hooks,
                "distribution": dist.metadata["Name"] if dist else None,
                "version": dist.version if dist else None,
            }
        )
    return result


def get_channels() -> dict[str, Channel]:
    """Every registered channel by name, asked of the plugins afresh (they may be registered in tests)."""
    load_plugins()
    channels: dict[str, Channel] = {}

    def register(channel: Channel) -> None:
        validate_channel(channel)
        if channel.name in channels:
            raise ValueError(f"channel {channel.name!r} is registered twice")
        channels[channel.name] = channel

    pm.hook.register_channels(register=register)
    return dict(sorted(channels.items()))


def get_channel(name: str) -> Channel:
    channels = get_channels()
    if name not in channels:
        installed = ", ".join(channels) or "none"
        raise UserError(f"channel {name!r}: not installed (installed: {installed})")
    return channels[name]
