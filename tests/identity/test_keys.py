"""Signing keys: rotation keeps earlier tokens valid, storage is encrypted, production secrets."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select

from services.identity.app import create_app
from services.identity.models import SigningKey
from shared.events.memory import InMemoryTransport
from shared.settings import Environment
from tests.identity.conftest import bearer, identity_settings
from tests.support.services import running_service
from tests.support.services import test_platform as platform_settings


async def test_rotation_keeps_old_tokens_valid(identity):
    admin = await identity.admin()
    user = await identity.verified_user("anna")
    old_kid = jwt.get_unverified_header(user["access_token"])["kid"]

    rotated = await identity.client.post("/keys/rotate", headers=bearer(admin))
    new_login = await identity.login("anna", user["password"])
    old_token_use = await identity.client.get("/users/me", headers=bearer(user))
    new_token_use = await identity.client.get("/users/me", headers=bearer(new_login))
    jwks = (await identity.client.get("/.well-known/jwks.json")).json()

    assert rotated.status_code == 201
    assert rotated.json()["retired"] == [old_kid]
    assert jwt.get_unverified_header(new_login["access_token"])["kid"] == rotated.json()["kid"]
    assert old_token_use.status_code == 200
    assert new_token_use.status_code == 200
    assert [key["kid"] for key in jwks["keys"]] == [rotated.json()["kid"], old_kid]


async def test_retired_key_leaves_jwks_after_token_lifetime(identity):
    admin = await identity.admin()
    old_kid = jwt.get_unverified_header(admin["access_token"])["kid"]
    await identity.client.post("/keys/rotate", headers=bearer(admin))

    identity.clock.advance(timedelta(seconds=900 + 299))
    still_listed = (await identity.client.get("/.well-known/jwks.json")).json()
    identity.clock.advance(timedelta(seconds=2))
    dropped = (await identity.client.get("/.well-known/jwks.json")).json()

    assert old_kid in [key["kid"] for key in still_listed["keys"]]
    assert old_kid not in [key["kid"] for key in dropped["keys"]]


async def test_rotation_needs_admin(identity):
    user = await identity.verified_user("bert")

    response = await identity.client.post("/keys/rotate", headers=bearer(user))

    assert response.status_code == 403


async def test_private_key_stored_encrypted(identity):
    async with identity.runtime.sessionmaker() as session:
        key = (await session.execute(select(SigningKey))).scalars().one()

    assert key.private_key.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert "d" not in key.public_jwk


async def test_wrong_key_encryption_secret_fails_start(identity):
    settings = identity_settings(key_encryption_secret="another-secret-than-the-first-one")
    with pytest.raises(RuntimeError, match="cannot be decrypted"):
        async with running_service(
            create_app, database="identity", recreate=False, transport=InMemoryTransport(), settings=settings
        ):
            pass


def test_production_settings_reject_development_secret():
    with pytest.raises(ValueError, match="WHARF_IDENTITY_KEY_ENCRYPTION_SECRET"):
        identity_settings(environment="production")


async def test_production_start_rejects_development_secret():
    platform = platform_settings(environment=Environment.PRODUCTION, internal_token="x" * 40)
    with pytest.raises(RuntimeError, match="WHARF_IDENTITY_KEY_ENCRYPTION_SECRET"):
        async with running_service(
            create_app,
            database="identity",
            transport=InMemoryTransport(),
            settings=identity_settings(),
            platform=platform,
        ):
            pass


async def test_production_start_with_secrets():
    platform = platform_settings(environment=Environment.PRODUCTION, internal_token="x" * 40)
    settings = identity_settings(
        environment="production", key_encryption_secret="k" * 40, link_signing_secret="l" * 40
    )
    async with running_service(
        create_app, database="identity", transport=InMemoryTransport(), settings=settings, platform=platform
    ) as service:
        response = await service.client.get("/.well-known/jwks.json")

    assert len(response.json()["keys"]) == 1
