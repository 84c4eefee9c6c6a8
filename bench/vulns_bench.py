"""Benchmark the vulnerability database: feed import, matching and re-matching.

Run from the repository root:

    python bench/vulns_bench.py [--feeds DIR] [--images 1000]

It recreates the database `wharf_bench_vulns` on the PostgreSQL server named by
WHARF_TEST_DATABASE_SERVER_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres)
and writes bench/reports/vulns.md. Each import and each floor runs in a fresh process, so
its peak resident memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import resource
import statistics
import sys
import time
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from services.scanning.app import SPEC  # noqa: E402
from services.scanning.components import Component, Ecosystem, LayerRef  # noqa: E402
from services.scanning.vulns.assessment import ImageInventory, assess_image, reassess_packages  # noqa: E402
from services.scanning.vulns.feed_import import import_feed  # noqa: E402
from services.scanning.vulns.matching import match_inventory  # noqa: E402
from services.scanning.vulns.osv import Feed, default_feed_dir  # noqa: E402
from shared.db import ensure_database  # noqa: E402
from shared.logging import configure_logging  # noqa: E402
from shared.migrations import upgrade  # noqa: E402

SERVER_URL = os.environ.get(
    "WHARF_TEST_DATABASE_SERVER_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
DATABASE_URL = make_url(SERVER_URL).set(database="wharf_bench_vulns").render_as_string(hide_password=False)
REPORT = ROOT / "bench" / "reports" / "vulns.md"
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
LAYER = LayerRef(digest="sha256:" + "2" * 64, index=1)

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


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(function, *args):
    """Run `function(*args)` in a fresh process; return its result and peak memory."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child_main, args=(queue, function, args))
    process.start()
    result = queue.get()
    process.join()
    return result


def _child_main(queue, function, args):
    configure_logging("WARNING", json=False)
    seconds, detail = function(*args)
    queue.put({"seconds": seconds, "peak_mib": peak_rss_mib(), "detail": detail})


def import_one(location: str, name: str):
    async def run():
        engine = create_async_engine(DATABASE_URL)
        started = time.perf_counter()
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            report = await import_feed(session, Feed(name, location), now=NOW)
        elapsed = time.perf_counter() - started
        await engine.dispose()
        return elapsed, f"{report.added} added, {report.withdrawn} withdrawn, {report.skipped} skipped"

    return asyncio.run(run())


def parse_floor(location: str, name: str):
    started = time.perf_counter()
    count = 0
    with zipfile.ZipFile(location) as archive:
        for info in archive.infolist():
            json.loads(archive.read(info))
            count += 1
    return time.perf_counter() - started, f"{count} records parsed"


def copy_floor(location: str, name: str):
    import asyncpg

    async def run():
        started = time.perf_counter()
        rows = []
        with zipfile.ZipFile(location) as archive:
            for info in archive.infolist():
                content = archive.read(info)
                rows.append((json.loads(content)["id"], content.decode()))
        dsn = make_url(DATABASE_URL).set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute("DROP TABLE IF EXISTS bench_copy_floor")
            await connection.execute("CREATE TABLE bench_copy_floor (id text primary key, raw jsonb)")
            await connection.copy_records_to_table("bench_copy_floor", records=rows)
        finally:
            await connection.close()
        return time.perf_counter() - started, f"{len(rows)} rows copied"

    return asyncio.run(run())


def wheel(name: str, version: str) -> Component:
    return Component(Ecosystem.PYPI, name, version, name.lower(), f"pkg:pypi/{name}@{version}", LAYER, "/site-packages")


def go_module(module: str, version: str) -> Component:
    return Component(Ecosystem.GO, module, version, module, f"pkg:golang/{module}@{version}", LAYER, "/bin/app")


