"""The constants and helpers several steps share: the demo product, feed imports and waits."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from PIL import Image

from wharf.demo import images, recipes
from wharf.demo.client import StepFailed, eventually
from wharf.demo.journey import Journey


# Advisories modified after this date are left out of the first feed import: the fixed
# release is clean then, and the full import later adds CVE-2023-43804 (CVSS 8.1).


SNAPSHOT_CUTOFF = datetime(2023, 10, 1, tzinfo=UTC)


REPOSITORY = "app"


PRODUCT_NAME = "Harbour Notes"


LICENCE = {"url": "https://demo.example.com/licence", "version": "2024-01"}


BLOCKING_CLASSES = ("critical", "major")


async def upload_png(journey: Journey, name: str, colour: tuple[int, int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (512, 512), colour).save(buffer, format="PNG")
    uploaded = await journey.client(journey.state.publisher).post(
        f"/api/catalog/organisations/{journey.state.organisation_id}/media",
        files={"file": (name, buffer.getvalue(), "image/png")},
        what=f"upload {name}",
        expect=201,
    )
    return uploaded["id"]


def push_release(journey: Journey, tag: str, destination: str, credentials: tuple[str, str] | None) -> str:
    layout = recipes.demo_layout().path
    return images.push_oci_layout(layout, tag, destination, credentials=credentials)


_REGISTRY_ERRORS = re.compile(r"(insufficient_scope|unauthorized|denied|authentication required)[^\n]{0,120}", re.I)


def registry_error(text: str) -> str:
    """Return the registry's reason from skopeo's error output, else its last line."""
    match = _REGISTRY_ERRORS.search(text)
    if match:
        # skopeo quotes the registry's message, escaping its line breaks.
        return match.group(0).split("\\n")[0].strip()
    return text.strip().splitlines()[-1][:200] if text.strip() else "(no output)"


async def import_feeds(journey: Journey) -> dict:
    admin = journey.client(journey.state.admin)
    result = await admin.post(
        "/api/scanning/vulnerability-feeds/imports", json={}, what="import the OSV feeds", expect=(200, 201)
    )
    for entry in result["imports"]:
        journey.say(
            f"import of {entry['feed']}: {entry.get('added', 0)} added, {entry.get('changed', 0)} changed, "
            f"{entry.get('withdrawn', 0)} withdrawn"
        )
    return result


def completed_scan(case: dict) -> dict:
    """Return the scan of the current round's first image, or raise with the scan's failure."""
    scan = case["rounds"][-1]["images"][0]["scan"]
    if scan is None or scan["status"] != "completed":
        raise StepFailed(f"the scan of round {case['current_round']} did not complete: {scan}")
    return scan


async def wait_case(journey: Journey, *, state: str, round_number: int, timeout: float = 120) -> dict:
    reviewer = journey.client(journey.state.admin)

    async def probe() -> dict | None:
        page = await reviewer.get(
            "/api/moderation/cases",
            params={"organisation_id": journey.state.organisation_id},
            what="list the publisher's review cases",
        )
        for summary in page["items"]:
            if summary["version_id"] == journey.state.version_id:
                case = await reviewer.get(f"/api/moderation/cases/{summary['id']}", what="read the review case")
                if case["state"] == state and case["current_round"] == round_number:
                    return case
        return None

    return await eventually(
        probe, what=f"the review case is {state} in round {round_number}", timeout=timeout, interval=1.0
    )


async def open_findings(journey: Journey, digest: str) -> list[dict]:
    reviewer = journey.client(journey.state.admin)
    found = await reviewer.get(
        f"/api/moderation/images/{digest}/findings", params={"state": "open"}, what="list the image's open findings"
    )
    return [finding for finding in found if not finding["waived"]]


async def wait_version_state(journey: Journey, expected: str, version_id: str | None = None) -> dict:
    publisher = journey.client(journey.state.publisher)
    version_id = version_id or journey.state.version_id

    async def probe() -> dict | None:
        version = await publisher.get(
            f"/api/catalog/products/{journey.state.product_id}/versions/{version_id}", what="read the version"
        )
        return version if version["state"] == expected else None

    return await eventually(probe, what=f"the version is {expected}", timeout=120, interval=1.0)


async def wait_listing(journey: Journey, *, status: str, timeout: float = 180) -> dict:
    state = journey.state

    async def probe() -> dict | None:
        response = await journey.anonymous.request(
            "GET", f"/api/catalog/store/{state.namespace}/{state.slug}", expect=(200, 404), what="read the listing"
        )
        if response.status_code == 404:
            return None
        listing = response.json()
        return listing if listing["status"] == status else None

    return await eventually(probe, what=f"the listing is {status}", timeout=timeout, interval=1.0)
