"""Pulling from the real registry: authentication, manifest kinds, hosts and platforms."""

from __future__ import annotations

import json

import pytest

from services.scanning.inventory.errors import (
    ManifestRejected,
    ReferenceRejected,
    RegistryError,
)
from services.scanning.inventory.manifests import OCI_INDEX, Platform, parse_manifest
from services.scanning.inventory.registry import Credentials, RegistryClient
from services.scanning.inventory.scanner import Scanner
from tests.scanning.conftest import GZIP_LAYER, push_image, scanner_for
from tests.scanning.layerkit import digest_of, file, gzipped, tar
from tests.support.registry import RegistryServer, push_blob, push_manifest
from tests.support.registry_tokens import TokenIssuer, TokenServer

OS_RELEASE = "ID=alpine\nVERSION_ID=3.20.1\n"
APK_DB = "P:musl\nV:1.2.5-r0\nA:x86_64\no:musl\nL:MIT\n\n"
SCHEMA1_MANIFEST = json.dumps({
    "schemaVersion": 1,
    "name": "staging/acme/old",
    "tag": "1",
    "architecture": "amd64",
    "fsLayers": [{"blobSum": "sha256:" + "a" * 64}],
    "history": [{"v1Compatibility": json.dumps({"id": "b" * 64})}],
}).encode()


def test_reference_to_other_host_rejected(registry):
    scanner = scanner_for(registry)

    with pytest.raises(ReferenceRejected, match="'169.254.169.254' is not allowed"):
        scanner.scan_reference("169.254.169.254/latest/meta-data:1")


def test_reference_without_host_uses_store_registry(registry):
    push_image(registry, "staging/acme/bare", "1", [tar(file("etc/os-release", OS_RELEASE))])

    [scan] = scanner_for(registry).scan_reference("staging/acme/bare:1")

    assert scan.reference.startswith(f"{registry.host}/staging/acme/bare:1@sha256:")


def test_missing_tag_reported(registry):
    with pytest.raises(RegistryError, match="not found"):
        scanner_for(registry).scan_reference(f"{registry.host}/staging/acme/none:1")


def test_schema1_manifest_rejected():
    # Distribution 2.8 itself rejects unsigned schema 1 uploads (HTTP 400), so the body is
    # checked directly here and through an archive in the archive tests.
    with pytest.raises(ManifestRejected, match="schema 1 is not supported"):
        parse_manifest(SCHEMA1_MANIFEST, "application/vnd.docker.distribution.manifest.v1+prettyjws")


def test_schema1_without_media_type_rejected():
    with pytest.raises(ManifestRejected, match="schema 1 is not supported"):
        parse_manifest(SCHEMA1_MANIFEST)


def test_foreign_layer_rejected(registry):
    foreign = {
        "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "digest": "sha256:" + "1" * 64,
        "size": 100,
        "urls": ["https://go.microsoft.com/fwlink/?linkid=837858"],
    }
    push_image(registry, "staging/acme/windows", "1", [], layer_descriptors=[foreign])

    with pytest.raises(ManifestRejected, match="foreign layer"):
        scanner_for(registry).scan_reference(f"{registry.host}/staging/acme/windows:1")


def test_index_scans_every_platform(registry):
    descriptors = []
    for architecture in ("amd64", "arm64"):
        layer = tar(file("etc/os-release", OS_RELEASE),
                    file("lib/apk/db/installed", APK_DB.replace("x86_64", architecture)))
        config = {"architecture": architecture, "os": "linux", "config": {},
                  "rootfs": {"type": "layers", "diff_ids": [digest_of(layer)]}}
        digest, body = push_image(registry, "staging/acme/multi", architecture, [layer],
                                  config=config)
        descriptors.append({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": len(body),
            "platform": {"os": "linux", "architecture": architecture},
        })
    descriptors.append({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": descriptors[0]["digest"],
        "size": descriptors[0]["size"],
        "platform": {"os": "unknown", "architecture": "unknown"},
    })
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors})
    assert push_manifest(registry.url, "staging/acme/multi", "1", index.encode(), OCI_INDEX).status_code == 201

    scans = scanner_for(registry).scan_reference(f"{registry.host}/staging/acme/multi:1")
    only_arm = scanner_for(registry).scan_reference(
        f"{registry.host}/staging/acme/multi:1", platforms=[Platform("linux", "arm64")]
    )

    assert [scan.platform for scan in scans] == ["linux/amd64", "linux/arm64"]
    assert [scan.platform for scan in only_arm] == ["linux/arm64"]
    assert only_arm[0].components[0].purl == "pkg:apk/alpine/musl@1.2.5-r0?arch=arm64&distro=alpine-3.20.1"
    assert only_arm[0].distro.id == "alpine"


