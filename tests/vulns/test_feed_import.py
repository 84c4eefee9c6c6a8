"""Importing OSV feeds: versioned counts, re-imports, malformed records, feed locations."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import threading
import zipfile
from pathlib import Path

from sqlalchemy import func, select, text

from services.scanning.vulns.feed_import import import_feed, read_feed
from services.scanning.vulns.models import AdvisoryRecord, FeedImport
from services.scanning.vulns.osv import MAX_FEED_FILE_BYTES, Feed, discover_feeds
from tests.vulns.factories import osv_record, write_feed


async def empty_database(session) -> None:
    # TRUNCATE is transactional in PostgreSQL, so the test's rollback restores the feeds.
    await session.execute(text("TRUNCATE vuln_feed_imports, vuln_records, vuln_affected CASCADE"))


def test_real_feeds_counted(real_feeds):
    pypi = real_feeds["PyPI"]
    go = real_feeds["Go"]

    # The PyPI export contains 2,661 records (10 withdrawn) and the Go export 4,291 (17 withdrawn).
    assert (pypi.added, pypi.withdrawn, pypi.skipped) == (2651, 10, 0)
    assert (go.added, go.withdrawn, go.skipped) == (4274, 17, 0)
    assert real_feeds["GHSA-subset"].added == 22
    assert ("PyPI", "jinja2") in pypi.changed_packages
    assert ("Go", "stdlib") in go.changed_packages


async def test_reimport_changes_nothing(db, feed_dir):
    report = await import_feed(db, Feed("PyPI", str(feed_dir / "PyPI.zip")))

    assert report.added == 0
    assert report.changed == 0
    assert report.withdrawn == 0
    assert report.unchanged == 2661
    assert report.changed_packages == set()


async def test_import_row_records_counts(db, feed_dir):
    report = await import_feed(db, Feed("GHSA-subset", str(feed_dir / "GHSA-subset.zip")))

    row = await db.get(FeedImport, report.import_id)
    assert row.feed == "GHSA-subset"
    assert row.unchanged == 22
    assert row.finished_at is not None


async def test_malformed_record_skipped(session, tmp_path):
    await empty_database(session)
    folder = write_feed(
        tmp_path / "feed",
        [
            osv_record("TEST-1", "PyPI", "demo", [{"introduced": "0"}, {"fixed": "1.0"}]),
            osv_record("TEST-2", "PyPI", "demo", [{"introduced": "0"}, {"patched": "1.0"}]),
        ],
    )
    (folder / "TEST-3.json").write_text('{"id": "TEST-3", "modified": ')
    no_time = osv_record("TEST-4", "PyPI", "demo", [{"introduced": "0"}])
    del no_time["modified"]
    (folder / "TEST-4.json").write_text(json.dumps(no_time))

    report = await import_feed(session, Feed("test", str(folder)))

    assert report.added == 1
    assert report.skipped == 3
    reasons = {entry["file"]: entry["reason"] for entry in report.skipped_files}
    assert "patched" in reasons["TEST-2.json"]
    assert "TEST-3.json" in reasons
    assert "modified" in reasons["TEST-4.json"]


async def test_changed_record_counted(session, tmp_path):
    await empty_database(session)
    record = osv_record("TEST-1", "PyPI", "demo", [{"introduced": "0"}, {"fixed": "1.0"}])
    folder = write_feed(tmp_path / "feed", [record])
    await import_feed(session, Feed("test", str(folder)))

    record["affected"][0]["ranges"][0]["events"][1] = {"fixed": "1.1"}
    record["modified"] = "2024-02-01T00:00:00Z"
    write_feed(folder, [record])
    report = await import_feed(session, Feed("test", str(folder)))

    assert (report.added, report.changed, report.withdrawn) == (0, 1, 0)
    assert report.changed_packages == {("PyPI", "demo")}
    stored = await session.get(AdvisoryRecord, "TEST-1")
    assert stored.raw["affected"][0]["ranges"][0]["events"][1] == {"fixed": "1.1"}
    assert stored.first_import_id != stored.last_import_id


async def test_record_missing_from_feed_withdrawn(session, tmp_path):
    await empty_database(session)
    remaining = osv_record("TEST-1", "PyPI", "demo", [{"introduced": "0"}])
    dropped = osv_record("TEST-2", "PyPI", "other", [{"introduced": "0"}])
    folder = write_feed(tmp_path / "feed", [remaining, dropped])
    await import_feed(session, Feed("test", str(folder)))

    write_feed(folder, [remaining])
    report = await import_feed(session, Feed("test", str(folder)))

    assert report.withdrawn == 1
    assert report.changed_packages == {("PyPI", "other")}
    stored = await session.get(AdvisoryRecord, "TEST-2")
    assert stored.withdrawn is not None
    assert stored.removed_from_feed


async def test_alias_group_spans_records(db):
    # PYSEC-2019-217 aliases GHSA-462w-v97r-4m45, which the GitHub feed contains.
    pysec = await db.get(AdvisoryRecord, "PYSEC-2019-217")
    ghsa = await db.get(AdvisoryRecord, "GHSA-462w-v97r-4m45")

    assert pysec.group_key == ghsa.group_key
    assert pysec.cvss_score is None
    assert ghsa.cvss_score == 8.6


def test_discover_feeds_layouts(tmp_path, feed_dir):
    (tmp_path / "PyPI").mkdir()
    shutil.copy(feed_dir / "GHSA-subset.zip", tmp_path / "PyPI" / "all.zip")
    shutil.copy(feed_dir / "GHSA-subset.zip", tmp_path / "GHSA.zip")

    feeds = discover_feeds(tmp_path)

    assert [feed.name for feed in feeds] == ["PyPI", "GHSA"]
    assert feeds[0].location.endswith("PyPI/all.zip")


@contextlib.contextmanager
def serve_folder(folder: Path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_import_from_url(session, tmp_path):
    await empty_database(session)
    (tmp_path / "PyPI").mkdir()
    with zipfile.ZipFile(tmp_path / "PyPI" / "all.zip", "w") as archive:
        for number in range(3):
            record = osv_record(f"TEST-{number}", "PyPI", "demo", [{"introduced": "0"}])
            archive.writestr(f"TEST-{number}.json", json.dumps(record))

    with serve_folder(tmp_path) as base_url:
        feed = discover_feeds(f"{base_url}/PyPI/all.zip")[0]
        report = await import_feed(session, feed)

    assert feed.name == "PyPI"
    assert report.added == 3
    count = await session.scalar(select(func.count()).select_from(AdvisoryRecord))
    assert count == 3


def unblock_fifo_readers(fifo: Path, after: float) -> threading.Timer:
    """Open `fifo` for writing after `after` seconds, so a reader blocked on it gets end of file."""

    def open_and_close() -> None:
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    timer = threading.Timer(after, open_and_close)
    timer.start()
    return timer


def test_folder_of_odd_files_skips_them(tmp_path):
    feed = tmp_path / "PyPI"
    feed.mkdir()
    (feed / "PYSEC-1.json").write_text(json.dumps(osv_record("PYSEC-1", "PyPI", "jinja2", [{"introduced": "0"}, {"fixed": "2.10.1"}])))
    (feed / "folder.json").mkdir()
    (feed / "dangling.json").symlink_to(tmp_path / "absent.json")
    (feed / "loop.json").symlink_to(feed / "loop.json")
    (feed / "nested.json").write_text("[" * 100_000 + "]" * 100_000)
    (feed / "oversize.json").write_bytes(b" " * (MAX_FEED_FILE_BYTES + 1))
    os.mkfifo(feed / "pipe.json")
    timer = unblock_fifo_readers(feed / "pipe.json", after=5)

    try:
        fingerprint = Feed("PyPI", str(feed)).fingerprint()
        records, skipped = read_feed(Feed("PyPI", str(feed)))
    finally:
        timer.cancel()

    assert fingerprint is not None
    assert [record.advisory.id for record in records] == ["PYSEC-1"]
    reasons = {entry["file"]: entry["reason"] for entry in skipped}
    assert sorted(reasons) == ["dangling.json", "folder.json", "loop.json", "nested.json", "oversize.json", "pipe.json"]
    assert "not a regular file" in reasons["folder.json"]
    assert "not a regular file" in reasons["pipe.json"]
    assert "larger than" in reasons["oversize.json"]
