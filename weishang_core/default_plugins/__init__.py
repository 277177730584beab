"""The methods weishang ships, registered as ordinary plugins by ``plugins.DEFAULT_PLUGINS`` (never on import)."""