def test_bearer_token_flow(tmp_path, real_image):
    issuer = TokenIssuer(tmp_path / "tokens")
    with TokenServer(issuer, username="scanner", password="s3cret-pat") as tokens, \
            RegistryServer(tmp_path / "registry", token_auth=tokens.auth()) as secured:
        push_token = issuer.token("publisher", [
            {"type": "repository", "name": "staging/acme/app", "actions": ["pull", "push"]}
        ])
        headers = {"Authorization": f"Bearer {push_token}"}
        layer = tar(file("etc/os-release", OS_RELEASE))
        blob = gzipped(layer)
        push_blob(secured.url, "staging/acme/app", blob, headers=headers)
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": [digest_of(layer)]}}).encode()
        push_blob(secured.url, "staging/acme/app", config, headers=headers)
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": digest_of(config), "size": len(config)},
            "layers": [{"mediaType": GZIP_LAYER, "digest": digest_of(blob), "size": len(blob)}],
        }).encode()
        assert push_manifest(secured.url, "staging/acme/app", "1", manifest,
                             "application/vnd.oci.image.manifest.v1+json",
                             headers=headers).status_code == 201

        client = RegistryClient(
            secured.url,
            credentials=Credentials("scanner", "s3cret-pat"),
            allowed_hosts=(f"127.0.0.1:{tokens.port}",),
        )
        [scan] = Scanner(registry=client).scan_reference(f"{secured.host}/staging/acme/app:1")

        assert scan.distro.id == "alpine"
        assert ["repository:staging/acme/app:pull"] in tokens.requests


def test_bearer_realm_on_other_host_rejected(tmp_path):
    issuer = TokenIssuer(tmp_path / "tokens")
    with TokenServer(issuer) as tokens, \
            RegistryServer(tmp_path / "registry", token_auth=tokens.auth()) as secured:
        client = RegistryClient(secured.url)

        with pytest.raises(ReferenceRejected, match=f"127.0.0.1:{tokens.port}"):
            client.get_manifest("staging/acme/app", "1")

        assert tokens.requests == []


def test_wrong_credentials_reported(tmp_path):
    issuer = TokenIssuer(tmp_path / "tokens")
    with TokenServer(issuer, username="scanner", password="right") as tokens, \
            RegistryServer(tmp_path / "registry", token_auth=tokens.auth()) as secured:
        client = RegistryClient(secured.url, credentials=Credentials("scanner", "wrong"),
                                allowed_hosts=(f"127.0.0.1:{tokens.port}",))

        with pytest.raises(RegistryError, match="scope 'repository:staging/acme/app:pull' failed with HTTP 401"):
            client.get_manifest("staging/acme/app", "1")


class _RedirectingServer:
    """Stands in for blob storage behind a registry: every GET is redirected to `target`."""

    def __init__(self, target: str):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from tests.support.registry import free_port

        self.port = free_port()
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                server.requests.append(dict(self.headers))
                self.send_response(307)
                self.send_header("Location", target + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()


def test_redirect_to_other_host_rejected():
    with _RedirectingServer("http://169.254.169.254") as redirecting:
        client = RegistryClient(f"http://127.0.0.1:{redirecting.port}")

        with pytest.raises(ReferenceRejected, match="'169.254.169.254' of"):
            client.get_manifest("staging/acme/app", "1")

        assert len(redirecting.requests) == 1


def test_redirect_to_allowed_host_drops_credentials(registry):
    push_image(registry, "staging/acme/redirected", "1", [tar(file("etc/os-release", OS_RELEASE))])
    with _RedirectingServer(registry.url) as redirecting:
        client = RegistryClient(
            f"http://127.0.0.1:{redirecting.port}",
            allowed_hosts=(registry.host,),
            credentials=Credentials("scanner", "secret"),
        )

        fetched = client.get_manifest("staging/acme/redirected", "1")

        assert fetched.digest.startswith("sha256:")
        assert "Authorization" not in redirecting.requests[0]
