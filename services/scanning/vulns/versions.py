"""Version ordering for each package ecosystem that OSV advisories are written against.

Every ordering turns a version string into a key that Python compares with `<` and `==`.
Keys of one ecosystem compare with each other only. A string that the ecosystem does not
accept raises `InvalidVersion`, so the caller decides what an unreadable bound means.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache, total_ordering
from typing import Any

from debian.debian_support import Version as DebianVersion
from packaging.version import InvalidVersion as PackagingInvalidVersion
from packaging.version import Version as Pep440Version


class InvalidVersion(ValueError):
    """A version string that the ecosystem's ordering cannot read."""

    def __init__(self, ecosystem: str, version: str, reason: str) -> None:
        super().__init__(f"invalid {ecosystem} version {version!r}: {reason}")
        self.ecosystem = ecosystem
        self.version = version
        self.reason = reason


# ---------------------------------------------------------------------------
# Debian and Ubuntu


def debian_key(version: str) -> Any:
    """Order Debian and Ubuntu versions as dpkg does: epoch, upstream with `~`, revision."""
    try:
        return DebianVersion(version.strip())
    except ValueError as error:
        raise InvalidVersion("Debian", version, str(error)) from error


# ---------------------------------------------------------------------------
# PyPI


def pep440_key(version: str) -> Pep440Version:
    """Order PyPI versions by PEP 440 (pre-, post-, dev-releases, local versions)."""
    try:
        return Pep440Version(version)
    except PackagingInvalidVersion as error:
        raise InvalidVersion("PyPI", version, "not a PEP 440 version") from error


# ---------------------------------------------------------------------------
# Semantic versioning (npm, Go)

_SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)"
    r"(?:\.(?P<minor>0|[1-9]\d*))?"
    r"(?:\.(?P<patch>0|[1-9]\d*))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)

# A release sorts after every pre-release of the same major.minor.patch.
_RELEASE = (1,)


def semver_key(version: str) -> tuple:
    """Order versions by Semantic Versioning 2.0.0 precedence.

    A leading `v` is accepted (Go writes it, npm tolerates it) and build metadata such
    as Go's `+incompatible` does not take part in the order. A missing minor or patch
    number counts as 0, which Go toolchain versions such as `1.21` need.
    """
    match = _SEMVER.match(version.strip())
    if match is None:
        raise InvalidVersion("SemVer", version, "expected MAJOR.MINOR.PATCH[-PRERELEASE]")

    major = int(match["major"])
    minor = int(match["minor"] or 0)
    patch = int(match["patch"] or 0)

    prerelease = match["pre"]
    if prerelease is None:
        return (major, minor, patch, _RELEASE)

    # Numeric identifiers sort before alphanumeric ones, and numerically among themselves.
    identifiers = []
    for part in prerelease.split("."):
        if part.isdigit():
            identifiers.append((0, int(part), ""))
        else:
            identifiers.append((1, 0, part))
    return (major, minor, patch, (0, tuple(identifiers)))


_GO_TOOLCHAIN = re.compile(
    r"^go(?P<release>\d+(?:\.\d+){0,2})(?:(?P<kind>beta|rc)(?P<number>\d+))?$"
)


def normalize_go_version(module: str, version: str) -> str:
    """Rewrite a Go version the way the Go vulnerability database spells it.

    Module versions lose their leading `v`. The standard library (module `stdlib`, and the
    `toolchain` pseudo-module) is versioned by Go releases: `go1.21.3` becomes `1.21.3`,
    `go1.21` becomes `1.21.0`, and `go1.21rc2` becomes `1.21.0-rc.2`.
    """
    version = version.strip()
    if module in ("stdlib", "toolchain"):
        match = _GO_TOOLCHAIN.match(version if version.startswith("go") else "go" + version)
        if match is not None:
            parts = match["release"].split(".")
            while len(parts) < 3:
                parts.append("0")
            release = ".".join(parts)
            if match["kind"]:
                return f"{release}-{match['kind']}.{match['number']}"
            return release
    if version.startswith("v"):
        return version[1:]
    return version


# ---------------------------------------------------------------------------
# Alpine (apk)

