"""Events the billing service consumes, by type."""

from shared.events import Handler
from services.billing import tiers

HANDLERS: dict[str, Handler] = {
    "catalog.product.published": tiers.on_product_published,
    "catalog.version.published": tiers.on_product_published,
    "catalog.product.unlisted": tiers.on_product_unlisted,
}
