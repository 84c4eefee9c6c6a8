"""The licensing service, the real registry and an identity stand-in, all on loopback.

Docker clients (skopeo here) fetch tokens from the realm the registry names and the
registry posts notifications back, so the licensing app is served over real HTTP by
uvicorn, beside a `docker-registry` process started from the generated config.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from shared.events.envelope import new_envelope
from shared.events.memory import InMemoryTransport
from shared.events.schemas import dump_data, schema_for
from services.licensing.app import create_app
from services.licensing.registry_process import RegistryProcess, start_registry
from services.licensing.settings import LicensingSettings
from tests.support.services import RunningService, running_service, test_platform
from tests.support.tokens import TestUser, TokenIssuer

INTERNAL_TOKEN = "licensing-test-internal-token"
NOTIFICATIONS_SECRET = "licensing-test-notifications-secret"
ACME = uuid.UUID("0d4f6a8e-1111-4c3b-9a51-6f6f8a4b0001")
EVIL = uuid.UUID("0d4f6a8e-2222-4c3b-9a51-6f6f8a4b0002")


@dataclass
class User:
    """A fixed test account of the identity stand-in, with its secrets and their scopes."""

    username: str
    password: str
    user_id: uuid.UUID = field(default_factory=uuid.uuid4)
    staff_roles: tuple[str, ...] = ()
    # (organisation id, namespace, role)
    memberships: tuple[tuple[uuid.UUID, str, str], ...] = ()
    # Personal access tokens: secret -> scope ("pull", "pull+push", "admin").
    tokens: dict[str, str] = field(default_factory=dict)

    def check(self, secret: str) -> str | None:
        if secret == self.password:
            return "password"
        return self.tokens.get(secret)

    def test_user(self) -> TestUser:
        return TestUser(
            user_id=self.user_id,
            username=self.username,
            staff=self.staff_roles,
            orgs=self.memberships,
        )


USERS = {
    user.username: user
    for user in (
        User("alice", "alice-password", tokens={"alice-pat-pull": "pull"}),
        User("bob", "bob-password"),
        User(
            "pete",
            "pete-password",
            memberships=((ACME, "acme", "editor"),),
            tokens={"pete-pat-pull": "pull", "pete-pat-push": "pull+push"},
        ),
        User("vera", "vera-password", memberships=((ACME, "acme", "viewer"),)),
        User("mallory", "mallory-password", memberships=((EVIL, "evil", "owner"),)),
        User("rita", "rita-password", staff_roles=("reviewer",)),
    )
}


def identity_stand_in() -> FastAPI:
    """Identity's credential-check contract with fixed users.

    A stand-in for the identity service's internal API, which is built separately. An
    end-to-end test against the real identity service should replace it.
    """
    app = FastAPI()

    @app.post("/internal/credentials/check")
    async def check(request: Request):
        if request.headers.get("x-wharf-internal-token") != INTERNAL_TOKEN:
            return JSONResponse({"detail": "not found"}, status_code=404)
        body = await request.json()
        user = USERS.get(body.get("username", ""))
        scope = user.check(body.get("secret", "")) if user else None
        if user is None or scope is None:
            return JSONResponse({"detail": "invalid credentials"}, status_code=401)
        return {
            "user_id": str(user.user_id),
            "username": user.username,
            "scope": scope,
            "staff_roles": list(user.staff_roles),
            "memberships": [
                {"organisation_id": str(org), "namespace": ns, "role": role}
                for org, ns, role in user.memberships
            ],
        }

    return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.asynccontextmanager
async def serve(app: FastAPI, port: int) -> AsyncIterator[None]:
    """Serve an app with uvicorn on 127.0.0.1:`port` in this event loop."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@dataclass
class Stack:
    service: RunningService
    transport: InMemoryTransport
    registry: RegistryProcess
    settings: LicensingSettings
    licensing_url: str
    issuer: TokenIssuer
    work_dir: Path

    @property
    def registry_host(self) -> str:
        return self.registry.url.removeprefix("http://")

    async def deliver(self, event_type: str, data: dict, *, occurred_at: datetime | None = None) -> None:
        """Hand an event to the licensing consumer the way the bus does."""
        version, _model = schema_for(event_type)
        envelope = new_envelope(
            type=event_type,
            version=version,
            occurred_at=occurred_at or datetime.now(UTC),
            producer=event_type.split(".", 1)[0],
            subject=str(data.get("product_id") or data.get("order_id") or uuid.uuid4()),
            data=dump_data(event_type, data),
            correlation_id=None,
            causation_id=None,
        )
        await self.transport.publish(envelope)
        assert not self.transport.dead_letters, self.transport.dead_letters[-1].error

    async def emitted(self, event_type: str) -> list[dict]:
        """Data of the events licensing wrote to its outbox, oldest first."""
        outbox = self.service.runtime.metadata.tables["outbox"]
        async with self.service.runtime.sessionmaker() as session:
            rows = await session.execute(
                select(outbox.c.envelope).where(outbox.c.type == event_type).order_by(outbox.c.seq, outbox.c.created_at)
            )
            return [row.envelope["data"] for row in rows]

    def bearer(self, username: str) -> dict[str, str]:
        return self.issuer.headers(USERS[username].test_user())


