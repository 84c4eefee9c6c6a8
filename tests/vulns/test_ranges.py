"""The OSV range walk, one rule per test."""

from __future__ import annotations

from services.scanning.vulns.osv import AffectedPackage, Event, VersionRange
from services.scanning.vulns.ranges import evaluate


def affected(ecosystem, *ranges, versions=(), range_type="ECOSYSTEM"):
    built = tuple(
        VersionRange(range_type, tuple(Event(kind, version) for kind, version in events))
        for events in ranges
    )
    return AffectedPackage(ecosystem, "package", built, tuple(versions), ())


def test_several_pairs_in_one_range():
    # Written out of order, as PYSEC-2023-192 for urllib3 is: events are sorted first.
    entry = affected(
        "PyPI",
        [("introduced", "2.0.0"), ("fixed", "2.0.6"), ("introduced", "0"), ("fixed", "1.26.17")],
    )

    assert evaluate(entry, "1.24.1").affected
    assert evaluate(entry, "1.24.1").fixed == "1.26.17"
    assert not evaluate(entry, "1.26.17").affected
    assert evaluate(entry, "2.0.5").fixed == "2.0.6"
    assert not evaluate(entry, "2.0.6").affected
    assert not evaluate(entry, "2.1.0").affected


def test_introduced_only_affects_later_versions():
    entry = affected("Go", [("introduced", "1.4.0")], range_type="SEMVER")

    assert not evaluate(entry, "1.3.9").affected
    assert evaluate(entry, "1.4.0").affected
    assert evaluate(entry, "99.0.0").affected
    assert evaluate(entry, "99.0.0").fixed is None


def test_last_affected_includes_bound():
    entry = affected("PyPI", [("introduced", "1.0"), ("last_affected", "1.5")])

    assert evaluate(entry, "1.5").affected
    assert evaluate(entry, "1.5").fixed is None
    assert not evaluate(entry, "1.5.post1").affected


def test_limit_caps_range():
    entry = affected("PyPI", [("introduced", "0"), ("limit", "2.0")])

    assert evaluate(entry, "1.9").affected
    assert not evaluate(entry, "2.0").affected


def test_explicit_versions_list():
    entry = affected("PyPI", versions=("1.0", "1.1"))

    assert evaluate(entry, "1.1").affected
    assert evaluate(entry, "1.1.0").affected  # equal under PEP 440
    assert not evaluate(entry, "1.2").affected


def test_git_ranges_not_walked():
    entry = affected("PyPI", [("introduced", "0"), ("fixed", "deadbeef")], range_type="GIT")

    assert not evaluate(entry, "1.0").affected


def test_unreadable_bound_skips_range_only():
    entry = affected("PyPI", [("introduced", "0"), ("fixed", "not a version")], versions=("1.0",))

    assert evaluate(entry, "1.0").affected
    assert not evaluate(entry, "1.1").affected


def test_fix_at_same_version_as_introduction():
    entry = affected("PyPI", [("introduced", "1.0"), ("fixed", "1.0")])

    assert not evaluate(entry, "1.0").affected
