"""The store's class table, staff decisions and the scan summary."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.scanning.vulns.aliases import build_groups, score_entry
from services.scanning.vulns.assessment import assess_image
from services.scanning.vulns.classification import (
    FindingClass,
    InvalidDecision,
    class_for_score,
    classify_finding,
    effective_class,
    summarize,
    waive_finding,
    waivers_in_force,
)
from services.scanning.vulns.models import Finding
from services.scanning.vulns.osv import SeverityEntry
from tests.vulns.factories import go_module, inventory

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
STAFF = uuid.uuid4()


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (10.0, FindingClass.CRITICAL),
        (7.0, FindingClass.CRITICAL),
        (6.9, FindingClass.MAJOR),
        (4.0, FindingClass.MAJOR),
        (3.9, FindingClass.MINOR),
        (0.1, FindingClass.MINOR),
        (0.0, FindingClass.UNCLASSIFIED),
        (None, FindingClass.UNCLASSIFIED),
    ],
)
def test_class_table(score, expected):
    assert class_for_score(score) == expected


def test_cvss_v4_scored():
    entry = SeverityEntry("CVSS_V4", "CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N")

    assert score_entry(entry).score == 6.9
    assert score_entry(entry).version == "4.0"


def test_invalid_vector_unscored():
    assert score_entry(SeverityEntry("CVSS_V3", "CVSS:3.1/AV:N")) is None
    assert score_entry(SeverityEntry("Ubuntu", "high")) is None


def test_alias_groups_join_transitively():
    groups = build_groups(
        [
            ("PYSEC-1", ["CVE-1", "GHSA-a"]),
            ("GHSA-b", ["CVE-1"]),
            ("GO-1", ["CVE-2"]),
        ]
    )

    assert groups.find("GHSA-b") == groups.find("PYSEC-1")
    assert groups.find("GO-1") != groups.find("PYSEC-1")


async def go_findings(db) -> list[Finding]:
    image = inventory([go_module("golang.org/x/text", "v0.3.5")], distro=None)
    change = await assess_image(db, image, now=NOW)
    return change.detected


async def test_staff_class_overrides_unscored(db):
    finding = (await go_findings(db))[0]

    await classify_finding(
        db, finding.id, finding_class="critical", reason="exploited in the wild", staff_id=STAFF, now=NOW
    )

    assert finding.cvss_class == "unclassified"
    assert effective_class(finding) == FindingClass.CRITICAL


async def test_classification_needs_known_class(db):
    finding = (await go_findings(db))[0]

    with pytest.raises(InvalidDecision) as error:
        await classify_finding(db, finding.id, finding_class="unclassified", reason="x", staff_id=STAFF, now=NOW)

    assert error.value.field_name == "class"


async def test_waiver_expires(db):
    findings = await go_findings(db)
    waived = findings[0]

    await waive_finding(
        db,
        waived.id,
        kind="false_positive",
        reason="the vulnerable package is not linked in",
        staff_id=STAFF,
        now=NOW,
        expires_at=NOW + timedelta(days=7),
    )
    during = await waivers_in_force(db, [f.id for f in findings], NOW + timedelta(days=1))
    after = await waivers_in_force(db, [f.id for f in findings], NOW + timedelta(days=8))

    assert set(during) == {waived.id}
    assert after == {}


async def test_summary_counts_open_unwaived(db):
    findings = await go_findings(db)
    await classify_finding(db, findings[1].id, finding_class="major", reason="DoS", staff_id=STAFF, now=NOW)
    stored = (await db.execute(select(Finding).where(Finding.id.in_([f.id for f in findings])))).scalars().all()

    summary = summarize(stored, waived_ids=[findings[0].id])

    assert summary.waived == 1
    assert summary.counts["major"] == 1
    assert summary.counts["unclassified"] == 1
    assert summary.highest_score is None
    assert summary.fixes_available
