"""Write the gateway's merged OpenAPI document to a file, without starting any service.

Each service app is built but never started: FastAPI derives the document from the
routes alone, so no database or broker is needed. The merge is the gateway's own
`merge_documents`, so the file matches what `GET /openapi.json` returns.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPOSITORY))

from services.gateway.app import SERVICES  # noqa: E402
from services.gateway.openapi import merge_documents  # noqa: E402
from shared.events.memory import InMemoryTransport  # noqa: E402
from wharf.services import service_module  # noqa: E402

# The engine is created lazily and never connects, so any well-formed URL will do.
UNUSED_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/unused"


def merged_document() -> dict:
    documents = {}
    for name in SERVICES:
        app = service_module(name).create_app(database_url=UNUSED_DATABASE_URL, transport=InMemoryTransport())
        documents[name] = app.openapi()
    return merge_documents(documents, title="Wharf API", version="0.1.0")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="file to write the JSON document to")
    args = parser.parse_args()

    document = merged_document()
    args.output.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(document['paths'])} paths to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
