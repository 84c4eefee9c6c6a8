"""The scanning service: on-demand scans, privacy, the submission handler and its events.

Runs the real app on the real PostgreSQL with the in-memory bus, against the real
docker-registry started for the session.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from sqlalchemy import select

from services.scanning.app import create_app
from services.scanning.settings import ScanningSettings
from shared.auth import JwksCache
from shared.events.envelope import new_envelope
from shared.events.memory import InMemoryTransport
from tests.scanning.conftest import push_image
from tests.scanning.layerkit import file, tar
from tests.support.services import running_service
from tests.support.tokens import TestUser as User
from tests.support.tokens import TokenIssuer

ACME = uuid.uuid4()
OTHER = uuid.uuid4()
OS_RELEASE = "ID=alpine\nVERSION_ID=3.20.3\n"
APK_DB = "P:musl\nV:1.2.5-r0\nA:x86_64\no:musl\n\n"


@pytest.fixture
def tokens():
    return TokenIssuer()


@pytest.fixture
def editor():
    return User(username="ada", orgs=((ACME, "acme", "editor"),))


@pytest.fixture
def stranger():
    return User(username="eve", orgs=((OTHER, "other", "owner"),))


@pytest.fixture
async def service(registry, tokens, tmp_path):
    cache = JwksCache("http://127.0.0.1:9/.well-known/jwks.json")
    tokens.install(cache)
    settings = ScanningSettings(
        registry_url=registry.url, worker_poll_interval=0.1, storage_dir=str(tmp_path / "storage")
    )
    transport = InMemoryTransport(retry_delays=[0.01])
    async with running_service(
        create_app, database="scanning_inventory", transport=transport, settings=settings, jwks=cache
    ) as running:
        yield running


async def wait_for_scan(service, headers, scan_id, timeout: float = 60.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await service.client.get(f"/scans/{scan_id}", headers=headers)
        body = response.json()
        if body.get("status") in ("completed", "failed"):
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"scan {scan_id} still {body.get('status')} after {timeout} s")
        await asyncio.sleep(0.1)


async def outbox_events(service, event_type: str) -> list[dict]:
    outbox = service.runtime.metadata.tables["outbox"]
    async with service.runtime.sessionmaker() as session:
        rows = await session.execute(select(outbox.c.envelope).where(outbox.c.type == event_type))
        return [row[0] for row in rows]


async def test_on_demand_scan_of_real_image(service, tokens, editor, real_image, real_image_reference):
    headers = tokens.headers(editor)
    repository = real_image_reference.split("/", 1)[1]

    response = await service.client.post("/scans", json={"reference": repository}, headers=headers)

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    scan = await wait_for_scan(service, headers, response.json()["id"])
    assert scan["status"] == "completed", scan
    assert scan["digest"] == real_image.manifest_digest
    [image] = scan["images"]
    assert image["platform"] == "linux/amd64"
    assert image["os"]["id"] == "debian"
    assert image["totals"]["components"] == 96
    assert [layer["index"] for layer in image["layers"]] == [0, 1, 2, 3]
    assert {check["id"] for check in image["checks"]} >= {"non-root-user", "secure-base"}

    [event] = await outbox_events(service, "scanning.scan.completed")
    assert event["data"]["scan_id"] == scan["id"]
    assert event["data"]["image"]["digest"] == real_image.manifest_digest
    assert event["data"]["organisation_id"] == str(ACME)


async def test_components_paged_and_sbom_valid(service, tokens, editor, real_image_reference):
    headers = tokens.headers(editor)
    repository = real_image_reference.split("/", 1)[1]
    created = await service.client.post("/scans", json={"reference": repository}, headers=headers)
    scan = await wait_for_scan(service, headers, created.json()["id"])

    first = await service.client.get(f"/scans/{scan['id']}/components?limit=50", headers=headers)
    second = await service.client.get(
        f"/scans/{scan['id']}/components?limit=50&cursor={first.json()['next_cursor']}",
        headers=headers,
    )
    pypi = await service.client.get(f"/scans/{scan['id']}/components?ecosystem=PyPI", headers=headers)
    sbom = await service.client.get(f"/scans/{scan['id']}/sbom", headers=headers)

    items = first.json()["items"] + second.json()["items"]
    assert len(items) == 96
    assert len({item["id"] for item in items}) == 96
    assert second.json()["next_cursor"] is None
    assert len(pypi.json()["items"]) == 8
    assert sbom.status_code == 200
    assert sbom.headers["content-type"].startswith("application/vnd.cyclonedx+json")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(sbom.text) is None
    assert len([c for c in json.loads(sbom.text)["components"] if c["type"] == "library"]) == 96


async def test_scan_private_to_owning_organisation(service, tokens, editor, stranger, registry):
    push_image(registry, "staging/acme/private", "1", [tar(file("etc/os-release", OS_RELEASE))])
    created = await service.client.post(
        "/scans", json={"reference": "staging/acme/private:1"}, headers=tokens.headers(editor)
    )
    scan_id = created.json()["id"]
    staff = User(username="rita", staff=("reviewer",))

    as_stranger = await service.client.get(f"/scans/{scan_id}", headers=tokens.headers(stranger))
    stranger_components = await service.client.get(
        f"/scans/{scan_id}/components", headers=tokens.headers(stranger)
    )
    as_staff = await service.client.get(f"/scans/{scan_id}", headers=tokens.headers(staff))
    anonymous = await service.client.get(f"/scans/{scan_id}")

    assert as_stranger.status_code == 404
    assert as_stranger.headers["content-type"] == "application/problem+json"
    assert stranger_components.status_code == 404
    assert as_staff.status_code == 200
    assert anonymous.status_code == 401


async def test_scan_list_newest_first_and_paged(service, tokens, editor, stranger, registry):
    push_image(registry, "staging/acme/listed", "1", [tar(file("etc/os-release", OS_RELEASE))])
    push_image(registry, "staging/other/app", "1", [tar(file("etc/os-release", OS_RELEASE))])
    headers = tokens.headers(editor)
    first = await service.client.post("/scans", json={"reference": "staging/acme/listed:1"}, headers=headers)
    second = await service.client.post("/scans", json={"reference": "staging/acme/listed:1"}, headers=headers)
    others = await service.client.post(
        "/scans", json={"reference": "staging/other/app:1"}, headers=tokens.headers(stranger)
    )
    assert others.status_code == 202, others.text

    listed = await service.client.get(f"/scans?organisation_id={ACME}", headers=headers)
    page_one = await service.client.get(f"/scans?organisation_id={ACME}&limit=1", headers=headers)
    page_two = await service.client.get(
        f"/scans?organisation_id={ACME}&limit=1&cursor={page_one.json()['next_cursor']}", headers=headers
    )
    by_product = await service.client.get(
        f"/scans?organisation_id={ACME}&product_id={uuid.uuid4()}", headers=headers
    )

    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [second.json()["id"], first.json()["id"]]
    assert listed.json()["items"][0]["trigger"] == "on_demand"
    assert "images" not in listed.json()["items"][0]
    assert [item["id"] for item in page_one.json()["items"]] == [second.json()["id"]]
    assert [item["id"] for item in page_two.json()["items"]] == [first.json()["id"]]
    assert page_two.json()["next_cursor"] is None
    assert by_product.json()["items"] == []


async def test_scan_list_of_other_organisation_not_found(service, tokens, stranger):
    response = await service.client.get(f"/scans?organisation_id={ACME}", headers=tokens.headers(stranger))
    anonymous = await service.client.get(f"/scans?organisation_id={ACME}")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert anonymous.status_code == 401


async def test_scanned_image_id_names_its_findings(service, tokens, editor, stranger, registry):
    layer = tar(file("etc/os-release", OS_RELEASE), file("lib/apk/db/installed", APK_DB))
    push_image(registry, "staging/acme/found", "1", [layer])
    headers = tokens.headers(editor)
    created = await service.client.post("/scans", json={"reference": "staging/acme/found:1"}, headers=headers)
    scan = await wait_for_scan(service, headers, created.json()["id"])
    image_id = scan["images"][0]["id"]

    findings = await service.client.get(f"/images/{image_id}/findings", headers=headers)
    summary = await service.client.get(f"/images/{image_id}/findings/summary", headers=headers)
    as_stranger = await service.client.get(f"/images/{image_id}/findings", headers=tokens.headers(stranger))

    assert scan["status"] == "completed", scan
    assert image_id == str(await _image_id(service, scan["id"]))
    assert findings.status_code == 200, findings.text
    assert findings.json()["items"] == []
    assert summary.status_code == 200, summary.text
    assert as_stranger.status_code == 404


async def test_overlong_package_kept_and_flagged(service, tokens, editor, registry):
    long_name = "x" * 400
    long_version = "1.0-r" + "9" * 250
    apk_db = (
        APK_DB
        + f"P:{long_name}\nV:1.0-r0\nA:x86_64\no:{long_name}\n\n"
        + f"P:busybox\nV:{long_version}\nA:x86_64\no:busybox\n\n"
    )
    layer = tar(file("etc/os-release", OS_RELEASE), file("lib/apk/db/installed", apk_db))
    push_image(registry, "staging/acme/overlong", "1", [layer])
    headers = tokens.headers(editor)

    created = await service.client.post("/scans", json={"reference": "staging/acme/overlong:1"}, headers=headers)
    scan = await wait_for_scan(service, headers, created.json()["id"])
    components = await service.client.get(f"/scans/{scan['id']}/components", headers=headers)
    [event] = await outbox_events(service, "scanning.scan.completed")

    assert scan["status"] == "completed", scan
    [image] = scan["images"]
    layer_digest = image["layers"][0]["digest"]
    by_name = {item["name"]: item for item in components.json()["items"]}
    assert set(by_name) == {"musl", "x" * 300, "busybox"}
    assert by_name["x" * 300]["match_name"] == "x" * 300
    assert by_name["x" * 300]["source_name"] == "x" * 300
    assert by_name["busybox"]["version"] == long_version[:200]
    # The package URL keeps the name and version as the image states them.
    assert long_name in by_name["x" * 300]["purl"]
    assert long_version in by_name["busybox"]["purl"]
    assert image["totals"]["components"] == 3
    assert event["data"]["components"] == 3
    warnings = {warning["package"]: warning for warning in image["warnings"]}
    assert set(warnings) == {"x" * 300, "busybox"}
    for warning in warnings.values():
        assert warning["code"] == "package-truncated"
        assert warning["layer_index"] == 0
        assert warning["layer_digest"] == layer_digest
        assert warning["path"] == "/lib/apk/db/installed"
        assert layer_digest in warning["detail"]
    assert warnings["x" * 300]["fields"] == ["name", "match_name", "source_name"]
    assert "400 characters" in warnings["x" * 300]["detail"]
    assert warnings["busybox"]["fields"] == ["version", "source_version"]
    assert "busybox" in warnings["busybox"]["detail"]


async def test_scan_without_overlong_package_has_no_warnings(service, tokens, editor, registry):
    layer = tar(file("etc/os-release", OS_RELEASE), file("lib/apk/db/installed", APK_DB))
    push_image(registry, "staging/acme/plain", "1", [layer])
    headers = tokens.headers(editor)

    created = await service.client.post("/scans", json={"reference": "staging/acme/plain:1"}, headers=headers)
    scan = await wait_for_scan(service, headers, created.json()["id"])

    assert scan["status"] == "completed", scan
    assert scan["images"][0]["warnings"] == []


async def test_on_demand_outside_own_namespace_not_found(service, tokens, editor):
    response = await service.client.post(
        "/scans", json={"reference": "staging/other/app:1"}, headers=tokens.headers(editor)
    )

    assert response.status_code == 404
    assert "staging/other/app" in response.json()["detail"]


async def test_on_demand_other_host_rejected(service, tokens, editor):
    response = await service.client.post(
        "/scans", json={"reference": "10.0.0.1:5000/staging/acme/app:1"}, headers=tokens.headers(editor)
    )

    assert response.status_code == 422
    assert "'10.0.0.1:5000' is not allowed" in response.json()["detail"]


async def test_viewer_cannot_request_scan(service, tokens):
    viewer = User(username="vic", orgs=((ACME, "acme", "viewer"),))

    response = await service.client.post(
        "/scans", json={"reference": "staging/acme/app:1"}, headers=tokens.headers(viewer)
    )

    assert response.status_code == 404


async def test_failed_scan_reports_reason(service, tokens, editor, registry):
    foreign = {
        "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "digest": "sha256:" + "2" * 64,
        "size": 10,
        "urls": ["https://example.invalid/layer"],
    }
    push_image(registry, "staging/acme/windows", "1", [], layer_descriptors=[foreign])
    headers = tokens.headers(editor)

    created = await service.client.post(
        "/scans", json={"reference": "staging/acme/windows:1"}, headers=headers
    )
    scan = await wait_for_scan(service, headers, created.json()["id"])
    sbom = await service.client.get(f"/scans/{scan['id']}/sbom", headers=headers)

    assert scan["status"] == "failed"
    assert scan["failure"]["code"] == "manifest-rejected"
    assert "foreign layer" in scan["failure"]["reason"]
    assert sbom.status_code == 409
    [event] = await outbox_events(service, "scanning.scan.failed")
    assert event["data"]["scan_id"] == scan["id"]


async def test_product_submitted_scans_each_tier_pinned(service, tokens, editor, registry):
    layer = tar(file("etc/os-release", OS_RELEASE), file("lib/apk/db/installed", APK_DB))
    digest, _ = push_image(registry, "staging/acme/shop", "2.0", [layer])
    product_id, version_id = uuid.uuid4(), uuid.uuid4()
    good, missing, foreign = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    envelope = new_envelope(
        type="catalog.product.submitted",
        version=1,
        occurred_at=datetime.now(UTC),
        producer="catalog",
        subject=str(product_id),
        correlation_id="submission-1",
        causation_id=None,
        data={
            "product_id": str(product_id),
            "version_id": str(version_id),
            "version": "2.0",
            "organisation_id": str(ACME),
            "namespace": "acme",
            "slug": "shop",
            "product_type": "image",
            "manifest": {},
            "tiers": [
                _tier(good, "staging/acme/shop:2.0"),
                _tier(missing, "staging/acme/shop:9.9"),
                _tier(foreign, "staging/other/app:1"),
            ],
        },
    )

    await service.runtime.transport.publish(envelope)
    await service.runtime.transport.publish(envelope.model_copy(update={"id": uuid.uuid4()}))

    headers = tokens.headers(editor)
    scans = await _scans_of_version(service, version_id)
    assert len(scans) == 3
    by_tier = {scan.tier_id: scan for scan in scans}
    completed = await wait_for_scan(service, headers, by_tier[good].id)
    assert completed["status"] == "completed"
    assert completed["reference"].endswith(f"staging/acme/shop:2.0@{digest}")
    assert completed["images"][0]["totals"]["Alpine"] == 1
    assert by_tier[missing].status == "failed"
    assert "not found" in by_tier[missing].failure_reason
    assert by_tier[foreign].status == "failed"
    assert by_tier[foreign].failure_code == "reference-rejected"

    [done] = await outbox_events(service, "scanning.scan.completed")
    failed = await outbox_events(service, "scanning.scan.failed")
    assert done["data"]["tier_id"] == str(good)
    assert done["data"]["version_id"] == str(version_id)
    assert done["correlation_id"] == "submission-1"
    assert sorted(event["data"]["tier_id"] for event in failed) == sorted([str(missing), str(foreign)])


def _tier(tier_id: uuid.UUID, reference: str) -> dict:
    return {
        "tier_id": str(tier_id),
        "name": "Standard",
        "reference": reference,
        "price_amount": 0,
        "currency": "EUR",
        "billing_period": "free",
    }


async def _scans_of_version(service, version_id):
    from services.scanning.models import Scan

    async with service.runtime.sessionmaker() as session:
        return list(await session.scalars(select(Scan).where(Scan.version_id == version_id)))


async def test_completed_scan_reports_findings(service, tokens, editor, real_image_reference):
    from services.scanning.vulns.feed_import import import_feed
    from services.scanning.vulns.osv import FEED_DIR_VARIABLE, Feed, default_feed_dir

    feed = default_feed_dir() / "PyPI.zip"
    if not feed.is_file():
        pytest.fail(f"OSV feed {feed} not found: set {FEED_DIR_VARIABLE} to the folder with PyPI.zip")
    async with service.runtime.sessionmaker() as session, session.begin():
        await import_feed(session, Feed(name="PyPI", location=str(feed)))
    headers = tokens.headers(editor)
    repository = real_image_reference.split("/", 1)[1]

    created = await service.client.post("/scans", json={"reference": repository}, headers=headers)
    scan = await wait_for_scan(service, headers, created.json()["id"])
    [event] = await outbox_events(service, "scanning.scan.completed")
    image_id = await _image_id(service, scan["id"])
    findings = await service.client.get(f"/images/{image_id}/findings?limit=200", headers=headers)

    assert scan["status"] == "completed"
    assert sum(event["data"]["counts"].values()) > 0
    assert len(event["data"]["findings"]) == sum(event["data"]["counts"].values())
    assert event["data"]["plugin_checks_passed"] is None
    assert event["data"]["platform_digests"] is None
    assert findings.status_code == 200
    packages = {item["package"] for item in findings.json()["items"]}
    assert {"flask", "jinja2", "requests", "urllib3", "werkzeug"} <= packages
    # click was whited out in the top layer, so nothing may be found in it.
    assert "click" not in packages


async def _image_id(service, scan_id: str) -> uuid.UUID:
    from services.scanning.models import ScannedImage

    async with service.runtime.sessionmaker() as session:
        return await session.scalar(select(ScannedImage.id).where(ScannedImage.scan_id == uuid.UUID(scan_id)))


def test_registry_alias_names_store_registry():
    from services.scanning.scans import parse_store_reference

    settings = ScanningSettings(
        registry_url="http://registry.internal:5000", registry_aliases=["Registry.Wharf.Test"]
    )

    aliased = parse_store_reference(settings, "registry.wharf.test/staging/acme/app:1")
    bare = parse_store_reference(settings, "staging/acme/app:1")
    other = parse_store_reference(settings, "evil.test/staging/acme/app:1")

    assert aliased.registry == "registry.internal:5000"
    assert bare.registry == "registry.internal:5000"
    assert other.registry == "evil.test"


async def test_plugin_scan_reports_plugin_checks(service, tokens, editor, registry):
    from services.scanning.inventory.manifests import PLUGIN_CONFIG
    from tests.scanning.test_checks import VALID_PLUGIN

    layer = tar(file("etc/os-release", OS_RELEASE), file("docker-volume-sshfs", "binary", mode=0o755))
    push_image(registry, "staging/acme/sshfs", "1.0", [layer], config=VALID_PLUGIN,
               config_media_type=PLUGIN_CONFIG)
    headers = tokens.headers(editor)

    created = await service.client.post("/scans", json={"reference": "staging/acme/sshfs:1.0"}, headers=headers)
    scan = await wait_for_scan(service, headers, created.json()["id"])
    [event] = await outbox_events(service, "scanning.scan.completed")

    assert scan["status"] == "completed", scan
    assert scan["images"][0]["is_plugin"] is True
    assert {check["id"]: check["passed"] for check in scan["images"][0]["checks"]}["plugin-config"]
    assert event["data"]["plugin_checks_passed"] is True


async def test_uploaded_archive_scanned_and_deleted(service, tokens, editor, tmp_path):
    from tests.scanning.test_archive import oci_layout_members, small_image, write_tar
    from tests.scanning.layerkit import gzipped

    layer, config = small_image()
    archive = write_tar(tmp_path / "app.tar", oci_layout_members(gzipped(layer), config))
    headers = tokens.headers(editor)

    created = await service.client.post(
        "/scans/archive",
        data={"organisation_id": str(ACME)},
        files={"file": ("app.tar", archive.read_bytes(), "application/x-tar")},
        headers=headers,
    )
    scan = await wait_for_scan(service, headers, created.json()["id"])

    assert created.status_code == 202, created.text
    assert scan["status"] == "completed", scan
    assert scan["trigger"] == "upload"
    assert scan["reference"] == "upload:app.tar"
    assert scan["images"][0]["totals"]["Alpine"] == 1
    assert list((Path(service.runtime.settings.storage_dir) / "uploads").iterdir()) == []


async def test_crashed_archive_scan_deletes_upload(service, tokens, editor, tmp_path, monkeypatch):
    from services.scanning import scans
    from tests.scanning.test_archive import oci_layout_members, write_tar
    from tests.scanning.layerkit import digest_of, gzipped

    # Storing the inventory raises an unexpected error, as a bug in the scanner would:
    # the scanner's crash path, not its failure path. Every input the tests know of that
    # once crashed it is now handled.
    async def crash(session, scan, results):
        raise RuntimeError("the inventory could not be stored")

    monkeypatch.setattr(scans, "store_results", crash)
    layer = tar(file("etc/os-release", "ID=alpine\nVERSION_ID=3.20\n"), file("lib/apk/db/installed", APK_DB))
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"User": "app"},
        "rootfs": {"type": "layers", "diff_ids": [digest_of(layer)]},
        "history": [{"created_by": "ADD rootfs.tar /"}],
    }).encode()
    archive = write_tar(tmp_path / "crash.tar", oci_layout_members(gzipped(layer), config))
    headers = tokens.headers(editor)

    created = await service.client.post(
        "/scans/archive",
        data={"organisation_id": str(ACME)},
        files={"file": ("crash.tar", archive.read_bytes(), "application/x-tar")},
        headers=headers,
    )
    scan = await wait_for_scan(service, headers, created.json()["id"])

    assert created.status_code == 202, created.text
    assert scan["status"] == "failed", scan
    assert scan["failure"]["code"] == "internal-error"
    assert list((Path(service.runtime.settings.storage_dir) / "uploads").iterdir()) == []


async def test_overlong_os_release_id_scanned(service, tokens, editor, tmp_path):
    from tests.scanning.test_archive import oci_layout_members, write_tar
    from tests.scanning.layerkit import digest_of, gzipped

    # Longer than every column that keeps a distribution ID, which once crashed the scan.
    layer = tar(file("etc/os-release", f"ID={'a' * 100}\nVERSION_ID=1\n"), file("lib/apk/db/installed", APK_DB))
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"User": "app"},
        "rootfs": {"type": "layers", "diff_ids": [digest_of(layer)]},
        "history": [{"created_by": "ADD rootfs.tar /"}],
    }).encode()
    archive = write_tar(tmp_path / "long-id.tar", oci_layout_members(gzipped(layer), config))
    headers = tokens.headers(editor)

    created = await service.client.post(
        "/scans/archive",
        data={"organisation_id": str(ACME)},
        files={"file": ("long-id.tar", archive.read_bytes(), "application/x-tar")},
        headers=headers,
    )
    scan = await wait_for_scan(service, headers, created.json()["id"])

    assert scan["status"] == "completed", scan
    assert scan["images"][0]["os"] is None
    assert scan["images"][0]["totals"]["Alpine"] == 1


async def test_upload_for_other_organisation_not_found(service, tokens, editor):
    response = await service.client.post(
        "/scans/archive",
        data={"organisation_id": str(OTHER)},
        files={"file": ("app.tar", b"x" * 10, "application/x-tar")},
        headers=tokens.headers(editor),
    )

    assert response.status_code == 404


async def test_upload_too_large_rejected(service, tokens, editor):
    service.runtime.settings.max_upload_bytes = 1000

    response = await service.client.post(
        "/scans/archive",
        data={"organisation_id": str(ACME)},
        files={"file": ("big.tar", b"x" * 5000, "application/x-tar")},
        headers=tokens.headers(editor),
    )

    assert response.status_code == 413
    assert "larger than 1000 bytes" in response.json()["detail"]
