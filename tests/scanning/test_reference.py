"""Image references and the allowed-registry rule."""

from __future__ import annotations

import pytest

from services.scanning.inventory.errors import ReferenceRejected
from services.scanning.inventory.reference import (
    parse_reference,
    require_allowed_registry,
    require_namespace,
)

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("127.0.0.1:5000/staging/acme/app:1.0", "127.0.0.1:5000", "staging/acme/app", "1.0", None),
        (f"registry.wharf.test/staging/acme/app@{DIGEST}", "registry.wharf.test", "staging/acme/app", None, DIGEST),
        (f"localhost/a/b:v2@{DIGEST}", "localhost", "a/b", "v2", DIGEST),
        ("Registry.Wharf.Test:443/a/b", "registry.wharf.test:443", "a/b", "latest", None),
    ],
)
def test_reference_parsed(text, registry, repository, tag, digest):
    reference = parse_reference(text)

    assert reference.registry == registry
    assert reference.repository == repository
    assert reference.tag == tag
    assert reference.digest == digest


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("http://127.0.0.1:5000/a/b:1", "without a scheme"),
        ("127.0.0.1:5000/Upper/b:1", "invalid repository"),
        ("127.0.0.1:5000/a/b:bad tag", "invalid tag"),
        ("127.0.0.1:5000/a/b@sha256:short", "invalid digest"),
        ("user@evil.test/a/b", "invalid digest"),
        ("library/nginx:1", "names no registry host"),
        ("127.0.0.1:5000/a/../b:1", "invalid repository"),
        ("127.0.0.1:5000/a/b:1.0\n", "invalid tag"),
        ("127.0.0.1:5000/a/b:t\u00e4g", "invalid tag"),
        ("127.0.0.1:5000/a/b:\u0661", "invalid tag"),
        (f"127.0.0.1:5000/a/b@{DIGEST}\n", "invalid digest"),
        (f"127.0.0.1:5000/a/b\n@{DIGEST}", "invalid repository"),
        ("127.0.0.1:5000\n/a/b:1", "invalid registry host"),
    ],
)
def test_reference_rejected(text, message):
    with pytest.raises(ReferenceRejected, match=message):
        parse_reference(text)


def test_reference_to_other_host_rejected():
    reference = parse_reference("evil.test/staging/acme/app:1")

    with pytest.raises(ReferenceRejected, match="'evil.test' is not allowed"):
        require_allowed_registry(reference, "127.0.0.1:5000")


def test_reference_to_same_host_other_port_rejected():
    with pytest.raises(ReferenceRejected, match="not allowed"):
        require_allowed_registry(parse_reference("127.0.0.1:5001/a/b:1"), "127.0.0.1:5000")


def test_default_registry_applied():
    reference = parse_reference("staging/acme/app:1", default_registry="127.0.0.1:5000")

    assert str(reference) == "127.0.0.1:5000/staging/acme/app:1"


def test_namespace_required():
    reference = parse_reference("127.0.0.1:5000/staging/other/app:1")

    with pytest.raises(ReferenceRejected, match="outside the namespace 'staging/acme/'"):
        require_namespace(reference, "staging/acme")
    require_namespace(reference, "staging/other")
