"""Commands about the installation itself: init, channels, plugins, doctor, demo."""

from __future__ import annotations

import click
from sqlalchemy import text
from sqlalchemy.engine import make_url

from weishang_core import accounts, identities, migrate, private_files
from weishang_core.cli.context import AppContext, pass_app
from weishang_core.cli.output import emit, json_option
from weishang_core.commission_rules import format_rule, parse_rule
from weishang_core.db import get_engine, get_sessionmaker, normalize_url
from weishang_core.models import StoreSetting
from weishang_core.plugins import get_channels, get_plugins, load_failures


@click.command()
@click.option("--seller", help="The seller's name (the store owner), e.g. 老李.")
@click.option("--commission", help="Store default commission rule, e.g. L1=10%,L2=3% (products may override).")
@click.option("--phone", help="The seller's mobile number, for signing in by code (stored as verified).")
@click.option("--email", help="The seller's email, for signing in by code (stored as verified).")
@pass_app
def init(app: AppContext, seller: str | None, commission: str | None, phone: str | None, email: str | None) -> None:
    """Create or upgrade the database to the latest schema; safe to run again."""
    engine = get_engine(app.settings.database_url)
    before, after = migrate.upgrade(engine)
    private_files.make_home(app.settings)
    _tighten(app)
    where = make_url(normalize_url(app.settings.database_url)).render_as_string(hide_password=True)
    if before == after:
        click.echo(f"database {where} is up to date (revision {after})")
    else:
        click.echo(f"database {where} upgraded from {before or 'empty'} to revision {after}")
    with get_sessionmaker(app.settings.database_url).begin() as session:
        if seller or phone or email:
            identity = identities.set_seller(session, seller) if seller else identities.seller(session)
            identities.vouch(session, identity, phone, email)
            click.echo(f"seller: {identity.handle}")
        if commission is not None:
            rule = format_rule(parse_rule(commission, app.settings.max_commission_levels, app.settings.compliance))
            session.merge(StoreSetting(key="default_commission", value=rule))
            click.echo(f"default commission: {rule}")


def _tighten(app: AppContext) -> None:
    """Existing homes and databases made by older versions (or by hand) become private too."""
    try:
        changed = private_files.tighten(app.settings)
    except OSError as exc:
        click.echo(f"warning: could not make {exc.filename} private: {exc.strerror}", err=True)
        return
    for path, mode in changed:
        click.echo(f"made {path} private (was {mode:o}): it holds outlet secrets and the signing key")


@click.command()
@json_option
def channels(as_json: bool) -> None:
    """List the installed outlet channels and their limits."""
    found = get_channels()
    data = [c.describe() for c in found.values()]

    def limits(c) -> str:
        lim = c.limits
        parts = []
        if lim.text_max:
            parts.append(f"text ≤{lim.text_max} ({lim.text_counting})")
        if lim.title_max:
            parts.append(f"title ≤{lim.title_max}")
        parts.append(f"images ≤{lim.images_max}")
        if lim.link_required:
            parts.append("link required" + (f" on {lim.link_domain_option}" if lim.link_domain_option else ""))
        if lim.daily_quota:
            parts.append(f"quota {lim.daily_quota}/day")
        if lim.hourly_posts:
            parts.append(f"{lim.hourly_posts} posts/hour")
        return ", ".join(parts)

    rows = [(c.name, c.display_name, limits(c)) for c in found.values()]
    emit(data, as_json, rows, ["CHANNEL", "OUTLET", "LIMITS"], "(no channels installed)")


@click.command()
@json_option
def plugins(as_json: bool) -> None:
    """List the loaded plugins and the hooks each implements."""
    data = get_plugins()
    rows = [(p["name"], p["distribution"] or "-", p["version"] or "-", ", ".join(p["hooks"])) for p in data]
    emit(data, as_json, rows, ["PLUGIN", "DISTRIBUTION", "VERSION", "HOOKS"], "(no plugins)")


@click.command()
@pass_app
def doctor(app: AppContext) -> None:
    """Check the database, migrations, broker and plugins; one pass/fail line each."""
    settings = app.settings
    failures = 0

    def line(ok: bool, what: str, detail: str) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        click.echo(f"{'pass' if ok else 'FAIL'}  {what:10} {detail}")

    engine = get_engine(settings.database_url)
    where = make_url(normalize_url(settings.database_url)).render_as_string(hide_password=True)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        line(True, "database", f"{where} answers")
        current, head = migrate.current_revision(engine), migrate.HEAD
        if current == head:
            line(True, "migrations", f"at the latest revision {head}")
        else:
            line(False, "migrations", f"at {current or 'nothing'}, latest is {head}: run `weishang init`")
    except Exception as exc:
        line(False, "database", f"{where}: {str(exc).splitlines()[0]}")
    if settings.broker_url is None:
        line(True, "broker", "none configured: tasks run in-process")
    else:
        from weishang_core.broker import ping_broker

        ok, detail = ping_broker(settings.broker_url)
        line(ok, "broker", detail)
    found = get_channels()
    line(
        not load_failures,
        "plugins",
        f"channels: {', '.join(found) or 'none'}"
        + "".join(f"; {name} failed: {why}" for name, why in load_failures.items()),
    )
    try:
        with get_sessionmaker(settings.database_url)() as session:
            warnings = accounts.warnings(session)
    except Exception:  # the database line above already says what is wrong
        warnings = []
    for name, warning in warnings:
        click.echo(f"warn  {'account':10} {name}: {warning}")
    for path, mode in private_files.loose(settings):
        click.echo(f"warn  {'files':10} {path} is mode {mode:o}, readable by others: run `weishang init`")
    if failures:
        raise SystemExit(1)


@click.command()
@click.option("--fresh", is_flag=True, help="Start over: empty the database first.")
@pass_app
def demo(app: AppContext, fresh: bool) -> None:
    """Run the seed's story end to end on this database and print what happened."""
    from weishang_core.demo import run_demo

    run_demo(app.settings, fresh=fresh, echo=click.echo)


@click.group("plugin")
def plugin_group() -> None:
    """Write channel plugins."""


@plugin_group.command("new")
@click.argument("name")
@click.option("--dir", "parent", default=".", type=click.Path(file_okay=False), help="Where to create it.")
def plugin_new(name: str, parent: str) -> None:
    """Scaffold a channel plugin distribution weishang-NAME, with an emulator and the conformance suite."""
    from pathlib import Path

    from weishang_core.scaffold import new_plugin

    target = new_plugin(name, Path(parent))
    click.echo(f"created {target}")
    click.echo(f"next: pip install -e {target} && (cd {target} && pytest)   — see docs/plugins.md")
