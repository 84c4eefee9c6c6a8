"""Matching inventories against the real feeds and against small feeds made for one rule."""

from __future__ import annotations

from services.scanning.components import Distro, Ecosystem
from services.scanning.vulns.feed_import import import_feed
from services.scanning.vulns.matching import match_inventory
from services.scanning.vulns.osv import Feed
from tests.vulns.factories import (
    APP_LAYER,
    BASE_LAYER,
    BOOKWORM,
    apk,
    deb,
    go_module,
    osv_record,
    wheel,
    write_feed,
)

# The Python distributions of the real test image, with the versions its wheels carry.
REAL_WHEELS = [
    ("Jinja2", "2.10"),
    ("urllib3", "1.24.1"),
    ("requests", "2.19.1"),
    ("Werkzeug", "0.15.3"),
    ("Flask", "0.12.2"),
    ("idna", "2.7"),
    ("certifi", "2018.8.24"),
    ("itsdangerous", "0.24"),
    ("click", "6.7"),
]

# Every advisory of the PyPI feed whose ECOSYSTEM ranges contain the installed version.
EXPECTED_PYPI = {
    # jinja2 2.10: PYSEC-2019-217 is fixed in 2.10.1 and PYSEC-2021-66 in 2.11.3. Older
    # ones stop before it (PYSEC-2014-8 at 2.7.2, PYSEC-2019-220 at 2.8.1).
    ("jinja2", "PYSEC-2019-217"),
    ("jinja2", "PYSEC-2021-66"),
    # urllib3 1.24.1: PYSEC-2023-192 lists "introduced 2.0.0, fixed 2.0.6, introduced 0,
    # fixed 1.26.17" out of order; sorted, 1.24.1 lies in [0, 1.26.17). PYSEC-2020-149
    # starts at 1.25.2 and PYSEC-2021-59 at 1.26.0, so neither applies.
    ("urllib3", "PYSEC-2019-132"),
    ("urllib3", "PYSEC-2019-133"),
    ("urllib3", "PYSEC-2020-148"),
    ("urllib3", "PYSEC-2021-108"),
    ("urllib3", "PYSEC-2023-192"),
    ("urllib3", "PYSEC-2023-207"),
    ("urllib3", "PYSEC-2023-212"),
    # requests 2.19.1: PYSEC-2015-17 covers only [2.1.0, 2.6.0).
    ("requests", "PYSEC-2018-28"),
    ("requests", "PYSEC-2023-74"),
    # werkzeug 0.15.3 is exactly the fix of PYSEC-2019-140, so that one does not apply.
    ("werkzeug", "PYSEC-2022-203"),
    ("werkzeug", "PYSEC-2023-221"),
    ("werkzeug", "PYSEC-2023-57"),
    ("werkzeug", "PYSEC-2023-58"),
    ("flask", "PYSEC-2018-66"),
    ("flask", "PYSEC-2019-179"),
    ("flask", "PYSEC-2023-62"),
    ("idna", "PYSEC-2024-60"),
    ("certifi", "PYSEC-2022-42986"),
    ("certifi", "PYSEC-2023-135"),
    # itsdangerous 0.24 and click 6.7 have no advisory in the feed.
}

EXPECTED_GO = {
    ("golang.org/x/text", "GO-2021-0113"),
    ("golang.org/x/text", "GO-2022-1059"),
    ("golang.org/x/text", "GO-2026-5970"),
}


def real_components():
    components = [wheel(name, version) for name, version in REAL_WHEELS]
    components.append(go_module("golang.org/x/text", "v0.3.5"))
    return components


async def test_real_image_findings_exact(db):
    matches = await match_inventory(db, real_components(), BOOKWORM)

    found = {(match.package.package, match.vulnerability_id) for match in matches}
    assert found == EXPECTED_PYPI | EXPECTED_GO
    assert len(matches) == len(found)  # one finding per alias group, not per record


