"""Who may do what: channel credentials and the rights their channel gives."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

# Channels a bearer credential can be made for (`simrenew credentials create --channel`).
CREDENTIAL_CHANNELS = ("store", "partner", "network", "care", "admin")
# Channels that may look up any line's status, history and receipts.
READ_ANY_LINE = frozenset({"store", "partner", "care", "admin"})
# Channels that may renew any line (subscribers renew their own lines through /me).
RENEW_ANY_LINE = frozenset({"store", "partner"})
# Methods whose money is in hand when the request arrives: the renewal is credited at once.
IMMEDIATE_METHODS = frozenset({"cash", "till", "card_terminal"})
TOKEN_PREFIX = "srn_"  # noqa: S105 - a public marker, not a secret


@dataclass(frozen=True)
class Caller:
    """Who is calling: a channel credential or (later) a subscriber session."""

    kind: Literal["channel", "subscriber"]
    channel: str
    id: str
    name: str


def new_token() -> str:
    """A new bearer token (shown once, stored only as its hash)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The stored form of a token: SHA-256 is enough for 256-bit random tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


def may_read_any_line(caller: Caller) -> bool:
    """Whether the caller may see any line (staff and partner channels)."""
    return caller.kind == "channel" and caller.channel in READ_ANY_LINE


def may_renew_any_line(caller: Caller) -> bool:
    """Whether the caller may renew any line."""
    return caller.kind == "channel" and caller.channel in RENEW_ANY_LINE
