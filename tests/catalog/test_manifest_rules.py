"""Every manifest rule with the message a publisher gets, checked directly and through the API."""

from __future__ import annotations

import copy
import uuid

import pytest

from services.catalog.manifest import check_manifest, check_name, slugify

LOGO = uuid.uuid4()
SCREENSHOT = uuid.uuid4()
NAMESPACE = "acme"


def complete_manifest() -> dict:
    return {
        "logo_media_id": str(LOGO),
        "short_description": "A fast database",
        "category": "Database",
        "tags": ["sql"],
        "long_description": "Long text",
        "screenshots": [str(SCREENSHOT)],
        "support": {"url": "https://acme.example.com/support", "offered": False},
        "install_instructions": "docker run",
        "licence": {"url": "https://acme.example.com/licence", "version": "1"},
        "access_policy": "everyone",
        "licence_required": False,
        "tiers": [
            {
                "name": "Free",
                "description": "Free tier",
                "price_amount": 0,
                "currency": "EUR",
                "billing_period": "free",
                "source": "staging/acme/db:1.0",
            }
        ],
    }


def errors_of(manifest: dict, *, complete: bool = True) -> dict[str, list[str]]:
    """Return the messages of each field at fault."""
    errors = check_manifest(manifest, namespace=NAMESPACE, media_ids={LOGO, SCREENSHOT}, complete=complete)
    by_field: dict[str, list[str]] = {}
    for error in errors:
        by_field.setdefault(error.field, []).append(error.message)
    return by_field


def with_change(path: str, value) -> dict:
    manifest = complete_manifest()
    target = manifest
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if value is _DELETE:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return manifest


_DELETE = object()


def test_complete_manifest_has_no_errors():
    assert errors_of(complete_manifest()) == {}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("logo_media_id", "The product logo is missing"),
        ("short_description", "The short description is missing"),
        ("category", "The category is missing: choose one of Database"),
        ("long_description", "The long description is missing"),
        ("screenshots", "At least one screenshot is required"),
        ("support", "The support link is missing"),
        ("tiers", "At least one tier is required"),
        ("install_instructions", "The installation instructions are missing"),
        ("licence", "The link to the licence agreement is missing"),
        ("access_policy", "The access policy is missing"),
    ],
)
def test_required_item_missing(item, message):
    errors = errors_of(with_change(item, _DELETE))

    assert item in errors
    assert errors[item][0].startswith(message)