def fixed_versions(location: str, ecosystem: str) -> dict[str, list[str]]:
    """Collect fixed versions per package, to build inventories that hit real ranges."""
    found: dict[str, set[str]] = {}
    with zipfile.ZipFile(location) as archive:
        for info in archive.infolist():
            record = json.loads(archive.read(info))
            for affected in record.get("affected", []):
                for version_range in affected.get("ranges", []):
                    if version_range["type"] == "GIT":
                        continue
                    for event in version_range["events"]:
                        if "fixed" in event:
                            found.setdefault(affected["package"]["name"], set()).add(event["fixed"])
    return {name: sorted(versions) for name, versions in found.items()}


def write_bench_feed(folder: Path, *, withdraw_first: bool) -> None:
    """Write the small feed of the update: BENCH-0001 alone, or withdrawn beside BENCH-0002."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink()

    def record(record_id: str, package: str, withdrawn: bool) -> dict:
        data = {
            "id": record_id,
            "modified": "2026-01-06T00:00:00Z" if withdrawn else "2026-01-01T00:00:00Z",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": package},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99"}]}],
                }
            ],
        }
        if withdrawn:
            data["withdrawn"] = "2026-01-06T00:00:00Z"
        return data

    records = [record("BENCH-0001", "jinja2", withdraw_first)]
    if withdraw_first:
        records.append(record("BENCH-0002", "jinja2", False))
    for data in records:
        (folder / f"{data['id']}.json").write_text(json.dumps(data))


async def matching_and_rematch(feeds: Path, image_count: int) -> dict:
    engine = create_async_engine(DATABASE_URL, pool_size=2)
    results: dict = {}
    components = [wheel(name, version) for name, version in REAL_WHEELS]
    components.append(go_module("golang.org/x/text", "v0.3.5"))

    async with AsyncSession(engine, expire_on_commit=False) as session:
        for _ in range(3):
            await match_inventory(session, components, None)  # warm caches and the pool
        timings = []
        for _ in range(20):
            started = time.perf_counter()
            matches = await match_inventory(session, components, None)
            timings.append(time.perf_counter() - started)
        results["match"] = (statistics.median(timings), len(components), len(matches))

    # Stored inventories: 40 packages each, drawn from packages that have advisories, at
    # versions just below a real fix, so most images hold a few findings.
    update_dir = ROOT / "var" / "bench-feed"
    write_bench_feed(update_dir, withdraw_first=False)
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        await import_feed(session, Feed("bench", str(update_dir)), now=NOW)

    rng = random.Random(7)
    pypi = fixed_versions(str(feeds / "PyPI.zip"), "PyPI")
    go = fixed_versions(str(feeds / "Go.zip"), "Go")
    pypi_names = sorted(pypi)
    go_names = sorted(go)

    started = time.perf_counter()
    findings = 0
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        for number in range(image_count):
            picked = [wheel("Jinja2", "2.10")]
            for name in rng.sample(pypi_names, 30):
                picked.append(wheel(name, rng.choice(pypi[name])))
            for name in rng.sample(go_names, 9):
                picked.append(go_module(name, "v" + rng.choice(go[name]).lstrip("v")))
            image = ImageInventory(uuid.uuid4(), uuid.uuid4(), f"bench/app@sha256:{number:064x}", None, picked)
            change = await assess_image(session, image, now=NOW)
            findings += len(change.detected)
    results["store"] = (time.perf_counter() - started, image_count, findings)

    # The feed update: BENCH-0001 is withdrawn and BENCH-0002 added. Both name a package
    # every image holds, so every inventory is re-matched.
    write_bench_feed(update_dir, withdraw_first=True)
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        started = time.perf_counter()
        report = await import_feed(session, Feed("bench", str(update_dir)), now=NOW)
        import_seconds = time.perf_counter() - started

        started = time.perf_counter()
        changes = await reassess_packages(session, report.changed_packages, now=NOW)
        rematch_seconds = time.perf_counter() - started
        detected = sum(len(change.detected) for change in changes)
        resolved = sum(len(change.resolved) for change in changes)
        results["rematch"] = (rematch_seconds, import_seconds, len(changes), detected, resolved)

        # The same without the change: an import that changes nothing re-matches nothing.
        started = time.perf_counter()
        await reassess_packages(session, set(), now=NOW)
        results["noop"] = time.perf_counter() - started
        await session.rollback()

    await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=Path, default=default_feed_dir(), help="folder with PyPI.zip and Go.zip")
    parser.add_argument("--images", type=int, default=1000, help="stored inventories to re-match")
    options = parser.parse_args()
    configure_logging("WARNING", json=False)

    asyncio.run(ensure_database(DATABASE_URL, recreate=True))
    upgrade(SPEC.migrations_dir, DATABASE_URL)

    rows = []
    for name in ("PyPI", "Go"):
        location = str(options.feeds / f"{name}.zip")
        floor_parse = in_child(parse_floor, location, name)
        floor_copy = in_child(copy_floor, location, name)
        imported = in_child(import_one, location, name)
        reimported = in_child(import_one, location, name)
        rows.append((name, imported, reimported, floor_parse, floor_copy))
    # The GitHub records give the PyPI findings their CVSS scores.
    in_child(import_one, str(options.feeds / "GHSA-subset.zip"), "GHSA-subset")

    results = asyncio.run(matching_and_rematch(options.feeds, options.images))
    write_report(rows, results, options.images)
    print(REPORT.read_text())


def write_report(rows, results, image_count: int) -> None:
    lines = [
        "# Vulnerability database benchmarks",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"PostgreSQL on 127.0.0.1. Written by `python bench/vulns_bench.py` on "
        f"{datetime.now(UTC):%Y-%m-%d}.",
        "",
        "## Feed import",
        "",
        "Each run is a fresh process; peak memory is its maximum resident set size, which",
        "includes the interpreter and imported libraries.",
        "",
        "| feed | step | time (s) | peak memory (MiB) | result |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for name, imported, reimported, floor_parse, floor_copy in rows:
        for step, run in (
            ("import into an empty database", imported),
            ("re-import of the same feed", reimported),
            ("floor: read the zip and json.loads every record", floor_parse),
            ("floor: parse, then COPY (id, raw JSON) into one table", floor_copy),
        ):
            lines.append(
                f"| {name} | {step} | {run['seconds']:.2f} | {run['peak_mib']:.0f} | {run['detail']} |"
            )

    match_seconds, component_count, match_count = results["match"]
    store_seconds, images, findings = results["store"]
    rematch_seconds, import_seconds, changed_images, detected, resolved = results["rematch"]
    lines += [
        "",
        "## Matching",
        "",
        f"Matching the test image's inventory ({component_count} components: the nine Python",
        f"distributions and one Go module) against the PyPI, Go and GitHub feeds: "
        f"{match_seconds * 1000:.1f} ms (median of 20), {match_count} findings.",
        "",
        "## Continuous assessment",
        "",
        f"Storing and matching {images} inventories of 40 packages each (Python and Go packages",
        f"that have advisories, at versions taken from real fixes): {store_seconds:.1f} s,",
        f"{findings} findings.",
        "",
        "Feed update: one new advisory on `jinja2`, which every image holds, and one",
        "withdrawn advisory on the same package, imported through the feed importer.",
        "",
        "| step | time (s) | result |",
        "| --- | ---: | --- |",
        f"| import of the update | {import_seconds:.3f} | 1 added, 1 withdrawn |",
        f"| re-match of the affected inventories | {rematch_seconds:.3f} | {changed_images} images "
        f"changed, {detected} detected, {resolved} resolved |",
        f"| re-match after an import that changed nothing | {results['noop']:.4f} | nothing to do |",
        "",
        "Image scan times (pull and layer analysis) are measured by the inventory benchmarks,",
        "not here.",
        "",
    ]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
