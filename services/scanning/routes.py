"""HTTP routes of the scanning service: on-demand scans, scan results, components, SBOMs.

Scan results are private: members of the owning organisation and staff read them; anyone
else gets a 404, as if the scan did not exist.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.scanning import scans
from services.scanning.components import Distro
from services.scanning.inventory.errors import ReferenceRejected
from services.scanning.inventory.reference import require_allowed_registry
from services.scanning.inventory.sbom import build_sbom
from services.scanning.models import Scan, ScannedComponent, ScannedImage, ScanStatus, ScanTrigger
from services.scanning.schemas import (
    ComponentOut,
    ComponentPage,
    ScanOut,
    ScanPage,
    ScanRequest,
    ScanSummary,
)
from shared.auth import CurrentPrincipal, OrgRole, Principal, require_member
from shared.context import correlation_id_var
from shared.db import SessionDep
from shared.errors import Conflict, InvalidValue, NotFound, PayloadTooLarge, problem_responses
from shared.idempotency import idempotent
from shared.pagination import check_limit, finish_page, paginate

router = APIRouter(tags=["scanning"])

CYCLONEDX_MEDIA_TYPE = "application/vnd.cyclonedx+json; version=1.6"
UPLOAD_CHUNK = 1024 * 1024


@router.post(
    "/scans",
    status_code=202,
    operation_id="request_scan",
    summary="Scan a repository of your staging namespace",
    response_model=ScanOut,
    responses=problem_responses(401, 404, 409, 422),
)
async def request_scan(
    body: ScanRequest, principal: CurrentPrincipal, session: SessionDep, request: Request
):
    """Queue a scan of an image in `staging/<your namespace>/`; poll the scan for its result."""
    runtime = request.app.state.runtime
    settings = runtime.settings

    async def action():
        try:
            reference = scans.parse_store_reference(settings, body.reference)
            require_allowed_registry(reference, settings.registry_host)
        except ReferenceRejected as error:
            raise InvalidValue(str(error), field="reference") from None

        organisation_id = _staging_owner(principal, settings.staging_prefix, reference.repository)
        scan = await scans.queue_scan(
            session,
            organisation_id=organisation_id,
            reference=str(reference),
            digest=None,
            trigger=ScanTrigger.ON_DEMAND,
            correlation_id=correlation_id_var.get(),
            requested_by=principal.user_id,
        )
        scans.wake_worker(runtime)
        return ScanOut.of(await _load_scan(session, scan.id))

    return await idempotent(
        session,
        request,
        scope=f"scan:{principal.user_id}",
        payload=body,
        action=action,
        status_code=202,
    )


def _staging_owner(principal: Principal, prefix: str, repository: str) -> uuid.UUID:
    """Return the caller's organisation owning `<prefix>/<namespace>/...`, or raise 404."""
    parts = repository.split("/")
    membership = None
    if len(parts) >= 3 and parts[0] == prefix:
        membership = principal.membership_by_namespace(parts[1])
    if membership is None or membership.role < OrgRole.EDITOR:
        # Another organisation's repository is not acknowledged to exist.
        raise NotFound(
            f"Repository {repository!r} not found in your staging namespaces "
            f"({prefix}/<namespace>/<repository>, as an editor or owner)"
        )
    return membership.organisation_id


@router.post(
    "/scans/archive",
    status_code=202,
    operation_id="upload_scan_archive",
    summary="Scan an uploaded `docker save` or OCI image layout archive",
    response_model=ScanOut,
    responses=problem_responses(401, 404, 413, 422),
)
async def upload_archive(
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
    organisation_id: uuid.UUID = Form(description="Organisation that owns the scan"),
    file: UploadFile = File(description="A tar file from `docker save` or an OCI image layout"),
):
    """Store the archive in the service's storage and queue its scan; poll the scan."""
    runtime = request.app.state.runtime
    settings = runtime.settings
    role = principal.role_in(organisation_id)
    if role is None or role < OrgRole.EDITOR:
        raise NotFound(f"Organisation {organisation_id} not found among yours (as an editor or owner)")

    # NOTE: Starlette spools the multipart body to a temporary file before this runs, so the
    # size limit is checked after the upload has been received.
    scan_id = uuid.uuid4()
    path = scans.upload_path(settings, scan_id)
    size = 0
    try:
        with path.open("wb") as target:
            while chunk := await file.read(UPLOAD_CHUNK):
                size += len(chunk)
                if size > settings.max_upload_bytes:
                    raise PayloadTooLarge(
                        f"Archive {file.filename!r} is larger than {settings.max_upload_bytes} bytes"
                    )
                target.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise

    scan = await scans.queue_scan(
        session,
        organisation_id=organisation_id,
        reference=f"upload:{file.filename or 'archive.tar'}",
        digest=None,
        trigger=ScanTrigger.UPLOAD,
        correlation_id=correlation_id_var.get(),
        archive_path=str(path),
        scan_id=scan_id,
        requested_by=principal.user_id,
    )
    scans.wake_worker(runtime)
    return ScanOut.of(await _load_scan(session, scan.id))


