"""``weishang distribute``, ``weishang posts`` and ``weishang worker``: one click, every outlet."""

from __future__ import annotations

import os
import threading
import time

import click
from sqlalchemy import select

from weishang_core import distribution
from weishang_core.cli.context import AppContext, pass_app
from weishang_core.cli.output import emit, emit_json, json_option
from weishang_core.clock import parse_when
from weishang_core.db import get_sessionmaker
from weishang_core.models import Post, utcnow
from weishang_core.private_files import make_home
from weishang_core.validation import parse_id


def _snapshot(app: AppContext, ids: list[int]) -> list[dict]:
    with get_sessionmaker(app.settings.database_url)() as session:
        posts = session.scalars(select(Post).where(Post.id.in_(ids)).order_by(Post.id)).all()
        return [distribution.as_dict(session, p) for p in posts]


def _line(post: dict) -> str:
    where = post["url"] or post["reason"] or ""
    return f"  {post['account']:<16} {post['channel']:<13} {post['status']:<11} {where}"


def _follow(
    app: AppContext, ids: list[int], quiet: bool, timeout: float, runner: threading.Thread | None = None
) -> list[dict]:
    """Print each post's status as it changes until every post is final (or the timeout passes).

    In-process, following also ends when the runner thread has handed back the posts that wait long
    (a quota that resets tomorrow): those stay queued for `weishang posts run` or a worker.
    """
    seen: dict[int, str] = {}
    deadline = time.monotonic() + timeout
    while True:
        finished = runner is not None and not runner.is_alive()
        posts = _snapshot(app, ids)
        for post in posts:
            state = f"{post['status']}|{post['reason']}"
            if seen.get(post["id"]) != state:
                seen[post["id"]] = state
                if not quiet:
                    click.echo(_line(post))
        if all(p["status"] in distribution.FINAL for p in posts) or finished or time.monotonic() > deadline:
            return posts
        time.sleep(0.1)


