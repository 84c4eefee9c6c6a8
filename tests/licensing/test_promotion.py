"""Promotion of approved images from staging into the store namespace."""

from __future__ import annotations

import hashlib
import uuid

from tests.licensing.catalog import approval, staged_product
from tests.licensing.stack import INTERNAL_TOKEN, inspect_raw


async def test_promotion_copies_image_same_digest(stack):
    product = await staged_product(stack)

    await stack.deliver("moderation.review.approved", approval(product))
    promoted = await inspect_raw(stack, f"{product.repository}:1.0", "rita")
    events = [e for e in await stack.emitted("licensing.image.promoted") if e["product_id"] == str(product.product_id)]

    assert promoted.ok, promoted.output
    assert "sha256:" + hashlib.sha256(promoted.output.encode()).hexdigest() == product.image.digest
    assert len(events) == 1
    assert events[0]["digest"] == product.image.digest
    assert events[0]["target"] == f"{product.repository}:1.0"


async def test_promotion_copies_every_platform(stack):
    product = await staged_product(stack, architectures=("amd64", "arm64"))

    await stack.deliver("moderation.review.approved", approval(product))
    index = await inspect_raw(stack, f"{product.repository}:1.0", "wharf-service", INTERNAL_TOKEN)
    platforms = [
        await inspect_raw(stack, f"{product.repository}@{digest}", "wharf-service", INTERNAL_TOKEN)
        for digest in product.image.platform_digests
    ]

    assert index.ok, index.output
    assert "sha256:" + hashlib.sha256(index.output.encode()).hexdigest() == product.image.digest
    assert len(platforms) == 2
    for platform, digest in zip(platforms, product.image.platform_digests, strict=True):
        assert platform.ok, platform.output
        assert "sha256:" + hashlib.sha256(platform.output.encode()).hexdigest() == digest


async def test_promotion_retry_finds_work_done(stack):
    product = await staged_product(stack)
    event = approval(product)

    await stack.deliver("moderation.review.approved", event)
    # A new delivery with a new event id, as when moderation approves again.
    await stack.deliver("moderation.review.approved", {**event, "case_id": str(uuid.uuid4())})
    events = [e for e in await stack.emitted("licensing.image.promoted") if e["product_id"] == str(product.product_id)]

    assert len(events) == 1


async def test_promotion_of_unstaged_digest_dead_letters(stack):
    product = await staged_product(stack)
    event = approval(product)
    event["images"][0]["digest"] = "sha256:" + "0" * 64

    try:
        await stack.deliver("moderation.review.approved", event)
        raised = False
    except AssertionError as exc:
        raised = "failed with HTTP 404" in str(exc)
    finally:
        stack.transport.dead_letters.clear()

    assert raised


async def test_promotion_from_other_namespace_rejected(stack):
    product = await staged_product(stack)
    event = approval(product)
    event["images"][0]["source"] = f"staging/evil/{product.slug}:1.0"

    try:
        await stack.deliver("moderation.review.approved", event)
        reason = ""
    except AssertionError as exc:
        reason = str(exc)
    finally:
        stack.transport.dead_letters.clear()

    assert "not in the publisher's staging namespace" in reason
