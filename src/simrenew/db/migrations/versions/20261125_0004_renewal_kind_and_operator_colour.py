"""renewal kind and operator colour

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 18:13:16.207062
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reviewed by hand.
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("colour", sa.String(length=7), server_default="#0b5cad", nullable=False)
        )

    with op.batch_alter_table("renewals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), server_default="renewal", nullable=False)
        )


def downgrade() -> None:
    # Reviewed by hand.
    with op.batch_alter_table("renewals", schema=None) as batch_op:
        batch_op.drop_column("kind")

    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.drop_column("colour")
