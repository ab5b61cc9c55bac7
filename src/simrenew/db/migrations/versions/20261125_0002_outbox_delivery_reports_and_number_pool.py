"""outbox delivery reports and number pool

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:27:06.699039
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reviewed by hand.
    op.create_table(
        "number_pool",
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("operator_code", sa.String(length=32), nullable=False),
        sa.Column("recycled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reused_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("msisdn", name=op.f("pk_number_pool")),
    )
    with op.batch_alter_table("number_pool", schema=None) as batch_op:
        batch_op.create_index("ix_number_pool_available_at", ["available_at"], unique=False)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("delivery_state", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_external_id"), ["external_id"], unique=False)


def downgrade() -> None:
    # Reviewed by hand.
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_external_id"))
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("delivery_state")
        batch_op.drop_column("external_id")

    with op.batch_alter_table("number_pool", schema=None) as batch_op:
        batch_op.drop_index("ix_number_pool_available_at")

    op.drop_table("number_pool")
