"""What the browser journey cannot do in a browser: registry pushes and pulls, and new feeds.

`web/e2e/journey.mjs` runs this module as `python -m tests.web.e2e_harness COMMAND ...`
from the repository root. Each command prints one JSON object on standard output; on
failure it prints the reason on standard error and exits with status 1.

- `push RELEASE DESTINATION`: copy one of the demo's images (`vulnerable` or `reviewed`,
  built and cached by `wharf.demo.recipes`) to `DESTINATION` (`host:port/repo:tag`).
- `pull REFERENCE`: pull an image as a customer would and print its digest.
- `full-feeds SOURCE FEED_DIR`: replace the snapshot feeds in `FEED_DIR` with every record
  of the OSV exports in `SOURCE`.

`push` and `pull` authenticate with `WHARF_E2E_REGISTRY_USERNAME` and
`WHARF_E2E_REGISTRY_PASSWORD` (a personal access token) from the environment, so the
token stays off the command line of this process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from wharf.demo import images, recipes
from wharf.demo.feeds import stage_full

RELEASES = {"vulnerable": recipes.VULNERABLE, "reviewed": recipes.REVIEWED}


def registry_credentials() -> tuple[str, str]:
    username = os.environ.get("WHARF_E2E_REGISTRY_USERNAME", "")
    password = os.environ.get("WHARF_E2E_REGISTRY_PASSWORD", "")
    if not username or not password:
        raise SystemExit("Set WHARF_E2E_REGISTRY_USERNAME and WHARF_E2E_REGISTRY_PASSWORD (a personal access token)")
    return username, password


def push(release_name: str, destination: str) -> dict:
    release = RELEASES[release_name]
    # Built by the test's fixture before the stack started, so this only reads the cache.
    built = recipes.build(release, log=lambda text: None)
    digest = images.push_oci_layout(built.layout, built.tag, destination, credentials=registry_credentials())
    return {"digest": digest, "wheels": [f"{name} {version}" for name, version in release.wheels]}


def pull(reference: str) -> dict:
    return {"digest": images.pull_image(reference, credentials=registry_credentials())}


def full_feeds(source: str, feed_dir: str) -> dict:
    return {"records": stage_full(Path(source), Path(feed_dir))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.web.e2e_harness", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    push_parser = commands.add_parser("push", help="push a demo image to the registry")
    push_parser.add_argument("release", choices=sorted(RELEASES))
    push_parser.add_argument("destination", help="host:port/repository:tag")
    pull_parser = commands.add_parser("pull", help="pull an image and print its digest")
    pull_parser.add_argument("reference", help="host:port/repository:tag")
    feeds_parser = commands.add_parser("full-feeds", help="stage the full OSV feeds into the store's feed folder")
    feeds_parser.add_argument("source", help="folder of OSV exports")
    feeds_parser.add_argument("feed_dir", help="the store's feed folder")
    arguments = parser.parse_args(argv)

    try:
        if arguments.command == "push":
            result = push(arguments.release, arguments.destination)
        elif arguments.command == "pull":
            result = pull(arguments.reference)
        else:
            result = full_feeds(arguments.source, arguments.feed_dir)
    except (images.SkopeoError, FileNotFoundError) as exc:
        print(f"{arguments.command} failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
