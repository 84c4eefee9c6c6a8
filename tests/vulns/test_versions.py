"""Version ordering per ecosystem, on the cases scanners get wrong."""

from __future__ import annotations

import pytest

from services.scanning.vulns.versions import InvalidVersion, compare, normalize_go_version


def test_debian_epoch_outranks_upstream():
    # An epoch is bumped when upstream numbering goes backwards: 1:1.0 is newer than 2.0.
    assert compare("Debian:12", "1:1.0-1", "2.0-1") > 0
    assert compare("Debian:12", "0:2.0-1", "2.0-1") == 0


def test_debian_tilde_sorts_before_release():
    assert compare("Debian:12", "3.0.11-1~deb12u1", "3.0.11-1") < 0
    assert compare("Debian:12", "1.0~rc1-1", "1.0-1") < 0
    assert compare("Debian:12", "1.0~~a", "1.0~a") < 0


def test_debian_revision_compared_after_upstream():
    assert compare("Debian:12", "3.0.11-1+deb12u2", "3.0.11-1+deb12u1") > 0
    assert compare("Debian:12", "3.0.11-10", "3.0.11-9") > 0
    assert compare("Ubuntu:22.04:LTS", "2.35-0ubuntu3.6", "2.35-0ubuntu3.10") < 0


def test_alpine_revision_numeric():
    assert compare("Alpine:v3.20", "3.3.1-r9", "3.3.1-r10") < 0
    assert compare("Alpine:v3.20", "3.3.1-r0", "3.3.1") == 0


def test_alpine_p_after_release_rc_before():
    assert compare("Alpine:v3.20", "9.7_p1-r0", "9.7-r5") > 0
    assert compare("Alpine:v3.20", "1.2.3_rc1-r3", "1.2.3-r0") < 0
    assert compare("Alpine:v3.20", "1.2.3_alpha1", "1.2.3_beta1") < 0
    assert compare("Alpine:v3.20", "1.36.1-r5", "1.36.1_git20240101-r0") < 0
    assert compare("Alpine:v3.20", "3.0.15-r0", "3.0.2-r0") > 0


def test_pep440_prereleases_before_release():
    assert compare("PyPI", "2.0.0rc1", "2.0.0") < 0
    assert compare("PyPI", "2.0.0.dev1", "2.0.0a1") < 0
    assert compare("PyPI", "2.0.0", "2.0.0.post1") < 0
    assert compare("PyPI", "1.0+ubuntu1", "1.0") > 0
    assert compare("PyPI", "2.10", "2.9") > 0
    assert compare("PyPI", "1.0", "1.0.0") == 0


def test_pep440_rejects_legacy_version():
    with pytest.raises(InvalidVersion):
        compare("PyPI", "1.0-not-pep440!", "1.0")


def test_semver_leading_v_and_prereleases():
    assert compare("Go", "v1.2.3", "1.2.3") == 0
    assert compare("npm", "1.0.0-alpha.1", "1.0.0-alpha.beta") < 0
    assert compare("npm", "1.0.0-2", "1.0.0-10") < 0
    assert compare("npm", "1.0.0-rc.1", "1.0.0") < 0
    assert compare("Go", "2.0.0+incompatible", "2.0.0") == 0


def test_go_pseudo_versions_ordered():
    # A pseudo-version is a pre-release of the next patch, ordered by its timestamp.
    assert compare("Go", "0.0.0-20220722155237-a158d28d115b", "0.0.0-20220906165146-f3363e06e74c") < 0
    assert compare("Go", "0.0.0-20220906165146-f3363e06e74c", "0.1.0") < 0
    assert compare("Go", "1.2.4-0.20220101000000-abcdefabcdef", "1.2.3") > 0


def test_go_stdlib_versions_normalised():
    assert normalize_go_version("stdlib", "go1.21.3") == "1.21.3"
    assert normalize_go_version("stdlib", "go1.21") == "1.21.0"
    assert normalize_go_version("stdlib", "go1.21rc2") == "1.21.0-rc.2"
    assert normalize_go_version("golang.org/x/net", "v0.17.0") == "0.17.0"
    # The release candidate of 1.19.0 sorts after the "1.19.0-0" floor Go advisories use.
    assert compare("Go", normalize_go_version("stdlib", "go1.19rc1"), "1.19.0-0") > 0


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1.0", "1.0.0", 0),
        ("1.0-alpha-1", "1.0", -1),
        ("1.0-SNAPSHOT", "1.0", -1),
        ("1.0-rc1", "1.0-cr1", 0),
        ("1.0-m1", "1.0-alpha1", 1),
        ("1.0a1", "1.0-alpha-1", 0),
        ("2.0.0.Final", "2.0.0", 0),
        ("5.3.0.RELEASE", "5.3.0", 0),
        ("1.0-sp1", "1.0", 1),
        ("1.0-xyz", "1.0-sp", 1),
        ("1.0.1", "1.0-1", 1),
        ("2.17.0", "2.17.0-rc1", 1),
    ],
)
def test_maven_ordering(left, right, expected):
    assert compare("Maven", left, right) == expected
