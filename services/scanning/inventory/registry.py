"""A client for the Distribution HTTP API (OCI distribution spec v1.1), pulling only.

It speaks to one registry, the store's. A token realm or redirect pointing at any other
host is rejected, so an image cannot steer the scanner to another address. Manifests and
configs are read whole under their size limits and verified against their digests. Layer
blobs are streamed to the caller, which verifies them as it reads.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
import structlog

from services.scanning.inventory.errors import (
    DigestMismatch,
    LimitExceeded,
    ReferenceRejected,
    RegistryError,
)
from services.scanning.inventory.limits import Limits
from services.scanning.inventory.manifests import ACCEPT_HEADER

log = structlog.get_logger(__name__)

_CHALLENGE_PARAMETER = re.compile(r'(\w+)="([^"]*)"')
MAX_REDIRECTS = 3
STREAM_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str  # a password or personal access token; never logged


@dataclass(frozen=True, slots=True)
class FetchedManifest:
    media_type: str
    digest: str
    body: bytes


class RegistryClient:
    """Pull manifests and blobs from the store's registry, authenticating on challenge."""

    def __init__(
        self,
        base_url: str,
        *,
        limits: Limits | None = None,
        credentials: Credentials | None = None,
        allowed_hosts: tuple[str, ...] = (),
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).netloc.lower()
        self.limits = limits or Limits()
        self._credentials = credentials
        # The registry itself, plus the token service when it runs on another host.
        self._allowed_hosts = {self.host, *(host.lower() for host in allowed_hosts)}
        self._tokens: dict[str, str] = {}
        self._http = httpx.Client(
            timeout=timeout, follow_redirects=False, transport=transport, trust_env=False
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- manifests and blobs ------------------------------------------------------------

    def get_manifest(self, repository: str, reference: str) -> FetchedManifest:
        """Fetch a manifest or index by tag or digest and return it with its digest."""
        url = f"{self.base_url}/v2/{repository}/manifests/{reference}"
        with self._stream("GET", url, repository, headers={"Accept": ACCEPT_HEADER}) as response:
            if response.status_code == 404:
                raise RegistryError(f"manifest {repository}:{reference} not found in the registry")
            _raise_for_status(response, f"manifest {repository}:{reference}")
            body = _read_limited(
                response, self.limits.max_manifest_bytes, "max_manifest_bytes", url
            )
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
            header_digest = response.headers.get("Docker-Content-Digest", "")

        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        expected = reference if reference.startswith("sha256:") else header_digest
        if expected and expected.startswith("sha256:") and expected != digest:
            raise DigestMismatch(
                f"manifest {repository}@{expected} hashes to {digest}; the registry "
                "returned different content"
            )
        return FetchedManifest(media_type, digest, body)

    def read_blob(self, repository: str, digest: str, limit: str) -> bytes:
        """Fetch a small blob (a config) whole, within the named limit, and verify it."""
        with self.open_blob(repository, digest) as response:
            body = _read_limited(response, getattr(self.limits, limit), limit, digest)
        verify_digest(body, digest, f"blob {digest} of {repository}")
        return body

    @contextmanager
    def open_blob(self, repository: str, digest: str) -> Iterator[httpx.Response]:
        """Open a blob for streaming; the caller reads `response.iter_raw()` and verifies it."""
        url = f"{self.base_url}/v2/{repository}/blobs/{digest}"
        with self._stream("GET", url, repository) as response:
            if response.status_code == 404:
                raise RegistryError(f"blob {digest} of {repository} not found in the registry")
            _raise_for_status(response, f"blob {digest} of {repository}")
            yield response

    # -- requests, authentication and redirects -----------------------------------------

    @contextmanager
    def _stream(
        self, method: str, url: str, repository: str, headers: dict[str, str] | None = None
    ) -> Iterator[httpx.Response]:
        headers = dict(headers or {})
        scope = f"repository:{repository}:pull"
        authorised = False
        send_token = True

        for _ in range(MAX_REDIRECTS + 2):
            self._require_allowed(url)
            if send_token and scope in self._tokens:
                headers["Authorization"] = self._tokens[scope]
            request = self._http.build_request(method, url, headers=headers)
            response = self._http.send(request, stream=True)

            if response.status_code == 401 and not authorised:
                challenge = response.headers.get("WWW-Authenticate", "")
                response.close()
                self._tokens[scope] = self._authorise(challenge, scope)
                authorised = True
                continue

            if response.status_code in (301, 302, 303, 307, 308):
                location = response.headers.get("Location", "")
                response.close()
                # Blob storage behind the registry may redirect; only allowed hosts count,
                # and credentials are not sent to a different host.
                url = urljoin(url, location)
                if urlsplit(url).netloc.lower() != self.host:
                    headers.pop("Authorization", None)
                    send_token = False
                continue

            try:
                yield response
            finally:
                response.close()
            return

        raise RegistryError(f"too many redirects or authentication rounds for {url}")

    def _authorise(self, challenge: str, scope: str) -> str:
        """Respond to a WWW-Authenticate challenge and return the Authorization header value."""
        scheme, _, parameters = challenge.partition(" ")
        values = dict(_CHALLENGE_PARAMETER.findall(parameters))

        if scheme.lower() == "basic":
            if self._credentials is None:
                raise RegistryError(
                    "the registry requires credentials and none are configured: set the "
                    "scanner's registry username and password"
                )
            pair = f"{self._credentials.username}:{self._credentials.password}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")

        if scheme.lower() != "bearer" or "realm" not in values:
            raise RegistryError(f"unsupported registry authentication challenge {challenge!r}")

        realm = values["realm"]
        self._require_allowed(realm)
        params = {"scope": values.get("scope", scope)}
        if "service" in values:
            params["service"] = values["service"]
        auth = None
        if self._credentials is not None:
            auth = (self._credentials.username, self._credentials.password)

        log.info("registry_token_requested", realm=realm, scope=params["scope"])
        response = self._http.get(realm, params=params, auth=auth)
        if response.status_code != 200:
            raise RegistryError(
                f"token request to {realm} for scope {params['scope']!r} failed with HTTP "
                f"{response.status_code}; check the scanner's registry credentials"
            )
        body = response.json()
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError(f"token service {realm} returned no token")
        return f"Bearer {token}"

    def _require_allowed(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc.lower() not in self._allowed_hosts:
            raise ReferenceRejected(
                f"host {parts.netloc!r} of {url!r} is not allowed: the scanner contacts only "
                f"{sorted(self._allowed_hosts)}"
            )


def _raise_for_status(response: httpx.Response, what: str) -> None:
    if response.status_code >= 400:
        response.read()
        detail = response.text[:300]
        raise RegistryError(f"registry returned HTTP {response.status_code} for {what}: {detail}")


def _read_limited(response: httpx.Response, maximum: int, limit: str, subject: str) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > maximum:
        raise LimitExceeded(limit, maximum, subject)
    chunks = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > maximum:
            raise LimitExceeded(limit, maximum, subject)
        chunks.append(chunk)
    return b"".join(chunks)


def verify_digest(data: bytes, digest: str, what: str) -> None:
    algorithm, _, expected = digest.partition(":")
    if algorithm not in ("sha256", "sha512"):
        raise DigestMismatch(f"{what} uses the unsupported digest algorithm {algorithm!r}")
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != expected:
        raise DigestMismatch(f"{what} hashes to {algorithm}:{actual}, not {digest}")


class ResponseReader:
    """A file-like reader over a streamed response body, as the layer reader needs it."""

    def __init__(self, response: httpx.Response):
        self._chunks = response.iter_raw(STREAM_CHUNK)
        self._buffer = b""
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            rest = self._buffer[self._offset :] + b"".join(self._chunks)
            self._buffer, self._offset = b"", 0
            return rest

        while len(self._buffer) - self._offset < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer = self._buffer[self._offset :] + chunk
            self._offset = 0

        data = self._buffer[self._offset : self._offset + size]
        self._offset += len(data)
        return data

    def readable(self) -> bool:
        return True
