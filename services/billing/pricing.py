"""Pricing help: the spread of comparable published prices, for a publisher setting its own."""

from __future__ import annotations

import statistics
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing.models import Tier
from services.billing.schemas import PricingSuggestion


async def suggest_price(
    session: AsyncSession,
    *,
    category: str,
    currency: str,
    billing_period: str,
    minimum_sample: int,
    exclude_organisation_id: uuid.UUID | None = None,
) -> PricingSuggestion:
    """Return the quartiles of listed prices in the same category, currency and period.

    With fewer than `minimum_sample` comparable tiers no figure is returned, because a
    median of two or three prices would reveal single competitors' prices.
    """
    statement = select(Tier.price_amount).where(
        Tier.listed.is_(True),
        Tier.category == category,
        Tier.currency == currency.upper(),
        Tier.billing_period == billing_period,
    )
    if exclude_organisation_id is not None:
        statement = statement.where(Tier.organisation_id != exclude_organisation_id)
    prices = sorted((await session.execute(statement)).scalars().all())

    suggestion = PricingSuggestion(
        category=category,
        currency=currency.upper(),
        billing_period=billing_period,
        available=False,
        minimum_sample=minimum_sample,
    )
    if len(prices) < minimum_sample:
        return suggestion

    lower, median, upper = statistics.quantiles(prices, n=4, method="inclusive")
    suggestion.available = True
    suggestion.lower_quartile = round(lower)
    suggestion.median = round(median)
    suggestion.upper_quartile = round(upper)
    return suggestion
