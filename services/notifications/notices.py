"""Who gets which notice: recipients and message contents for each kind of event.

Every notice names the product, the reason and the next step. Customer notices go to
users subscribed to the product; publisher notices go to subscribed members of the
organisation and to its webhooks for the topic.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.envelope import Envelope
from services.notifications import read_models
from services.notifications.messages import queue_email, queue_webhook_call
from services.notifications.models import Product, Subscription, User
from services.notifications.subscriptions import (
    product_subscribers,
    subscribed_downloaders,
    subscribed_members,
    unsubscribe_token,
)
from services.notifications.topics import Topic
from services.notifications.webhooks import webhooks_for_topic

log = structlog.get_logger()

TOPIC_LABELS = {
    Topic.UPDATES: "update notices",
    Topic.SECURITY: "security notices",
    Topic.SCAN_RESULTS: "scan results",
    Topic.VULNERABILITIES: "new vulnerability notices",
    Topic.SLA: "SLA deadline notices",
    Topic.REVIEW_DECISIONS: "review decisions",
    Topic.REPORTS: "monthly reports",
}


def _settings(session: AsyncSession):
    return session.info["runtime"].settings


def unsubscribe_url(session: AsyncSession, subscription: Subscription) -> str:
    settings = _settings(session)
    token = unsubscribe_token(subscription.id, settings.link_secret.get_secret_value())
    return f"{settings.api_url.rstrip('/')}/unsubscribe?token={token}"


async def product_context(
    session: AsyncSession, product_id: uuid.UUID | None, *, fallback_slug: str = ""
) -> dict[str, Any]:
    """Describe a product for templates, from the read model or from what the event carried."""
    settings = _settings(session)
    product: Product | None = await read_models.find_product(session, product_id) if product_id else None
    if product is None:
        name = fallback_slug or (str(product_id) if product_id else "your image")
        return {"id": str(product_id) if product_id else "", "name": name, "version": None, "url": None}
    return {
        "id": str(product.product_id),
        "name": product.name,
        "version": product.latest_version,
        "url": f"{settings.store_url.rstrip('/')}/products/{product.namespace}/{product.slug}",
    }


async def notify_product_subscribers(
    session: AsyncSession,
    envelope: Envelope,
    *,
    product_id: uuid.UUID,
    topic: Topic,
    kind: str,
    context: dict[str, Any],
    downloaders_only: bool,
    dedupe_cause: str | None = None,
) -> int:
    """Email the product's subscribers to `topic` (only those who downloaded it, if asked).

    `dedupe_cause` names what the notice is about (a version id, say) when two events
    could announce the same thing; by default it is the event id. Returns the number queued.
    """
    if downloaders_only:
        recipients = await subscribed_downloaders(session, product_id=product_id, topic=topic)
    else:
        recipients = await product_subscribers(session, product_id=product_id, topic=topic)
    return await _email_subscribers(
        session, envelope, recipients, topic=topic, kind=kind, context=context, dedupe_cause=dedupe_cause
    )


async def notify_publisher(
    session: AsyncSession,
    envelope: Envelope,
    *,
    organisation_id: uuid.UUID,
    topic: Topic,
    kind: str,
    context: dict[str, Any],
) -> int:
    """Email the organisation's members subscribed to `topic` and call its webhooks for it."""
    organisation = await read_models.find_organisation(session, organisation_id)
    context = {
        **context,
        "organisation": organisation.display_name if organisation else str(organisation_id),
        "audience": "publisher",
    }
    recipients = await subscribed_members(session, organisation_id=organisation_id, topic=topic)
    queued = await _email_subscribers(
        session, envelope, recipients, topic=topic, kind=kind, context=context, organisation_id=organisation_id
    )

    for webhook in await webhooks_for_topic(session, organisation_id=organisation_id, topic=topic):
        message_id = await queue_webhook_call(
            session,
            webhook=webhook,
            kind=kind,
            dedupe_key=f"webhook:{envelope.id}:{webhook.id}",
            event_type=envelope.type,
            data={"topic": topic.value, "subject": envelope.subject, **envelope.data},
            event_id=envelope.id,
        )
        queued += message_id is not None
    return queued


async def _email_subscribers(
    session: AsyncSession,
    envelope: Envelope,
    recipients: list[tuple[User, Subscription]],
    *,
    topic: Topic,
    kind: str,
    context: dict[str, Any],
    dedupe_cause: str | None = None,
    organisation_id: uuid.UUID | None = None,
) -> int:
    queued = 0
    cause = dedupe_cause or str(envelope.id)
    for user, subscription in recipients:
        message_id = await queue_email(
            session,
            kind=kind,
            dedupe_key=f"{kind}:{cause}:{user.user_id}",
            to=user.email,
            user_id=user.user_id,
            organisation_id=organisation_id,
            event_id=envelope.id,
            event_type=envelope.type,
            context={**context, "recipient": user.username, "topic_label": TOPIC_LABELS[topic]},
            unsubscribe_url=unsubscribe_url(session, subscription),
        )
        queued += message_id is not None
    log.info("notice.queued", kind=kind, topic=topic.value, recipients=len(recipients), queued=queued)
    return queued


async def send_account_email(
    session: AsyncSession,
    envelope: Envelope,
    *,
    kind: str,
    to: str,
    user_id: uuid.UUID | None,
    context: dict[str, Any],
) -> None:
    """Queue a verification, password reset or invitation email (no unsubscribe link)."""
    await queue_email(
        session,
        kind=kind,
        dedupe_key=f"{kind}:{envelope.id}:{to.lower()}",
        to=to,
        user_id=user_id,
        event_id=envelope.id,
        event_type=envelope.type,
        context=context,
    )