@router.get(
    "/scans",
    operation_id="list_scans",
    summary="List an organisation's scans, newest first",
    response_model=ScanPage,
    responses=problem_responses(400, 401, 404),
)
async def list_scans(
    principal: CurrentPrincipal,
    session: SessionDep,
    organisation_id: uuid.UUID = Query(description="Organisation whose scans to list"),
    product_id: uuid.UUID | None = Query(None, description="Only the scans of this product's submissions"),
    cursor: str | None = None,
    limit: int | None = Query(None, description="Page size, 1 to 200; 50 by default"),
):
    """List every scan of one organisation (submissions, on-demand scans and uploads)."""
    require_member(principal, organisation_id)
    limit = check_limit(limit)

    statement = select(Scan).where(Scan.organisation_id == organisation_id)
    if product_id is not None:
        statement = statement.where(Scan.product_id == product_id)
    statement = paginate(statement, columns=[Scan.created_at, Scan.id], cursor=cursor, limit=limit)
    rows = list((await session.execute(statement)).scalars())
    page_rows, next_cursor = finish_page(rows, limit=limit, key=lambda row: [row.created_at, row.id])
    return ScanPage(items=[ScanSummary.of(scan) for scan in page_rows], next_cursor=next_cursor)


@router.get(
    "/scans/{scan_id}",
    operation_id="get_scan",
    summary="Read a scan: status, images, layers, totals and check results",
    response_model=ScanOut,
    responses=problem_responses(401, 404),
)
async def get_scan(scan_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep):
    scan = await _load_scan(session, scan_id)
    _require_reader(principal, scan)
    return ScanOut.of(scan)


@router.get(
    "/scans/{scan_id}/components",
    operation_id="list_scan_components",
    summary="List the components found by a scan, with the layer that introduced each",
    response_model=ComponentPage,
    responses=problem_responses(400, 401, 404),
)
async def list_components(
    scan_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: str | None = None,
    limit: int | None = Query(None, description="Page size, 1 to 200; 50 by default"),
    ecosystem: str | None = Query(None, description="Only this ecosystem, e.g. Debian or PyPI"),
):
    scan = await _load_scan(session, scan_id)
    _require_reader(principal, scan)
    limit = check_limit(limit)

    statement = (
        select(ScannedComponent, ScannedImage.digest)
        .join(ScannedImage, ScannedImage.id == ScannedComponent.image_id)
        .where(ScannedImage.scan_id == scan.id)
    )
    if ecosystem:
        statement = statement.where(ScannedComponent.ecosystem == ecosystem)
    statement = paginate(statement, columns=[ScannedComponent.id], cursor=cursor, limit=limit, descending=False)
    rows = (await session.execute(statement)).all()
    page_rows, next_cursor = finish_page(rows, limit=limit, key=lambda row: [row[0].id])
    return ComponentPage(
        items=[ComponentOut.of(component, digest) for component, digest in page_rows],
        next_cursor=next_cursor,
    )


@router.get(
    "/scans/{scan_id}/sbom",
    operation_id="get_scan_sbom",
    summary="Download the CycloneDX 1.6 SBOM of a scanned image",
    responses={
        200: {"content": {"application/vnd.cyclonedx+json": {}}, "description": "CycloneDX JSON"},
        **problem_responses(401, 404, 409),
    },
)
async def get_sbom(
    scan_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    platform: str | None = Query(
        None, description="Platform as os/architecture[/variant]. The first image by default."
    ),
):
    scan = await _load_scan(session, scan_id)
    _require_reader(principal, scan)
    if scan.status != ScanStatus.COMPLETED:
        raise Conflict(f"Scan {scan.id} is {scan.status}; its SBOM exists once it has completed")

    images = [image for image in scan.images if platform is None or image.platform == platform]
    if not images:
        known = ", ".join(image.platform for image in scan.images)
        raise NotFound(f"Scan {scan.id} has no image for platform {platform!r} (it has {known})")
    image = images[0]

    components = await scans.load_components(session, image.id)
    distro = None
    if image.os_id:
        distro = Distro(image.os_id, image.os_version or "", image.os_name or "")
    document = build_sbom(
        reference=scan.reference, digest=image.digest, distro=distro, components=components
    )
    filename = f"sbom-{image.digest.replace(':', '-')}.cdx.json"
    return Response(
        document,
        media_type=CYCLONEDX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _load_scan(session: AsyncSession, scan_id: uuid.UUID) -> Scan:
    scan = await session.scalar(
        select(Scan)
        .where(Scan.id == scan_id)
        .options(
            selectinload(Scan.images).selectinload(ScannedImage.layers),
            selectinload(Scan.images).selectinload(ScannedImage.checks),
        )
        .execution_options(populate_existing=True)
    )
    if scan is None:
        raise NotFound(f"Scan {scan_id} not found")
    return scan


def _require_reader(principal: Principal, scan: Scan) -> None:
    if principal.is_staff or principal.role_in(scan.organisation_id) is not None:
        return
    raise NotFound(f"Scan {scan.id} not found")
