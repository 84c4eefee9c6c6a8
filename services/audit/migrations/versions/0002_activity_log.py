"""Create the partitioned activity log, its chain head, read models and reports.

Revision ID: 0002_activity_log
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002_activity_log"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    op.create_table(
        "activity",
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("producer", sa.String(50), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("correlation_id", sa.Text, nullable=False),
        sa.Column("actor_id", UUID(as_uuid=True)),
        sa.Column("organisation_id", UUID(as_uuid=True)),
        sa.Column("product_id", UUID(as_uuid=True)),
        sa.Column("details", JSONB, nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", "recorded_at", name="pk_activity"),
        postgresql_partition_by="RANGE (recorded_at)",
    )
    op.create_index("ix_activity_occurred_at", "activity", ["occurred_at", "seq"])
    op.create_index("ix_activity_organisation", "activity", ["organisation_id", "occurred_at"])
    op.create_index("ix_activity_actor", "activity", ["actor_id", "occurred_at"])
    op.create_index("ix_activity_product", "activity", ["product_id", "occurred_at"])
    op.create_index("ix_activity_action", "activity", ["action", "occurred_at"])

    # Append-only: the application never changes or deletes a row. Retention drops whole
    # partitions, which fires no row trigger.
    op.execute(
        """
        CREATE FUNCTION activity_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the activity log is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER activity_append_only BEFORE UPDATE OR DELETE ON activity "
        "FOR EACH ROW EXECUTE FUNCTION activity_reject_change()"
    )
    op.execute(
        "CREATE TRIGGER activity_no_truncate BEFORE TRUNCATE ON activity "
        "FOR EACH STATEMENT EXECUTE FUNCTION activity_reject_change()"
    )

    op.create_table(
        "chain_head",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("id = 1", name="single_row"),
    )
    op.execute(f"INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '{GENESIS_HASH}')")

    op.create_table(
        "retention_drops",
        sa.Column("partition", sa.String(63), primary_key=True),
        sa.Column("range_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("range_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("first_seq", sa.BigInteger),
        sa.Column("last_seq", sa.BigInteger),
        sa.Column("last_hash", sa.String(64)),
        sa.Column("dropped_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_table(
        "products",
        sa.Column("product_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("organisation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("slug", sa.String(200), nullable=False),
        sa.Column("name", sa.String(300)),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_products_organisation_id", "products", ["organisation_id"])

    op.create_table(
        "tiers",
        sa.Column("tier_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("product_id", UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("billing_period", sa.String(20), nullable=False),
        sa.Column("price_amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
    )

    op.create_table(
        "downloads",
        sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("registry_event_id", sa.String(200), nullable=False),
        sa.Column("pulled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organisation_id", UUID(as_uuid=True)),
        sa.Column("product_id", UUID(as_uuid=True)),
        sa.Column("tier_id", UUID(as_uuid=True)),
        sa.Column("user_id", UUID(as_uuid=True)),
        sa.Column("paid", sa.Boolean, nullable=False),
        sa.Column("repository", sa.String(300), nullable=False),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("tag", sa.String(200)),
        sa.UniqueConstraint("registry_event_id", name="uq_downloads_registry_event_id"),
    )
    op.create_index(
        "ix_downloads_organisation_pulled_at", "downloads", ["organisation_id", "pulled_at"]
    )

    op.create_table(
        "orders",
        sa.Column("order_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("organisation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("product_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tier_id", UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("tax_amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("subscription_id", sa.String(255)),
        sa.Column("purchased_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_orders_organisation_purchased_at", "orders", ["organisation_id", "purchased_at"]
    )

    op.create_table(
        "refunds",
        sa.Column("refund_id", sa.String(255), primary_key=True),
        sa.Column("order_id", UUID(as_uuid=True), nullable=False),
        sa.Column("organisation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("product_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tier_id", UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("full", sa.Boolean, nullable=False),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_refunds_order_id", "refunds", ["order_id"])
    op.create_index(
        "ix_refunds_organisation_refunded_at", "refunds", ["organisation_id", "refunded_at"]
    )

    op.create_table(
        "subscriptions",
        sa.Column("subscription_id", sa.String(255), primary_key=True),
        sa.Column("organisation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("product_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tier_id", UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("canceled_at", sa.DateTime(timezone=True)),
        sa.Column("current_period_end", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_subscriptions_organisation_id", "subscriptions", ["organisation_id"])

    op.create_table(
        "renewals",
        sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("subscription_id", sa.String(255), nullable=False),
        sa.Column("organisation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("order_id", UUID(as_uuid=True)),
        sa.Column("amount", sa.BigInteger),
        sa.Column("tax_amount", sa.BigInteger),
        sa.Column("currency", sa.String(3)),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_renewals_subscription_id", "renewals", ["subscription_id"])
    op.create_index(
        "ix_renewals_organisation_renewed_at", "renewals", ["organisation_id", "renewed_at"]
    )

    op.create_table(
        "payout_statements",
        sa.Column("statement_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("organisation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("amounts", JSONB, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_payout_statements_organisation_month", "payout_statements", ["organisation_id", "month"]
    )

    op.create_table(
        "organisations",
        sa.Column("organisation_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("namespace", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(300), nullable=False),
    )

    op.create_table(
        "reports",
        sa.Column("report_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("organisation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", JSONB, nullable=False),
        sa.Column("chart_png", sa.LargeBinary),
        sa.UniqueConstraint("organisation_id", "month", name="uq_reports_organisation_month"),
    )


def downgrade() -> None:
    for table in (
        "reports",
        "organisations",
        "payout_statements",
        "renewals",
        "subscriptions",
        "refunds",
        "orders",
        "downloads",
        "tiers",
        "products",
        "retention_drops",
        "chain_head",
    ):
        op.drop_table(table)
    # Dropping the parent drops every partition with it.
    op.drop_table("activity")
    op.execute("DROP FUNCTION activity_reject_change()")
