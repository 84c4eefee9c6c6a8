"""The distributed store for the journey test: each service its own process, as `make up` runs it.

The processes run the commands of `python -m wharf up` with its environment, against the
PostgreSQL server and RabbitMQ, on free ports with private database and broker names. The
test starts them itself so that it can stop and start one service in the middle. They
share an adjustable clock through an offset file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import aio_pika
import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.gateway.app import SERVICES
from services.scanning.vulns.osv import FEED_DIR_VARIABLE
from shared.clock import FileOffsetClock, write_clock_offset
from shared.events.rabbitmq import dead_queue, main_queue, retry_queue
from shared.service import with_database
from tests.support.environment import AMQP_URL, DATABASE_PREFIX, DATABASE_SERVER_URL
from tests.support.ports import free_port, free_port_range
from wharf.demo.store import store_settings
from wharf.distributed import child_environment
from wharf.services import distributed_ports

REPOSITORY = Path(__file__).resolve().parents[2]
RETRY_DELAYS = [0.5, 2.0, 5.0]


def settings_environment(settings: dict[str, dict]) -> dict[str, str]:
    """Turn per-service settings into `WHARF_<SERVICE>_<NAME>` variables."""
    environment = {}
    for service, values in settings.items():
        for name, value in values.items():
            variable = f"WHARF_{service.upper()}_{name.upper()}"
            environment[variable] = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return environment


@dataclass
class DistributedStore:
    """A `Store` for the journey whose services run as separate processes."""

    gateway_url: str
    registry_address: str
    admin_credentials: tuple[str, str]
    feed_dir: Path
    clock_file: Path
    environment: dict[str, str]
    ports: dict[str, int]
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    # What the test did to the scanning process, for its report.
    restarts: list[str] = field(default_factory=list)

    def now(self) -> datetime:
        return FileOffsetClock(self.clock_file).now()

    async def advance_clock_to(self, moment: datetime) -> datetime:
        return FileOffsetClock(self.clock_file).advance_to(moment)

    async def run_scheduler(self, service: str) -> None:
        # Each process runs its schedulers every second; the journey waits for their effects.
        return None

    async def after_submission(self) -> None:
        """Stop the scanning process right after the submission and start it again."""
        self.stop("scanning")
        self.restarts.append("scanning stopped after the submission")
        time.sleep(2)
        self.start("scanning")
        wait_ready(f"http://127.0.0.1:{self.ports['scanning']}", timeout=60)
        self.restarts.append("scanning started again")

    def command(self, name: str) -> list[str]:
        if name == "gateway":
            return [sys.executable, "-m", "wharf", "gateway"]
        return [sys.executable, "-m", "wharf", "serve", name, "--port", str(self.ports[name])]

    def start(self, name: str) -> None:
        log = (self.log_dir / f"{name}.log").open("a")
        self.processes[name] = subprocess.Popen(
            self.command(name), cwd=REPOSITORY, env=self.environment, stdout=log, stderr=subprocess.STDOUT
        )

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def exited(self) -> dict[str, int]:
        return {name: process.returncode for name, process in self.processes.items() if process.poll() is not None}

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else ""


def start_distributed_store(work_dir: Path, suffix: str) -> DistributedStore:
    """Start every service and the gateway as processes; return once the gateway is ready."""
    ports = distributed_ports(free_port_range(len(SERVICES)))
    gateway_port = free_port()
    registry_port = free_port()
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    admin = ("store-admin", "admin@demo.example.com", uuid.uuid4().hex)

    clock_file = work_dir / "clock-offset"
    write_clock_offset(clock_file, timedelta(0))
    feed_dir = work_dir / "osv-feeds"
    feed_dir.mkdir()
    log_dir = work_dir / "logs"
    log_dir.mkdir()

    overrides = {
        "WHARF_DATABASE_SERVER_URL": DATABASE_SERVER_URL,
        "WHARF_DATABASE_PREFIX": database_prefix(suffix),
        "WHARF_AMQP_URL": AMQP_URL,
        "WHARF_AMQP_EXCHANGE": broker_prefix(suffix),
        "WHARF_AMQP_QUEUE_PREFIX": broker_prefix(suffix),
        "WHARF_RETRY_DELAYS": json.dumps(RETRY_DELAYS),
        "WHARF_OUTBOX_POLL_INTERVAL": "0.5",
        "WHARF_CLOCK_OFFSET_FILE": str(clock_file),
        "WHARF_GATEWAY_PORT": str(gateway_port),
        "WHARF_DATA_DIR": str(work_dir / "data"),
        "WHARF_LOG_LEVEL": "WARNING",
        "WHARF_LOG_JSON": "false",
        FEED_DIR_VARIABLE: str(feed_dir),
        # Schedulers run a pass every second, so the clock's jumps take effect at once.
        "WHARF_MODERATION_SCHEDULER_INTERVAL_SECONDS": "1",
        "WHARF_AUDIT_SCHEDULER_INTERVAL": "1",
        "WHARF_BILLING_STATEMENT_CHECK_INTERVAL": "1",
        "WHARF_SCANNING_WORKER_POLL_INTERVAL": "0.5",
        # A scan cut short by the restart is taken over once its lease ends.
        "WHARF_SCANNING_LEASE_SECONDS": "20",
        "PYTHONPATH": str(REPOSITORY),
        **settings_environment(store_settings(gateway_url=gateway_url, registry_port=registry_port, admin=admin)),
    }
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        environment = child_environment(ports)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    store = DistributedStore(
        gateway_url=gateway_url,
        registry_address=f"127.0.0.1:{registry_port}",
        admin_credentials=(admin[0], admin[2]),
        feed_dir=feed_dir,
        clock_file=clock_file,
        environment=environment,
        ports=ports,
        log_dir=log_dir,
    )
    for name in [*SERVICES, "gateway"]:
        store.start(name)
    try:
        wait_ready(gateway_url, timeout=120)
    except AssertionError:
        store.stop_all()
        raise
    return store


def database_prefix(suffix: str) -> str:
    return f"{DATABASE_PREFIX}_jd{suffix}"


def broker_prefix(suffix: str) -> str:
    return f"wharf-journey-{suffix}"


def wait_ready(base_url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base_url}/readyz", timeout=3)
            if response.status_code == 200:
                return
            last = response.text[:500]
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.5)
    raise AssertionError(f"{base_url} did not become ready in {timeout:.0f} s: {last}")


async def query(service: str, suffix: str, statement: str, **parameters) -> list:
    """Run one SQL statement on a service's database of this run and return its rows."""
    url = with_database(DATABASE_SERVER_URL, f"{database_prefix(suffix)}_{service}")
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text(statement), parameters)).all())
    finally:
        await engine.dispose()


async def dead_letter_counts(suffix: str) -> dict[str, int]:
    """Count the messages in each service's dead-letter queue of this run."""
    connection = await aio_pika.connect_robust(AMQP_URL)
    counts = {}
    try:
        channel = await connection.channel()
        for service in SERVICES:
            queue = await channel.declare_queue(dead_queue(service, broker_prefix(suffix)), durable=True)
            counts[service] = queue.declaration_result.message_count
    finally:
        await connection.close()
    return counts


async def remove_run_data(suffix: str) -> None:
    """Drop this run's databases, queues and exchange."""
    engine = create_async_engine(DATABASE_SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for service in SERVICES:
                database = f"{database_prefix(suffix)}_{service}"
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        await engine.dispose()

    connection = await aio_pika.connect_robust(AMQP_URL)
    try:
        channel = await connection.channel()
        prefix = broker_prefix(suffix)
        for service in SERVICES:
            names = [main_queue(service, prefix), dead_queue(service, prefix)]
            names += [retry_queue(service, index, prefix) for index in range(len(RETRY_DELAYS))]
            for name in names:
                await channel.queue_delete(name)
        await channel.exchange_delete(prefix)
    finally:
        await connection.close()
