"""Search benchmark of the catalog: 100,000 generated listings, latency at the service and in SQL.

Run from the repository root: `python bench/catalog_bench.py` (or `make bench`). It needs
the PostgreSQL server of the tests (WHARF_TEST_DATABASE_SERVER_URL, by default
postgresql://postgres@127.0.0.1:5432) and writes bench/reports/catalog.md.

The script fills a fresh database with generated listings and starts the catalog and the
gateway in uvicorn processes on loopback. It sends each query shape with httpx from this
process to the catalog and through the gateway, one request at a time for latency, and
to the catalog from several concurrent clients for throughput. Then it times the SQL
statements of the same queries directly over asyncpg.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The script runs as a file, so the repository root must be put on the import path.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine  # noqa: E402

from services.catalog.manifest import CATEGORIES  # noqa: E402
from services.catalog.search import SearchQuery, Sort, search_listings  # noqa: E402
from shared.clock import SystemClock  # noqa: E402
from shared.db import ensure_database  # noqa: E402
from shared.events.outbox import asyncpg_dsn  # noqa: E402
from shared.migrations import upgrade_async  # noqa: E402
from tests.support.environment import DATABASE_SERVER_URL  # noqa: E402

SEED = 20240601
DATABASE = "wharf_catalog_bench"

# Vocabulary of the generated listings. Names combine a head word and a kind word, so a
# head word matches about 1,250 listings, as a product word would, and a kind word about
# 5,000, as a word like "proxy" would. The kind word "operator" has the English stem of
# "operate", which two of the description phrases hold, so it matches about 36,000.
HEADS = [
    "apex", "aurora", "basalt", "beacon", "birch", "bolt", "canyon", "cedar", "cinder", "cobalt",
    "comet", "coral", "crater", "delta", "drift", "ember", "falcon", "fern", "fjord", "flint",
    "forge", "garnet", "glacier", "granite", "harbor", "hazel", "helix", "horizon", "indigo", "iris",
    "jasper", "juniper", "kelp", "kestrel", "lagoon", "lantern", "lumen", "maple", "marble", "meadow",
    "meridian", "mesa", "nebula", "nimbus", "nova", "oasis", "obsidian", "onyx", "orbit", "osprey",
    "pebble", "pine", "pixel", "prism", "pulsar", "quartz", "quill", "raven", "reef", "ridge",
    "sable", "saffron", "sequoia", "shale", "sierra", "slate", "solstice", "spruce", "summit", "tandem",
    "tempest", "thistle", "tundra", "umber", "vector", "velvet", "vertex", "willow", "zenith", "zephyr",
]
KINDS = [
    "db", "cache", "proxy", "gateway", "queue", "broker", "monitor", "exporter", "operator", "agent",
    "server", "store", "search", "vault", "scanner", "builder", "runner", "dashboard", "router", "mesh",
]
TAGS = [
    "sql", "nosql", "kubernetes", "helm", "metrics", "logging", "tracing", "http", "grpc", "tls",
    "backup", "replication", "streaming", "ml", "python", "java", "golang", "rust", "nodejs", "alpine",
    "debian", "security", "compliance", "etl", "analytics", "timeseries", "graph", "cdn", "dns", "vpn",
]
# Most listings are priced in euros, as in a store that started in Europe.
CURRENCIES = ["EUR", "USD", "GBP"]
CURRENCY_WEIGHTS = [70, 25, 5]
PHRASES = [
    "fast and reliable", "built for production", "with automatic failover", "for small teams",
    "with enterprise support", "optimised for the cloud", "easy to operate", "secure by default",
]

# Query shapes; each runs the same number of times. `{head}` etc. are filled per request.
SHAPES = {
    "one word": {"q": "{head}"},
    "common word": {"q": "{kind}"},
    "two words": {"q": "{head} {kind}"},
    "misspelt word": {"q": "{typo}"},
    "word + filters": {"q": "{kind}", "category": "{category}", "pricing": "paid"},
    "browse newest": {"sort": "newest"},
    "category by pulls": {"category": "{category}", "sort": "pulls"},
    "category by price": {"category": "{category}", "sort": "price_asc"},
}


@dataclass
class Timing:
    samples_ms: list[float]

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.samples_ms)
        index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
        return ordered[index]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)


def misspell(word: str, rng: random.Random) -> str:
    """Double one inner letter or swap two neighbouring inner letters, two common typos."""
    position = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        return word[:position] + word[position] + word[position:]
    swapped = word[:position] + word[position + 1] + word[position] + word[position + 2:]
    # A swap of two equal letters is no typo; double a letter instead.
    return swapped if swapped != word else word[:position] + word[position] + word[position:]


def query_params(shape: str, rng: random.Random) -> dict[str, str]:
    values = {
        "head": rng.choice(HEADS),
        "kind": rng.choice(KINDS),
        "typo": misspell(rng.choice(HEADS), rng),
        "category": rng.choice(CATEGORIES),
    }
    return {key: template.format(**values) for key, template in SHAPES[shape].items()}


# Data.


def listing_rows(count: int, rng: random.Random):
    publishers = [(uuid.uuid4(), f"publisher{i:04d}", f"Publisher {i:04d} Ltd") for i in range(2000)]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for index in range(count):
        organisation_id, namespace, publisher_name = rng.choice(publishers)
        head, kind = rng.choice(HEADS), rng.choice(KINDS)
        name = f"{head.title()} {kind.title()} {index}"
        tags = rng.sample(TAGS, rng.randint(1, 5))
        free = rng.random() < 0.7
        price = 0 if free else rng.choice([500, 990, 1900, 4900, 19900])
        description = f"{head.title()} {kind} {rng.choice(PHRASES)}. Works with {', '.join(tags)}."
        yield (
            uuid.uuid4(),
            organisation_id,
            namespace,
            publisher_name,
            f"{head}-{kind}-{index}",
            name,
            description[:140],
            f"{description} {rng.choice(PHRASES).capitalize()} and {rng.choice(PHRASES)}.",
            rng.choice(CATEGORIES),
            "plugin" if rng.random() < 0.1 else "image",
            tags,
            " ".join(tags),
            None,
            price,
            rng.choices(CURRENCIES, weights=CURRENCY_WEIGHTS)[0],
            free,
            rng.random() < 0.05,
            False,
            int(rng.paretovariate(1.2) * 10),
            "1.0.0",
            start + timedelta(minutes=index),
        )


COLUMNS = [
    "product_id", "organisation_id", "namespace", "publisher_name", "slug", "name", "short_description",
    "description_text", "category", "product_type", "tags", "tags_text", "logo_media_id", "min_price",
    "currency", "is_free", "certified", "held", "pull_count", "version", "published_at",
]


async def prepare_database(url: str, count: int) -> None:
    await ensure_database(url, recreate=True)
    await upgrade_async(ROOT / "services" / "catalog" / "migrations", url)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = list(listing_rows(count, random.Random(SEED)))
        # The row triggers that keep the lexicon and the term facets would update the same
        # few counters a million times in one transaction, and each update lengthens the
        # row's version chain. So the load runs without them, and both are counted once
        # afterwards, as the migrations do.
        async with connection.transaction():
            await connection.execute("ALTER TABLE listings DISABLE TRIGGER USER")
            await connection.copy_records_to_table("listings", records=rows, columns=COLUMNS)
            await connection.execute("ALTER TABLE listings ENABLE TRIGGER USER")
            await connection.execute(REBUILD_SEARCH_TERMS)
            await connection.execute("SELECT rebuild_term_facets()")
        for table in ("listings", "search_terms", "term_facets", "term_publishers"):
            await connection.execute(f"VACUUM ANALYZE {table}")
    finally:
        await connection.close()


REBUILD_SEARCH_TERMS = """
INSERT INTO search_terms (term, listings)
SELECT term, count(*) FROM listings, search_terms_of(listings.words) AS term GROUP BY term
"""


# The service under test.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_service(url: str, port: int) -> subprocess.Popen:
    environment = {
        **os.environ,
        "WHARF_CATALOG_DATABASE_URL": url,
        "WHARF_LOG_LEVEL": "WARNING",
        "WHARF_CATALOG_MEDIA_DIR": str(ROOT / "var" / "bench-media"),
        "PYTHONPATH": str(ROOT),
    }
    command = [
        sys.executable, "-m", "uvicorn", "services.catalog.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]
    return subprocess.Popen(command, env=environment, cwd=ROOT)


def start_gateway(port: int, catalog_url: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        "WHARF_GATEWAY_UPSTREAMS": json.dumps({"catalog": catalog_url}),
        "WHARF_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    command = [
        sys.executable, "-m", "uvicorn", "services.gateway.app:create_gateway", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]
    return subprocess.Popen(command, env=environment, cwd=ROOT)


async def wait_ready(base_url: str, process: subprocess.Popen) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(200):
            if process.poll() is not None:
                raise RuntimeError(f"{base_url} exited with code {process.returncode} before it was ready")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{base_url} did not respond to /healthz within 20 s; see its output above")


async def measure_latency(base_url: str, shape: str, requests: int, rng: random.Random) -> Timing:
    """Time `requests` searches of one shape, one at a time, at `base_url` + `/search`."""
    samples = []
    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(20):  # warm-up: connection pool, prepared statements, caches
            (await client.get("search", params=query_params(shape, rng))).raise_for_status()
        for _ in range(requests):
            params = query_params(shape, rng)
            started = time.perf_counter()
            response = await client.get("search", params=params)
            samples.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return Timing(samples)


async def measure_throughput(base_url: str, requests: int, clients: int, rng: random.Random) -> float:
    shapes = list(SHAPES)
    plan = [query_params(shapes[i % len(shapes)], rng) for i in range(requests)]
    queue: asyncio.Queue = asyncio.Queue()
    for params in plan:
        queue.put_nowait(params)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            params = queue.get_nowait()
            (await client.get("search", params=params)).raise_for_status()

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        return requests / (time.perf_counter() - started)


# The same queries in SQL.


async def measure_sql(url: str, shape: str, requests: int, rng: random.Random) -> Timing:
    """Time the statements the search runs for each query, replayed on a bare asyncpg connection."""
    engine = create_async_engine(url)
    captured: list[tuple[str, tuple]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, tuple(parameters or ())))

    sessions = async_sessionmaker(engine, expire_on_commit=False, info={"runtime": _ClockHolder()})
    connection = await asyncpg.connect(asyncpg_dsn(url))
    # The service sets this per transaction; the replay runs outside one.
    await connection.execute("SET plan_cache_mode = force_custom_plan")
    samples = []
    try:
        for index in range(requests + 20):
            params = query_params(shape, rng)
            captured.clear()
            async with sessions() as session:
                await search_listings(session, _search_query(params))
            statements = [(sql, arguments) for sql, arguments in captured if not sql.startswith("SET ")]

            started = time.perf_counter()
            for statement, arguments in statements:
                await connection.fetch(statement, *arguments)
            if index >= 20:  # the first runs warm the connection's statement cache
                samples.append((time.perf_counter() - started) * 1000)
    finally:
        await connection.close()
        await engine.dispose()
    return Timing(samples)


class _ClockHolder:
    clock = SystemClock()


def _search_query(params: dict[str, str]) -> SearchQuery:
    return SearchQuery(
        text=params.get("q"),
        category=params.get("category"),
        pricing=params.get("pricing"),
        sort=Sort(params["sort"]) if "sort" in params else None,
        limit=20,
    )


# Report.


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}"


async def server_version(url: str) -> str:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return (await connection.fetchval("SHOW server_version")).split()[0]
    finally:
        await connection.close()


def write_report(
    path: Path, *, count: int, requests: int, clients: int, rows, throughput: float, details: str, load: str
) -> None:
    lines = [
        "# Catalog search benchmark",
        "",
        f"{count:,} generated listings; {requests} requests per query shape, one at a time, after 20",
        "warm-up requests. The service is one uvicorn worker on 127.0.0.1, driven by httpx from",
        "another process. SQL times replay the statements of the same queries (the result page",
        "and the facet counts) on a bare asyncpg connection.",
        "",
        f"Machine: {details}. Load average (1, 5, 15 min) at the start and the end: {load}.",
        "",
        "\"one word\" is a head word of the generated names (about 1,250 matches each) and",
        "\"common word\" a kind word (about 5,000 matches each). The kind word \"operator\"",
        "shares its English stem with \"operate\" and matches about 36,000 listings. The facet",
        "counts of a one-term search are read from per-term counts that triggers keep; the",
        "page still ranks every match that passes the filters.",
        "",
        "Searches without words (the last three shapes) reuse facet counts in the service, which",
        "recounts them in the background once they are older than `WHARF_CATALOG_FACET_CACHE_SECONDS`",
        "(10 s); their SQL times include counting the facets on every run. Misspelt words",
        "(a doubled or a swapped letter) match nothing, so the service corrects them against",
        "the lexicon of terms and searches again: three statements, all in the SQL time.",
        "",
        "Command: `python bench/catalog_bench.py` (part of `make bench`).",
        "",
        "Times in milliseconds (p50 / p95 / p99); req/s is one client sending one request at a time.",
        "",
        "| query shape | service | service req/s | gateway | gateway req/s | SQL |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for shape, service, gateway, sql in rows:
        lines.append(
            f"| {shape} | {_triple(service)} | {_rate(service):.0f} | {_triple(gateway)} | {_rate(gateway):.0f} "
            f"| {_triple(sql)} |"
        )
    every = Timing([sample for _, service, _, _ in rows for sample in service.samples_ms])
    every_gateway = Timing([sample for _, _, gateway, _ in rows for sample in gateway.samples_ms])
    lines += [
        f"| all shapes | {_triple(every)} | {_rate(every):.0f} | {_triple(every_gateway)} | {_rate(every_gateway):.0f} | |",
        "",
        f"Throughput with {clients} concurrent clients over the mixed shapes: {throughput:.0f} requests/s.",
        "",
        f"Bar: p95 under 25 ms at the service. All shapes together: p95 {every.percentile(0.95):.1f} ms, "
        + ("met." if every.percentile(0.95) < 25 else "NOT met."),
        "",
        "The gateway runs in its own uvicorn process and forwards `/api/catalog/search` to the",
        "catalog over loopback HTTP, as in the distributed mode.",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


def _triple(timing: Timing) -> str:
    return f"{timing.p50:.1f} / {timing.percentile(0.95):.1f} / {timing.percentile(0.99):.1f}"


def _rate(timing: Timing) -> float:
    return 1000 / statistics.mean(timing.samples_ms)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000, help="number of generated listings")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per query shape")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients of the throughput run")
    parser.add_argument("--reuse", action="store_true", help="keep the database of an earlier run")
    parser.add_argument("--report", type=Path, default=ROOT / "bench" / "reports" / "catalog.md")
    options = parser.parse_args()

    from sqlalchemy.engine import make_url

    url = make_url(DATABASE_SERVER_URL).set(drivername="postgresql+asyncpg", database=DATABASE).render_as_string(
        hide_password=False
    )
    if not options.reuse:
        started = time.perf_counter()
        await prepare_database(url, options.listings)
        print(f"generated {options.listings} listings in {time.perf_counter() - started:.0f} s", flush=True)

    load_at_start = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    port, gateway_port = free_port(), free_port()
    process = start_service(url, port)
    base_url = f"http://127.0.0.1:{port}/"
    gateway = start_gateway(gateway_port, f"http://127.0.0.1:{port}")
    gateway_url = f"http://127.0.0.1:{gateway_port}/api/catalog/"
    rng = random.Random(SEED + 1)
    try:
        await wait_ready(base_url, process)
        await wait_ready(f"http://127.0.0.1:{gateway_port}/", gateway)
        rows = []
        for shape in SHAPES:
            service = await measure_latency(base_url, shape, options.requests, rng)
            through_gateway = await measure_latency(gateway_url, shape, options.requests, rng)
            sql = await measure_sql(url, shape, options.requests, rng)
            rows.append((shape, service, through_gateway, sql))
            print(
                f"{shape}: p95 service {service.percentile(0.95):.1f} ms, "
                f"gateway {through_gateway.percentile(0.95):.1f} ms, SQL {sql.percentile(0.95):.1f} ms",
                flush=True,
            )
        throughput = await measure_throughput(base_url, options.requests * len(SHAPES), options.clients, rng)
    finally:
        for child in (gateway, process):
            child.terminate()
            child.wait(timeout=10)

    load = f"{load_at_start} / " + ", ".join(f"{value:.1f}" for value in os.getloadavg())
    details = f"{machine()}, PostgreSQL {await server_version(url)}"
    write_report(
        options.report,
        count=options.listings,
        requests=options.requests,
        clients=options.clients,
        rows=rows,
        throughput=throughput,
        details=details,
        load=load,
    )
    print(f"report written to {options.report}")


if __name__ == "__main__":
    asyncio.run(main())
