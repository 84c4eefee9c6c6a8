"""Serve the built web front end (the single-page app under `web/dist`) at `/`.

Vite writes content-hashed files under `assets/`, so those are cached for a year and
marked immutable. Browsers revalidate `index.html` on every load, so a new build
reaches them at once. Any other GET path that is not a file of the build and not one of
the gateway's own prefixes returns `index.html`, so the app's client-side routes
(`/store/acme/db`, `/account/tokens`) survive a reload.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.errors import NotFound

REPOSITORY = Path(__file__).resolve().parents[2]

# Prefixes of the gateway's own routes. The fallback returns a 404 for them, not index.html.
RESERVED_PREFIXES = ("/api", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz", "/metrics")

IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
REVALIDATE_CACHE = "no-cache"
# Files at the top of the build (favicon, robots.txt) have stable names, so they are
# cached briefly rather than forever.
SHORT_CACHE = "public, max-age=3600"

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wharf</title></head>
<body><h1>Wharf</h1>
<p>The API is running. The web front end is not built: run <code>make web-build</code>
(needs Node.js 20 and npm), then reload.</p>
<p><a href="/docs">API documentation</a></p></body></html>
"""


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WHARF_GATEWAY_WEB_", env_file=".env", extra="ignore")

    # Folder of the built single-page app (the output of `npm run build` in `web/`).
    dist_dir: Path = REPOSITORY / "web" / "dist"


def is_reserved(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in RESERVED_PREFIXES)


def resolve_file(dist_dir: Path, path: str) -> Path | None:
    """Return the build file for a URL path, or None. A path outside the build gives None."""
    root = dist_dir.resolve()
    try:
        candidate = (root / path.lstrip("/")).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
    # A NUL (ValueError), a name too long for the file system (OSError) or a lone
    # surrogate (UnicodeEncodeError, a ValueError) names no file of the build.
    except (ValueError, OSError):
        return None
    return candidate


def install_web_app(app: FastAPI, settings: WebSettings | None = None) -> None:
    """Add the catch-all route that serves the front end. Call it after adding every other route."""
    settings = settings or WebSettings()
    dist_dir = settings.dist_dir

    async def serve(request: Request, path: str = "") -> Response:
        url_path = "/" + path
        if is_reserved(url_path):
            raise NotFound(f"No route {url_path}")

        # The build is looked up on each request, so `make web-build` while the
        # gateway runs takes effect without a restart.
        index = dist_dir / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT_PAGE, headers={"Cache-Control": REVALIDATE_CACHE})

        file = resolve_file(dist_dir, url_path) if path else None
        if file is not None and file.name != "index.html":
            hashed = url_path.startswith("/assets/")
            return FileResponse(file, headers={"Cache-Control": IMMUTABLE_CACHE if hashed else SHORT_CACHE})

        # A missing hashed asset is a stale reference from an old build. Returning
        # index.html for it would make the browser fail to parse a script.
        if url_path.startswith("/assets/"):
            raise NotFound(f"No asset {url_path} in the current web build")

        return FileResponse(index, headers={"Cache-Control": REVALIDATE_CACHE})

    app.add_api_route("/", serve, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route("/{path:path}", serve, methods=["GET", "HEAD"], include_in_schema=False)
