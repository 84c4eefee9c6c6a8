"""The gateway's /docs and /redoc pages load their scripts and styles from the store itself."""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest

from services.gateway.app import create_gateway
from services.gateway.settings import GatewaySettings
from tests.web.node import WEB, require_node_modules, run_in_web

# The package files that the build copies, by the key the gateway reads.
PACKAGE_FILES = {
    "swagger_ui_js": WEB / "node_modules" / "swagger-ui-dist" / "swagger-ui-bundle.js",
    "swagger_ui_css": WEB / "node_modules" / "swagger-ui-dist" / "swagger-ui.css",
    "redoc_js": WEB / "node_modules" / "redoc" / "bundles" / "redoc.standalone.js",
}
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


class ResourceLinks(HTMLParser):
    """Collects the URLs of the scripts, stylesheets and icons a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.icons: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.scripts.append(values["src"])
        if tag == "link" and values.get("href"):
            rel = (values.get("rel") or "").lower().split()
            if "stylesheet" in rel:
                self.stylesheets.append(values["href"])
            elif "icon" in rel:
                self.icons.append(values["href"])


def resource_links(page: str) -> ResourceLinks:
    parser = ResourceLinks()
    parser.feed(page)
    return parser


@pytest.fixture(scope="module")
def web_build(tmp_path_factory):
    """The front end built by Vite, with the documentation assets its plugin copies."""
    bin_dir = require_node_modules()
    out_dir = tmp_path_factory.mktemp("web-dist")
    # The type check is left out: it checks the app's sources, not what this test reads.
    environment = {**os.environ, "WHARF_WEB_OUT_DIR": str(out_dir)}
    run_in_web(str(bin_dir / "vite"), "build", "--logLevel", "warn", env=environment)
    return out_dir


@pytest.fixture
async def gateway(web_build, monkeypatch):
    monkeypatch.setenv("WHARF_GATEWAY_WEB_DIST_DIR", str(web_build))
    app = create_gateway(GatewaySettings(upstreams={}))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


@pytest.mark.parametrize(("page_path", "scripts", "stylesheets"), [("/docs", 1, 1), ("/redoc", 1, 0)])
async def test_docs_assets_served_locally(gateway, page_path, scripts, stylesheets):
    page = await gateway.get(page_path)
    links = resource_links(page.text)

    assert page.status_code == 200
    assert len(links.scripts) == scripts, page.text
    assert len(links.stylesheets) == stylesheets, page.text
    for url in links.scripts + links.stylesheets + links.icons:
        parts = urlsplit(url)
        assert parts.scheme == "", f"{page_path} loads {url} from another host"
        assert parts.netloc == "", f"{page_path} loads {url} from another host"
        assert url.startswith("/"), url

        response = await gateway.get(url)
        suffix = os.path.splitext(parts.path)[1]
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith(CONTENT_TYPES[suffix]), url
        assert response.headers["cache-control"].startswith("public, max-age="), url
    for url in links.scripts + links.stylesheets:
        response = await gateway.get(url)
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable", url
    assert page.headers["cache-control"] == "no-cache"


async def test_docs_assets_are_package_files(gateway):
    swagger = resource_links((await gateway.get("/docs")).text)
    redoc = resource_links((await gateway.get("/redoc")).text)
    served = {
        "swagger_ui_js": swagger.scripts[0],
        "swagger_ui_css": swagger.stylesheets[0],
        "redoc_js": redoc.scripts[0],
    }

    for key, url in served.items():
        response = await gateway.get(url)
        assert response.content == PACKAGE_FILES[key].read_bytes(), f"{url} is not {PACKAGE_FILES[key]}"


async def test_docs_page_names_local_openapi(gateway):
    swagger = await gateway.get("/docs")
    redoc = await gateway.get("/redoc")

    assert "url: '/openapi.json'" in swagger.text
    assert 'spec-url="/openapi.json"' in redoc.text
    assert "fonts.googleapis.com" not in redoc.text


def manifest_with(swagger_ui_js: str) -> str:
    return json.dumps({"swagger_ui_js": swagger_ui_js, "swagger_ui_css": "/assets/a.css", "redoc_js": "/assets/a.js"})


@pytest.mark.parametrize(
    "manifest",
    [
        None,
        "not json",
        '{"swagger_ui_js": "https://cdn.example.com/x.js"}',
        "[" * 100_000 + "]" * 100_000,
        manifest_with('/assets/x.js"></script><script src="https://cdn.example.com/x.js"></script>'),
        manifest_with("/assets/x.js'</script><script src=https://cdn.example.com/x.js>"),
        manifest_with("/assets//cdn.example.com/x.js"),
        manifest_with("/assets/../../cdn.example.com/x.js"),
        manifest_with("/assets/x.js\n<script src=https://cdn.example.com/x.js>"),
    ],
)
async def test_docs_without_assets_says_how_to_build(tmp_path, monkeypatch, manifest):
    (tmp_path / "index.html").write_text("<!doctype html>")
    if manifest is not None:
        (tmp_path / "api-docs.json").write_text(manifest)
    monkeypatch.setenv("WHARF_GATEWAY_WEB_DIST_DIR", str(tmp_path))
    app = create_gateway(GatewaySettings(upstreams={}))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.get("/docs")

    assert response.status_code == 200
    assert "make web-build" in response.text
    assert "cdn.example.com" not in response.text
    assert resource_links(response.text).scripts == []
