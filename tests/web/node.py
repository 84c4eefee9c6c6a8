"""Locate Node.js, npm and the front end's installed packages, or fail saying how to install them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
WEB = REPOSITORY / "web"


def require_node_modules() -> Path:
    """Return web/node_modules/.bin, failing the test when Node.js, npm or the packages are missing."""
    for command in ("node", "npm"):
        if shutil.which(command) is None:
            pytest.fail(
                f"{command} not found: install Node.js 20 and npm (Debian: apt-get install nodejs npm), "
                "then run `npm ci --prefix web`",
                pytrace=False,
            )
    bin_dir = WEB / "node_modules" / ".bin"
    if not (bin_dir / "vite").exists():
        pytest.fail("web/node_modules is missing: run `npm ci --prefix web` (or `make web-deps`)", pytrace=False)
    return bin_dir


def run_in_web(*command: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a command in web/ and fail the test with its output when it exits non-zero."""
    completed = subprocess.run(command, cwd=WEB, capture_output=True, text=True, timeout=timeout, env=env)
    if completed.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited with {completed.returncode}:\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}",
            pytrace=False,
        )
    return completed