# apk suffixes: the first four sort before the plain version, the rest after it.
_ALPINE_SUFFIX_RANK = {
    "alpha": 0,
    "beta": 1,
    "pre": 2,
    "rc": 3,
    "cvs": 5,
    "svn": 6,
    "git": 7,
    "hg": 8,
    "p": 9,
}
_ALPINE_NO_SUFFIX = (4, 0)
_ALPINE = re.compile(
    r"^(?P<numbers>\d+(?:\.\d+)*)"
    r"(?P<letter>[a-z])?"
    r"(?P<suffixes>(?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*)"
    r"(?:~(?P<hash>[0-9a-f]+))?"
    r"(?:-r(?P<revision>\d+))?$"
)
_ALPINE_SUFFIX = re.compile(r"_(alpha|beta|pre|rc|cvs|svn|git|hg|p)(\d*)")


def alpine_key(version: str) -> tuple:
    """Order Alpine package versions as apk does: numbers, a letter, suffixes, `-rN`.

    `_alpha`, `_beta`, `_pre` and `_rc` come before the plain version; `_cvs`, `_svn`,
    `_git`, `_hg` and `_p` come after it. The `~hash` part does not take part.
    """
    match = _ALPINE.match(version.strip())
    if match is None:
        raise InvalidVersion("Alpine", version, "expected NUMBERS[letter][_suffixN][-rN]")

    # NOTE: apk compares a non-first number with a leading zero as a decimal fraction
    # ("1.01" < "1.1"); this ordering compares it as an integer.
    numbers = tuple(int(part) for part in match["numbers"].split("."))
    letter = match["letter"] or ""

    suffixes = []
    for name, number in _ALPINE_SUFFIX.findall(match["suffixes"] or ""):
        suffixes.append((_ALPINE_SUFFIX_RANK[name], int(number or 0)))
    suffixes.append(_ALPINE_NO_SUFFIX)

    revision = int(match["revision"] or 0)
    return (numbers, letter, tuple(suffixes), revision)


# ---------------------------------------------------------------------------
# Maven

# The order of known qualifiers in Maven's ComparableVersion; "" is the release itself.
_MAVEN_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_MAVEN_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_MAVEN_RELEASE_INDEX = str(_MAVEN_QUALIFIERS.index(""))


def _maven_qualifier_rank(qualifier: str) -> str:
    # Unknown qualifiers sort after all known ones, then alphabetically.
    if qualifier in _MAVEN_QUALIFIERS:
        return str(_MAVEN_QUALIFIERS.index(qualifier))
    return f"{len(_MAVEN_QUALIFIERS)}-{qualifier}"


class _MavenInt:
    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    def is_null(self) -> bool:
        return self.value == 0

    def compare(self, other: Any) -> int:
        if other is None:
            return 0 if self.value == 0 else 1
        if isinstance(other, _MavenInt):
            return (self.value > other.value) - (self.value < other.value)
        return 1  # a number is newer than a qualifier or a sub-list


class _MavenString:
    __slots__ = ("value",)

    def __init__(self, value: str, followed_by_digit: bool) -> None:
        if followed_by_digit and len(value) == 1:
            value = {"a": "alpha", "b": "beta", "m": "milestone"}.get(value, value)
        self.value = _MAVEN_ALIASES.get(value, value)

    def is_null(self) -> bool:
        return self.value == ""

    def compare(self, other: Any) -> int:
        mine = _maven_qualifier_rank(self.value)
        if other is None:
            return (mine > _MAVEN_RELEASE_INDEX) - (mine < _MAVEN_RELEASE_INDEX)
        if isinstance(other, _MavenString):
            theirs = _maven_qualifier_rank(other.value)
            return (mine > theirs) - (mine < theirs)
        return -1  # a qualifier is older than a number or a sub-list