@click.command()
@click.argument("sku")
@click.option("--as", "poster", help="Distribute as this reseller (default: the seller).")
@click.option("--note", default="", help="Your personal note, carried by every post.")
@click.option("--channel", "channels", multiple=True, help="Only these channels; repeat.")
@click.option("--at", "at_text", metavar="ISO8601", help="Publish at this time instead of now.")
@click.option("--update", is_flag=True, help="A progress update (a campaign at 80%): another post today.")
@click.option("--wait", is_flag=True, help="With a broker: wait until every post is final.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait at most.")
@json_option
@pass_app
def distribute(app: AppContext, sku, poster, note, channels, at_text, update, wait, timeout, as_json) -> None:
    """Publish a product to every outlet account of the poster, in parallel, each exactly once."""
    from weishang_core import tasks  # Celery is imported only by the commands that queue work

    at = parse_when(at_text, app.settings.tz, "at") if at_text else None
    with app.transaction() as session:
        kind = "update" if update else "product"
        posts = distribution.plan(session, app.settings, sku, poster, note, tuple(channels), at, kind)
        ids = [p.id for p in posts]
        queued = [p.id for p in posts if p.status == "queued"]
    later = at is not None and at > utcnow()
    if not as_json:
        click.echo(f"distributing {sku} to {len(ids)} outlet account(s):")
    if later and not app.settings.broker_url:
        final = _snapshot(app, ids)
        if not as_json:
            for post in final:
                click.echo(_line(post))
            click.echo(f"scheduled for {at_text}: run `weishang posts run` then (or a `weishang worker`).")
    else:
        runner = tasks.dispatch(app.settings, queued, eta=at if later else None)
        follow = wait or not app.settings.broker_url
        final = _follow(app, ids, as_json, timeout, runner) if follow else _snapshot(app, ids)
        if not as_json and not follow:
            for post in final:
                click.echo(_line(post))
            click.echo("queued for the workers: follow with `weishang posts`.")
    if as_json:
        emit_json(final)
    else:
        counts: dict[str, int] = {}
        for post in final:
            counts[post["status"]] = counts.get(post["status"], 0) + 1
        click.echo("done: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))


@click.group(invoke_without_command=True)
@click.option("--sku", help="Only this product's posts.")
@click.option("--status", help="Only posts in this state.")
@json_option
@click.pass_context
def posts(ctx: click.Context, sku: str | None, status: str | None, as_json: bool) -> None:
    """List posts with their status, attempts, and URL or reason."""
    if ctx.invoked_subcommand:
        return
    app = ctx.find_object(AppContext)
    assert app is not None
    with app.transaction() as session:
        query = select(Post).order_by(Post.id)
        if status:
            query = query.where(Post.status == status)
        data = [distribution.as_dict(session, p) for p in session.scalars(query)]
    if sku:
        data = [d for d in data if d["sku"] == sku]
    rows = [
        (
            d["id"],
            d["sku"],
            d["account"],
            d["poster"],
            d["status"],
            d["attempts"],
            d["url"] or d["reason"] or "",
        )
        for d in data
    ]
    emit(
        data,
        as_json,
        rows,
        ["ID", "SKU", "ACCOUNT", "POSTER", "STATUS", "TRIES", "URL OR REASON"],
        "(no posts)",
    )


@posts.command("resolve")
@click.argument("number", metavar="POST_ID")
@click.option("--published", "url", help="It did go out: record its URL.")
@click.option("--retry", is_flag=True, help="It did not: send it again.")
@pass_app
def posts_resolve(app: AppContext, number: str, url: str | None, retry: bool) -> None:
    """Settle an unconfirmed post by hand."""
    from weishang_core import tasks  # Celery is imported only by the commands that queue work

    post_id = parse_id(number, "post", "post number")
    with app.transaction() as session:
        post = distribution.resolve(session, post_id, url, retry)
        status = post.status
    if status == "queued":
        thread = tasks.dispatch(app.settings, [post_id])
        if thread:
            thread.join()
    click.echo(f"post {post_id}: {_snapshot(app, [post_id])[0]['status']}")


@posts.command("run")
@pass_app
def posts_run(app: AppContext) -> None:
    """Publish every post that is due now, in this process (the embedded stand-in for a worker)."""
    from weishang_core import tasks  # Celery is imported only by the commands that queue work

    with app.transaction() as session:
        ids = distribution.due_posts(session, utcnow())
    if not ids:
        click.echo("nothing is due")
        return
    thread = tasks.run_in_process(app.settings, ids)
    final = _follow(app, ids, False, 600, thread)
    thread.join(timeout=1)
    click.echo(f"stepped {len(final)} post(s)")


@click.command()
@click.option("--concurrency", default=8, show_default=True, help="Posts published at once by this worker.")
@click.option("--beat", is_flag=True, help="Also run the schedule (settle); run it on one worker.")
@click.option("--loglevel", default="INFO", show_default=True)
@pass_app
def worker(app: AppContext, concurrency: int, beat: bool, loglevel: str) -> None:
    """Run a Celery worker that publishes posts (needs --broker / WEISHANG_BROKER_URL)."""
    from weishang_core import tasks  # Celery is imported only by the commands that queue work

    settings = app.settings
    if not settings.broker_url:
        raise click.ClickException("worker: no broker configured; set WEISHANG_BROKER_URL=redis://…")
    # One connection per publishing thread, and three for Celery's own, the schedule's and the sweeper's:
    # fewer, and connections are opened and closed around every step.
    os.environ.setdefault("WEISHANG_DB_POOL_SIZE", str(concurrency + 3))
    app.ensure_schema()
    os.environ["WEISHANG_DATABASE_URL"] = settings.database_url  # the tasks read settings as this process has
    os.environ["WEISHANG_BROKER_URL"] = settings.broker_url
    tasks.configure(settings)
    argv = [
        "worker",
        f"--loglevel={loglevel}",
        "--pool=threads",
        f"--concurrency={concurrency}",
        "--without-gossip",
        "--without-mingle",
    ]
    if beat:
        argv += ["--beat", f"--schedule={settings.home / 'celerybeat-schedule'}"]
        make_home(settings)
    sweeper = tasks.Sweeper(settings)
    sweeper.start()
    try:
        tasks.app.worker_main(argv)
    finally:
        sweeper.stopped.set()