def test_draft_may_miss_items():
    manifest = {"tiers": []}

    assert errors_of(manifest, complete=False) == {}


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        ("short_description", "x" * 141, "short_description", "The short description has 141 characters; the maximum is 140"),
        ("category", "Games", "category", "Unknown category 'Games': choose one of Database, Networking"),
        ("tags", ["Has Space"], "tags.0", "Invalid tag 'Has Space': use 1 to 40 lowercase letters"),
        ("tags", [f"t{i}" for i in range(21)], "tags", "There are 21 tags; the maximum is 20"),
        ("long_description", "x" * 50_001, "long_description", "The long description has 50001 characters; the maximum is 50000"),
        ("install_instructions", "x" * 50_001, "install_instructions", "The install instructions has 50001 characters"),
        ("logo_media_id", str(uuid.UUID(int=1)), "logo_media_id", f"The product logo {uuid.UUID(int=1)} is not an image uploaded by this organisation"),
        ("screenshots", [str(uuid.UUID(int=2))], "screenshots.0", f"Screenshot {uuid.UUID(int=2)} is not an image uploaded by this organisation"),
        ("screenshots", [str(SCREENSHOT), str(SCREENSHOT)], "screenshots", "A screenshot appears more than once"),
        ("screenshots", [str(SCREENSHOT)] * 11, "screenshots", "There are 11 screenshots; the maximum is 10"),
        ("support.url", "ftp://acme", "support.url", "Invalid support link 'ftp://acme': use an http or https URL"),
        ("support.url", None, "support.url", "The support link is missing"),
        ("support.email", "not-an-email", "support.email", "Invalid support email 'not-an-email'"),
        ("licence.url", "licence.txt", "licence.url", "Invalid licence link 'licence.txt': use an http or https URL"),
        ("access_policy", "friends", "access_policy", "Unknown access policy 'friends': choose one of everyone, logged_in, purchasers"),
        ("access_policy", "purchasers", "access_policy", "The access policy 'purchasers' needs at least one paid tier"),
        ("tiers.0.name", "", "tiers.0.name", "The tier name is missing"),
        ("tiers.0.description", "", "tiers.0.description", "The description of tier 'Free' is missing"),
        ("tiers.0.billing_period", "weekly", "tiers.0.billing_period", "Unknown billing period 'weekly' for tier 'Free'"),
        ("tiers.0.price_amount", -5, "tiers.0.price_amount", "Invalid price -5 for tier 'Free'"),
        ("tiers.0.price_amount", 100, "tiers.0.price_amount", "The free tier 'Free' must have the price 0, not 100"),
        ("tiers.0.currency", "euro", "tiers.0.currency", "Invalid currency 'euro' for tier 'Free': use an ISO 4217 code"),
        ("tiers.0.source", "docker.io/library/postgres:16", "tiers.0.source", "Invalid source 'docker.io/library/postgres:16' for tier 'Free': use staging/acme/<repository>:<tag>"),
        ("tiers.0.source", "staging/acme/db", "tiers.0.source", "Invalid source 'staging/acme/db'"),
        ("tiers.0.source", "staging/other/db:1.0", "tiers.0.source", "The source 'staging/other/db:1.0' of tier 'Free' is outside this organisation's staging namespace staging/acme/"),
        # A trailing newline is not part of a valid value.
        ("tags", ["sql\n"], "tags.0", "Invalid tag 'sql\\n'"),
        ("tiers.0.currency", "EUR\n", "tiers.0.currency", "Invalid currency 'EUR\\n' for tier 'Free'"),
        ("support.url", "https://acme.example.com\n", "support.url", "Invalid support link 'https://acme.example.com\\n'"),
        ("support.email", "help@acme.example.com\n", "support.email", "Invalid support email 'help@acme.example.com\\n'"),
        ("tiers.0.source", "staging/acme/db:1.0\n", "tiers.0.source", "Invalid source 'staging/acme/db:1.0\\n'"),
    ],
)
def test_rule_broken(path, value, field, message):
    errors = errors_of(with_change(path, value))

    assert field in errors
    assert any(text.startswith(message) for text in errors[field]), errors[field]


def test_paid_tier_with_zero_price():
    manifest = with_change("tiers.0.billing_period", "monthly")

    errors = errors_of(manifest)

    assert errors["tiers.0.price_amount"] == ["The paid tier 'Free' has the price 0: use the billing period 'free' instead"]


def test_tier_names_unique():
    manifest = complete_manifest()
    manifest["tiers"].append(copy.deepcopy(manifest["tiers"][0]) | {"name": "free"})

    errors = errors_of(manifest)

    assert errors["tiers.1.name"] == ["Two tiers are named 'free'; tier names must be unique"]


def test_tier_name_bidi_rejected():
    manifest = with_change("tiers.0.name", "Free\u2066")

    errors = errors_of(manifest)

    assert errors["tiers.0.name"] == [
        "The tier name 'Free\\u2066' contains the bidirectional formatting character U+2066 "
        "(LEFT-TO-RIGHT ISOLATE), which is not allowed in names: remove it"
    ]


def test_too_many_tiers():
    manifest = complete_manifest()
    manifest["tiers"] = [manifest["tiers"][0] | {"name": f"Tier {i}"} for i in range(11)]

    errors = errors_of(manifest)

    assert errors["tiers"] == ["There are 11 tiers; the maximum is 10"]


@pytest.mark.parametrize("field", ["email", "hours", "response_time"])
def test_offered_support_needs_sla(field):
    manifest = complete_manifest()
    manifest["support"] = {"url": "https://acme.example.com/support", "offered": True, "email": "s@acme.example.com", "hours": "9-5", "response_time": "1 day"}
    del manifest["support"][field]

    errors = errors_of(manifest)

    assert errors[f"support.{field}"][0].endswith("is missing: it is required when support is offered")


