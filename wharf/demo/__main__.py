"""`python -m wharf.demo`: run the main journey on a fresh all-in-one store and print each step."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import sys
from pathlib import Path

from shared.logging import configure_logging
from wharf.demo.client import StepFailed
from wharf.demo.feeds import source_feed_dir
from wharf.demo.journey import Journey
from wharf.demo.steps import STEPS
from wharf.demo.store import in_process_store

# Written into the data folder, so that a later run only ever deletes a demo's own folder.
MARKER = ".wharf-demo"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m wharf.demo", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("WHARF_DEMO_PORT", "0")) or None,
                        help="gateway port on 127.0.0.1 (default: a free port; env WHARF_DEMO_PORT)")
    parser.add_argument("--data-dir", default=os.environ.get("WHARF_DEMO_DATA_DIR", "var/demo"),
                        help="folder of the demo store's database, registry and feeds, emptied at start "
                             "(default: var/demo; env WHARF_DEMO_DATA_DIR)")
    parser.add_argument("--osv-dir", default=os.environ.get("WHARF_DEMO_OSV_DIR"),
                        help="folder of OSV exports to import (default: WHARF_SCANNING_OSV_FEED_DIR, else "
                             "the shared/data/osv folder beside the checkout; env WHARF_DEMO_OSV_DIR)")
    parser.add_argument("--keep-running", action="store_true",
                        help="leave the store running after the journey, until Ctrl-C")
    parser.add_argument("--until", type=int, metavar="STEP", help="stop after this step number")
    parser.add_argument("--verbose", action="store_true", help="print the services' logs as well")
    return parser.parse_args(argv)


def fresh_data_dir(path: Path) -> Path:
    """Empty the demo's data folder; refuse a folder that a demo did not create."""
    if path.exists() and any(path.iterdir()):
        if not (path / MARKER).exists():
            raise SystemExit(f"{path} exists and is not a demo data folder; choose another --data-dir")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("Created by `python -m wharf.demo`; emptied by its next run.\n")
    # The embedded PostgreSQL runs as its own system user when started by root.
    path.chmod(0o755)
    return path.resolve()


async def run_demo(arguments: argparse.Namespace) -> int:
    try:
        osv_source = source_feed_dir(arguments.osv_dir)
    except FileNotFoundError as exc:
        print(f"FAILED before step 1: {exc}", file=sys.stderr)
        return 2
    data_dir = fresh_data_dir(Path(arguments.data_dir))
    run_id = secrets.token_hex(3)

    print(f"Starting the Wharf store in this process (data in {data_dir}) ...", flush=True)
    async with in_process_store(data_dir, port=arguments.port, log_json=False) as store:
        print(f"Store ready: API at {store.gateway_url}/docs, registry at {store.registry_address}", flush=True)
        journey = Journey(store, osv_source=osv_source, run_id=run_id, out=lambda text: print(text, flush=True))
        outcome = 0
        try:
            await journey.run(STEPS, only_until=arguments.until)
        except StepFailed as exc:
            print(f"\nFAILED: {exc}", file=sys.stderr, flush=True)
            outcome = 1
        else:
            if arguments.until is None:
                print("\nThe journey completed: every step held.", flush=True)
            else:
                print(f"\nSteps 1 to {arguments.until} held; the rest were not run.", flush=True)

        if arguments.keep_running:
            print(
                f"\nThe store stays up at {store.gateway_url} (API docs at {store.gateway_url}/docs); "
                f"the admin is {store.admin_credentials[0]} with password {store.admin_credentials[1]}. "
                "Press Ctrl-C to stop.",
                flush=True,
            )
            await asyncio.Event().wait()
        return outcome


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    configure_logging("INFO" if arguments.verbose else "ERROR", json=False)
    try:
        return asyncio.run(run_demo(arguments))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
