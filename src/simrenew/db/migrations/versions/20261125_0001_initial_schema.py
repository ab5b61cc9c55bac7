"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 15:16:00.446583
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reviewed by hand: every line-scoped table carries the MSISDN (sharding key).
    op.create_table(
        "audit_log",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_at", ["at"], unique=False)

    op.create_table(
        "catalog_version",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("version", sa.String(length=36), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_catalog_version")),
    )
    op.create_table(
        "channel_credentials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_credentials")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_channel_credentials_token_hash")),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("id_type", sa.String(length=10), nullable=False),
        sa.Column("id_number", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("nationality", sa.String(length=3), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index("uq_customers_identity", ["id_type", "id_number"], unique=True)

    op.create_table(
        "operators",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("ussd_code", sa.String(length=20), nullable=False),
        sa.Column("web_url", sa.String(length=200), nullable=False),
        sa.Column("care_number", sa.String(length=30), nullable=False),
        sa.Column("number_prefixes", sa.JSON(), nullable=False),
        sa.Column("channel_discounts", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_operators")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=True),
        sa.Column("recipient", sa.String(length=16), nullable=False),
        sa.Column("lane", sa.String(length=10), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transport", sa.String(length=10), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_recipient_created", ["recipient", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_outbox_state_lane_next", ["state", "lane", "next_attempt_at"], unique=False
        )

    op.create_table(
        "payment_methods",
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("gateway", sa.String(length=40), nullable=True),
        sa.Column("fee_fixed_fils", sa.Integer(), nullable=False),
        sa.Column("fee_percent", sa.Numeric(precision=6, scale=3), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("method", name=op.f("pk_payment_methods")),
    )
    op.create_table(
        "plans",
        sa.Column("operator_code", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("suspension_days", sa.Integer(), nullable=False),
        sa.Column("recycle_days", sa.Integer(), nullable=False),
        sa.Column("max_validity_days", sa.Integer(), nullable=False),
        sa.Column("reminder_days", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_code"], ["operators.code"], name=op.f("fk_plans_operator_code_operators")
        ),
        sa.PrimaryKeyConstraint("operator_code", "code", name=op.f("pk_plans")),
    )
    op.create_table(
        "promotions",
        sa.Column("operator_code", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("bonus_percent", sa.Integer(), nullable=True),
        sa.Column("discount_fils", sa.Integer(), nullable=True),
        sa.Column("spend_fils", sa.Integer(), nullable=True),
        sa.Column("save_fils", sa.Integer(), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=True),
        sa.Column("packages", sa.JSON(), nullable=True),
        sa.Column("plans", sa.JSON(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("per_line_limit", sa.Integer(), nullable=True),
        sa.Column("bonus_validity_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_code"],
            ["operators.code"],
            name=op.f("fk_promotions_operator_code_operators"),
        ),
        sa.PrimaryKeyConstraint("operator_code", "code", name=op.f("pk_promotions")),
    )
    op.create_table(
        "lines",
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("iccid", sa.String(length=22), nullable=True),
        sa.Column("operator_code", sa.String(length=32), nullable=False),
        sa.Column("plan_code", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("state_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("balance_fils", sa.Integer(), nullable=False),
        sa.Column("paid_fils", sa.Integer(), nullable=False),
        sa.Column("bonus_fils", sa.Integer(), nullable=False),
        sa.Column("bonus_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "balance_fils = paid_fils + bonus_fils", name=op.f("ck_lines_balance_is_buckets")
        ),
        sa.CheckConstraint("bonus_fils >= 0", name=op.f("ck_lines_bonus_not_negative")),
        sa.CheckConstraint("paid_fils >= 0", name=op.f("ck_lines_paid_not_negative")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_lines_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["operator_code", "plan_code"],
            ["plans.operator_code", "plans.code"],
            name=op.f("fk_lines_operator_code_plans"),
        ),
        sa.PrimaryKeyConstraint("msisdn", name=op.f("pk_lines")),
        sa.UniqueConstraint("iccid", name=op.f("uq_lines_iccid")),
    )
    with op.batch_alter_table("lines", schema=None) as batch_op:
        batch_op.create_index("ix_lines_customer_id", ["customer_id"], unique=False)
        batch_op.create_index("ix_lines_valid_until", ["valid_until"], unique=False)

    op.create_table(
        "packages",
        sa.Column("operator_code", sa.String(length=32), nullable=False),
        sa.Column("plan_code", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("price_fils", sa.Integer(), nullable=False),
        sa.Column("credit_fils", sa.Integer(), nullable=False),
        sa.Column("validity_days", sa.Integer(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_code", "plan_code"],
            ["plans.operator_code", "plans.code"],
            name=op.f("fk_packages_operator_code_plans"),
        ),
        sa.PrimaryKeyConstraint("operator_code", "plan_code", "code", name=op.f("pk_packages")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bucket", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("amount_fils", sa.Integer(), nullable=False),
        sa.Column("balance_after_fils", sa.Integer(), nullable=False),
        sa.Column("renewal_id", sa.String(length=36), nullable=True),
        sa.Column("charge_id", sa.String(length=100), nullable=True),
        sa.Column("charge_kind", sa.String(length=30), nullable=True),
        sa.ForeignKeyConstraint(
            ["msisdn"], ["lines.msisdn"], name=op.f("fk_ledger_entries_msisdn_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint(
            "msisdn", "charge_id", "bucket", name=op.f("uq_ledger_entries_msisdn_charge_id_bucket")
        ),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entries_msisdn_at", ["msisdn", "at"], unique=False)
        batch_op.create_index("ix_ledger_entries_renewal_id", ["renewal_id"], unique=False)

    op.create_table(
        "line_history",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("from_state", sa.String(length=10), nullable=True),
        sa.Column("to_state", sa.String(length=10), nullable=False),
        sa.Column("renewal_id", sa.String(length=36), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["msisdn"], ["lines.msisdn"], name=op.f("fk_line_history_msisdn_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_history")),
    )
    with op.batch_alter_table("line_history", schema=None) as batch_op:
        batch_op.create_index("ix_line_history_msisdn_at", ["msisdn", "at"], unique=False)

    op.create_table(
        "promotion_uses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("operator_code", sa.String(length=32), nullable=False),
        sa.Column("promotion_code", sa.String(length=32), nullable=False),
        sa.Column("renewal_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["msisdn"], ["lines.msisdn"], name=op.f("fk_promotion_uses_msisdn_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_uses")),
    )
    with op.batch_alter_table("promotion_uses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_promotion_uses_msisdn_code", ["msisdn", "promotion_code"], unique=False
        )

    op.create_table(
        "quotes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("package_code", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("payment_method", sa.String(length=40), nullable=True),
        sa.Column("price_fils", sa.Integer(), nullable=False),
        sa.Column("discount_fils", sa.Integer(), nullable=False),
        sa.Column("bonus_fils", sa.Integer(), nullable=False),
        sa.Column("fee_fils", sa.Integer(), nullable=False),
        sa.Column("total_fils", sa.Integer(), nullable=False),
        sa.Column("credit_fils", sa.Integer(), nullable=False),
        sa.Column("new_valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bonus_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("promotions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["msisdn"], ["lines.msisdn"], name=op.f("fk_quotes_msisdn_lines")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index("ix_quotes_msisdn", ["msisdn"], unique=False)

    op.create_table(
        "receipts",
        sa.Column("receipt_no", sa.String(length=20), nullable=False),
        sa.Column("renewal_id", sa.String(length=36), nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verification_code", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["msisdn"], ["lines.msisdn"], name=op.f("fk_receipts_msisdn_lines")
        ),
        sa.PrimaryKeyConstraint("receipt_no", name=op.f("pk_receipts")),
        sa.UniqueConstraint("renewal_id", name=op.f("uq_receipts_renewal_id")),
    )
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.create_index("ix_receipts_msisdn", ["msisdn"], unique=False)

    op.create_table(
        "renewals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("idempotency_scope", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("operator_code", sa.String(length=32), nullable=False),
        sa.Column("plan_code", sa.String(length=32), nullable=False),
        sa.Column("package_code", sa.String(length=32), nullable=False),
        sa.Column("quote_id", sa.String(length=36), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("payment_method", sa.String(length=40), nullable=False),
        sa.Column("payment_state", sa.String(length=20), nullable=False),
        sa.Column("payment_ref", sa.String(length=100), nullable=True),
        sa.Column("price_fils", sa.Integer(), nullable=False),
        sa.Column("discount_fils", sa.Integer(), nullable=False),
        sa.Column("bonus_fils", sa.Integer(), nullable=False),
        sa.Column("fee_fils", sa.Integer(), nullable=False),
        sa.Column("total_fils", sa.Integer(), nullable=False),
        sa.Column("credit_fils", sa.Integer(), nullable=False),
        sa.Column("promotions", sa.JSON(), nullable=False),
        sa.Column("valid_until_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("balance_after_fils", sa.Integer(), nullable=True),
        sa.Column("receipt_no", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("credited_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["msisdn"], ["lines.msisdn"], name=op.f("fk_renewals_msisdn_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewals")),
        sa.UniqueConstraint(
            "idempotency_scope",
            "idempotency_key",
            name=op.f("uq_renewals_idempotency_scope_idempotency_key"),
        ),
    )
    with op.batch_alter_table("renewals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_renewals_msisdn_created_at", ["msisdn", "created_at"], unique=False
        )


def downgrade() -> None:
    # Reviewed by hand: every line-scoped table carries the MSISDN (sharding key).
    with op.batch_alter_table("renewals", schema=None) as batch_op:
        batch_op.drop_index("ix_renewals_msisdn_created_at")

    op.drop_table("renewals")
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index("ix_receipts_msisdn")

    op.drop_table("receipts")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index("ix_quotes_msisdn")

    op.drop_table("quotes")
    with op.batch_alter_table("promotion_uses", schema=None) as batch_op:
        batch_op.drop_index("ix_promotion_uses_msisdn_code")

    op.drop_table("promotion_uses")
    with op.batch_alter_table("line_history", schema=None) as batch_op:
        batch_op.drop_index("ix_line_history_msisdn_at")

    op.drop_table("line_history")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_renewal_id")
        batch_op.drop_index("ix_ledger_entries_msisdn_at")

    op.drop_table("ledger_entries")
    op.drop_table("packages")
    with op.batch_alter_table("lines", schema=None) as batch_op:
        batch_op.drop_index("ix_lines_valid_until")
        batch_op.drop_index("ix_lines_customer_id")

    op.drop_table("lines")
    op.drop_table("promotions")
    op.drop_table("plans")
    op.drop_table("payment_methods")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_state_lane_next")
        batch_op.drop_index("ix_outbox_recipient_created")

    op.drop_table("outbox")
    op.drop_table("operators")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("uq_customers_identity")

    op.drop_table("customers")
    op.drop_table("catalog_version")
    op.drop_table("channel_credentials")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_at")

    op.drop_table("audit_log")
