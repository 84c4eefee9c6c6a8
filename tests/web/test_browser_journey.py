"""The web front end in a real browser against the all-in-one stack that `make run` starts.

The test builds the front end into a temporary folder, starts `python -m wharf run` on
free ports with its own data folder, and runs `web/e2e/journey.mjs` (playwright-core
driving Debian's chromium) through the store's main journey, from a publisher's sign-up
to a customer's purchase and a listing held for a missed fix deadline. Screenshots go to
web/e2e-artifacts/.

The journey pushes and pulls the demo's images with skopeo (`tests/web/e2e_harness.py`).
It imports the OSV feeds as they were on 30 September 2023 first, and the full feeds
after the publication, as `make demo` does. The stack reads its clock offset from a
file that the journey moves past the fix deadline.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.support.ports import free_port
from tests.web.e2e_harness import RELEASES
from tests.web.node import REPOSITORY, WEB, require_node_modules, run_in_web
from wharf.demo import recipes
from wharf.demo.feeds import source_feed_dir, stage_snapshot
from wharf.demo.steps.common import SNAPSHOT_CUTOFF

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ADMIN_USERNAME = "e2eadmin"
ADMIN_PASSWORD = "e2e-admin-password"
ARTIFACTS = WEB / "e2e-artifacts"
# The journey, with two scans, two feed imports and the hold, took 85 to 130 s on 2 cores
# shared with other test runs (load average 7 to 10). The limit leaves room for slower machines.
JOURNEY_TIMEOUT = 240


@dataclass(frozen=True)
class Stack:
    """The running store and the files the journey changes under it."""

    base_url: str
    registry: str  # host:port of the registry the store started
    feed_dir: Path  # the folder the scanning service imports OSV feeds from
    osv_source: Path  # the complete OSV exports the feeds are staged from
    clock_offset_file: Path  # seconds added to every service's clock
    log_path: Path  # the output of `python -m wharf run`


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
def demo_images():
    """Build the demo's vulnerable and reviewed images before the stack starts (cached after the first run)."""
    return {name: recipes.build(release, log=lambda text: None) for name, release in RELEASES.items()}


@pytest.fixture(scope="module")
def upload_images():
    """A square logo and a screenshot for the file inputs of the profile and the manifest."""
    folder = Path(tempfile.mkdtemp(prefix="wharf-web-e2e-images-"))
    Image.new("RGB", (512, 512), (30, 90, 160)).save(folder / "logo.png")
    Image.new("RGB", (1280, 800), (240, 240, 230)).save(folder / "screenshot.png")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(built_front_end, demo_images):
    try:
        osv_source = source_feed_dir(None)
    except FileNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)
    # Not under pytest's tmp folder: that is private to root (0700), and the embedded
    # PostgreSQL runs as its own system user, which must reach its data folder.
    data_dir = Path(tempfile.mkdtemp(prefix="wharf-web-e2e-"))
    data_dir.chmod(0o755)
    feed_dir = data_dir / "osv-feeds"
    stage_snapshot(osv_source, feed_dir, modified_before=SNAPSHOT_CUTOFF)
    clock_offset_file = data_dir / "clock-offset"
    clock_offset_file.write_text("0")
    port = free_port()
    registry_port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        "WHARF_GATEWAY_PORT": str(port),
        "WHARF_DATA_DIR": str(data_dir),
        "WHARF_DATABASE_SERVER_URL": "",
        "WHARF_AMQP_URL": "",
        "WHARF_LICENSING_REGISTRY_PORT": str(registry_port),
        "WHARF_SCANNING_OSV_FEED_DIR": str(feed_dir),
        "WHARF_SCANNING_WORKER_POLL_INTERVAL": "0.5",
        "WHARF_CLOCK_OFFSET_FILE": str(clock_offset_file),
        # A pass each second, so a deadline the journey moves the clock past holds the listing at once.
        "WHARF_MODERATION_SCHEDULER_INTERVAL_SECONDS": "1",
        # The full feed import runs within one request through the gateway.
        "WHARF_GATEWAY_READ_TIMEOUT": "120",
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
        yield Stack(
            base_url=base_url,
            registry=f"127.0.0.1:{registry_port}",
            feed_dir=feed_dir,
            osv_source=osv_source,
            clock_offset_file=clock_offset_file,
            log_path=log_path,
        )
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
    index = httpx.get(f"{stack.base_url}/store/acme/fast-db", timeout=10)
    asset_path = index.text.split('src="', 1)[1].split('"', 1)[0]
    asset = httpx.get(f"{stack.base_url}{asset_path}", timeout=10)

    assert index.status_code == 200
    assert asset_path.startswith("/assets/index-")
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_browser_journey(stack, upload_images):
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) or set CHROMIUM",
            pytrace=False,
        )
    require_node_modules()
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    environment = {
        **os.environ,
        "WHARF_E2E_BASE_URL": stack.base_url,
        "WHARF_E2E_REGISTRY": stack.registry,
        "WHARF_E2E_FEED_DIR": str(stack.feed_dir),
        "WHARF_E2E_OSV_SOURCE": str(stack.osv_source),
        "WHARF_E2E_CLOCK_OFFSET_FILE": str(stack.clock_offset_file),
        "WHARF_E2E_UPLOADS": str(upload_images),
        "WHARF_E2E_PYTHON": sys.executable,
        "WHARF_E2E_REPOSITORY": str(REPOSITORY),
        "WHARF_E2E_ARTIFACTS": str(ARTIFACTS),
        "WHARF_E2E_ADMIN_USERNAME": ADMIN_USERNAME,
        "WHARF_E2E_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "CHROMIUM": CHROMIUM,
    }

    try:
        completed = subprocess.run(
            ["node", "e2e/journey.mjs"],
            cwd=WEB,
            env=environment,
            capture_output=True,
            text=True,
            timeout=JOURNEY_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        # TimeoutExpired carries bytes even with text=True.
        output = b"".join(part or b"" for part in (exc.stdout, exc.stderr)).decode(errors="replace")
        pytest.fail(
            f"the journey did not finish in {JOURNEY_TIMEOUT} s:\n{output}\nscreenshots: {ARTIFACTS}",
            pytrace=False,
        )

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "journey.log").write_text(completed.stdout + completed.stderr)
    assert completed.returncode == 0, (
        f"{completed.stdout}\n{completed.stderr}\nscreenshots: {ARTIFACTS}\n"
        f"end of the store's log:\n{stack.log_path.read_text()[-3000:]}"
    )
