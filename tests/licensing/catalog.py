"""Products for the tests: an image pushed to staging, promoted, then published."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tests.licensing.images import OciImage, build_image
from tests.licensing.stack import ACME, Stack, push


@dataclass
class PublishedProduct:
    product_id: uuid.UUID
    version_id: uuid.UUID
    tier_id: uuid.UUID
    slug: str
    image: OciImage

    @property
    def repository(self) -> str:
        return f"store/acme/{self.slug}"


def approval(product: PublishedProduct, *, version: str = "1.0", tag: str = "1.0") -> dict:
    return {
        "case_id": str(uuid.uuid4()),
        "product_id": str(product.product_id),
        "version_id": str(product.version_id),
        "version": version,
        "organisation_id": str(ACME),
        "namespace": "acme",
        "slug": product.slug,
        "images": [
            {
                "tier_id": str(product.tier_id),
                "source": f"staging/acme/{product.slug}:{tag}",
                "digest": product.image.digest,
            }
        ],
    }


def publication(
    product: PublishedProduct,
    *,
    access_policy: str,
    price: int = 0,
    licence_required: bool = False,
    licence_version: str | None = None,
    version: str = "1.0",
    version_id: uuid.UUID | None = None,
) -> dict:
    return {
        "product_id": str(product.product_id),
        "version_id": str(version_id or product.version_id),
        "version": version,
        "organisation_id": str(ACME),
        "namespace": "acme",
        "slug": product.slug,
        "name": f"Product {product.slug}",
        "category": "databases",
        "store_repository": product.repository,
        "licence_url": "https://example.org/licence" if licence_version else None,
        "licence_version": licence_version,
        "tiers": [
            {
                "tier_id": str(product.tier_id),
                "name": "standard",
                "price_amount": price,
                "currency": "EUR",
                "billing_period": "monthly" if price else "free",
                "access_policy": access_policy,
                "licence_required": licence_required,
            }
        ],
    }


async def staged_product(stack: Stack, *, architectures: tuple[str, ...] = ("amd64",)) -> PublishedProduct:
    """Push a fresh image to `staging/acme/<slug>:1.0` as an editor of acme."""
    slug = f"p{uuid.uuid4().hex[:10]}"
    image = build_image(stack.work_dir / "images", tag="1.0", architectures=architectures)
    pushed = await push(stack, image, f"staging/acme/{slug}", "1.0", "pete")
    assert pushed.ok, pushed.output
    return PublishedProduct(
        product_id=uuid.uuid4(),
        version_id=uuid.uuid4(),
        tier_id=uuid.uuid4(),
        slug=slug,
        image=image,
    )


async def published_product(stack: Stack, *, access_policy: str, **options) -> PublishedProduct:
    """Stage, promote and publish a product with one tier."""
    product = await staged_product(stack)
    await stack.deliver("moderation.review.approved", approval(product))
    await stack.deliver("catalog.product.published", publication(product, access_policy=access_policy, **options))
    return product