def test_support_without_offer_needs_only_link():
    manifest = with_change("support", {"url": "https://acme.example.com/help", "offered": False})

    assert errors_of(manifest) == {}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "The product name is missing"),
        ("x" * 101, "The product name has 101 characters; the maximum is 100"),
        ("!!!", "The product name '!!!' needs at least one letter or digit for its URL slug"),
        (
            "Fast DB\u202e",
            "The product name contains the bidirectional formatting character U+202E "
            "(RIGHT-TO-LEFT OVERRIDE), which is not allowed in names: remove it",
        ),
        (
            "Fast\u0000DB",
            "The product name contains the control character U+0000, which is not allowed in names: remove it",
        ),
    ],
)
def test_name_rule(name, message):
    errors = check_name(name)

    assert [error.message for error in errors] == [message]


def test_slug_from_name():
    assert slugify("  Fast DB: Enterprise Edition ") == "fast-db-enterprise-edition"


# Through the API.


async def test_create_rejects_long_short_description(publisher):
    body = {"name": "Long", **await publisher.manifest(short_description="y" * 150)}

    response = await publisher.service.client.post(
        f"/organisations/{publisher.organisation_id}/products", json=body, headers=publisher.headers
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "short_description", "message": "The short description has 150 characters; the maximum is 140"}
    ]
    assert "The short description has 150 characters" in response.json()["detail"]


async def test_create_rejects_bidi_in_names(publisher):
    body = {"name": "Fast\u202eDB", **await publisher.manifest()}
    body["tiers"][0]["name"] = "Free\u200e"

    response = await publisher.service.client.post(
        f"/organisations/{publisher.organisation_id}/products", json=body, headers=publisher.headers
    )

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["name", "tiers.0.name"]
    assert "U+202E" in response.json()["detail"]
    assert "U+200E (LEFT-TO-RIGHT MARK)" in response.json()["errors"][1]["message"]


async def test_create_rejects_duplicate_name(publisher):
    await publisher.create_product("Fast DB")
    body = {"name": "fast db", **await publisher.manifest()}

    response = await publisher.service.client.post(
        f"/organisations/{publisher.organisation_id}/products", json=body, headers=publisher.headers
    )

    assert response.status_code == 409
    assert "already has a product named 'fast db'" in response.json()["detail"]


async def test_same_name_in_two_organisations(publisher, rival):
    await publisher.create_product("Shared Name")

    product = await rival.create_product("Shared Name")

    assert product["slug"] == "shared-name"


async def test_submit_incomplete_lists_every_item(publisher):
    await publisher.complete_profile()
    response = await publisher.service.client.post(
        f"/organisations/{publisher.organisation_id}/products",
        json={"name": "Bare"},
        headers=publisher.headers,
    )
    product = response.json()

    submitted = await publisher.submit(product)

    assert submitted.status_code == 422
    fields = {error["field"] for error in submitted.json()["errors"]}
    assert fields == {
        "logo_media_id",
        "short_description",
        "category",
        "long_description",
        "screenshots",
        "support",
        "tiers",
        "install_instructions",
        "licence",
        "access_policy",
    }
    assert submitted.json()["detail"].startswith("Version 1.0.0 of 'Bare' cannot be submitted")


async def test_submit_needs_complete_profile(publisher):
    product = await publisher.create_product()

    response = await publisher.submit(product)

    assert response.status_code == 422
    assert "The publisher profile of" in response.json()["detail"]
    assert "Missing: legal_name, website, phone, email, logo_media_id, story" in response.json()["detail"]


async def test_update_rejects_foreign_tier_id(publisher):
    product = await publisher.create_product()
    tiers = [{"id": str(uuid.uuid4()), "name": "X", "description": "d", "currency": "EUR", "source": f"staging/{publisher.namespace}/x:1"}]

    response = await publisher.service.client.patch(
        f"/products/{product['id']}/versions/{product['version']['id']}", json={"tiers": tiers}, headers=publisher.headers
    )

    assert response.status_code == 422
    assert "is not a tier of this product" in response.json()["detail"]


async def test_update_changes_only_given_items(publisher):
    product = await publisher.create_product()

    response = await publisher.service.client.patch(
        f"/products/{product['id']}/versions/{product['version']['id']}",
        json={"short_description": "Now shorter"},
        headers=publisher.headers,
    )

    assert response.status_code == 200
    manifest = response.json()["version"]["manifest"]
    assert manifest["short_description"] == "Now shorter"
    assert manifest["category"] == "Database"
    assert len(response.json()["version"]["tiers"]) == 2