async def test_cvss_from_ghsa_alias(db):
    matches = await match_inventory(db, [wheel("Jinja2", "2.10")], BOOKWORM)
    by_id = {match.vulnerability_id: match for match in matches}

    # PYSEC-2019-217 has no severity of its own; its GitHub alias carries CVSS 3.0 8.6.
    finding = by_id["PYSEC-2019-217"]
    assert finding.score.source_id == "GHSA-462w-v97r-4m45"
    assert finding.score.score == 8.6
    assert finding.score.vector == "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:N"
    assert finding.finding_class == "critical"
    assert finding.fixed_version == "2.10.1"
    assert {"GHSA-462w-v97r-4m45", "CVE-2019-10906"} <= set(finding.aliases)

    assert by_id["PYSEC-2021-66"].score.score == 5.3
    assert by_id["PYSEC-2021-66"].finding_class == "major"


async def test_textual_severity_kept_unscored(db):
    matches = await match_inventory(db, [wheel("Werkzeug", "0.15.3")], BOOKWORM)
    by_id = {match.vulnerability_id: match for match in matches}

    minor = by_id["PYSEC-2023-57"]
    assert minor.score.score == 2.6
    assert minor.finding_class == "minor"
    assert minor.severity_text == "LOW"
    # PYSEC-2022-203 has neither a vector nor a scored alias in these feeds.
    assert by_id["PYSEC-2022-203"].score is None
    assert by_id["PYSEC-2022-203"].finding_class == "unclassified"


async def test_go_findings_unclassified(db):
    matches = await match_inventory(db, [go_module("golang.org/x/text", "v0.3.5")], None)

    assert len(matches) == 3
    for match in matches:
        assert match.score is None
        assert match.finding_class == "unclassified"
    fixes = {match.vulnerability_id: match.fixed_version for match in matches}
    assert fixes["GO-2021-0113"] == "0.3.7"


async def test_go_pseudo_version_matched(db):
    # GO-2022-0969 fixes golang.org/x/net at pseudo-version 0.0.0-20220906165146-f3363e06e74c.
    before = go_module("golang.org/x/net", "v0.0.0-20220722155237-a158d28d115b")
    at_fix = go_module("golang.org/x/net", "v0.0.0-20220906165146-f3363e06e74c")

    before_ids = {m.vulnerability_id for m in await match_inventory(db, [before], None)}
    at_fix_ids = {m.vulnerability_id for m in await match_inventory(db, [at_fix], None)}

    assert "GO-2022-0969" in before_ids
    assert "GO-2022-0969" not in at_fix_ids


async def test_go_stdlib_own_module(db):
    # GO-2022-0969 affects stdlib in [0, 1.18.6) and [1.19.0-0, 1.19.1).
    affected = await match_inventory(db, [go_module("stdlib", "go1.19")], None)
    fixed = await match_inventory(db, [go_module("stdlib", "go1.19.1")], None)

    assert "GO-2022-0969" in {match.vulnerability_id for match in affected}
    assert "GO-2022-0969" not in {match.vulnerability_id for match in fixed}


async def import_records(session, tmp_path, records):
    folder = write_feed(tmp_path / "feed", records)
    return await import_feed(session, Feed("rules", str(folder)), full_export=False)


async def test_source_package_matched_in_release(session, tmp_path):
    await import_records(
        session,
        tmp_path,
        [
            osv_record(
                "DSA-9999-1",
                "Debian:12",
                "openssl",
                [{"introduced": "0"}, {"fixed": "3.0.14-1~deb12u1"}],
            )
        ],
    )
    libssl = deb("libssl3", "3.0.11-1~deb12u2", source="openssl", source_version="3.0.11-1~deb12u2")

    in_bookworm = await match_inventory(session, [libssl], BOOKWORM)
    in_bullseye = await match_inventory(session, [libssl], Distro("debian", "11"))
    without_source = await match_inventory(session, [deb("openssl", "3.0.14-1~deb12u1")], BOOKWORM)

    assert [m.vulnerability_id for m in in_bookworm] == ["DSA-9999-1"]
    assert in_bookworm[0].package.component_name == "libssl3"
    assert in_bookworm[0].package.package == "openssl"
    assert in_bookworm[0].fixed_version == "3.0.14-1~deb12u1"
    assert in_bullseye == []
    assert without_source == []


