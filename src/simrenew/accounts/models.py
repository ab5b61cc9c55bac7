"""Subscriber account tables: accounts, their sessions, bound lines and one-time codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from simrenew.accounts.rules import SigninGuard
from simrenew.db.base import Base


class Account(Base):
    """A subscriber's account on the website and app, signed in to with a login and password."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    login: Mapped[str] = mapped_column(String(254), unique=True)  # E.164 or lower-case e-mail
    login_kind: Mapped[str] = mapped_column(String(10))  # mobile | email
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, parameters included
    language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]
    # Failed sign-ins in the current 15-minute window, and the lock five of them set.
    failed_signins: Mapped[int] = mapped_column(default=0)
    first_failed_signin_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]

    def signin_guard(self) -> SigninGuard:
        """The account's failed sign-ins as the rules count them."""
        return SigninGuard(self.failed_signins, self.first_failed_signin_at, self.locked_until)

    def set_signin_guard(self, guard: SigninGuard) -> None:
        """Store the failed sign-ins the rules counted."""
        self.failed_signins = guard.failures
        self.first_failed_signin_at = guard.first_failure_at
        self.locked_until = guard.locked_until


class SubscriberSession(Base):
    """A signed-in session of the website (cookie) or the app (bearer token)."""

    __tablename__ = "subscriber_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256, never the token
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    channel: Mapped[str] = mapped_column(String(10))  # web | app
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]  # signed out, or every session ended by a reset

    __table_args__ = (Index("ix_subscriber_sessions_account_id", "account_id"),)


class Binding(Base):
    """A line bound to an account after its holder typed the code sent to it.

    One account per line (msisdn is unique) until care arranges shared access.
    """

    __tablename__ = "line_bindings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    msisdn: Mapped[str] = mapped_column(ForeignKey("lines.msisdn"), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    # Who the line was registered to when bound: a number re-issued to someone else unbinds.
    customer_id: Mapped[str | None] = mapped_column(String(36))
    bound_at: Mapped[datetime]

    __table_args__ = (Index("ix_line_bindings_account_id", "account_id"),)


class OtpChallenge(Base):
    """A one-time code sent by SMS, stored as an HMAC, spent by use, age or wrong attempts."""

    __tablename__ = "otp_challenges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(10))  # bind | reset
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    msisdn: Mapped[str] = mapped_column(String(16))  # where the code went (not always a line)
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    resend_after: Mapped[datetime]
    used_at: Mapped[datetime | None]  # accepted, superseded by a new code, or out of attempts

    __table_args__ = (
        Index("ix_otp_challenges_account_purpose", "account_id", "purpose", "created_at"),
        Index("ix_otp_challenges_msisdn_created_at", "msisdn", "created_at"),
    )
