"""Signing keys, rotation and the generated registry configuration."""

from __future__ import annotations

import re
import stat

import yaml
from cryptography import x509

from services.licensing import keys, registry_config
from services.licensing.settings import LicensingSettings


def test_libtrust_key_id_format(tmp_path):
    signing_key = keys.load_or_create(tmp_path / "keys")

    assert re.fullmatch(r"([A-Z2-7]{4}:){11}[A-Z2-7]{4}", signing_key.kid)


def test_key_created_once_private(tmp_path):
    first = keys.load_or_create(tmp_path / "keys")
    second = keys.load_or_create(tmp_path / "keys")
    mode = stat.S_IMODE((tmp_path / "keys" / keys.CURRENT_KEY).stat().st_mode)

    assert first.kid == second.kid
    assert mode == 0o600


def test_rotation_keeps_previous_certificate(tmp_path):
    old = keys.load_or_create(tmp_path / "keys")

    new = keys.rotate(tmp_path / "keys")
    bundle = x509.load_pem_x509_certificates(keys.bundle_path(tmp_path / "keys").read_bytes())
    kids = {keys.libtrust_key_id(certificate.public_key()) for certificate in bundle}

    assert new.kid != old.kid
    assert kids == {old.kid, new.kid}
    assert keys.load_or_create(tmp_path / "keys").kid == new.kid


def test_signing_key_repr_hides_key(tmp_path):
    signing_key = keys.load_or_create(tmp_path / "keys")

    assert "PRIVATE" not in repr(signing_key)
    assert repr(signing_key) == f"SigningKey(kid={signing_key.kid!r})"


def test_registry_config_points_at_service(tmp_path):
    settings = LicensingSettings(
        registry_port=5123,
        token_realm="http://127.0.0.1:9/token",
        notifications_url="http://127.0.0.1:9/registry/notifications",
        notifications_secret="s3cret",
    )

    path = registry_config.write_config(settings, tmp_path)
    config = yaml.safe_load(path.read_text())
    endpoint = config["notifications"]["endpoints"][0]

    assert config["http"]["addr"] == "127.0.0.1:5123"
    assert config["auth"]["token"]["realm"] == "http://127.0.0.1:9/token"
    assert config["auth"]["token"]["service"] == settings.token_service
    assert config["auth"]["token"]["issuer"] == settings.token_issuer
    assert config["auth"]["token"]["rootcertbundle"] == str(tmp_path / "keys" / keys.BUNDLE)
    assert config["storage"]["delete"]["enabled"] is True
    assert config["storage"]["filesystem"]["rootdirectory"] == str(tmp_path / "registry" / "storage")
    assert endpoint["headers"]["Authorization"] == ["Bearer s3cret"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_registry_config_without_auth(tmp_path):
    path = registry_config.write_config(LicensingSettings(), tmp_path, token_auth=False, notifications=False)
    config = yaml.safe_load(path.read_text())

    assert "auth" not in config
    assert "notifications" not in config


async def test_rotated_key_trusted_after_restart(tmp_path):
    import time
    import uuid

    import httpx
    import jwt

    from services.licensing.registry_process import start_registry
    from tests.licensing.stack import free_port

    settings = LicensingSettings(registry_port=free_port(), data_dir=str(tmp_path))
    registry = await start_registry(settings, tmp_path, notifications=False)

    def token(signing_key: keys.SigningKey) -> str:
        now = int(time.time())
        claims = {
            "iss": settings.token_issuer,
            "sub": "rotation-test",
            "aud": settings.token_service,
            "exp": now + 60,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": [{"type": "repository", "name": "staging/acme/app", "actions": ["pull"]}],
        }
        return jwt.encode(claims, signing_key.private_key, algorithm="ES256", headers={"kid": signing_key.kid})

    try:
        old = keys.load_or_create(tmp_path / "keys")
        new = keys.rotate(tmp_path / "keys")
        stranger = keys.load_or_create(tmp_path / "elsewhere")
        await registry.restart()
        async with httpx.AsyncClient() as client:
            url = f"{registry.url}/v2/staging/acme/app/tags/list"
            with_old = await client.get(url, headers={"Authorization": f"Bearer {token(old)}"})
            with_new = await client.get(url, headers={"Authorization": f"Bearer {token(new)}"})
            with_stranger = await client.get(url, headers={"Authorization": f"Bearer {token(stranger)}"})
    finally:
        await registry.stop()

    # 404 NAME_UNKNOWN: the token was accepted and the empty repository looked up.
    assert with_old.status_code == 404
    assert with_new.status_code == 404
    assert with_stranger.status_code == 401
