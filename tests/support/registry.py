"""Run the real Distribution registry (/usr/bin/docker-registry) for tests.

`RegistryServer` writes a config into a folder of its own, starts the registry on a free
127.0.0.1 port, waits until ``/v2/`` responds and stops it by PID. Authentication is off
unless `TokenAuth` is given; then the registry expects bearer tokens signed by a key whose
certificate is in `rootcertbundle`.

    with RegistryServer(tmp_path) as registry:
        push_oci_layout(layout, "1.0", f"{registry.host}/staging/acme/app:1.0")
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

REGISTRY_BINARY = "/usr/bin/docker-registry"
STARTUP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class TokenAuth:
    """Distribution's `auth.token` settings."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RegistryServer:
    """One registry process with its storage and config under `workdir`."""

    def __init__(
        self,
        workdir: Path,
        *,
        token_auth: TokenAuth | None = None,
        notifications_url: str | None = None,
    ) -> None:
        if shutil.which(REGISTRY_BINARY) is None:
            raise RuntimeError(
                f"{REGISTRY_BINARY} is missing: install it with `apt-get install docker-registry`"
            )
        self.workdir = Path(workdir)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.token_auth = token_auth
        self.notifications_url = notifications_url
        self.process: subprocess.Popen | None = None

    def config(self) -> dict:
        config = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.workdir / "storage")},
                "delete": {"enabled": True},
            },
            "http": {"addr": self.host, "secret": "wharf-test-registry"},
        }
        if self.token_auth is not None:
            config["auth"] = {
                "token": {
                    "realm": self.token_auth.realm,
                    "service": self.token_auth.service,
                    "issuer": self.token_auth.issuer,
                    "rootcertbundle": str(self.token_auth.rootcertbundle),
                }
            }
        if self.notifications_url is not None:
            config["notifications"] = {
                "endpoints": [
                    {
                        "name": "wharf",
                        "url": self.notifications_url,
                        "timeout": "2s",
                        "threshold": 5,
                        "backoff": "1s",
                    }
                ]
            }
        return config

    def start(self) -> RegistryServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "config.yml"
        config_path.write_text(yaml.safe_dump(self.config()))
        log = (self.workdir / "registry.log").open("wb")
        self.process = subprocess.Popen(
            [REGISTRY_BINARY, "serve", str(config_path)], stdout=log, stderr=subprocess.STDOUT
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = (self.workdir / "registry.log").read_text(errors="replace")
                raise RuntimeError(f"docker-registry exited with {self.process.returncode}: {output}")
            try:
                # 200 without auth, 401 with token auth: either way it is serving.
                if httpx.get(f"{self.url}/v2/", timeout=1.0).status_code in (200, 401):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"docker-registry did not answer on {self.url} within "
                           f"{STARTUP_TIMEOUT_SECONDS} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------
# Writing to a registry without a client tool, for hand-made manifests


def push_blob(base_url: str, repository: str, data: bytes, headers: dict | None = None) -> str:
    """Upload a blob monolithically (POST then PUT) and return its digest."""
    import hashlib

    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    started = httpx.post(f"{base_url}/v2/{repository}/blobs/uploads/", headers=headers)
    started.raise_for_status()
    location = httpx.URL(base_url).join(started.headers["Location"])
    finished = httpx.put(
        location.copy_merge_params({"digest": digest}),
        content=data,
        headers={**(headers or {}), "Content-Type": "application/octet-stream"},
    )
    finished.raise_for_status()
    return digest


def push_manifest(
    base_url: str,
    repository: str,
    reference: str,
    body: bytes,
    media_type: str,
    headers: dict | None = None,
) -> httpx.Response:
    """PUT a manifest and return the registry's response (not raised, so tests can read it)."""
    return httpx.put(
        f"{base_url}/v2/{repository}/manifests/{reference}",
        content=body,
        headers={**(headers or {}), "Content-Type": media_type},
    )
