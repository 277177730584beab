"""Outlet accounts: an identity's connection to one channel. Secrets go in, never come back out."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from weishang_core import identities
from weishang_core.channels import Account
from weishang_core.errors import NotFound, UserError
from weishang_core.models import OutletAccount
from weishang_core.plugins import get_channel, get_channels

MASK = "********"
_NAME = re.compile(r"[^\s/\\]{1,64}")


def parse_options(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"option: {pair.split('=')[0]!r} should be written KEY=VALUE")
        if key.strip() in options:
            raise UserError(f"option {key.strip()!r}: given twice")
        options[key.strip()] = value.strip()
    return options


def add(
    session: Session, channel_name: str, name: str, owner: str | None, options: dict[str, str], daily_cap: int = 4
) -> OutletAccount:
    """Connect an account; ``daily_cap`` bounds posts a day on it (anti-spam; see docs/compliance.md)."""
    channel = get_channel(channel_name)
    if not 1 <= daily_cap <= 1000:
        raise UserError(f"daily-cap: {daily_cap} is out of range; give 1 to 1000 posts a day")
    if not _NAME.fullmatch(name or ""):
        raise UserError(f"name: {name!r} must be 1-64 characters without spaces or slashes")
    if find(session, name) is not None:
        raise UserError(f"name: an account called {name!r} already exists")
    plain, secret = channel.validate_options(options)
    owner_identity = identities.get(session, owner, "owner") if owner else identities.seller(session)
    account = OutletAccount(
        name=name,
        channel=channel.name,
        owner_id=owner_identity.id,
        options=plain,
        secrets=secret,
        state={},
        daily_cap=daily_cap,
    )
    session.add(account)
    session.flush()
    return account


def find(session: Session, name: str) -> OutletAccount | None:
    return session.scalar(select(OutletAccount).where(OutletAccount.name == name))


def get(session: Session, name: str) -> OutletAccount:
    account = find(session, name)
    if account is None:
        raise NotFound(f"account: no outlet account called {name!r}")
    return account


def remove(session: Session, name: str) -> None:
    account = get(session, name)
    session.delete(account)
    session.flush()


def list_all(session: Session) -> list[OutletAccount]:
    return list(session.scalars(select(OutletAccount).order_by(OutletAccount.id)))


def view(account: OutletAccount) -> Account:
    """The channel-facing view of an account (secrets included: for channels only, never for output)."""
    return Account(
        name=account.name,
        channel=account.channel,
        options=dict(account.options),
        secrets=dict(account.secrets),
        state=dict(account.state),
    )


def health(account: OutletAccount) -> str | None:
    """The channel's warning for this account (e.g. a token about to expire), or None when all is well."""
    channel = get_channels().get(account.channel)
    return channel.health(view(account)) if channel is not None else f"channel {account.channel} is not installed"


def warnings(session: Session) -> list[tuple[str, str]]:
    return [(a.name, w) for a in list_all(session) if (w := health(a))]


def save_state(session: Session, name: str, state: dict[str, Any]) -> None:
    """Keep what a channel learnt about the account (tokens, uid); one transaction with the caller."""
    get(session, name).state = dict(state)


def as_dict(account: OutletAccount) -> dict[str, Any]:
    """The listing form: every secret option is replaced by a mask; channel state is never shown."""
    options = dict(account.options)
    options.update({key: MASK for key in account.secrets})
    return {
        "name": account.name,
        "channel": account.channel,
        "owner": account.owner.handle,
        "options": dict(sorted(options.items())),
        "daily_cap": account.daily_cap,
        "status": health(account) or "ok",
    }
