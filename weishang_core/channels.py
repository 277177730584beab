"""The contract between the core and a channel plugin (an outlet such as WeChat or Weibo).

A plugin subclasses :class:`Channel`, declares its name, limits and account options, and registers an
instance through the ``register_channels`` hook. The core validates options, enforces limits and decides
retries from the error type a channel raises (see ``weishang_core.errors``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from weishang_core.content import Content, compose
from weishang_core.errors import PermanentError, UserError
from weishang_core.limits import Limits, TextCounting, count_text

__all__ = [
    "Account",
    "Channel",
    "Limits",
    "Option",
    "PublishResult",
    "TextCounting",
    "count_text",
    "validate_channel",
]

_NAME = re.compile(r"[a-z][a-z0-9-]{1,31}")


@dataclass(frozen=True)
class Option:
    """An account option the channel accepts; ``secret`` ones are stored apart and always masked."""

    name: str
    required: bool = False
    secret: bool = False
    default: str | None = None
    help: str = ""


@dataclass
class Account:
    """What a channel sees of an outlet account: options, secrets and the channel's own saved state."""

    name: str
    channel: str
    options: dict[str, str]
    secrets: dict[str, str]
    state: dict[str, Any] = field(default_factory=dict)

    def option(self, name: str, default: str | None = None) -> str | None:
        return self.options.get(name, self.secrets.get(name, default))


@dataclass(frozen=True)
class PublishResult:
    """What the outlet said: ``published`` with where it lives, or ``pending`` to be polled later."""

    external_id: str
    url: str | None = None
    status: Literal["published", "pending"] = "published"
    poll_after: float = 5.0  # seconds, for pending results


class Channel:
    """Base class of every outlet; override the class attributes and the methods an outlet supports."""

    name: str = ""
    display_name: str = ""
    limits: Limits = Limits()
    options: tuple[Option, ...] = ()

    def validate_options(self, given: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """Split given options into (plain, secret), refusing unknown names and missing required ones."""
        known = {opt.name: opt for opt in self.options}
        for key in given:
            if key not in known:
                names = ", ".join(known) or "none"
                raise UserError(f"option {key!r}: {self.name} does not take it (it takes: {names})")
        plain: dict[str, str] = {}
        secret: dict[str, str] = {}
        for opt in self.options:
            value = given.get(opt.name, opt.default)
            if value is None or value == "":
                if opt.required:
                    raise UserError(f"option {opt.name!r}: required by {self.name} ({opt.help})")
                continue
            (secret if opt.secret else plain)[opt.name] = value
        return plain, secret

    supports_lookup: bool = False

    def render(self, content: Content) -> dict[str, Any]:
        """Turn content into this outlet's payload; pure, so a preview shows exactly what will go out.

        The default is the composed text (material, note, price and link within the text limit), the
        title, the images within the image limit, and the link.
        """
        return {
            "title": content.title[: self.limits.title_max] if self.limits.title_max else content.title,
            "text": compose(content, self.limits),
            "images": [str(p) for p in content.images[: self.limits.images_max]],
            "link": content.link,
        }

    def publish(self, account: Account, payload: dict[str, Any], idempotency_key: str) -> PublishResult:
        """Send the post. Raise TransientError, UnknownOutcome, RateLimited, AuthExpired or PermanentError."""
        raise PermanentError(f"{self.name}: publishing is not available in this version of its plugin")

    def poll(self, account: Account, external_id: str) -> PublishResult:
        """Ask an asynchronous outlet how a pending post is doing."""
        raise PermanentError(f"{self.name}: this outlet publishes synchronously; nothing to poll")

    def lookup(self, account: Account, idempotency_key: str) -> PublishResult | None:
        """Find an earlier attempt on the outlet; ``None`` means none was made. Set supports_lookup."""
        raise PermanentError(f"{self.name}: cannot look up earlier attempts")

    def refresh(self, account: Account) -> bool:
        """Renew expired credentials (saved in ``account.state``); return False when it cannot."""
        return False

    uses_oauth: bool = False

    def authorize_url(self, account: Account, state: str) -> str:
        """Where the account's owner grants access (OAuth2 channels; set ``uses_oauth``)."""
        raise PermanentError(f"{self.name}: this outlet is not connected through OAuth")

    def redirect_uri(self, account: Account) -> str | None:
        """The OAuth2 redirect URI, so ``account connect`` can catch the code on a local address."""
        return None

    def connect(self, account: Account, code: str) -> str:
        """Exchange an authorization code; keep the token in ``account.state``; return a sentence."""
        raise PermanentError(f"{self.name}: this outlet is not connected through OAuth")

    def health(self, account: Account) -> str | None:
        """A warning the seller should act on (a token about to expire), shown by ``account list``."""
        return None

    def check(self, account: Account) -> str:
        """Ask the outlet whether the account works; return a sentence, raise a ChannelError if not."""
        return "options are valid (this channel has no live check)"

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "limits": self.limits.as_dict(),
            "options": [
                {"name": o.name, "required": o.required, "secret": o.secret, "help": o.help} for o in self.options
            ],
        }


def validate_channel(channel: Any) -> None:
    """Refuse a malformed channel at registration, naming what is wrong."""
    if not isinstance(channel, Channel):
        raise TypeError(f"register() takes a weishang_core.channels.Channel, got {type(channel).__name__}")
    if not _NAME.fullmatch(channel.name or ""):
        raise ValueError(f"channel name {channel.name!r}: use 2-32 lowercase letters, digits or '-'")
    if not channel.display_name:
        raise ValueError(f"channel {channel.name!r}: display_name is empty")
    if not isinstance(channel.limits, Limits):
        raise TypeError(f"channel {channel.name!r}: limits must be a weishang_core.channels.Limits")
