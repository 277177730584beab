"""Example plugin: per-outlet funnel — posts → clicks → orders → revenue — from weishang's event hooks."""

from __future__ import annotations

import csv
import threading
from collections import defaultdict
from pathlib import Path

import click

from weishang_core import hookimpl
from weishang_core.config import load_settings
from weishang_core.money import format_yuan

FIELDS = ["event", "outlet", "visitor", "referrer", "amount_fen"]
_lock = threading.Lock()


def events_file() -> Path:
    return load_settings().home / "funnel-events.csv"


def _append(row: dict[str, object]) -> None:
    path = events_file()
    with _lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists()
        with path.open("a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, FIELDS)
            if new:
                writer.writeheader()
            writer.writerow(row)


@hookimpl
def post_published(post_id, channel, external_url):  # type: ignore[no-untyped-def]
    _append({"event": "post", "outlet": channel, "visitor": "", "referrer": "", "amount_fen": 0})


@hookimpl
def referral_clicked(link_code, visitor_id, outlet):  # type: ignore[no-untyped-def]
    _append({"event": "click", "outlet": outlet or "direct", "visitor": visitor_id, "referrer": link_code,
             "amount_fen": 0})  # fmt: skip


@hookimpl
def order_paid(order_id, total, referrer):  # type: ignore[no-untyped-def]
    _append({"event": "order", "outlet": "", "visitor": str(order_id), "referrer": referrer or "",
             "amount_fen": total})  # fmt: skip


def funnel(path: Path) -> list[dict[str, object]]:
    """Posts and clicks per outlet; orders and revenue per referrer (order events name the referrer)."""
    rows: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"posts": 0, "clicks": 0, "orders": 0, "revenue": 0}
    )
    if path.exists():
        with path.open(newline="", encoding="utf-8") as handle:
            for event in csv.DictReader(handle):
                if event["event"] == "post":
                    rows[("outlet", event["outlet"])]["posts"] += 1
                elif event["event"] == "click":
                    rows[("outlet", event["outlet"])]["clicks"] += 1
                elif event["event"] == "order":
                    row = rows[("referrer", event["referrer"] or "(none)")]
                    row["orders"] += 1
                    row["revenue"] += int(event["amount_fen"])
    return [
        {"by": by, "name": name, **v, "revenue": format_yuan(v["revenue"])} for (by, name), v in sorted(rows.items())
    ]


@hookimpl
def register_commands(cli):  # type: ignore[no-untyped-def]
    @cli.command("funnel")
    @click.option("--csv", "out", type=click.Path(dir_okay=False), help="Write the funnel to this CSV file.")
    def funnel_command(out: str | None) -> None:
        """Posts and clicks per outlet, orders and revenue per referrer (example plugin weishang-funnel)."""
        rows = funnel(events_file())
        if out:
            with open(out, "w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, ["by", "name", "posts", "clicks", "orders", "revenue"])
                writer.writeheader()
                writer.writerows(rows)
        for row in rows:
            click.echo(f"{row['by']:<8} {row['name']:<14} posts {row['posts']:>3}  clicks {row['clicks']:>3}  "
                       f"orders {row['orders']:>3}  revenue ¥{row['revenue']}")  # fmt: skip
