"""`make run` gives the scanning service the default OSV feed folder when it exists."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
FEED_VARIABLES = ("WHARF_SCANNING_OSV_FEED_DIR", "WHARF_SCANNING_OSV_FEED_URL")
# Stands in for the venv's Python: prints the feed folder the store would start with.
FAKE_PYTHON = '#!/bin/sh\necho "feed_dir=${WHARF_SCANNING_OSV_FEED_DIR:-unset}"\n'


def make_run(tmp_path: Path, environment: dict[str, str], *arguments: str) -> list[str]:
    """Run `make run` with a stand-in Python and return the lines it printed."""
    python = tmp_path / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    env = {name: value for name, value in os.environ.items() if name not in FEED_VARIABLES}
    env.update(environment)
    # STAMP= skips the venv and WEB_DIST names an existing file, so no install or build runs.
    command = ["make", "--no-print-directory", "run", "STAMP=", f"PY={python}", "WEB_DIST=Makefile", *arguments]
    result = subprocess.run(command, cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


def feed_dir_of_make_run(tmp_path: Path, environment: dict[str, str], *arguments: str) -> str:
    return make_run(tmp_path, environment, *arguments)[-1]


def test_existing_default_folder_used(tmp_path):
    feeds = tmp_path / "osv"
    feeds.mkdir()

    assert feed_dir_of_make_run(tmp_path, {}, f"OSV_FEED_DIR={feeds}") == f"feed_dir={feeds}"


def test_missing_default_folder_unset(tmp_path):
    absent = tmp_path / "absent"

    assert feed_dir_of_make_run(tmp_path, {}, f"OSV_FEED_DIR={absent}") == "feed_dir=unset"


def test_missing_default_folder_reported(tmp_path):
    absent = tmp_path / "absent"

    printed = make_run(tmp_path, {}, f"OSV_FEED_DIR={absent}")

    assert any(line.startswith(f"No OSV feeds at {absent}: scans will report no vulnerabilities") for line in printed)


def test_environment_folder_kept(tmp_path):
    feeds = tmp_path / "osv"
    feeds.mkdir()
    environment = {"WHARF_SCANNING_OSV_FEED_DIR": str(tmp_path / "mine")}

    result = feed_dir_of_make_run(tmp_path, environment, f"OSV_FEED_DIR={feeds}")

    assert result == f"feed_dir={tmp_path / 'mine'}"


def test_feed_url_left_alone(tmp_path):
    feeds = tmp_path / "osv"
    feeds.mkdir()
    environment = {"WHARF_SCANNING_OSV_FEED_URL": "http://127.0.0.1:9/osv"}

    assert feed_dir_of_make_run(tmp_path, environment, f"OSV_FEED_DIR={feeds}") == "feed_dir=unset"
