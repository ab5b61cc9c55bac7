"""Channel credentials and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from simrenew.clock import Clock
from simrenew.db.session import UnitOfWork
from simrenew.errors import Unauthenticated, ValidationFailed
from simrenew.ids import new_id
from simrenew.staff.models import AuditEntry, ChannelCredential
from simrenew.staff.rules import CREDENTIAL_CHANNELS, Caller, new_token, token_hash


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str | None,
    details: dict[str, Any],
    now: datetime,
) -> None:
    """Append one audit entry inside the caller's transaction (no personal data in details)."""
    session.add(
        AuditEntry(
            id=new_id(), at=now, actor=actor, action=action, subject=subject, details=details
        )
    )


def create_credential(
    uow: UnitOfWork, channel: str, name: str, *, clock: Clock, actor: str = "cli"
) -> tuple[str, str]:
    """Create a channel credential; return (credential id, token). The token is shown once."""
    if channel not in CREDENTIAL_CHANNELS:
        raise ValidationFailed(
            f"Unknown channel {channel!r}: use one of {', '.join(CREDENTIAL_CHANNELS)}."
        )
    name = name.strip() or channel
    token = new_token()
    now = clock.now()
    with uow:
        credential = ChannelCredential(
            id=new_id(),
            channel=channel,
            name=name[:100],
            token_hash=token_hash(token),
            created_at=now,
            revoked_at=None,
        )
        uow.session.add(credential)
        record_audit(
            uow.session,
            actor=actor,
            action="credential.created",
            subject=credential.id,
            details={"channel": channel, "name": credential.name},
            now=now,
        )
        uow.commit()
        return credential.id, token


def authenticate(uow: UnitOfWork, token: str) -> Caller:
    """The caller a bearer token stands for; Unauthenticated when unknown or revoked."""
    with uow:
        credential = uow.session.scalars(
            select(ChannelCredential).where(ChannelCredential.token_hash == token_hash(token))
        ).one_or_none()
        if credential is None or credential.revoked_at is not None:
            raise Unauthenticated()
        return Caller(
            kind="channel", channel=credential.channel, id=credential.id, name=credential.name
        )


def revoke_credential(uow: UnitOfWork, credential_id: str, *, clock: Clock) -> bool:
    """Revoke a credential at once; False when there is no such active credential."""
    now = clock.now()
    with uow:
        credential = uow.session.get(ChannelCredential, credential_id)
        if credential is None or credential.revoked_at is not None:
            return False
        credential.revoked_at = now
        record_audit(
            uow.session,
            actor="cli",
            action="credential.revoked",
            subject=credential_id,
            details={},
            now=now,
        )
        uow.commit()
        return True
