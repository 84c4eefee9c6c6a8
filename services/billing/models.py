"""Tables of the billing database.

Money columns hold integer minor units (cents for EUR and USD) beside an ISO 4217
currency code. Stripe identifiers are kept as Stripe's own strings.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import make_metadata


class Base(DeclarativeBase):
    metadata = make_metadata()


class Tier(Base):
    """A published tier as catalog last announced it (a read model of catalog events)."""

    __tablename__ = "tiers"

    tier_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    product_name: Mapped[str] = mapped_column(String(200))
    product_slug: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(200))
    price_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    billing_period: Mapped[str] = mapped_column(String(16))
    listed: Mapped[bool] = mapped_column(Boolean)
    stripe_product_id: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Price(Base):
    """One price of a tier. A price change adds a row, and old rows stay for their subscribers."""

    __tablename__ = "prices"
    __table_args__ = (
        Index(
            "uq_prices_active_tier",
            "tier_id",
            unique=True,
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    tier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tiers.tier_id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    billing_period: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean)
    # Created in Stripe on the first checkout that needs it.
    stripe_price_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Customer(Base):
    """The Stripe customer of a Wharf user, reused for every checkout."""

    __tablename__ = "customers"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Order(Base):
    """One payment: a checkout, or one renewal invoice of a subscription."""

    __tablename__ = "orders"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tier_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    price_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("prices.id"))
    kind: Mapped[str] = mapped_column(String(16))  # checkout | renewal
    mode: Mapped[str] = mapped_column(String(16))  # payment | subscription
    # pending -> paid | canceled; refunds are counted in refunded_amount.
    status: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    # The list price when the checkout started; `amount` is what Stripe charged, tax included.
    list_amount: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    tax_amount: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    fee_amount: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    refunded_amount: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    success_url: Mapped[str | None] = mapped_column(Text)
    cancel_url: Mapped[str | None] = mapped_column(Text)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    invoice_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    subscription_id: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # Stripe's sub_... id
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tier_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    price_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("prices.id"))
    first_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"))
    # Stripe's subscription status: active, past_due, canceled, ...
    status: Mapped[str] = mapped_column(String(32))
    current_period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    stripe_refund_id: Mapped[str] = mapped_column(String(255), unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    initiated_by: Mapped[str] = mapped_column(String(16))  # staff | stripe
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StripeEvent(Base):
    """Each Stripe webhook event received, by id, so a redelivered event has no second effect.

    An event whose order or subscription is not known yet is kept as `deferred` with the
    key it waits for, and applied when that object arrives.
    """

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16))  # processed | deferred | ignored
    waiting_for: Mapped[str | None] = mapped_column(String(300), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LedgerEntry(Base):
    """One leg of a double-entry transaction in a publisher's ledger.

    `amount` is signed: debits are positive, credits negative, and the legs of one
    `transaction_id` sum to zero.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_balance", "organisation_id", "account", "currency"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # Insertion order, which timestamps alone cannot give when a frozen clock or one
    # request writes several transactions.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    transaction_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # sale | refund | payout | transfer
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"))
    refund_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("refunds.id"))
    statement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("statements.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Statement(Base):
    """A publisher's monthly payout statement: per currency, the sum of its lines."""

    __tablename__ = "statements"
    __table_args__ = (UniqueConstraint("organisation_id", "month", name="uq_statements_organisation_month"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    amounts: Mapped[dict] = mapped_column(JSONB)  # currency -> amount owed, minor units
    payout_method: Mapped[str] = mapped_column(String(16))  # manual | stripe_connect
    transfers: Mapped[dict] = mapped_column(JSONB)  # currency -> Stripe transfer id
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StatementLine(Base):
    """One sale or refund on a statement; `net = gross - tax - fee`, negative for refunds."""

    __tablename__ = "statement_lines"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    statement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("statements.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order of the line on its statement
    transaction_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(16))  # sale | refund
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"))
    refund_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("refunds.id"))
    description: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    gross: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    net: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PayoutAccount(Base):
    """A publisher's Stripe Connect account that receives its payouts."""

    __tablename__ = "payout_accounts"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    stripe_account_id: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PortalSession(Base):
    """A sandbox customer-portal link: the random id is the customer's capability."""

    __tablename__ = "sandbox_portal_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    return_url: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