class _MavenList(list):
    def is_null(self) -> bool:
        return len(self) == 0

    def normalize(self) -> None:
        # Trailing zeros, empty qualifiers and empty lists carry no meaning: 1.0.0 == 1.
        for index in range(len(self) - 1, -1, -1):
            item = self[index]
            if item.is_null():
                del self[index]
            elif not isinstance(item, _MavenList):
                break

    def compare(self, other: Any) -> int:
        if other is None:
            for item in self:
                result = item.compare(None)
                if result != 0:
                    return result
            return 0
        if isinstance(other, _MavenInt):
            return -1
        if isinstance(other, _MavenString):
            return 1
        for index in range(max(len(self), len(other))):
            left = self[index] if index < len(self) else None
            right = other[index] if index < len(other) else None
            if left is None:
                result = -right.compare(None)
            else:
                result = left.compare(right)
            if result != 0:
                return result
        return 0


def _parse_maven(version: str) -> _MavenList:
    text = version.strip().lower()
    root = current = _MavenList()
    stack = [root]
    is_digit = False
    start = 0

    def item(buffer: str, digit: bool, followed_by_digit: bool = False) -> Any:
        if digit:
            return _MavenInt(int(buffer))
        return _MavenString(buffer, followed_by_digit)

    for index, char in enumerate(text):
        if char in ".-":
            if index == start:
                current.append(_MavenInt(0))
            else:
                current.append(item(text[start:index], is_digit))
            start = index + 1
            if char == "-":
                current.append(sub := _MavenList())
                current = sub
                stack.append(current)
        elif char.isdigit():
            if not is_digit and index > start:
                # A qualifier followed by a number, as in "rc1", opens a sub-list.
                current.append(item(text[start:index], False, followed_by_digit=True))
                start = index
                current.append(sub := _MavenList())
                current = sub
                stack.append(current)
            is_digit = True
        else:
            if is_digit and index > start:
                current.append(item(text[start:index], True))
                start = index
                current.append(sub := _MavenList())
                current = sub
                stack.append(current)
            is_digit = False

    if len(text) > start:
        current.append(item(text[start:], is_digit))

    while stack:
        stack.pop().normalize()
    return root


@total_ordering
class MavenVersion:
    """A Maven version ordered as Maven 3.9's ComparableVersion orders it."""

    __slots__ = ("text", "_items")

    def __init__(self, version: str) -> None:
        if not version.strip():
            raise InvalidVersion("Maven", version, "empty version")
        self.text = version
        self._items = _parse_maven(version)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MavenVersion):
            return NotImplemented
        return self._items.compare(other._items) == 0

    def __lt__(self, other: MavenVersion) -> bool:
        return self._items.compare(other._items) < 0

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"MavenVersion({self.text!r})"


def maven_key(version: str) -> MavenVersion:
    """Order Maven versions by Maven's ComparableVersion rules."""
    return MavenVersion(version)


# ---------------------------------------------------------------------------
# Dispatch

_KEYS: dict[str, Callable[[str], Any]] = {
    "Debian": debian_key,
    "Ubuntu": debian_key,
    "Alpine": alpine_key,
    "PyPI": pep440_key,
    "npm": semver_key,
    "Go": semver_key,
    "Maven": maven_key,
    "SEMVER": semver_key,
}


def base_ecosystem(ecosystem: str) -> str:
    """Strip an OSV ecosystem's release suffix: `Debian:12` is `Debian`."""
    return ecosystem.split(":", 1)[0]


def supports(ecosystem: str) -> bool:
    """Tell whether versions of this OSV ecosystem can be ordered."""
    return base_ecosystem(ecosystem) in _KEYS


@lru_cache(maxsize=65536)
def version_key(ecosystem: str, version: str) -> Any:
    """Return the sort key of a version in an OSV ecosystem, or in `SEMVER` ranges.

    Raises `InvalidVersion` when the string is not a version of that ecosystem, or
    when the ecosystem has no ordering here.
    """
    key = _KEYS.get(base_ecosystem(ecosystem))
    if key is None:
        raise InvalidVersion(ecosystem, version, "no version ordering for this ecosystem")
    return key(version)


def compare(ecosystem: str, left: str, right: str) -> int:
    """Compare two versions of an ecosystem: negative, zero or positive."""
    left_key = version_key(ecosystem, left)
    right_key = version_key(ecosystem, right)
    if left_key < right_key:
        return -1
    if left_key == right_key:
        return 0
    return 1
