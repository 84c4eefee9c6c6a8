"""Benchmark of the registry token service and of what token auth costs a pull.

Starts the licensing stack used by the licensing tests (service over uvicorn, the real
`docker-registry`, an identity stand-in with fixed users) and measures, in one run:

1. `GET /token` for an entitled pull of a purchasers-only product: requests per second
   and latency percentiles, with a fixed number of concurrent clients.
2. A pull of the same image from the registry with token auth and from a second registry
   process on the same storage with auth off, alternating. The clients are skopeo and a
   plain HTTP client that fetches manifest, config and layer over new connections, so
   every authenticated pull fetches a new token.

Writes `bench/reports/licensing.md`. Needs PostgreSQL at WHARF_TEST_DATABASE_SERVER_URL
(default 127.0.0.1:5432), `docker-registry` and `skopeo`.

    python bench/licensing_bench.py [--token-requests 2000] [--concurrency 8] [--pulls 30]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("WHARF_TEST_DB_PREFIX", "wharf_licensing_bench")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from shared.logging import configure_logging  # noqa: E402
from services.licensing.registry_process import start_registry  # noqa: E402
from services.licensing.settings import LicensingSettings  # noqa: E402
from tests.licensing.catalog import published_product  # noqa: E402
from tests.licensing.stack import ACME, USERS, free_port, licensing_stack, skopeo  # noqa: E402

DEFAULT_CACHE_SECONDS = LicensingSettings().credential_cache_seconds
REPORT = Path(__file__).resolve().parent / "reports" / "licensing.md"
BAR = 1.2


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def basic(username: str) -> str:
    pair = f"{username}:{USERS[username].password}".encode()
    return "Basic " + base64.b64encode(pair).decode()


async def _token_load(url: str, params: dict, headers: dict, total: int, concurrency: int) -> dict:
    latencies: list[float] = []
    remaining = total

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        check = await client.get("/token", params=params, headers=headers)
        assert check.status_code == 200, check.text

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                response = await client.get("/token", params=params, headers=headers)
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started

    return {
        "requests": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
    }


async def measure_tokens(stack, repository: str, *, total: int, concurrency: int) -> dict:
    """Load `GET /token` from a separate process, so the client does not slow the service."""
    request = {
        "url": stack.licensing_url,
        "params": {"service": stack.settings.token_service, "scope": f"repository:{repository}:pull"},
        "headers": {"Authorization": basic("alice")},
        "total": total,
        "concurrency": concurrency,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--token-load",
        json.dumps(request),
        stdout=subprocess.PIPE,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"The token load process failed with exit code {process.returncode}")
    return json.loads(output)


async def http_pull(
    client: httpx.AsyncClient,
    registry_url: str,
    repository: str,
    tag: str,
    token_url: str | None,
    token_service: str = "",
) -> None:
    """Pull manifest, config and layers as a client with no cached token would."""
    accept = "application/vnd.oci.image.manifest.v1+json"
    headers = {"Accept": accept}
    probe = await client.get(f"{registry_url}/v2/")
    if probe.status_code == 401:
        token = await client.get(
            token_url,
            params={"service": token_service, "scope": f"repository:{repository}:pull"},
            headers={"Authorization": basic("alice")},
        )
        headers["Authorization"] = f"Bearer {token.json()['token']}"
    manifest = await client.get(f"{registry_url}/v2/{repository}/manifests/{tag}", headers=headers)
    manifest.raise_for_status()
    document = manifest.json()
    for blob in [document["config"], *document["layers"]]:
        response = await client.get(
            f"{registry_url}/v2/{repository}/blobs/{blob['digest']}", headers=headers, follow_redirects=True
        )
        response.raise_for_status()


async def skopeo_pull(stack, registry_host: str, repository: str, credentials: list[str]) -> None:
    destination = stack.work_dir / f"bench-{uuid.uuid4().hex[:8]}"
    result = await skopeo(
        "copy",
        "--src-tls-verify=false",
        *credentials,
        f"docker://{registry_host}/{repository}:1.0",
        f"oci:{destination}:1.0",
        auth_dir=stack.work_dir,
    )
    assert result.ok, result.output


async def measure_pulls(stack, open_registry, repository: str, *, pulls: int) -> dict:
    timings: dict[str, list[float]] = {
        "skopeo_auth": [],
        "skopeo_open": [],
        "http_auth": [],
        "http_open": [],
    }
    alice = ["--src-creds", f"alice:{USERS['alice'].password}"]

    async def timed(name: str, action) -> None:
        started = time.perf_counter()
        await action
        timings[name].append(time.perf_counter() - started)

    # Warm both registries and the page cache before timing.
    await skopeo_pull(stack, stack.registry_host, repository, alice)
    await skopeo_pull(stack, open_registry.url.removeprefix("http://"), repository, ["--src-no-creds"])

    # Without kept-alive connections every pull connects afresh like a new client. One
    # client object keeps the TLS set-up httpx does per client out of the timings.
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        for _ in range(pulls):
            # Alternate so drift in machine load hits both sides alike.
            await timed("skopeo_auth", skopeo_pull(stack, stack.registry_host, repository, alice))
            await timed(
                "skopeo_open",
                skopeo_pull(stack, open_registry.url.removeprefix("http://"), repository, ["--src-no-creds"]),
            )
            await timed(
                "http_auth",
                http_pull(
                    client,
                    stack.registry.url,
                    repository,
                    "1.0",
                    f"{stack.licensing_url}/token",
                    stack.settings.token_service,
                ),
            )
            await timed("http_open", http_pull(client, open_registry.url, repository, "1.0", None))

    return {name: {"p50": statistics.median(v), "p99": percentile(v, 0.99), "n": len(v)} for name, v in timings.items()}


async def main(arguments: argparse.Namespace) -> None:
    configure_logging("WARNING", json=False)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="wharf-licensing-bench-") as work:
        async with licensing_stack(Path(work)) as stack:
            product = await published_product(stack, access_policy="purchasers", price=900)
            await stack.deliver(
                "billing.checkout.completed",
                {
                    "order_id": str(uuid.uuid4()),
                    "user_id": str(USERS["alice"].user_id),
                    "product_id": str(product.product_id),
                    "tier_id": str(product.tier_id),
                    "organisation_id": str(ACME),
                    "amount": 900,
                    "currency": "EUR",
                    "mode": "payment",
                },
            )

            checker = stack.service.runtime.state["credentials"]
            tokens = {}
            for cache_seconds in (0, DEFAULT_CACHE_SECONDS):
                checker.cache_seconds = cache_seconds
                tokens[cache_seconds] = await measure_tokens(
                    stack, product.repository, total=arguments.token_requests, concurrency=arguments.concurrency
                )

            # Both registries notify licensing, so token auth is the only difference.
            open_registry = await start_registry(
                stack.settings,
                Path(work) / "licensing",
                port=free_port(),
                token_auth=False,
                name="registry-open",
            )
            try:
                pulls = await measure_pulls(stack, open_registry, product.repository, pulls=arguments.pulls)
            finally:
                await open_registry.stop()

    write_report(tokens, pulls, arguments, load=(load_before, os.getloadavg()[0]))


def write_report(tokens: dict, pulls: dict, arguments: argparse.Namespace, *, load: tuple[float, float]) -> None:
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.1f}"

    skopeo_ratio = pulls["skopeo_auth"]["p50"] / pulls["skopeo_open"]["p50"]
    http_ratio = pulls["http_auth"]["p50"] / pulls["http_open"]["p50"]
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    lines = [
        "# Licensing benchmark: registry tokens and the cost of token auth",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python bench/licensing_bench.py "
        f"--token-requests {arguments.token_requests} --concurrency {arguments.concurrency} "
        f"--pulls {arguments.pulls}` on {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        "docker-registry 2.8 and skopeo from Debian, PostgreSQL on loopback. "
        f"The one-minute load average was {load[0]:.1f} at the start and {load[1]:.1f} at the end; "
        "other work on the machine shows up in every number below.",
        "",
        "## Token requests for an entitled pull",
        "",
        "`GET /token` with Basic credentials of a customer holding an entitlement to a "
        "purchasers-only tier, scope `pull` on its store repository, from a separate client "
        "process. Each request reads the product, tier and entitlement from PostgreSQL and "
        "signs an ES256 token. With the credential cache off every request also asks the "
        "identity stand-in over HTTP (it compares plain strings; the real identity service "
        "verifies an Argon2 hash, which costs more). The stand-in runs in the licensing "
        "service's process and event loop.",
        "",
        "| credential cache | requests | concurrency | requests/s | p50 ms | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for cache_seconds, row in tokens.items():
        label = "off" if cache_seconds == 0 else f"{cache_seconds:g} s (default)"
        lines.append(
            f"| {label} | {row['requests']} | {arguments.concurrency} | {row['rate']:.0f} "
            f"| {ms(row['p50'])} | {ms(row['p99'])} |"
        )
    lines += [
        "",
        "## Pull with token auth beside the same registry with auth off",
        "",
        "Two `docker-registry` processes on one storage folder, both posting notifications "
        "to licensing: one with token auth as configured for Wharf, one with auth off. Pulls "
        "alternate between them, with the default credential cache. The image is one small "
        "layer, so the numbers show the fixed cost per pull.",
        "",
        "| client | auth | pulls | p50 ms | p99 ms |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, label, auth in (
        ("skopeo_auth", "skopeo copy", "token"),
        ("skopeo_open", "skopeo copy", "off"),
        ("http_auth", "HTTP client", "token"),
        ("http_open", "HTTP client", "off"),
    ):
        row = pulls[name]
        lines.append(f"| {label} | {auth} | {row['n']} | {ms(row['p50'])} | {ms(row['p99'])} |")
    verdict = "meets" if skopeo_ratio < BAR else "misses"
    lines += [
        "",
        f"Median pull time with token auth over auth off: **{skopeo_ratio:.2f}x** with skopeo "
        f"(the bar is under {BAR}x: this run {verdict} it), {http_ratio:.2f}x with the plain HTTP "
        "client, whose pull is three requests and so shows the token round trip at its largest.",
        "",
    ]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__" and sys.argv[1:2] == ["--token-load"]:
    load = json.loads(sys.argv[2])
    print(json.dumps(asyncio.run(_token_load(**load))))
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token-requests", type=int, default=2000, help="number of token requests")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent token clients")
    parser.add_argument("--pulls", type=int, default=30, help="pulls per registry and client")
    asyncio.run(main(parser.parse_args()))
