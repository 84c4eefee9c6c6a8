"""Image references and the rule that only the store's own registry may be contacted.

A reference is ``host[:port]/repository[:tag][@digest]`` as Docker and Distribution spell
it. The scanner pulls only from the registry configured for the store, so a reference to
any other host is rejected before a socket is opened (no server-side request forgery).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.scanning.inventory.errors import ReferenceRejected

# Grammar from Distribution's reference package (reference/regexp.go, v2.8). `\Z` ends the
# text where `$` would also match before a final newline, and re.ASCII keeps `\w` to
# [A-Za-z0-9_], as in Go's regexp.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*\Z", re.ASCII)
_HOST = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"(?::[0-9]{1,5})?\Z|^\[[0-9a-fA-F:]+\](?::[0-9]{1,5})?\Z",
    re.ASCII,
)
_TAG = re.compile(r"^[\w][\w.-]{0,127}\Z", re.ASCII)
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}\Z|^sha512:[a-f0-9]{128}\Z", re.ASCII)
MAX_REFERENCE_LENGTH = 512


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A parsed image reference. At least one of `tag` and `digest` is set."""

    registry: str  # host[:port], lower case
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def target(self) -> str:
        """The manifest to request: the digest when pinned, otherwise the tag."""
        return self.digest or self.tag or "latest"

    def pinned(self, digest: str) -> ImageReference:
        """Return this reference pinned to a manifest digest, keeping its tag for display."""
        return ImageReference(self.registry, self.repository, self.tag, digest)

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str, default_registry: str | None = None) -> ImageReference:
    """Parse an image reference, raising `ReferenceRejected` naming the part at fault.

    A reference without a host uses `default_registry` when given. Without one it is
    rejected, because Docker would read it as Docker Hub.
    """
    if not text or len(text) > MAX_REFERENCE_LENGTH:
        raise ReferenceRejected(f"invalid image reference {text[:80]!r}: empty or too long")
    if "://" in text:
        raise ReferenceRejected(f"invalid image reference {text!r}: write it without a scheme")

    remainder, _, digest = text.partition("@")
    if digest and not _DIGEST.match(digest):
        raise ReferenceRejected(f"invalid digest {digest!r} in image reference {text!r}")

    # A tag is the text after the last colon, unless that colon belongs to host:port.
    name, tag = remainder, None
    last_colon = remainder.rfind(":")
    if last_colon > remainder.rfind("/"):
        name, tag = remainder[:last_colon], remainder[last_colon + 1 :]
        if not _TAG.match(tag):
            raise ReferenceRejected(f"invalid tag {tag!r} in image reference {text!r}")

    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        registry, repository = first, rest
    elif default_registry:
        registry, repository = default_registry, name
    else:
        raise ReferenceRejected(f"image reference {text!r} names no registry host")

    if not _HOST.match(registry):
        raise ReferenceRejected(f"invalid registry host {registry!r} in image reference {text!r}")
    if not _REPOSITORY.match(repository):
        raise ReferenceRejected(f"invalid repository {repository!r} in image reference {text!r}")
    if tag is None and not digest:
        tag = "latest"

    return ImageReference(registry.lower(), repository, tag, digest or None)


def require_allowed_registry(reference: ImageReference, allowed_registry: str) -> None:
    """Raise `ReferenceRejected` unless the reference names the store's registry."""
    if reference.registry != allowed_registry.lower():
        raise ReferenceRejected(
            f"registry {reference.registry!r} is not allowed: "
            f"the scanner pulls only from {allowed_registry!r}"
        )


def require_namespace(reference: ImageReference, namespace: str) -> None:
    """Raise `ReferenceRejected` unless the repository lies inside `namespace`."""
    prefix = namespace.strip("/") + "/"
    if not reference.repository.startswith(prefix):
        raise ReferenceRejected(
            f"repository {reference.repository!r} is outside the namespace {prefix!r}"
        )
