"""Start and stop the Distribution registry (`docker-registry serve config.yml`).

Used by the all-in-one launcher, by the licensing service when `registry_managed` is set,
and by tests and the benchmark. Containers run the `registry:2` image instead, with a
config built by `registry_config.build_config`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import structlog

from services.licensing import registry_config
from services.licensing.settings import LicensingSettings

log = structlog.get_logger()

START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0


class RegistryStartError(RuntimeError):
    pass


@dataclass
class RegistryProcess:
    """A running registry process and how to reach it."""

    binary: str
    config_path: Path
    log_path: Path
    url: str
    process: asyncio.subprocess.Process | None = None
    _log_file: object | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def start(self) -> None:
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = await asyncio.create_subprocess_exec(
            self.binary,
            "serve",
            str(self.config_path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=self._log_file,
        )
        log.info("registry.starting", pid=self.process.pid, url=self.url, config=str(self.config_path))
        try:
            await self._wait_until_serving()
        except BaseException:
            await self.stop()
            raise
        log.info("registry.started", pid=self.process.pid, url=self.url)

    async def stop(self) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                log.warning("registry.kill", pid=process.pid, waited=STOP_TIMEOUT_SECONDS)
                process.kill()
                await process.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        log.info("registry.stopped", pid=process.pid, returncode=process.returncode)

    async def restart(self) -> None:
        """Restart with the same config; needed after a signing key rotation."""
        await self.stop()
        await self.start()

    async def _wait_until_serving(self) -> None:
        # `/v2/` returns 401 with token auth on and 200 with it off; either means serving.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_SECONDS
        async with httpx.AsyncClient(timeout=1.0) as client:
            while True:
                if self.process.returncode is not None:
                    raise RegistryStartError(
                        f"The registry exited with code {self.process.returncode} at start; "
                        f"its log is {self.log_path}:\n{_tail(self.log_path)}"
                    )
                try:
                    response = await client.get(f"{self.url}/v2/")
                    if response.status_code in (200, 401):
                        return
                except httpx.TransportError:
                    pass
                if loop.time() > deadline:
                    raise RegistryStartError(
                        f"The registry did not respond at {self.url}/v2/ within "
                        f"{START_TIMEOUT_SECONDS:.0f} s; its log is {self.log_path}"
                    )
                await asyncio.sleep(0.05)


async def start_registry(
    settings: LicensingSettings,
    data_dir: Path | str,
    *,
    port: int | None = None,
    token_auth: bool = True,
    notifications: bool = True,
    name: str = "registry",
) -> RegistryProcess:
    """Write the config under `data_dir` (the licensing data folder) and start the registry.

    `port` overrides `settings.registry_port`; `name` separates the config and log files
    of a second registry on the same storage (the benchmark's one without auth).
    """
    binary = settings.registry_binary
    if shutil.which(binary) is None:
        raise RegistryStartError(
            f"The registry binary {binary!r} was not found: install the Debian package "
            "`docker-registry` (apt-get install docker-registry) or set "
            "WHARF_LICENSING_REGISTRY_BINARY"
        )

    listen_port = port or settings.registry_port
    if not _port_is_free(settings.registry_host, listen_port):
        # Another registry listening on the port would receive our pushes without any error.
        raise RegistryStartError(
            f"Port {listen_port} on {settings.registry_host} is already in use: stop what listens "
            "there or set WHARF_LICENSING_REGISTRY_PORT to a free port"
        )

    data_dir = Path(data_dir)
    config_path = registry_config.write_config(
        settings,
        data_dir,
        port=port,
        token_auth=token_auth,
        notifications=notifications,
        config_name=f"{name}.yml",
    )
    registry = RegistryProcess(
        binary=binary,
        config_path=config_path,
        log_path=config_path.with_suffix(".log"),
        url=f"http://{settings.registry_host}:{port or settings.registry_port}",
    )
    await registry.start()
    return registry


def _tail(path: Path, lines: int = 20) -> str:
    try:
        with open(path, "rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 8192))
            return b"\n".join(file.read().splitlines()[-lines:]).decode(errors="replace")
    except OSError:
        return "(no log)"


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True
