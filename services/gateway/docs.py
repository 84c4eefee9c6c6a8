"""Serve the API documentation pages, Swagger UI at `/docs` and ReDoc at `/redoc`.

Their scripts and styles come from the npm packages `swagger-ui-dist` and `redoc`,
which the web build copies under `assets/` with a content hash and lists in
`api-docs.json` (see `web/vite.config.ts`). The pages load nothing from another host,
so they work on a machine without internet access.
"""

from __future__ import annotations

import json
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from services.gateway.static import REVALIDATE_CACHE, WebSettings

TITLE = "Wharf API"
OPENAPI_URL = "/openapi.json"
# Written by the web build's `wharf-api-docs-assets` plugin.
MANIFEST = "api-docs.json"
ASSET_KEYS = ("swagger_ui_js", "swagger_ui_css", "redoc_js")
FAVICON_URL = "/favicon.svg"
# A file directly under `assets/`, as Vite names them (such as `redoc.standalone-DjJc5WZ1.js`).
# FastAPI writes the URLs into the pages unescaped, so a quote, a bracket or a slash
# in a tampered manifest would otherwise change the page's HTML or leave the folder.
ASSET_URL = re.compile(r"/assets/[A-Za-z0-9_-][A-Za-z0-9._-]*\Z")

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wharf API</title></head>
<body><h1>Wharf API</h1>
<p>The documentation pages need the web build, which is missing or older than the
gateway: run <code>make web-build</code> (needs Node.js 20 and npm), then reload.</p>
<p>The API description is at <a href="/openapi.json">/openapi.json</a>.</p></body></html>
"""


def read_asset_urls(settings: WebSettings) -> dict[str, str] | None:
    """Return the build's URL of each documentation asset, or None when the build lacks them."""
    try:
        urls = json.loads((settings.dist_dir / MANIFEST).read_text())
    # json.loads raises RecursionError on deeply nested arrays.
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(urls, dict):
        return None
    # Only paths on this host: a manifest must never send browsers elsewhere.
    for key in ASSET_KEYS:
        url = urls.get(key)
        if not isinstance(url, str) or not ASSET_URL.match(url):
            return None
    return urls


def install_api_docs(app: FastAPI, settings: WebSettings | None = None) -> None:
    """Add the `/docs` and `/redoc` routes."""
    settings = settings or WebSettings()

    def page(render) -> HTMLResponse:
        # The manifest is read on each request, like the web build's index.html, so a
        # new build takes effect without a restart. The pages name hashed asset URLs of
        # that build, so browsers revalidate them.
        urls = read_asset_urls(settings)
        response = HTMLResponse(NOT_BUILT_PAGE) if urls is None else render(urls)
        response.headers["Cache-Control"] = REVALIDATE_CACHE
        return response

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return page(
            lambda urls: get_swagger_ui_html(
                openapi_url=OPENAPI_URL,
                title=TITLE,
                swagger_js_url=urls["swagger_ui_js"],
                swagger_css_url=urls["swagger_ui_css"],
                swagger_favicon_url=FAVICON_URL,
            )
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return page(
            lambda urls: get_redoc_html(
                openapi_url=OPENAPI_URL,
                title=TITLE,
                redoc_js_url=urls["redoc_js"],
                redoc_favicon_url=FAVICON_URL,
                with_google_fonts=False,
            )
        )
