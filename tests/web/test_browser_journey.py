"""The web front end in a real browser against the all-in-one stack that `make run` starts.

The test builds the front end into a temporary folder, starts `python -m wharf run` on
free ports with its own data folder, and runs `web/e2e/journey.mjs` (playwright-core
driving Debian's chromium). Screenshots go to web/e2e-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port
from tests.web.node import REPOSITORY, WEB, require_node_modules, run_in_web

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ADMIN_USERNAME = "e2eadmin"
ADMIN_PASSWORD = "e2e-admin-password"
ARTIFACTS = WEB / "e2e-artifacts"


def wait_ready(base_url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no response"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"`python -m wharf run` exited with {process.returncode} before it was ready")
        try:
            response = httpx.get(f"{base_url}/readyz", timeout=3)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.5)
    raise AssertionError(f"the gateway at {base_url} did not become ready in {timeout} s: {last}")


@pytest.fixture(scope="module")
def built_front_end():
    require_node_modules()
    out_dir = Path(tempfile.mkdtemp(prefix="wharf-web-dist-"))
    run_in_web("npx", "vite", "build", "--logLevel", "warn", env={**os.environ, "WHARF_WEB_OUT_DIR": str(out_dir)})
    yield out_dir
    shutil.rmtree(out_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(built_front_end):
    # Not under pytest's tmp folder: that is private to root (0700), and the embedded
    # PostgreSQL runs as its own system user, which must reach its data folder.
    data_dir = Path(tempfile.mkdtemp(prefix="wharf-web-e2e-"))
    data_dir.chmod(0o755)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        "WHARF_GATEWAY_PORT": str(port),
        "WHARF_DATA_DIR": str(data_dir),
        "WHARF_DATABASE_SERVER_URL": "",
        "WHARF_AMQP_URL": "",
        "WHARF_LICENSING_REGISTRY_PORT": str(free_port()),
        "WHARF_GATEWAY_WEB_DIST_DIR": str(built_front_end),
        "WHARF_IDENTITY_PUBLIC_BASE_URL": base_url,
        "WHARF_IDENTITY_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USERNAME,
        "WHARF_IDENTITY_BOOTSTRAP_ADMIN_EMAIL": "admin@example.com",
        "WHARF_IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "WHARF_NOTIFICATIONS_MAILBOX_OPEN_READ": "true",
        "WHARF_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPOSITORY),
    }
    log_path = data_dir / "wharf.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "wharf", "run"],
            cwd=REPOSITORY,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_ready(base_url, process, timeout=90)
        yield base_url
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{log_path.read_text()[-4000:]}") from None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


def test_built_front_end_served(stack):
    index = httpx.get(f"{stack}/store/acme/fast-db", timeout=10)
    asset_path = index.text.split('src="', 1)[1].split('"', 1)[0]
    asset = httpx.get(f"{stack}{asset_path}", timeout=10)

    assert index.status_code == 200
    assert asset_path.startswith("/assets/index-")
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_browser_journey(stack):
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) or set CHROMIUM",
            pytrace=False,
        )
    require_node_modules()
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    environment = {
        **os.environ,
        "WHARF_E2E_BASE_URL": stack,
        "WHARF_E2E_ARTIFACTS": str(ARTIFACTS),
        "WHARF_E2E_ADMIN_USERNAME": ADMIN_USERNAME,
        "WHARF_E2E_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "CHROMIUM": CHROMIUM,
    }

    completed = subprocess.run(
        ["node", "e2e/journey.mjs"], cwd=WEB, env=environment, capture_output=True, text=True, timeout=150
    )

    assert completed.returncode == 0, f"{completed.stdout}\n{completed.stderr}\nscreenshots: {ARTIFACTS}"
