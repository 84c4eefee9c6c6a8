"""`GET /token`: the claims Distribution needs and the scopes each caller gets."""

from __future__ import annotations

import base64

import jwt
from cryptography import x509

from services.licensing import keys
from tests.licensing.catalog import published_product
from tests.licensing.stack import INTERNAL_TOKEN, USERS


def _basic(username: str, secret: str | None = None) -> dict[str, str]:
    pair = f"{username}:{secret or USERS[username].password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


async def _token(stack, scopes: list[str], headers: dict[str, str] | None = None):
    return await stack.service.client.get(
        "/token",
        params=[("service", stack.settings.token_service), *(("scope", s) for s in scopes)],
        headers=headers or {},
    )


def _claims(response) -> dict:
    return jwt.decode(response.json()["token"], options={"verify_signature": False})


def _access(response) -> dict[str, list[str]]:
    return {entry["name"]: entry["actions"] for entry in _claims(response)["access"]}


async def test_token_claims_match_registry_config(stack):
    response = await _token(stack, ["repository:staging/acme/app:pull,push"], _basic("pete"))
    token = response.json()["token"]
    header = jwt.get_unverified_header(token)
    bundle = x509.load_pem_x509_certificates(
        keys.bundle_path(stack.settings.resolved_data_dir("") / "keys").read_bytes()
    )
    claims = jwt.decode(
        token,
        bundle[0].public_key(),
        algorithms=["ES256"],
        audience=stack.settings.token_service,
        issuer=stack.settings.token_issuer,
    )

    assert response.status_code == 200
    assert isinstance(claims["aud"], str)
    assert isinstance(claims["exp"], int)
    assert header["kid"] == keys.libtrust_key_id(bundle[0].public_key())
    assert claims["sub"] == str(USERS["pete"].user_id)


async def test_several_scopes_granted_separately(stack):
    response = await _token(
        stack,
        ["repository:staging/acme/app:pull,push", "repository:staging/evil/app:pull,push"],
        _basic("pete"),
    )

    access = _access(response)

    assert access["staging/acme/app"] == ["pull", "push"]
    assert "staging/evil/app" not in access


async def test_unknown_repository_gets_nothing(stack):
    response = await _token(
        stack,
        ["repository:store/acme/never-published:pull", "repository:library/ubuntu:pull"],
        _basic("bob"),
    )

    assert response.status_code == 200
    assert _access(response) == {}


async def test_staff_pull_unpublished_store_repository(stack):
    response = await _token(stack, ["repository:store/acme/in-review:pull,push"], _basic("rita"))

    assert _access(response) == {"store/acme/in-review": ["pull"]}


async def test_anonymous_store_pull_needs_published_product(stack):
    unpublished = await _token(stack, ["repository:store/acme/not-yet:pull"])
    product = await published_product(stack, access_policy="everyone")
    published = await _token(stack, [f"repository:{product.repository}:pull,push"])

    assert _access(unpublished) == {}
    assert _access(published) == {product.repository: ["pull"]}


async def test_viewer_and_staff_pull_staging_only(stack):
    viewer = await _token(stack, ["repository:staging/acme/app:pull,push"], _basic("vera"))
    staff = await _token(stack, ["repository:staging/acme/app:pull,push"], _basic("rita"))
    stranger = await _token(stack, ["repository:staging/acme/app:pull,push"], _basic("bob"))

    assert _access(viewer) == {"staging/acme/app": ["pull"]}
    assert _access(staff) == {"staging/acme/app": ["pull"]}
    assert _access(stranger) == {}


async def test_service_account_pulls_staging(stack):
    response = await _token(
        stack, ["repository:staging/acme/app:pull,push"], _basic("wharf-service", INTERNAL_TOKEN)
    )

    assert _access(response) == {"staging/acme/app": ["pull"]}
    assert _claims(response)["sub"] == "service:wharf-service"


async def test_wrong_password_unauthorized(stack):
    response = await _token(stack, ["repository:staging/acme/app:pull"], _basic("pete", "wrong"))

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_wrong_service_rejected(stack):
    response = await stack.service.client.get("/token", params={"service": "other-registry"})

    assert response.status_code == 400
    assert "other-registry" in response.json()["detail"]


async def test_account_must_match_user(stack):
    response = await stack.service.client.get(
        "/token",
        params={"service": stack.settings.token_service, "account": "alice"},
        headers=_basic("pete"),
    )

    assert response.status_code == 400


async def test_malformed_scope_rejected(stack):
    response = await _token(stack, ["repository"])

    assert response.status_code == 400
    assert "repository" in response.json()["detail"]