@contextlib.asynccontextmanager
async def licensing_stack(work_dir: Path, *, credential_cache_seconds: float = 0) -> AsyncIterator[Stack]:
    """Start the stack. By default the credential cache is off, so every token request calls identity."""
    if shutil.which("skopeo") is None:
        raise RuntimeError("skopeo is not installed: apt-get install skopeo")
    if shutil.which("docker-registry") is None:
        raise RuntimeError("The registry is not installed: apt-get install docker-registry")

    licensing_port, identity_port, registry_port = free_port(), free_port(), free_port()
    licensing_url = f"http://127.0.0.1:{licensing_port}"
    settings = LicensingSettings(
        data_dir=str(work_dir / "licensing"),
        registry_port=registry_port,
        token_realm=f"{licensing_url}/token",
        notifications_url=f"{licensing_url}/registry/notifications",
        notifications_secret=NOTIFICATIONS_SECRET,
        credential_cache_seconds=credential_cache_seconds,
    )
    platform = test_platform(
        identity_url=f"http://127.0.0.1:{identity_port}",
        internal_token=INTERNAL_TOKEN,
        data_dir=str(work_dir),
    )
    transport = InMemoryTransport(retry_delays=[0.01])
    issuer = TokenIssuer()

    async with (
        serve(identity_stand_in(), identity_port),
        running_service(
            create_app, database="licensing", settings=settings, platform=platform, transport=transport
        ) as service,
        serve(service.app, licensing_port),
    ):
        issuer.install(service.runtime.state["jwks"])
        registry = await start_registry(settings, work_dir / "licensing")
        try:
            yield Stack(
                service=service,
                transport=transport,
                registry=registry,
                settings=settings,
                licensing_url=licensing_url,
                issuer=issuer,
                work_dir=work_dir,
            )
        finally:
            await registry.stop()


@dataclass
class SkopeoResult:
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


async def skopeo(*arguments: str, auth_dir: Path) -> SkopeoResult:
    """Run skopeo with an empty auth file, so only the credentials given here count."""
    auth_file = auth_dir / "auth.json"
    if not auth_file.exists():
        auth_file.write_text(json.dumps({"auths": {}}))
    command, *rest = arguments
    process = await asyncio.create_subprocess_exec(
        "skopeo",
        "--command-timeout",
        "60s",
        command,
        "--authfile",
        str(auth_file),
        *rest,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "REGISTRY_AUTH_FILE": str(auth_file)},
    )
    output, _ = await process.communicate()
    return SkopeoResult(process.returncode, output.decode(errors="replace"))


def _creds(side: str, username: str | None, secret: str | None) -> list[str]:
    # `side` is "src" or "dest"; no username means an anonymous client.
    if username is None:
        return [f"--{side}-no-creds"]
    return [f"--{side}-creds", f"{username}:{secret or USERS[username].password}"]


async def pull(
    stack: Stack, repository: str, tag: str, username: str | None, secret: str | None = None
) -> SkopeoResult:
    """Pull `repository:tag` into a fresh OCI layout with skopeo."""
    destination = stack.work_dir / f"pulled-{uuid.uuid4().hex[:8]}"
    return await skopeo(
        "copy",
        "--src-tls-verify=false",
        *_creds("src", username, secret),
        f"docker://{stack.registry_host}/{repository}:{tag}",
        f"oci:{destination}:{tag}",
        auth_dir=stack.work_dir,
    )


async def push(
    stack: Stack,
    image,
    repository: str,
    tag: str,
    username: str | None,
    secret: str | None = None,
) -> SkopeoResult:
    """Push a hand-built OCI image, every platform of an index included, with skopeo."""
    return await skopeo(
        "copy",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        *_creds("dest", username, secret),
        image.reference,
        f"docker://{stack.registry_host}/{repository}:{tag}",
        auth_dir=stack.work_dir,
    )


async def inspect_raw(
    stack: Stack, reference: str, username: str | None, secret: str | None = None
) -> SkopeoResult:
    """Fetch the raw manifest of `repository:tag` or `repository@digest`."""
    creds = ["--no-creds"] if username is None else ["--creds", f"{username}:{secret or USERS[username].password}"]
    return await skopeo(
        "inspect",
        "--raw",
        "--tls-verify=false",
        *creds,
        f"docker://{stack.registry_host}/{reference}",
        auth_dir=stack.work_dir,
    )
