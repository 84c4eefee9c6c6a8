"""Read models for the monthly reports, built from catalog, identity, licensing and billing events.

Events arrive at least once and in any order across subjects, so every projection is an
insert that ignores duplicates or an upsert that only fills in or narrows values. A
cancellation seen before its subscription started still ends up with both dates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.models import (
    downloads,
    orders,
    organisations,
    payout_statements,
    products,
    refunds,
    renewals,
    subscriptions,
    tiers,
)
from shared.events.envelope import Envelope
from shared.events.schemas import (
    CheckoutCompleted,
    ImagePulled,
    OrganisationCreated,
    PaymentRefunded,
    PayoutStatementIssued,
    ProductPublished,
    ProductSubmitted,
    SubscriptionChanged,
)

Projection = Callable[[AsyncSession, Envelope, object], Awaitable[None]]


async def project_organisation(session: AsyncSession, envelope: Envelope, data: OrganisationCreated) -> None:
    await session.execute(
        insert(organisations)
        .values(
            organisation_id=data.organisation_id,
            namespace=data.namespace,
            display_name=data.display_name,
        )
        .on_conflict_do_nothing(index_elements=["organisation_id"])
    )


async def project_product(
    session: AsyncSession, envelope: Envelope, data: ProductSubmitted | ProductPublished
) -> None:
    name = getattr(data, "name", None)
    statement = insert(products).values(
        product_id=data.product_id,
        organisation_id=data.organisation_id,
        slug=data.slug,
        name=name,
        first_seen_at=envelope.occurred_at,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["product_id"],
            set_={
                "first_seen_at": func.least(products.c.first_seen_at, statement.excluded.first_seen_at),
                # A submission carries no display name; keep the one a publication gave.
                "name": func.coalesce(statement.excluded.name, products.c.name),
            },
        )
    )

    for tier in data.tiers:
        tier_statement = insert(tiers).values(
            tier_id=tier.tier_id,
            product_id=data.product_id,
            name=tier.name,
            billing_period=tier.billing_period,
            price_amount=tier.price_amount,
            currency=tier.currency,
        )
        await session.execute(
            tier_statement.on_conflict_do_update(
                index_elements=["tier_id"],
                set_={
                    "name": tier_statement.excluded.name,
                    "billing_period": tier_statement.excluded.billing_period,
                    "price_amount": tier_statement.excluded.price_amount,
                    "currency": tier_statement.excluded.currency,
                },
            )
        )


async def project_download(session: AsyncSession, envelope: Envelope, data: ImagePulled) -> None:
    await session.execute(
        insert(downloads)
        .values(
            event_id=envelope.id,
            registry_event_id=data.registry_event_id,
            pulled_at=data.pulled_at,
            organisation_id=data.organisation_id,
            product_id=data.product_id,
            tier_id=data.tier_id,
            user_id=data.user_id,
            paid=data.paid,
            repository=data.repository,
            digest=data.digest,
            tag=data.tag,
        )
        .on_conflict_do_nothing()
    )


async def project_order(session: AsyncSession, envelope: Envelope, data: CheckoutCompleted) -> None:
    await session.execute(
        insert(orders)
        .values(
            order_id=data.order_id,
            organisation_id=data.organisation_id,
            product_id=data.product_id,
            tier_id=data.tier_id,
            user_id=data.user_id,
            mode=data.mode,
            amount=data.amount,
            tax_amount=data.tax_amount,
            currency=data.currency,
            subscription_id=data.subscription_id,
            purchased_at=envelope.occurred_at,
        )
        .on_conflict_do_nothing(index_elements=["order_id"])
    )
    if data.subscription_id is not None:
        await _upsert_subscription(
            session,
            data.subscription_id,
            data,
            started_at=envelope.occurred_at,
            current_period_end=data.current_period_end,
        )


async def project_refund(session: AsyncSession, envelope: Envelope, data: PaymentRefunded) -> None:
    await session.execute(
        insert(refunds)
        .values(
            refund_id=data.refund_id,
            order_id=data.order_id,
            organisation_id=data.organisation_id,
            product_id=data.product_id,
            tier_id=data.tier_id,
            user_id=data.user_id,
            amount=data.amount,
            currency=data.currency,
            full=data.full,
            refunded_at=envelope.occurred_at,
        )
        .on_conflict_do_nothing(index_elements=["refund_id"])
    )


async def project_subscription_started(
    session: AsyncSession, envelope: Envelope, data: SubscriptionChanged
) -> None:
    await _upsert_subscription(
        session,
        data.subscription_id,
        data,
        started_at=envelope.occurred_at,
        current_period_end=data.current_period_end,
    )


async def project_subscription_renewed(
    session: AsyncSession, envelope: Envelope, data: SubscriptionChanged
) -> None:
    await _upsert_subscription(
        session, data.subscription_id, data, current_period_end=data.current_period_end
    )
    await session.execute(
        insert(renewals)
        .values(
            event_id=envelope.id,
            subscription_id=data.subscription_id,
            organisation_id=data.organisation_id,
            order_id=getattr(data, "order_id", None),
            amount=data.amount,
            tax_amount=getattr(data, "tax_amount", None),
            currency=data.currency,
            renewed_at=envelope.occurred_at,
            period_end=data.current_period_end,
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
    )


async def project_subscription_canceled(
    session: AsyncSession, envelope: Envelope, data: SubscriptionChanged
) -> None:
    await _upsert_subscription(session, data.subscription_id, data, canceled_at=envelope.occurred_at)


async def _upsert_subscription(
    session: AsyncSession,
    subscription_id: str,
    data: SubscriptionChanged | CheckoutCompleted,
    *,
    started_at=None,
    canceled_at=None,
    current_period_end=None,
) -> None:
    statement = insert(subscriptions).values(
        subscription_id=subscription_id,
        organisation_id=data.organisation_id,
        product_id=data.product_id,
        tier_id=data.tier_id,
        user_id=data.user_id,
        started_at=started_at,
        canceled_at=canceled_at,
        current_period_end=current_period_end,
    )
    # LEAST and GREATEST skip NULLs, so each date only moves towards its true value
    # whatever order the events come in: the earliest start, the latest period end.
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["subscription_id"],
            set_={
                "started_at": func.least(subscriptions.c.started_at, statement.excluded.started_at),
                "canceled_at": func.least(subscriptions.c.canceled_at, statement.excluded.canceled_at),
                "current_period_end": func.greatest(
                    subscriptions.c.current_period_end, statement.excluded.current_period_end
                ),
            },
        )
    )


async def project_payout_statement(
    session: AsyncSession, envelope: Envelope, data: PayoutStatementIssued
) -> None:
    await session.execute(
        insert(payout_statements)
        .values(
            statement_id=data.statement_id,
            organisation_id=data.organisation_id,
            month=data.month,
            amounts=data.amounts,
            issued_at=envelope.occurred_at,
        )
        .on_conflict_do_nothing(index_elements=["statement_id"])
    )


PROJECTIONS: dict[str, Projection] = {
    "identity.organisation.created": project_organisation,
    "catalog.product.submitted": project_product,
    "catalog.product.published": project_product,
    "catalog.version.published": project_product,
    "licensing.image.pulled": project_download,
    "billing.checkout.completed": project_order,
    "billing.payment.refunded": project_refund,
    "billing.subscription.started": project_subscription_started,
    "billing.subscription.renewed": project_subscription_renewed,
    "billing.subscription.canceled": project_subscription_canceled,
    "billing.payout_statement.issued": project_payout_statement,
}
