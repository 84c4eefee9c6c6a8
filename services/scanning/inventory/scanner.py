"""Scan an image: pull or open it, stream its layers into the file tree, list its components.

The scanner is synchronous and CPU-bound; the service runs it in a worker thread. One call
returns one `ImageScan` per platform image, each with the layers, the components found in
each, totals and the best-practice check results.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import structlog

from services.scanning.components import Component, Distro, LayerRef
from services.scanning.inventory.analysers import Analyser, Package, default_analysers
from services.scanning.inventory.analysers.osrelease import detect_distro
from services.scanning.inventory.archive import ArchivedImage, ImageArchive
from services.scanning.inventory.checks import CheckResult, run_checks
from services.scanning.inventory.filesystem import FileTree, Observation
from services.scanning.inventory.layers import ScanBudget, read_layer
from services.scanning.inventory.limits import Limits
from services.scanning.inventory.manifests import (
    ImageIndex,
    ImageManifest,
    Platform,
    parse_config,
    parse_manifest,
    select_manifests,
)
from services.scanning.inventory.reference import (
    ImageReference,
    parse_reference,
    require_allowed_registry,
)
from services.scanning.inventory.registry import RegistryClient, ResponseReader
from services.scanning.inventory.errors import ManifestRejected, RegistryError

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class LayerScan:
    """One layer of a scanned image and the components it introduced."""

    index: int
    digest: str
    media_type: str
    size: int  # compressed bytes as stored
    decompressed_size: int
    entries: int
    created_by: str
    components: tuple[Component, ...]


@dataclass(frozen=True)
class ImageScan:
    """The inventory of one platform image."""

    reference: str
    digest: str  # manifest digest; for a `docker save` archive, the config digest
    platform: str
    distro: Distro | None
    is_plugin: bool
    layers: tuple[LayerScan, ...]
    components: tuple[Component, ...]
    checks: tuple[CheckResult, ...]
    config: dict[str, Any] = field(repr=False)
    duration_seconds: float = 0.0

    @property
    def totals(self) -> dict[str, int]:
        """Components per ecosystem, plus "components", "layers" and "checks_failed"."""
        counts = Counter(str(component.ecosystem) for component in self.components)
        return {
            **dict(sorted(counts.items())),
            "components": len(self.components),
            "layers": len(self.layers),
            "checks_failed": sum(1 for check in self.checks if not check.passed),
        }


# Opens the raw blob of a layer, given its index and descriptor.
LayerOpener = Callable[[int, Any], AbstractContextManager[BinaryIO]]


class Scanner:
    """Scan images from the store's registry or from uploaded archives."""

    def __init__(
        self,
        *,
        registry: RegistryClient | None = None,
        limits: Limits | None = None,
        analysers: Sequence[Analyser] | None = None,
    ) -> None:
        self.registry = registry
        self.limits = limits or (registry.limits if registry else Limits())
        self.analysers = list(analysers) if analysers is not None else default_analysers()

    # -- from the registry --------------------------------------------------------------

    def scan_reference(
        self,
        reference: ImageReference | str,
        *,
        platforms: list[Platform] | None = None,
        tags: Sequence[str] = (),
    ) -> list[ImageScan]:
        """Pull and scan an image by reference, one result per selected platform."""
        if self.registry is None:
            raise RegistryError("the scanner has no registry configured")
        if isinstance(reference, str):
            reference = parse_reference(reference, default_registry=self.registry.host)
        require_allowed_registry(reference, self.registry.host)

        repository = reference.repository
        fetched = self.registry.get_manifest(repository, reference.target)
        parsed = parse_manifest(fetched.body, fetched.media_type)
        all_tags = tuple(dict.fromkeys([*([reference.tag] if reference.tag else []), *tags]))

        if isinstance(parsed, ImageManifest):
            targets = [(fetched.digest, parsed, None)]
        else:
            targets = []
            for descriptor in select_manifests(parsed, platforms):
                child = self.registry.get_manifest(repository, descriptor.digest)
                manifest = parse_manifest(child.body, child.media_type)
                if isinstance(manifest, ImageIndex):
                    raise ManifestRejected(f"index {fetched.digest} nests another index")
                targets.append((child.digest, manifest, descriptor.platform))

        scans = []
        for digest, manifest, platform in targets:
            config = self.registry.read_blob(repository, manifest.config.digest, "max_config_bytes")

            def open_layer(index, descriptor, repository=repository):
                return _registry_layer(self.registry, repository, descriptor.digest)

            scans.append(
                self._scan_image(
                    reference=str(reference.pinned(digest)),
                    digest=digest,
                    manifest=manifest,
                    config_bytes=config,
                    platform=platform,
                    tags=all_tags,
                    open_layer=open_layer,
                    verify_diff_ids=False,
                )
            )
        return scans

    # -- from an archive ----------------------------------------------------------------

    def scan_archive(
        self, path: Path, *, platforms: list[Platform] | None = None, tags: Sequence[str] = ()
    ) -> list[ImageScan]:
        """Scan every image of an uploaded `docker save` or OCI layout archive."""
        scans = []
        with ImageArchive(path, self.limits) as archive:
            for image in archive.images(platforms):

                def open_layer(index, descriptor, image: ArchivedImage = image):
                    return archive.open_blob(archive.layer_path(image, descriptor))

                scans.append(
                    self._scan_image(
                        reference=f"archive:{path.name}",
                        digest=image.digest,
                        manifest=image.manifest,
                        config_bytes=image.config,
                        platform=image.platform,
                        tags=tuple(dict.fromkeys([*image.tags, *tags])),
                        open_layer=open_layer,
                        verify_diff_ids=image.verify_diff_ids,
                    )
                )
        return scans

    # -- one image ----------------------------------------------------------------------

    def _scan_image(
        self,
        *,
        reference: str,
        digest: str,
        manifest: ImageManifest,
        config_bytes: bytes,
        platform: Platform | None,
        tags: tuple[str, ...],
        open_layer: LayerOpener,
        verify_diff_ids: bool,
    ) -> ImageScan:
        started = time.perf_counter()
        log.info("image_scan_started", reference=reference, digest=digest)
        self.limits.check("max_layers", len(manifest.layers), reference)

        config = parse_config(config_bytes)
        if platform is None and config.get("os") and config.get("architecture"):
            platform = Platform(config["os"], config["architecture"], config.get("variant", ""))
        history = _layer_history(config)

        tree = FileTree()
        budget = ScanBudget(self.limits)
        stats = []
        for index, descriptor in enumerate(manifest.layers):
            with open_layer(index, descriptor) as raw:
                stats.append(
                    read_layer(
                        raw,
                        index=index,
                        tree=tree,
                        analysers=self.analysers,
                        budget=budget,
                        digest=None if verify_diff_ids else descriptor.digest,
                        diff_id=descriptor.digest if verify_diff_ids else None,
                    )
                )

        distro = detect_distro(tree)
        layer_refs = [
            LayerRef(descriptor.digest, index, history[index] if index < len(history) else "")
            for index, descriptor in enumerate(manifest.layers)
        ]
        components = self._components(tree, distro, layer_refs)
        checks = run_checks(
            config=config,
            tree=tree,
            tags=tags,
            distro=distro,
            layer_count=len(manifest.layers),
            is_plugin=manifest.is_plugin,
        )

        layers = tuple(
            LayerScan(
                index=index,
                digest=descriptor.digest,
                media_type=descriptor.media_type,
                size=stats[index].compressed_bytes,
                decompressed_size=stats[index].decompressed_bytes,
                entries=stats[index].entries,
                created_by=layer_refs[index].created_by,
                components=tuple(c for c in components if c.layer.index == index),
            )
            for index, descriptor in enumerate(manifest.layers)
        )
        duration = time.perf_counter() - started
        log.info(
            "image_scan_finished",
            reference=reference,
            digest=digest,
            components=len(components),
            layers=len(layers),
            seconds=round(duration, 3),
        )
        return ImageScan(
            reference=reference,
            digest=digest,
            platform=str(platform) if platform else "",
            distro=distro,
            is_plugin=manifest.is_plugin,
            layers=layers,
            components=tuple(components),
            checks=tuple(checks),
            config=config,
            duration_seconds=duration,
        )

    def _components(
        self, tree: FileTree, distro: Distro | None, layer_refs: list[LayerRef]
    ) -> list[Component]:
        by_name = {analyser.name: analyser for analyser in self.analysers}
        components = []
        for path, node in sorted(tree.with_facts(), key=lambda item: item[0]):
            for analyser_name, facts in node.facts.items():
                analyser = by_name[analyser_name]
                found = analyser.packages(path, facts, distro)
                if not found:
                    continue
                earlier = _earlier_keys(analyser, path, node.layer, tree.history.get(path, []), distro)
                for package in found:
                    layer = node.layer
                    for observed_layer, keys in earlier:
                        if package.key not in keys:
                            break
                        layer = observed_layer
                    components.append(_component(package, path, layer_refs[layer]))
        return components


