"""``weishang sessions …``: who is signed in to the store and the console, and ending it."""

from __future__ import annotations

import click

from weishang_core import identities, sessions
from weishang_core.cli.context import AppContext, pass_app
from weishang_core.cli.output import emit, json_option


@click.group("sessions")
def sessions_group() -> None:
    """Signed-in browsers (store and console), kept on the server."""


@sessions_group.command("list")
@click.option("--all", "everything", is_flag=True, help="Also the ended and expired ones.")
@click.option("--person", help="Only this person's (a handle).")
@json_option
@pass_app
def sessions_list(app: AppContext, everything: bool, person: str | None, as_json: bool) -> None:
    """List sessions, newest first (live ones unless --all)."""
    with app.transaction() as session:
        who = identities.get(session, person, "person").id if person else None
        data = [sessions.as_dict(row, p) for row, p in sessions.listed(session, who, live_only=not everything)]
    rows = [
        (d["id"], d["person"], d["purpose"], d["created_at"][:16], d["last_seen_at"][:16],
         "live" if d["live"] else (d["end_reason"] or "expired"), (d["user_agent"] or "-")[:40])
        for d in data
    ]  # fmt: skip
    emit(data, as_json, rows, ["ID", "PERSON", "FOR", "SINCE", "LAST SEEN", "STATE", "BROWSER"], "(no sessions)")


@sessions_group.command("end")
@click.argument("session_id", required=False)
@click.option("--person", help="End every live session of this person (a handle).")
@pass_app
def sessions_end(app: AppContext, session_id: str | None, person: str | None) -> None:
    """End a session by its ID, or every session of --person; their cookies open nothing any more."""
    if (session_id is None) == (person is None):
        raise click.UsageError("give a session ID or --person NAME")
    with app.transaction() as session:
        if person is not None:
            who = identities.get(session, person, "person")
            ended = sessions.end_all(session, who.id, "ended by the seller")
            message = f"{ended} session(s) of {who.name} ended"
        else:
            row = sessions.end_by_seller(session, session_id or "")
            message = f"session {row.id} ended"
    click.echo(message)
