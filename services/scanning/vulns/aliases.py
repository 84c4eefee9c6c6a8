"""Alias groups and their severity.

Records that name each other as aliases, directly or through a shared CVE id, describe
one vulnerability. The group is the unit that gets a severity: PYSEC and Go records
mostly carry no CVSS vector, while their GitHub alias does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import structlog
from cvss import CVSS3, CVSS4
from cvss.exceptions import CVSSError

from .osv import SeverityEntry

log = structlog.get_logger(__name__)


class AliasGroups:
    """Union-find over advisory ids: `union` joins two ids, `find` names the group."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def add(self, identifier: str) -> None:
        self._parent.setdefault(identifier, identifier)

    def find(self, identifier: str) -> str:
        self.add(identifier)
        root = identifier
        while self._parent[root] != root:
            root = self._parent[root]

        # Path compression keeps later look-ups flat.
        while self._parent[identifier] != root:
            self._parent[identifier], identifier = root, self._parent[identifier]
        return root

    def union(self, left: str, right: str) -> None:
        left_root = self.find(left)
        right_root = self.find(right)
        if left_root == right_root:
            return

        # The smaller id becomes the root, so a group's name does not depend on the order
        # in which records arrive.
        if right_root < left_root:
            left_root, right_root = right_root, left_root
        self._parent[right_root] = left_root

    def members(self) -> dict[str, set[str]]:
        """Return every group as its root id mapped to all ids in it."""
        groups: dict[str, set[str]] = {}
        for identifier in list(self._parent):
            groups.setdefault(self.find(identifier), set()).add(identifier)
        return groups


def build_groups(records: Iterable[tuple[str, Iterable[str]]]) -> AliasGroups:
    """Build alias groups from (record id, aliases) pairs."""
    groups = AliasGroups()
    for record_id, aliases in records:
        groups.add(record_id)
        for alias in aliases:
            groups.union(record_id, alias)
    return groups


# Which id names a finding when several records of a group match: the database of the
# package's own ecosystem first, then GitHub, then CVE, then anything else.
_ID_PREFERENCE = (
    "PYSEC-",
    "GO-",
    "DSA-",
    "DLA-",
    "DEBIAN-",
    "USN-",
    "UBUNTU-",
    "ALPINE-",
    "RUSTSEC-",
    "GHSA-",
    "CVE-",
)


def id_preference(identifier: str) -> tuple[int, str]:
    """Sort key that puts the id to show first."""
    for rank, prefix in enumerate(_ID_PREFERENCE):
        if identifier.startswith(prefix):
            return (rank, identifier)
    return (len(_ID_PREFERENCE), identifier)


@dataclass(frozen=True, slots=True)
class CvssScore:
    """A scored CVSS vector and the record it came from."""

    score: float  # base score, 0.0 to 10.0
    vector: str
    version: str  # "3.0", "3.1" or "4.0"
    source_id: str = ""


def score_entry(entry: SeverityEntry) -> CvssScore | None:
    """Score one OSV severity entry; return None for textual or unscorable entries.

    CVSS v2 vectors are not scored: the store's classes are defined on v3 and v4 scores.
    """
    try:
        if entry.type == "CVSS_V3":
            cvss3 = CVSS3(entry.score)
            version = "3.1" if entry.score.startswith("CVSS:3.1") else "3.0"
            return CvssScore(score=float(cvss3.base_score), vector=entry.score, version=version)
        if entry.type == "CVSS_V4":
            cvss4 = CVSS4(entry.score)
            return CvssScore(score=float(cvss4.base_score), vector=entry.score, version="4.0")
    except CVSSError as error:
        log.warning("cvss_vector_invalid", vector=entry.score, reason=str(error))
        return None
    return None


def best_score(entries: Iterable[SeverityEntry], source_id: str) -> CvssScore | None:
    """Return the highest base score among entries, preferring v3.x on a tie.

    v3.x wins a tie because the store's class table is written against v3.x scores.
    """
    best: CvssScore | None = None
    for entry in entries:
        scored = score_entry(entry)
        if scored is None:
            continue
        scored = CvssScore(scored.score, scored.vector, scored.version, source_id)
        if best is None or _outranks(scored, best):
            best = scored
    return best


def group_score(scores: Iterable[CvssScore | None]) -> CvssScore | None:
    """Return the highest of the records' scores in one alias group."""
    best: CvssScore | None = None
    for scored in scores:
        if scored is None:
            continue
        if best is None or _outranks(scored, best):
            best = scored
    return best


def _outranks(candidate: CvssScore, current: CvssScore) -> bool:
    if candidate.score != current.score:
        return candidate.score > current.score
    candidate_v3 = candidate.version.startswith("3")
    current_v3 = current.version.startswith("3")
    if candidate_v3 != current_v3:
        return candidate_v3
    return candidate.source_id < current.source_id
