"""Pushes into staging namespaces through the real registry with skopeo."""

from __future__ import annotations

import uuid

from tests.licensing.images import build_image
from tests.licensing.stack import push


def _repository(namespace: str = "acme") -> str:
    return f"staging/{namespace}/app-{uuid.uuid4().hex[:8]}"


async def test_editor_pushes_own_staging(stack):
    image = build_image(stack.work_dir / "images")

    result = await push(stack, image, _repository(), "1.0", "pete")

    assert result.ok, result.output


async def test_other_organisation_staging_push_refused(stack):
    image = build_image(stack.work_dir / "images")

    result = await push(stack, image, _repository("acme"), "1.0", "mallory")

    assert not result.ok
    assert "unauthorized" in result.output.lower() or "denied" in result.output.lower()


async def test_viewer_cannot_push_staging(stack):
    image = build_image(stack.work_dir / "images")

    result = await push(stack, image, _repository(), "1.0", "vera")

    assert not result.ok


async def test_pull_scoped_token_cannot_push(stack):
    image = build_image(stack.work_dir / "images")
    repository = _repository()

    refused = await push(stack, image, repository, "1.0", "pete", "pete-pat-pull")
    allowed = await push(stack, image, repository, "1.0", "pete", "pete-pat-push")

    assert not refused.ok
    assert allowed.ok, allowed.output


async def test_store_push_refused_to_publisher(stack):
    image = build_image(stack.work_dir / "images")

    result = await push(stack, image, "store/acme/anything", "1.0", "pete")

    assert not result.ok
