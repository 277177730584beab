"""``python -m bench NAME`` (or ``all``): run benchmarks and print their figures; no assertions."""

from __future__ import annotations

import sys

from bench import cli_startup, deep_chains, fan_out, one_click, orders, viral_landing

BENCHMARKS = {
    "one_click": one_click.run,
    "deep_chains": deep_chains.run,
    "viral_landing": viral_landing.run,
    "fan_out": fan_out.run,
    "orders": orders.run,
    "cli_startup": cli_startup.run,
}


def main(argv: list[str]) -> int:
    names = argv or ["all"]
    if names == ["all"]:
        names = list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark {unknown[0]!r}; choose from: {', '.join(BENCHMARKS)}, all", file=sys.stderr)
        return 2
    for name in names:
        BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
