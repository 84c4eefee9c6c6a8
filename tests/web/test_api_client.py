"""The committed API client matches the services' current OpenAPI documents."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from services.catalog.manifest import CATEGORIES
from tests.web.node import WEB, require_node_modules, run_in_web

sys.path.insert(0, str(WEB / "scripts"))
from export_openapi import merged_document  # noqa: E402

FIX = "regenerate it with `make web-client` and commit web/src/api"


def test_openapi_document_current():
    committed = json.loads((WEB / "src" / "api" / "openapi.json").read_text())

    current = json.loads(json.dumps(merged_document(), sort_keys=True))

    assert committed == current, f"web/src/api/openapi.json is out of date: {FIX}"


def test_typescript_client_current(tmp_path: Path):
    bin_dir = require_node_modules()
    generated = tmp_path / "schema.d.ts"

    run_in_web(str(bin_dir / "openapi-typescript"), "src/api/openapi.json", "-o", str(generated))

    committed = (WEB / "src" / "api" / "schema.d.ts").read_text()
    assert generated.read_text() == committed, f"web/src/api/schema.d.ts is out of date: {FIX}"


def test_unit_tests_and_types_pass():
    bin_dir = require_node_modules()

    run_in_web(str(bin_dir / "tsc"), "-b")
    run_in_web(str(bin_dir / "vitest"), "run")


def test_manifest_editor_offers_catalog_categories():
    source = (WEB / "src" / "pages" / "manifest.ts").read_text()
    block = re.search(r"export const CATEGORIES = \[(.*?)\] as const;", source, re.S)
    assert block is not None, "web/src/pages/manifest.ts no longer defines CATEGORIES"

    offered = tuple(re.findall(r'"([^"]+)"', block.group(1)))

    assert offered == CATEGORIES
