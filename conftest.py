"""The shared fixtures (tests/fixtures.py) serve the core's tests and the plugins' tests alike."""

pytest_plugins = ["tests.fixtures"]
