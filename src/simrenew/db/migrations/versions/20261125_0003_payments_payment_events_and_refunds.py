"""payments, payment events and refunds

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:35:07.469177
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reviewed by hand.
    op.create_table(
        "payment_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("payment_id", sa.String(length=36), nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("gateway", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("state_before", sa.String(length=20), nullable=False),
        sa.Column("state_after", sa.String(length=20), nullable=False),
        sa.Column("amount_fils", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
        sa.UniqueConstraint("gateway", "event_id", name=op.f("uq_payment_events_gateway_event_id")),
    )
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.create_index("ix_payment_events_payment_id", ["payment_id"], unique=False)

    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("payment_id", sa.String(length=36), nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("refund_ref", sa.String(length=60), nullable=False),
        sa.Column("amount_fils", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("gateway_refund_id", sa.String(length=100), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
        sa.UniqueConstraint("refund_ref", name=op.f("uq_payment_refunds_refund_ref")),
    )
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.create_index("ix_payment_refunds_payment_id", ["payment_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("payment_ref", sa.String(length=40), nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("renewal_id", sa.String(length=36), nullable=False),
        sa.Column("gateway", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("amount_fils", sa.Integer(), nullable=False),
        sa.Column("fee_fils", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("flag", sa.String(length=40), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("gateway_payment_id", sa.String(length=100), nullable=True),
        sa.Column("checkout_url", sa.String(length=4000), nullable=True),
        sa.Column("captured_fils", sa.Integer(), nullable=True),
        sa.Column("refunded_fils", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("browser_returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["msisdn"], ["lines.msisdn"], name=op.f("fk_payments_msisdn_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("payment_ref", name=op.f("uq_payments_payment_ref")),
        sa.UniqueConstraint("renewal_id", name=op.f("uq_payments_renewal_id")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index("ix_payments_captured_at", ["captured_at"], unique=False)
        batch_op.create_index("ix_payments_msisdn", ["msisdn"], unique=False)
        batch_op.create_index("ix_payments_state_expires_at", ["state", "expires_at"], unique=False)


def downgrade() -> None:
    # Reviewed by hand.
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_state_expires_at")
        batch_op.drop_index("ix_payments_msisdn")
        batch_op.drop_index("ix_payments_captured_at")

    op.drop_table("payments")
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_refunds_payment_id")

    op.drop_table("payment_refunds")
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_events_payment_id")

    op.drop_table("payment_events")
