"""CycloneDX 1.6 JSON software bills of materials for scanned images.

The image is the BOM's subject (a ``container`` component named by its reference, with its
digest as version), its operating system is an ``operating-system`` component, and each
package found is a ``library`` with its purl. Properties in the ``wharf:`` namespace record
the layer that introduced a component and the file it was read from.
"""

from __future__ import annotations

from collections.abc import Iterable

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.model.component import ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from services.scanning.components import Component, Distro

_licenses = LicenseFactory()


def build_sbom(
    *,
    reference: str,
    digest: str,
    distro: Distro | None,
    components: Iterable[Component],
) -> str:
    """Return the CycloneDX 1.6 JSON document for one scanned image."""
    bom = Bom()
    repository = reference.split("@")[0]
    image = CdxComponent(
        type=ComponentType.CONTAINER,
        name=repository,
        version=digest,
        bom_ref=f"image:{digest}",
    )
    bom.metadata.component = image

    if distro is not None:
        bom.components.add(
            CdxComponent(
                type=ComponentType.OPERATING_SYSTEM,
                name=distro.id,
                version=distro.version_id,
                description=distro.pretty_name or None,
                bom_ref=f"os:{distro.id}@{distro.version_id}",
            )
        )

    seen: set[str] = set()
    for component in components:
        bom_ref = f"{component.purl}#{component.path}"
        if bom_ref in seen:
            continue
        seen.add(bom_ref)
        bom.components.add(_library(component, bom_ref))

    # Everything found is installed in the image; how packages depend on each other is not
    # recorded, so the graph has one level.
    bom.register_dependency(image, bom.components)
    return JsonV1Dot6(bom).output_as_string(indent=2)


def _library(component: Component, bom_ref: str) -> CdxComponent:
    properties = [
        Property(name="wharf:layer:digest", value=component.layer.digest),
        Property(name="wharf:layer:index", value=str(component.layer.index)),
        Property(name="wharf:path", value=component.path),
        Property(name="wharf:ecosystem", value=str(component.ecosystem)),
    ]
    if component.source_name:
        properties.append(Property(name="wharf:source:name", value=component.source_name))
    if component.source_version:
        properties.append(Property(name="wharf:source:version", value=component.source_version))

    return CdxComponent(
        type=ComponentType.LIBRARY,
        name=component.name,
        version=component.version,
        purl=PackageURL.from_string(component.purl),
        bom_ref=bom_ref,
        licenses=[_licenses.make_from_string(text) for text in component.licenses],
        properties=properties,
    )
