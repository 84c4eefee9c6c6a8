"""The gateway serves the built single-page app at `/` without shadowing its own routes."""

from __future__ import annotations

import httpx
import pytest

from services.gateway.app import create_gateway
from services.gateway.settings import GatewaySettings

INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-3f9a1c2e.js"></script></head></html>'
SCRIPT = "console.log('wharf');"


@pytest.fixture
def dist_dir(tmp_path):
    """A build laid out as Vite writes it: index.html, hashed assets, top-level public files."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "index-3f9a1c2e.js").write_text(SCRIPT)
    (tmp_path / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path.parent / "secret.txt").write_text("outside the build")
    return tmp_path


@pytest.fixture
async def gateway(dist_dir, monkeypatch):
    monkeypatch.setenv("WHARF_GATEWAY_WEB_DIST_DIR", str(dist_dir))
    app = create_gateway(GatewaySettings(upstreams={}))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


async def test_root_serves_index(gateway):
    response = await gateway.get("/")

    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"


async def test_hashed_asset_cached_for_a_year(gateway):
    response = await gateway.get("/assets/index-3f9a1c2e.js")

    assert response.status_code == 200
    assert response.text == SCRIPT
    assert "javascript" in response.headers["content-type"]
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_public_file_cached_briefly(gateway):
    response = await gateway.get("/favicon.svg")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=3600"


@pytest.mark.parametrize("path", ["/search", "/store/acme/fast-db", "/account/tokens", "/review/cases/42"])
async def test_client_route_falls_back_to_index(gateway, path):
    response = await gateway.get(path)

    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["cache-control"] == "no-cache"


async def test_head_of_client_route(gateway):
    response = await gateway.head("/search")

    assert response.status_code == 200
    assert response.content == b""


async def test_missing_asset_is_404_not_html(gateway):
    response = await gateway.get("/assets/index-00000000.js")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/api", "/api/catalog", "/docs/missing", "/openapi.json/x", "/metrics/x", "/readyz/x"])
async def test_reserved_prefixes_never_get_index(gateway, path):
    response = await gateway.get(path)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_gateway_routes_still_answer(gateway):
    health = await gateway.get("/healthz")
    docs = await gateway.get("/docs")
    document = await gateway.get("/openapi.json")
    metrics = await gateway.get("/metrics")

    assert health.json() == {"status": "ok", "service": "gateway"}
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text
    assert document.json()["info"]["title"] == "Wharf API"
    assert metrics.headers["content-type"].startswith("text/plain")


async def test_unknown_service_still_problem_json(gateway):
    response = await gateway.get("/api/nosuch/products")

    assert response.status_code == 404
    assert "nosuch" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"])
async def test_no_file_outside_build(gateway, path):
    response = await gateway.get(path)

    assert "outside the build" not in response.text


async def test_missing_build_shows_how_to_build(tmp_path, monkeypatch):
    monkeypatch.setenv("WHARF_GATEWAY_WEB_DIST_DIR", str(tmp_path / "absent"))
    app = create_gateway(GatewaySettings(upstreams={}))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.get("/store/acme/fast-db")

    assert response.status_code == 200
    assert "make web-build" in response.text


@pytest.mark.parametrize("path", ["/%00", "/search%00.html", "/" + "a" * 300, "/a" * 3000])
async def test_odd_path_falls_back_to_index(gateway, path):
    response = await gateway.get(path)

    assert response.status_code == 200
    assert response.text == INDEX


@pytest.mark.parametrize("path", ["/assets/%00.js", "/assets/" + "a" * 300 + ".js"])
async def test_odd_asset_path_is_404(gateway, path):
    response = await gateway.get(path)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
