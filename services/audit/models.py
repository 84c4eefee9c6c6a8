"""Tables of the audit database: the activity log, its hash chain, read models and reports.

The migrations create the same tables by hand; keep both in step.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase

from shared.db import make_metadata


class Base(DeclarativeBase):
    metadata = make_metadata()


metadata = Base.metadata

# The append-only log, one row per consumed event. Rows are partitioned by month of
# `recorded_at`, the moment audit appended them, so chain order and partition order agree
# and retention can drop the oldest partitions without cutting the chain in the middle.
activity = Table(
    "activity",
    metadata,
    Column("seq", BigInteger, nullable=False),  # position in the hash chain, from 1, no gaps
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("action", String(200), nullable=False),  # the event type
    Column("producer", String(50), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("correlation_id", Text, nullable=False),
    Column("actor_id", UUID(as_uuid=True)),
    Column("organisation_id", UUID(as_uuid=True)),
    Column("product_id", UUID(as_uuid=True)),
    Column("details", JSONB, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("seq", "recorded_at", name="pk_activity"),
    Index("ix_activity_occurred_at", "occurred_at", "seq"),
    Index("ix_activity_organisation", "organisation_id", "occurred_at"),
    Index("ix_activity_actor", "actor_id", "occurred_at"),
    Index("ix_activity_product", "product_id", "occurred_at"),
    Index("ix_activity_action", "action", "occurred_at"),
    postgresql_partition_by="RANGE (recorded_at)",
)

# The last link of the chain. Appends lock this single row, so they are serialised.
chain_head = Table(
    "chain_head",
    metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True)),
    CheckConstraint("id = 1", name="single_row"),
)

# One row per partition dropped by retention, with its last link, so a verification that
# starts after a dropped month can still check the first remaining row.
retention_drops = Table(
    "retention_drops",
    metadata,
    Column("partition", String(63), primary_key=True),
    Column("range_start", DateTime(timezone=True), nullable=False),
    Column("range_end", DateTime(timezone=True), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("first_seq", BigInteger),
    Column("last_seq", BigInteger),
    Column("last_hash", String(64)),
    Column("dropped_at", DateTime(timezone=True), nullable=False),
)

# Read models built from other services' events, for the monthly reports.

products = Table(
    "products",
    metadata,
    Column("product_id", UUID(as_uuid=True), primary_key=True),
    Column("organisation_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("slug", String(200), nullable=False),
    Column("name", String(300)),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
)

tiers = Table(
    "tiers",
    metadata,
    Column("tier_id", UUID(as_uuid=True), primary_key=True),
    Column("product_id", UUID(as_uuid=True), nullable=False),
    Column("name", String(200), nullable=False),
    Column("billing_period", String(20), nullable=False),
    Column("price_amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
)

downloads = Table(
    "downloads",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    # The registry's own event id: a notification delivered twice is one download.
    Column("registry_event_id", String(200), nullable=False, unique=True),
    Column("pulled_at", DateTime(timezone=True), nullable=False),
    Column("organisation_id", UUID(as_uuid=True)),
    Column("product_id", UUID(as_uuid=True)),
    Column("tier_id", UUID(as_uuid=True)),
    Column("user_id", UUID(as_uuid=True)),
    Column("paid", Boolean, nullable=False),
    Column("repository", String(300), nullable=False),
    Column("digest", String(100), nullable=False),
    Column("tag", String(200)),
    Index("ix_downloads_organisation_pulled_at", "organisation_id", "pulled_at"),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", UUID(as_uuid=True), primary_key=True),
    Column("organisation_id", UUID(as_uuid=True), nullable=False),
    Column("product_id", UUID(as_uuid=True), nullable=False),
    Column("tier_id", UUID(as_uuid=True), nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("amount", BigInteger, nullable=False),  # charged, tax included
    Column("tax_amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("subscription_id", String(255)),
    Column("purchased_at", DateTime(timezone=True), nullable=False),
    Index("ix_orders_organisation_purchased_at", "organisation_id", "purchased_at"),
)

refunds = Table(
    "refunds",
    metadata,
    Column("refund_id", String(255), primary_key=True),
    Column("order_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("organisation_id", UUID(as_uuid=True), nullable=False),
    Column("product_id", UUID(as_uuid=True), nullable=False),
    Column("tier_id", UUID(as_uuid=True), nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("full", Boolean, nullable=False),
    Column("refunded_at", DateTime(timezone=True), nullable=False),
    Index("ix_refunds_organisation_refunded_at", "organisation_id", "refunded_at"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("subscription_id", String(255), primary_key=True),
    Column("organisation_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("product_id", UUID(as_uuid=True), nullable=False),
    Column("tier_id", UUID(as_uuid=True), nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    # Either may be NULL while the event that sets it has not arrived yet.
    Column("started_at", DateTime(timezone=True)),
    Column("canceled_at", DateTime(timezone=True)),
    Column("current_period_end", DateTime(timezone=True)),
)

renewals = Table(
    "renewals",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("subscription_id", String(255), nullable=False, index=True),
    Column("organisation_id", UUID(as_uuid=True), nullable=False),
    Column("order_id", UUID(as_uuid=True)),
    Column("amount", BigInteger),
    Column("tax_amount", BigInteger),
    Column("currency", String(3)),
    Column("renewed_at", DateTime(timezone=True), nullable=False),
    Column("period_end", DateTime(timezone=True)),
    Index("ix_renewals_organisation_renewed_at", "organisation_id", "renewed_at"),
)

payout_statements = Table(
    "payout_statements",
    metadata,
    Column("statement_id", UUID(as_uuid=True), primary_key=True),
    Column("organisation_id", UUID(as_uuid=True), nullable=False),
    Column("month", String(7), nullable=False),
    Column("amounts", JSONB, nullable=False),  # currency -> amount owed, minor units
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Index("ix_payout_statements_organisation_month", "organisation_id", "month"),
)

organisations = Table(
    "organisations",
    metadata,
    Column("organisation_id", UUID(as_uuid=True), primary_key=True),
    Column("namespace", String(100), nullable=False),
    Column("display_name", String(300), nullable=False),
)

# Monthly publisher reports; the unique (organisation, month) pair lets only one replica
# claim a report.
reports = Table(
    "reports",
    metadata,
    Column("report_id", UUID(as_uuid=True), primary_key=True),
    Column("organisation_id", UUID(as_uuid=True), nullable=False),
    Column("month", String(7), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("generated_at", DateTime(timezone=True), nullable=False),
    Column("content", JSONB, nullable=False),
    Column("chart_png", LargeBinary),
    UniqueConstraint("organisation_id", "month", name="uq_reports_organisation_month"),
)
