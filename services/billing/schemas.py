"""Request and response bodies of the billing API.

Amounts are integer minor units of `currency` (ISO 4217), for example 1250 EUR is 12.50 EUR.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field


class CheckoutCreate(BaseModel):
    tier_id: uuid.UUID
    # Where the payment page sends the customer afterwards; `{ORDER_ID}` is replaced.
    success_url: AnyHttpUrl | None = None
    cancel_url: AnyHttpUrl | None = None


class CheckoutRead(BaseModel):
    order_id: uuid.UUID
    checkout_session_id: str
    url: str
    mode: Literal["payment", "subscription"]
    amount: int
    currency: str
    provider: Literal["stripe", "sandbox"]


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    organisation_id: uuid.UUID
    product_id: uuid.UUID
    tier_id: uuid.UUID
    kind: Literal["checkout", "renewal"]
    mode: Literal["payment", "subscription"]
    status: Literal["pending", "paid", "canceled"]
    currency: str
    list_amount: int
    amount: int
    tax_amount: int
    refunded_amount: int
    subscription_id: str | None
    checkout_url: str | None
    created_at: datetime
    paid_at: datetime | None


class RefundCreate(BaseModel):
    # Omitted: refund everything not yet refunded.
    amount: int | None = Field(default=None, gt=0)
    reason: str | None = Field(default=None, max_length=500)


class RefundRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    stripe_refund_id: str
    order_id: uuid.UUID
    amount: int
    currency: str
    status: str
    reason: str | None
    initiated_by: Literal["staff", "stripe"]
    created_at: datetime


class SubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    organisation_id: uuid.UUID
    product_id: uuid.UUID
    tier_id: uuid.UUID
    status: str
    current_period_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    created_at: datetime


class PortalSessionCreate(BaseModel):
    return_url: AnyHttpUrl | None = None


class PortalSessionRead(BaseModel):
    url: str


class BalanceRead(BaseModel):
    currency: str
    account: str
    balance: int


class LedgerEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    transaction_id: uuid.UUID
    account: str
    currency: str
    amount: int  # debit positive, credit negative
    kind: str
    order_id: uuid.UUID | None
    refund_id: uuid.UUID | None
    statement_id: uuid.UUID | None
    occurred_at: datetime


class StatementLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: Literal["sale", "refund"]
    order_id: uuid.UUID | None
    refund_id: uuid.UUID | None
    description: str
    currency: str
    gross: int
    tax: int
    fee: int
    net: int
    occurred_at: datetime


class StatementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    month: str
    amounts: dict[str, int]
    payout_method: Literal["manual", "stripe_connect"]
    transfers: dict[str, str]
    issued_at: datetime


class StatementDetail(StatementRead):
    lines: list[StatementLineRead]


class StatementsIssue(BaseModel):
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2025-04"])


class PayoutAccountUpdate(BaseModel):
    stripe_account_id: str = Field(pattern=r"^acct_[A-Za-z0-9]{1,64}$")


class PayoutAccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    organisation_id: uuid.UUID
    stripe_account_id: str
    updated_at: datetime


class PricingSuggestion(BaseModel):
    category: str
    currency: str
    billing_period: Literal["one_time", "monthly", "yearly"]
    # False when too few comparable tiers exist to show figures without exposing one
    # competitor's price. The figures are then null.
    available: bool
    minimum_sample: int
    lower_quartile: int | None = None
    median: int | None = None
    upper_quartile: int | None = None
