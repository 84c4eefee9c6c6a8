"""A small client of the registry HTTP API (OCI distribution), for promotion.

It authenticates with tokens this service signs for itself, so promotion needs neither
identity nor the token endpoint.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx
import structlog

from shared.clock import Clock

log = structlog.get_logger()

INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
IMAGE_MANIFEST_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    }
)
MANIFEST_MEDIA_TYPES = INDEX_MEDIA_TYPES | IMAGE_MANIFEST_MEDIA_TYPES

PROMOTION_SUBJECT = "service:licensing-promotion"


class RegistryError(RuntimeError):
    """A registry call failed; the promotion is retried by the event consumer."""


@dataclass(frozen=True)
class Manifest:
    body: bytes
    media_type: str
    digest: str


def digest_of(body: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, body).hexdigest()}"


class RegistryClient:
    def __init__(
        self,
        base_url: str,
        *,
        signer,
        clock: Clock,
        timeout: float,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.clock = clock
        self.client = client or httpx.AsyncClient(timeout=timeout)

    async def close(self) -> None:
        await self.client.aclose()

    def authorise(self, *, pull: list[str], push: list[str]) -> dict[str, str]:
        """Build an Authorization header with pull on `pull` and pull and push on `push`."""
        access = [{"type": "repository", "name": name, "actions": ["pull"]} for name in pull]
        access += [{"type": "repository", "name": name, "actions": ["pull", "push"]} for name in push]
        token = self.signer.issue(PROMOTION_SUBJECT, access, now=self.clock.now())
        return {"Authorization": f"Bearer {token}"}

    async def get_manifest(self, repository: str, reference: str, headers: dict[str, str]) -> Manifest:
        """Fetch a manifest and check that its bytes hash to the digest the registry reports."""
        response = await self.client.get(
            self._url(repository, f"manifests/{reference}"),
            headers={**headers, "Accept": ", ".join(sorted(MANIFEST_MEDIA_TYPES))},
        )
        self._check(response, f"GET manifest {repository}@{reference}", 200)

        body = response.content
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        expected = reference if reference.startswith("sha") else response.headers.get("docker-content-digest", "")
        algorithm = expected.split(":", 1)[0] if ":" in expected else "sha256"
        digest = digest_of(body, algorithm)
        if expected and digest != expected:
            raise RegistryError(
                f"Manifest {repository}@{reference} hashes to {digest}, not {expected}; refusing to copy it"
            )
        return Manifest(body=body, media_type=media_type, digest=digest)

    async def blob_exists(self, repository: str, digest: str, headers: dict[str, str]) -> bool:
        response = await self.client.head(self._url(repository, f"blobs/{digest}"), headers=headers)
        if response.status_code == 404:
            return False
        self._check(response, f"HEAD blob {repository}@{digest}", 200)
        return True

    async def mount_blob(self, target: str, digest: str, source: str, headers: dict[str, str]) -> None:
        """Mount a blob from `source` into `target`; stream it across if the mount is refused."""
        response = await self.client.post(
            self._url(target, "blobs/uploads/"),
            params={"mount": digest, "from": source},
            headers=headers,
        )
        if response.status_code == 201:
            return
        self._check(response, f"mount blob {digest} from {source} into {target}", 202)

        # The registry opened an upload instead (it could not mount): copy the bytes.
        log.info("registry.blob.mount_refused", digest=digest, source=source, target=target)
        upload_url = urljoin(self.base_url + "/", response.headers["location"])
        async with self.client.stream(
            "GET", self._url(source, f"blobs/{digest}"), headers=headers, follow_redirects=True
        ) as download:
            self._check(download, f"GET blob {source}@{digest}", 200)
            uploaded = await self.client.put(
                upload_url,
                params={"digest": digest},
                content=download.aiter_bytes(),
                headers={**headers, "Content-Type": "application/octet-stream"},
            )
        self._check(uploaded, f"upload blob {digest} into {target}", 201)

    async def put_manifest(
        self, repository: str, reference: str, manifest: Manifest, headers: dict[str, str]
    ) -> str:
        """Store a manifest under a digest or tag; return the digest the registry computed."""
        response = await self.client.put(
            self._url(repository, f"manifests/{reference}"),
            content=manifest.body,
            headers={**headers, "Content-Type": manifest.media_type},
        )
        self._check(response, f"PUT manifest {repository}:{reference}", 201)
        return response.headers.get("docker-content-digest", "")

    def _url(self, repository: str, path: str) -> str:
        return f"{self.base_url}/v2/{repository}/{path}"

    @staticmethod
    def _check(response: httpx.Response, what: str, expected: int) -> None:
        if response.status_code != expected:
            try:
                body = response.text[:500]
            except httpx.ResponseNotRead:
                body = "(streamed body not read)"
            raise RegistryError(f"{what} failed with HTTP {response.status_code}: {body}")
