"""Scan Wharf's own images with Wharf's scanner: best-practice checks and known vulnerabilities.

    python deploy/images/dogfood.py --registry http://127.0.0.1:5000 --version 0.1.0 SERVICE...

Each image `wharf/<service>:<version>` is pulled from the registry by the scanner's own
registry client and inventoried; every best-practice check must pass. Its components are
matched against the OSV feeds (`--feeds`, else the scanning service's feed folder:
WHARF_SCANNING_OSV_FEED_DIR, by default ../shared/data/osv beside the checkout) in a
scratch database, and the Critical and Major
findings are written to a Markdown report. Exit status: 0 when every check passed, 1 when
a check failed, 3 when the scanner is not in this checkout.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPOSITORY))

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/wharf_dogfood"
REPORTED_CLASSES = ("critical", "major")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", required=True, help="base URL of the registry holding the images")
    parser.add_argument("--version", required=True, help="tag of the images")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="scratch database, recreated on each run")
    parser.add_argument("--feeds", help="folder or .zip of OSV feeds; default: the scanning service's feed folder")
    parser.add_argument("--report", type=Path, default=REPOSITORY / "deploy" / "images" / "dogfood-report.md")
    parser.add_argument("services", nargs="+")
    args = parser.parse_args(argv)

    try:
        from services.scanning.inventory.registry import RegistryClient
        from services.scanning.inventory.scanner import Scanner
    except ImportError as error:
        print(
            f"The image scanner (services/scanning/inventory) is not in this checkout ({error}). "
            f"The images are built and pushed to {args.registry}, but not scanned.",
            file=sys.stderr,
        )
        return 3

    scans = {}
    with RegistryClient(args.registry) as registry:
        scanner = Scanner(registry=registry)
        for service in args.services:
            (scan,) = scanner.scan_reference(f"{registry.host}/wharf/{service}:{args.version}")
            scans[service] = scan

    findings = asyncio.run(match_vulnerabilities(scans, args.database_url, args.feeds))
    failed = [(service, check) for service, scan in scans.items() for check in scan.checks if not check.passed]

    args.report.write_text(report(scans, findings, args.version))
    for service, scan in scans.items():
        totals = scan.totals
        print(f"{service}: {totals['components']} components, {totals['layers']} layers, {totals['checks_failed']} checks failed")
    for service, check in failed:
        print(f"FAILED {service}: {check.id} ({check.level}): {check.detail}; {check.suggestion}", file=sys.stderr)
    print(f"Report: {args.report}")
    return 1 if failed else 0


async def match_vulnerabilities(scans: dict, database_url: str, feed_location: str | None) -> dict[str, list]:
    """Import the OSV feeds into a scratch scanning database and match every image."""
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from services.scanning.app import SPEC
    from services.scanning.vulns.assessment import ImageInventory
    from services.scanning.vulns.osv import configured_feeds, discover_feeds
    from services.scanning.vulns.service import assess_inventory, import_feeds
    from shared.db import ensure_database
    from shared.migrations import upgrade_async

    feeds = discover_feeds(feed_location) if feed_location else configured_feeds()
    await ensure_database(database_url, recreate=True)
    await upgrade_async(SPEC.migrations_dir, database_url)
    engine = create_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    now = datetime.now(UTC)
    findings = {}
    try:
        async with sessions() as session, session.begin():
            await import_feeds(session, feeds, now=now)
        for service, scan in scans.items():
            inventory = ImageInventory(
                image_id=uuid.uuid4(),
                organization_id=uuid.uuid4(),
                reference=scan.reference,
                distro=scan.distro,
                components=scan.components,
            )
            async with sessions() as session, session.begin():
                change = await assess_inventory(session, inventory, now=now)
            findings[service] = [finding for finding in change.detected if finding.cvss_class in REPORTED_CLASSES]
    finally:
        await engine.dispose()
    return findings


def report(scans: dict, findings: dict[str, list], version: str) -> str:
    lines = [
        f"# Dog-food scan of the Wharf {version} images",
        "",
        "Written by `make dogfood`: every image scanned by Wharf's own scanner, its",
        "best-practice checks, and its Critical and Major findings against the OSV feeds.",
        "",
        "| image | components | layers | checks failed |",
        "| --- | --- | --- | --- |",
    ]
    for service, scan in scans.items():
        totals = scan.totals
        lines.append(f"| wharf-{service} | {totals['components']} | {totals['layers']} | {totals['checks_failed']} |")

    lines += ["", "## Best-practice checks", "", "| check | level | result (every image) |", "| --- | --- | --- |"]
    first = next(iter(scans.values()))
    for check in first.checks:
        results = {next(c for c in scan.checks if c.id == check.id).passed for scan in scans.values()}
        lines.append(f"| {check.id} | {check.level} | {'passed' if results == {True} else 'FAILED'} |")

    lines += ["", "## Critical and Major findings", ""]
    rows = sorted(
        {(f.vulnerability_id, f.cvss_class, f.cvss_score, f.component_name, f.installed_version, f.fixed_version or "none")
         for items in findings.values() for f in items},
        key=lambda row: (row[1], -(row[2] or 0), row[0]),
    )
    if not rows:
        lines.append("None: no component of any image matches a Critical or Major advisory in the feeds.")
    else:
        lines += ["| advisory | class | CVSS | package | installed | fixed in | images |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for vulnerability, klass, score, package, installed, fixed in rows:
            images = sorted(service for service, items in findings.items() if any(f.vulnerability_id == vulnerability for f in items))
            image_list = "all" if len(images) == len(scans) else ", ".join(images)
            lines.append(f"| {vulnerability} | {klass} | {score} | {package} | {installed} | {fixed} | {image_list} |")
    lines += [
        "",
        "Only the feeds' ecosystems are matched: with the PyPI and Go feeds, the Debian",
        "packages of the base image are inventoried but not matched. An advisory published",
        "after the feeds' snapshot is not matched either.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