def _earlier_keys(
    analyser: Analyser,
    path: str,
    top_layer: int,
    history: list[Observation],
    distro: Distro | None,
) -> list[tuple[int, frozenset[str]]]:
    """Return, newest first, the package keys seen at `path` in layers below `top_layer`.

    A package database is rewritten whenever any package changes, so the layer that last
    wrote the file is not the layer that introduced each package in it. A package was
    introduced by the lowest layer of the unbroken run of writes that list it. A removal
    ends the run with an empty set.
    """
    earlier = []
    for observation in reversed(history):
        if observation.layer >= top_layer:
            continue
        facts = observation.facts.get(analyser.name) if observation.facts else None
        if facts is None:
            earlier.append((observation.layer, frozenset()))
            break
        keys = frozenset(package.key for package in analyser.packages(path, facts, distro))
        earlier.append((observation.layer, keys))
    return earlier


def _component(package: Package, path: str, layer: LayerRef) -> Component:
    return Component(
        ecosystem=package.ecosystem,
        name=package.name,
        version=package.version,
        match_name=package.match_name,
        purl=package.purl,
        layer=layer,
        path=f"{path}!/{package.location}" if package.location else path,
        source_name=package.source_name,
        source_version=package.source_version,
        licenses=package.licenses,
    )


def _layer_history(config: dict[str, Any]) -> list[str]:
    """Return the `created_by` of each non-empty history entry, in layer order."""
    entries = config.get("history") or []
    return [
        str(entry.get("created_by", ""))
        for entry in entries
        if isinstance(entry, dict) and not entry.get("empty_layer")
    ]


class _registry_layer:  # noqa: N801 - used as a context manager factory
    def __init__(self, registry: RegistryClient, repository: str, digest: str):
        self._context = registry.open_blob(repository, digest)

    def __enter__(self) -> BinaryIO:
        return ResponseReader(self._context.__enter__())

    def __exit__(self, *exc_info) -> None:
        self._context.__exit__(*exc_info)