async def test_debian_epoch_in_range(session, tmp_path):
    await import_records(
        session,
        tmp_path,
        [osv_record("DSA-9999-2", "Debian:12", "shadow", [{"introduced": "0"}, {"fixed": "1:4.13+dfsg1-1"}])],
    )

    # Without the epoch, 4.13+dfsg1-2 is older than 1:4.13+dfsg1-1.
    old = deb("passwd", "4.13+dfsg1-2", source="shadow", source_version="4.13+dfsg1-2")
    new = deb("passwd", "1:4.13+dfsg1-1", source="shadow", source_version="1:4.13+dfsg1-1")

    assert len(await match_inventory(session, [old], BOOKWORM)) == 1
    assert await match_inventory(session, [new], BOOKWORM) == []


async def test_ubuntu_tilde_backport(session, tmp_path):
    await import_records(
        session,
        tmp_path,
        [osv_record("USN-9999-1", "Ubuntu:22.04:LTS", "glibc", [{"introduced": "0"}, {"fixed": "2.35-0ubuntu3.8"}])],
    )
    jammy = Distro("ubuntu", "22.04")

    vulnerable = deb("libc6", "2.35-0ubuntu3.7", "glibc", "2.35-0ubuntu3.7", ecosystem=Ecosystem.UBUNTU)
    patched = deb("libc6", "2.35-0ubuntu3.8", "glibc", "2.35-0ubuntu3.8", ecosystem=Ecosystem.UBUNTU)

    assert len(await match_inventory(session, [vulnerable], jammy)) == 1
    assert await match_inventory(session, [patched], jammy) == []


async def test_alpine_revision_fix(session, tmp_path):
    await import_records(
        session,
        tmp_path,
        [osv_record("ALPINE-CVE-9999-1", "Alpine:v3.20", "openssl", [{"introduced": "0"}, {"fixed": "3.3.1-r10"}])],
    )
    alpine = Distro("alpine", "3.20.3")

    vulnerable = apk("libcrypto3", "3.3.1-r9", origin="openssl")
    patched = apk("libcrypto3", "3.3.1-r10", origin="openssl")

    assert len(await match_inventory(session, [vulnerable], alpine)) == 1
    assert await match_inventory(session, [patched], alpine) == []
    assert await match_inventory(session, [vulnerable], Distro("alpine", "3.19.1")) == []


async def test_pep440_prerelease_in_range(session, tmp_path):
    await import_records(
        session,
        tmp_path,
        [osv_record("PYSEC-9999-1", "PyPI", "Demo_Package", [{"introduced": "2.0.0a1"}, {"fixed": "2.0.0"}])],
    )

    components = [wheel("demo.package", v) for v in ("1.9", "2.0.0a1", "2.0.0rc2", "2.0.0")]
    matches = await match_inventory(session, components, None)

    # The record spells the name "Demo_Package"; both spellings normalise to "demo-package".
    assert {match.package.version for match in matches} == {"2.0.0a1", "2.0.0rc2"}


async def test_withdrawn_record_ignored(session, tmp_path):
    events = [{"introduced": "0"}, {"fixed": "2.0"}]
    await import_records(
        session,
        tmp_path,
        [
            osv_record("PYSEC-9999-3", "PyPI", "demo", events),
            osv_record("PYSEC-9999-4", "PyPI", "demo", events, withdrawn="2024-03-01T00:00:00Z"),
        ],
    )

    matches = await match_inventory(session, [wheel("demo", "1.0")], None)

    assert [match.vulnerability_id for match in matches] == ["PYSEC-9999-3"]


async def test_same_package_two_layers_lowest(session, tmp_path):
    await import_records(
        session,
        tmp_path,
        [osv_record("PYSEC-9999-2", "PyPI", "demo", [{"introduced": "0"}, {"fixed": "2.0"}])],
    )

    matches = await match_inventory(
        session, [wheel("demo", "1.0", layer=APP_LAYER), wheel("demo", "1.0", layer=BASE_LAYER)], None
    )

    assert len(matches) == 1
    assert matches[0].package.layer_index == BASE_LAYER.index
