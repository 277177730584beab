"""Benchmarks: speed and memory figures, each beside the limit it is measured against in the same run."""
