"""package names in every language

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 19:08:10.647112
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reviewed by hand.
    with op.batch_alter_table("packages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("names", sa.JSON(), server_default="{}", nullable=False))


def downgrade() -> None:
    # Reviewed by hand.
    with op.batch_alter_table("packages", schema=None) as batch_op:
        batch_op.drop_column("names")
