"""Events the licensing service consumes, by type."""

from shared.events import Handler
from services.licensing import entitlements, products, promotion

HANDLERS: dict[str, Handler] = {
    "catalog.product.published": products.on_product_published,
    "catalog.version.published": products.on_product_published,
    "moderation.listing.held": products.on_listing_held,
    "moderation.hold.lifted": products.on_hold_lifted,
    "moderation.listing.revoked": products.on_listing_revoked,
    "identity.membership.changed": products.on_membership_changed,
    "identity.token.revoked": products.on_token_revoked,
    "billing.checkout.completed": entitlements.on_checkout_completed,
    "billing.subscription.started": entitlements.on_subscription_started,
    "billing.subscription.renewed": entitlements.on_subscription_renewed,
    "billing.subscription.canceled": entitlements.on_subscription_canceled,
    "billing.payment.refunded": entitlements.on_payment_refunded,
    "moderation.review.approved": promotion.on_review_approved,
}
