"""The Distribution registry's `config.yml`, generated from the licensing settings.

The registry trusts tokens from this service (token auth with the certificate bundle)
and posts its events to this service's notification endpoint with a shared secret.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import yaml

from services.licensing import keys
from services.licensing.settings import LicensingSettings

NOTIFICATIONS_CONTENT_TYPE = "application/vnd.docker.distribution.events.v1+json"


def registry_paths(data_dir: Path) -> dict[str, Path]:
    """Return the paths of the generated files under the licensing data folder."""
    registry_dir = data_dir / "registry"
    return {
        "keys": data_dir / "keys",
        "registry": registry_dir,
        "storage": registry_dir / "storage",
        "http_secret": registry_dir / "http-secret",
    }


def build_config(
    settings: LicensingSettings,
    *,
    storage_dir: Path,
    bundle: Path,
    http_secret: str,
    port: int | None = None,
    token_auth: bool = True,
    notifications: bool = True,
) -> dict[str, Any]:
    """Build the registry configuration as a mapping (written out as YAML).

    `token_auth=False` gives the same registry without authentication; the benchmark uses
    it to measure what token auth costs.
    """
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "json", "fields": {"service": "registry"}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage_dir)},
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
        },
        "http": {
            "addr": f"{settings.registry_host}:{port or settings.registry_port}",
            # Signs upload state between requests; several replicas must share it.
            "secret": http_secret,
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
    }

    if token_auth:
        config["auth"] = {
            "token": {
                "realm": settings.token_realm,
                "service": settings.token_service,
                "issuer": settings.token_issuer,
                "rootcertbundle": str(bundle),
            }
        }

    if notifications:
        config["notifications"] = {
            "events": {"includereferences": True},
            "endpoints": [
                {
                    "name": "licensing",
                    "url": settings.notifications_url,
                    "headers": {"Authorization": [f"Bearer {settings.notifications_secret}"]},
                    "timeout": "5s",
                    "threshold": 5,
                    "backoff": "1s",
                    # Blob transfers are not downloads or pushes of an image; skip them
                    # at the source instead of posting every layer.
                    "ignoredmediatypes": ["application/octet-stream"],
                }
            ],
        }
    return config


def write_config(
    settings: LicensingSettings,
    data_dir: Path,
    *,
    port: int | None = None,
    token_auth: bool = True,
    notifications: bool = True,
    config_name: str = "config.yml",
) -> Path:
    """Write the registry config under `data_dir` and return its path.

    Creates the signing key and the certificate bundle on first use. The file contains
    the notification secret, so it is readable by its owner only.
    """
    paths = registry_paths(data_dir)
    paths["storage"].mkdir(parents=True, exist_ok=True)

    keys.load_or_create(
        paths["keys"],
        key_file=settings.signing_key_file,
        certificate_file=settings.signing_certificate_file,
    )

    config = build_config(
        settings,
        storage_dir=paths["storage"],
        bundle=keys.bundle_path(paths["keys"]),
        http_secret=_http_secret(paths["http_secret"]),
        port=port,
        token_auth=token_auth,
        notifications=notifications,
    )
    config_path = paths["registry"] / config_name
    config_path.touch(mode=0o600, exist_ok=True)
    config_path.chmod(0o600)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return config_path


def _http_secret(path: Path) -> str:
    # Kept across restarts so uploads in progress survive a registry restart.
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(32)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(value)
    return value
