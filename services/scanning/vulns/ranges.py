"""Deciding whether an installed version lies inside an OSV `affected` entry.

The walk follows the OSV schema's evaluation: events are sorted by version, `introduced`
opens an affected interval, `fixed` closes it at that version, `last_affected` closes it
after that version, and `limit` caps the whole range. A version listed in `versions` is
affected whatever the ranges say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from .osv import AffectedPackage, Event, VersionRange
from .versions import InvalidVersion, version_key

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one installed version against one affected entry."""

    affected: bool
    fixed: str | None = None  # the first fixed version above the installed one, if any


NOT_AFFECTED = Verdict(affected=False)


class _Minimum:
    """The `introduced: "0"` of OSV, which lies below every version of any ecosystem."""


_MINIMUM = _Minimum()

# At one version, an interval opens before it closes: "introduced X, fixed X" is empty.
_EVENT_ORDER = {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 3}


def _event_key(ordering: str, event: Event) -> Any:
    if event.kind == "introduced" and event.version == "0":
        return _MINIMUM
    if event.kind == "limit" and event.version == "*":
        return None  # an unbounded limit caps nothing
    return version_key(ordering, event.version)


def _ordering_for(ecosystem: str, version_range: VersionRange) -> str:
    # SEMVER ranges are ordered by semantic versioning in every ecosystem.
    return "SEMVER" if version_range.type == "SEMVER" else ecosystem


def walk_range(ecosystem: str, version_range: VersionRange, installed: str) -> Verdict:
    """Walk one ECOSYSTEM or SEMVER range event by event for the installed version.

    Raises `InvalidVersion` when the installed version or a bound cannot be ordered.
    """
    ordering = _ordering_for(ecosystem, version_range)
    current = version_key(ordering, installed)

    keyed = []
    limits = []
    for event in version_range.events:
        key = _event_key(ordering, event)
        if event.kind == "limit":
            if key is not None:
                limits.append(key)
            continue
        keyed.append((key, event))

    # A range with limits affects only versions below at least one of them.
    if limits and not any(current < limit for limit in limits):
        return NOT_AFFECTED

    keyed.sort(key=lambda pair: (_SortKey(pair[0]), _EVENT_ORDER[pair[1].kind]))

    affected = False
    fixed: str | None = None
    for key, event in keyed:
        if event.kind == "introduced":
            if key is _MINIMUM or current >= key:
                affected = True
                fixed = None
        elif event.kind == "fixed":
            if current >= key:
                affected = False
            elif affected and fixed is None:
                fixed = event.version
        elif event.kind == "last_affected":
            if current > key:
                affected = False

    if not affected:
        return NOT_AFFECTED
    return Verdict(affected=True, fixed=fixed)


class _SortKey:
    """Wraps version keys so the minimum sentinel sorts with any ecosystem's keys."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __lt__(self, other: _SortKey) -> bool:
        if isinstance(self.key, _Minimum):
            return not isinstance(other.key, _Minimum)
        if isinstance(other.key, _Minimum):
            return False
        return self.key < other.key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _SortKey):
            return NotImplemented
        if isinstance(self.key, _Minimum) or isinstance(other.key, _Minimum):
            return isinstance(self.key, _Minimum) and isinstance(other.key, _Minimum)
        return self.key == other.key


def _listed(ecosystem: str, versions: tuple[str, ...], installed: str) -> bool:
    if installed in versions:
        return True
    try:
        current = version_key(ecosystem, installed)
    except InvalidVersion:
        return False
    for listed in versions:
        try:
            if version_key(ecosystem, listed) == current:
                return True
        except InvalidVersion:
            continue
    return False


def evaluate(affected: AffectedPackage, installed: str, *, record_id: str = "") -> Verdict:
    """Tell whether the installed version is affected by one `affected` entry.

    GIT ranges name commits, which an installed package does not carry, so they are not
    walked. A range whose bounds cannot be ordered is logged and skipped, and the
    explicit `versions` list still applies.
    """
    fixed_versions: list[str] = []
    hit = False

    for version_range in affected.ranges:
        if version_range.type == "GIT":
            continue
        try:
            verdict = walk_range(affected.ecosystem, version_range, installed)
        except InvalidVersion as error:
            log.warning(
                "osv_range_skipped",
                record_id=record_id,
                package=affected.name,
                installed=installed,
                reason=str(error),
            )
            continue
        if verdict.affected:
            hit = True
            if verdict.fixed is not None:
                fixed_versions.append(verdict.fixed)

    if not hit and affected.versions and _listed(affected.ecosystem, affected.versions, installed):
        hit = True

    if not hit:
        return NOT_AFFECTED
    return Verdict(affected=True, fixed=_lowest(affected.ecosystem, fixed_versions))


def _lowest(ecosystem: str, versions: list[str]) -> str | None:
    # Several ranges may each close above the installed version; the nearest one is the
    # upgrade that leaves this entry's ranges.
    if not versions:
        return None
    try:
        return min(versions, key=lambda version: version_key(ecosystem, version))
    except InvalidVersion:
        return versions[0]
