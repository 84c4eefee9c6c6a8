"""Continuous assessment: re-matching stored inventories after feed imports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.scanning.vulns.assessment import assess_image, reassess_packages
from services.scanning.vulns.feed_import import import_feed
from services.scanning.vulns.models import Finding
from services.scanning.vulns.osv import Feed
from tests.vulns.factories import inventory, osv_record, wheel, write_feed
from tests.vulns.test_feed_import import empty_database

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
AFFECTS_BELOW_7 = [{"introduced": "0"}, {"fixed": "7.0"}]


def first_feed() -> list[dict]:
    return [
        osv_record("PYSEC-9001-1", "PyPI", "jinja2", AFFECTS_BELOW_7, aliases=("CVE-9001-1",)),
        osv_record("PYSEC-9001-2", "PyPI", "flask", AFFECTS_BELOW_7),
        osv_record("PYSEC-9001-3", "PyPI", "unrelated", AFFECTS_BELOW_7),
    ]


def second_feed() -> list[dict]:
    records = first_feed()
    records[1]["withdrawn"] = "2026-01-06T00:00:00Z"
    records[1]["modified"] = "2026-01-06T00:00:00Z"
    records.append(osv_record("PYSEC-9001-4", "PyPI", "click", AFFECTS_BELOW_7))
    return records


async def test_feed_update_detects_and_resolves(session, tmp_path):
    await empty_database(session)
    folder = write_feed(tmp_path / "PyPI", first_feed())
    await import_feed(session, Feed("PyPI", str(folder)), now=NOW)
    image = inventory([wheel("Jinja2", "2.10"), wheel("Flask", "0.12.2"), wheel("click", "6.7")])
    first = await assess_image(session, image, now=NOW)

    write_feed(folder, second_feed())
    later = NOW + timedelta(days=1)
    report = await import_feed(session, Feed("PyPI", str(folder)), now=later)
    changes = await reassess_packages(session, report.changed_packages, now=later)

    assert sorted(f.vulnerability_id for f in first.detected) == ["PYSEC-9001-1", "PYSEC-9001-2"]
    assert (report.added, report.changed, report.withdrawn) == (1, 0, 1)
    assert report.changed_packages == {("PyPI", "click"), ("PyPI", "flask")}
    assert len(changes) == 1
    assert changes[0].image_id == image.image_id
    assert [f.vulnerability_id for f in changes[0].detected] == ["PYSEC-9001-4"]
    assert [f.vulnerability_id for f in changes[0].resolved] == ["PYSEC-9001-2"]
    assert changes[0].resolved[0].resolved_at == later

    # The same feed again changes nothing and re-matches nothing.
    again = await import_feed(session, Feed("PyPI", str(folder)), now=later)
    assert again.changed_packages == set()
    assert await reassess_packages(session, again.changed_packages, now=later) == []


async def test_reassess_only_images_with_package(session, tmp_path):
    await empty_database(session)
    folder = write_feed(tmp_path / "PyPI", first_feed())
    await import_feed(session, Feed("PyPI", str(folder)), now=NOW)
    with_click = inventory([wheel("click", "6.7")])
    without_click = inventory([wheel("Jinja2", "2.10")])
    await assess_image(session, with_click, now=NOW)
    await assess_image(session, without_click, now=NOW)

    write_feed(folder, second_feed())
    report = await import_feed(session, Feed("PyPI", str(folder)), now=NOW)
    changes = await reassess_packages(session, report.changed_packages, now=NOW)

    assert [change.image_id for change in changes] == [with_click.image_id]


async def test_new_alias_keeps_finding_open(session, tmp_path):
    await empty_database(session)
    folder = write_feed(tmp_path / "PyPI", first_feed())
    await import_feed(session, Feed("PyPI", str(folder)), now=NOW)
    image = inventory([wheel("Jinja2", "2.10")])
    await assess_image(session, image, now=NOW)

    # A GitHub record joins the group through the shared CVE id and brings a score.
    ghsa = osv_record(
        "GHSA-9001-0001-0001",
        "PyPI",
        "jinja2",
        AFFECTS_BELOW_7,
        aliases=("CVE-9001-1",),
        severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    )
    github = write_feed(tmp_path / "GHSA", [ghsa])
    report = await import_feed(session, Feed("GHSA", str(github)), now=NOW)
    changes = await reassess_packages(session, report.changed_packages, now=NOW)

    assert changes == []
    findings = (await session.execute(select(Finding).where(Finding.image_id == image.image_id))).scalars().all()
    assert len(findings) == 1
    assert findings[0].vulnerability_id == "PYSEC-9001-1"
    assert findings[0].cvss_score == 9.8
    assert findings[0].cvss_source == "GHSA-9001-0001-0001"
    assert findings[0].cvss_class == "critical"


async def test_rescan_without_package_resolves(session, tmp_path):
    await empty_database(session)
    folder = write_feed(tmp_path / "PyPI", first_feed())
    await import_feed(session, Feed("PyPI", str(folder)), now=NOW)
    image = inventory([wheel("Jinja2", "2.10")])
    await assess_image(session, image, now=NOW)

    upgraded = image.__class__(
        image.image_id, image.organization_id, image.reference, image.distro, (wheel("Jinja2", "7.0"),)
    )
    change = await assess_image(session, upgraded, now=NOW)

    assert change.detected == []
    assert [f.vulnerability_id for f in change.resolved] == ["PYSEC-9001-1"]
