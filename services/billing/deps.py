"""Objects the routes and domain code share: settings, clock and the payment provider."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.service import Runtime
from services.billing.providers import PaymentProvider
from services.billing.settings import BillingSettings

PROVIDER_KEY = "payment_provider"


def runtime_of(session: AsyncSession) -> Runtime:
    return session.info["runtime"]


def settings_of(session: AsyncSession) -> BillingSettings:
    return runtime_of(session).settings


def provider_of(session: AsyncSession) -> PaymentProvider:
    return runtime_of(session).state[PROVIDER_KEY]


def request_provider(request: Request) -> PaymentProvider:
    return request.app.state.runtime.state[PROVIDER_KEY]


ProviderDep = Annotated[PaymentProvider, Depends(request_provider)]
