"""subscriber accounts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 18:22:53.928218
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reviewed by hand.
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("login", sa.String(length=254), nullable=False),
        sa.Column("login_kind", sa.String(length=10), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failed_signins", sa.Integer(), nullable=False),
        sa.Column("first_failed_signin_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("login", name=op.f("uq_accounts_login")),
    )
    op.create_table(
        "otp_challenges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resend_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_otp_challenges_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_otp_challenges")),
    )
    with op.batch_alter_table("otp_challenges", schema=None) as batch_op:
        batch_op.create_index(
            "ix_otp_challenges_account_purpose",
            ["account_id", "purpose", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_otp_challenges_msisdn_created_at", ["msisdn", "created_at"], unique=False
        )

    op.create_table(
        "subscriber_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_subscriber_sessions_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriber_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_subscriber_sessions_token_hash")),
    )
    with op.batch_alter_table("subscriber_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_subscriber_sessions_account_id", ["account_id"], unique=False)

    op.create_table(
        "line_bindings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_line_bindings_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["msisdn"], ["lines.msisdn"], name=op.f("fk_line_bindings_msisdn_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_bindings")),
        sa.UniqueConstraint("msisdn", name=op.f("uq_line_bindings_msisdn")),
    )
    with op.batch_alter_table("line_bindings", schema=None) as batch_op:
        batch_op.create_index("ix_line_bindings_account_id", ["account_id"], unique=False)


def downgrade() -> None:
    # Reviewed by hand.
    with op.batch_alter_table("line_bindings", schema=None) as batch_op:
        batch_op.drop_index("ix_line_bindings_account_id")

    op.drop_table("line_bindings")
    with op.batch_alter_table("subscriber_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriber_sessions_account_id")

    op.drop_table("subscriber_sessions")
    with op.batch_alter_table("otp_challenges", schema=None) as batch_op:
        batch_op.drop_index("ix_otp_challenges_msisdn_created_at")
        batch_op.drop_index("ix_otp_challenges_account_purpose")

    op.drop_table("otp_challenges")
    op.drop_table("accounts")
