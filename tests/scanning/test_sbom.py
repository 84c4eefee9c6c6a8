"""CycloneDX 1.6 output, validated against the schema that cyclonedx-python-lib ships."""

from __future__ import annotations

import json

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from services.scanning.components import Component, Distro, Ecosystem, LayerRef
from services.scanning.inventory.sbom import build_sbom

LAYER = LayerRef("sha256:" + "a" * 64, 0, "debootstrap")
BSDUTILS = Component(
    ecosystem=Ecosystem.DEBIAN,
    name="bsdutils",
    version="1:2.38.1-5+deb12u3",
    match_name="bsdutils",
    purl="pkg:deb/debian/bsdutils@2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12&epoch=1",
    layer=LAYER,
    path="/var/lib/dpkg/status",
    source_name="util-linux",
    source_version="2.38.1-5",
)
FLASK = Component(
    ecosystem=Ecosystem.PYPI,
    name="Flask",
    version="0.12.2",
    match_name="flask",
    purl="pkg:pypi/flask@0.12.2",
    layer=LayerRef("sha256:" + "b" * 64, 1, "pip install"),
    path="/opt/app/Flask-0.12.2.dist-info/METADATA",
    licenses=("BSD-3-Clause",),
)


def sbom() -> dict:
    text = build_sbom(
        reference="127.0.0.1:5000/staging/acme/app:1.0@sha256:" + "c" * 64,
        digest="sha256:" + "c" * 64,
        distro=Distro("debian", "12", "Debian GNU/Linux 12 (bookworm)"),
        components=[BSDUTILS, FLASK, FLASK],
    )
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    return json.loads(text)


def test_sbom_is_valid_cyclonedx_1_6():
    document = sbom()

    assert document["bomFormat"] == "CycloneDX"
    assert document["specVersion"] == "1.6"


def test_sbom_subject_is_the_image():
    subject = sbom()["metadata"]["component"]

    assert subject["type"] == "container"
    assert subject["name"] == "127.0.0.1:5000/staging/acme/app:1.0"
    assert subject["version"] == "sha256:" + "c" * 64


def test_sbom_components_have_purls_and_layers():
    components = {c["name"]: c for c in sbom()["components"]}
    properties = {p["name"]: p["value"] for p in components["bsdutils"]["properties"]}

    assert components["debian"]["type"] == "operating-system"
    assert "epoch=1" in components["bsdutils"]["purl"]
    assert properties["wharf:layer:index"] == "0"
    assert properties["wharf:source:name"] == "util-linux"
    assert components["Flask"]["licenses"] == [{"license": {"id": "BSD-3-Clause"}}]


def test_sbom_duplicate_component_listed_once():
    names = [c["name"] for c in sbom()["components"]]

    assert names.count("Flask") == 1
