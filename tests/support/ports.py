"""Free loopback ports for servers the tests start."""

from __future__ import annotations

import random
import socket


def is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_port_range(count: int) -> int:
    """Return the first of `count` consecutive free ports."""
    for _ in range(200):
        base = random.randint(20000, 40000)
        if all(is_free(base + offset) for offset in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports found on 127.0.0.1")
