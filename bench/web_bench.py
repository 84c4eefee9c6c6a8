"""Measure the web front end's initial JavaScript against its 250 kB gzipped budget.

Run from the repository root: `python bench/web_bench.py` (or `make bench`). It needs
Node.js and `web/node_modules` (`make web-deps`), builds the app with Vite into a
temporary folder and writes bench/reports/web.md.

The initial JavaScript is what a browser must fetch before the first page renders: the
entry script of index.html and every chunk it imports statically, found through the
build manifest (`vite build --manifest`). Chunks loaded with a dynamic `import()`, such
as the staff pages, are listed apart and not counted. Sizes are of the files on disk,
and gzip sizes come from Python's gzip module at level 9.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
REPORT = ROOT / "bench" / "reports" / "web.md"

# Budget of the initial JavaScript, gzipped, in kB of 1000 bytes (the unit Vite prints).
BUDGET_GZIP_BYTES = 250_000


@dataclass(frozen=True)
class Chunk:
    file: str
    raw: int
    gzipped: int


def build(out_dir: Path) -> None:
    """Bundle the app into `out_dir` with a manifest, as `npm run build` would without the type check."""
    npx = shutil.which("npx")
    if npx is None:
        sys.exit("npx not found: install Node.js 20 and npm, then run make web-deps")
    if not (WEB / "node_modules").is_dir():
        sys.exit("web/node_modules is missing: run make web-deps (npm ci in web/)")
    subprocess.run(
        [npx, "vite", "build", "--manifest", "--emptyOutDir", "--outDir", str(out_dir), "--logLevel", "warn"],
        cwd=WEB,
        check=True,
    )


def measure(out_dir: Path, file: str) -> Chunk:
    data = (out_dir / file).read_bytes()
    return Chunk(file=file, raw=len(data), gzipped=len(gzip.compress(data, compresslevel=9, mtime=0)))


def entry_key(manifest: dict) -> str:
    entries = [key for key, chunk in manifest.items() if chunk.get("isEntry")]
    if len(entries) != 1:
        sys.exit(f"expected one entry in the build manifest, found {entries}")
    return entries[0]


def static_closure(manifest: dict, key: str) -> list[str]:
    """Return the manifest keys of the entry, first, and of every chunk it imports statically."""
    seen: list[str] = []

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.append(name)
        for imported in manifest[name].get("imports", []):
            visit(imported)

    visit(key)
    return seen


def dynamic_chunks(manifest: dict, initial: list[str]) -> list[str]:
    """Return the JavaScript files that load later, through a dynamic import()."""
    files = {chunk["file"] for key, chunk in manifest.items() if key not in initial and chunk["file"].endswith(".js")}
    return sorted(files)


def check_index_html(out_dir: Path, entry_file: str) -> None:
    """Exit unless index.html loads the manifest's entry script, so the measured file is the one browsers get."""
    html = (out_dir / "index.html").read_text()
    scripts = re.findall(r'<script[^>]+type="module"[^>]+src="/?([^"]+)"', html)
    if scripts != [entry_file]:
        sys.exit(f"index.html loads {scripts}, but the build manifest names the entry {entry_file}")


def tool_version(*command: str) -> str:
    try:
        return subprocess.run(command, cwd=WEB, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def kilobytes(size: int) -> str:
    return f"{size / 1000:.1f}"


def write_report(report: Path, initial: list[Chunk], later: list[Chunk], css: list[Chunk]) -> tuple[int, int]:
    raw = sum(chunk.raw for chunk in initial)
    gzipped = sum(chunk.gzipped for chunk in initial)
    verdict = "within" if gzipped <= BUDGET_GZIP_BYTES else "over"
    lines = [
        "# Web front end: initial JavaScript",
        "",
        "Written by `bench/web_bench.py`. It builds the app with `vite build --manifest` and",
        "counts the entry script of `index.html` with every chunk it imports statically: what a",
        "browser fetches before the first page renders. Sizes are the built files on disk;",
        "gzip is Python's gzip at level 9. kB are 1000 bytes, as Vite prints them.",
        "",
        f"Built {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with Node.js {tool_version('node', '--version')}, "
        f"Vite {tool_version('npx', 'vite', '--version').removeprefix('vite/').split()[0]}, "
        f"on {platform.system()} {platform.machine()}.",
        "",
        f"**Initial JavaScript: {kilobytes(raw)} kB, {kilobytes(gzipped)} kB gzipped, {verdict} the "
        f"budget of {kilobytes(BUDGET_GZIP_BYTES)} kB gzipped "
        f"({gzipped / BUDGET_GZIP_BYTES:.0%} of it).**",
        "",
        "| initial file | raw kB | gzip kB |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{chunk.file}` | {kilobytes(chunk.raw)} | {kilobytes(chunk.gzipped)} |" for chunk in initial]
    lines += [f"| total | {kilobytes(raw)} | {kilobytes(gzipped)} |", ""]
    if later:
        lines += [
            "Loaded later, on the first visit to a page that needs them (not counted):",
            "",
            "| file | raw kB | gzip kB |",
            "| --- | --- | --- |",
        ]
        lines += [f"| `{chunk.file}` | {kilobytes(chunk.raw)} | {kilobytes(chunk.gzipped)} |" for chunk in later]
        lines.append("")
    if css:
        lines += ["Style sheets of the entry (not JavaScript, not counted):", ""]
        lines += [f"- `{chunk.file}`: {kilobytes(chunk.raw)} kB, {kilobytes(chunk.gzipped)} kB gzipped" for chunk in css]
        lines.append("")
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join(lines))
    return raw, gzipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, default=REPORT, help="Markdown file to write")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="wharf-web-bench-") as folder:
        out_dir = Path(folder)
        build(out_dir)
        manifest = json.loads((out_dir / ".vite" / "manifest.json").read_text())

        entry = entry_key(manifest)
        initial_keys = static_closure(manifest, entry)
        entry_file = manifest[entry]["file"]
        check_index_html(out_dir, entry_file)

        initial = [measure(out_dir, manifest[key]["file"]) for key in initial_keys]
        later = [measure(out_dir, file) for file in dynamic_chunks(manifest, initial_keys)]
        css_files = sorted({file for key in initial_keys for file in manifest[key].get("css", [])})
        css = [measure(out_dir, file) for file in css_files]
        raw, gzipped = write_report(arguments.report, initial, later, css)

    print(
        f"initial JavaScript: {kilobytes(raw)} kB, {kilobytes(gzipped)} kB gzipped "
        f"(budget {kilobytes(BUDGET_GZIP_BYTES)} kB gzipped); report in {arguments.report}"
    )
    if gzipped > BUDGET_GZIP_BYTES:
        sys.exit(
            f"the initial JavaScript is {kilobytes(gzipped)} kB gzipped, over the budget of "
            f"{kilobytes(BUDGET_GZIP_BYTES)} kB: move pages behind a dynamic import() or drop dependencies"
        )


if __name__ == "__main__":
    main()
