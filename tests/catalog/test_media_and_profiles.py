"""Image uploads (decoding, limits, bombs), how images are served, and publisher profiles."""

from __future__ import annotations

import hashlib

import pytest

from tests.catalog.support import jpeg, png


async def upload(publisher, data: bytes, filename: str = "image.png"):
    return await publisher.service.client.post(
        f"/organisations/{publisher.organisation_id}/media",
        files={"file": (filename, data, "image/png")},
        headers=publisher.headers,
    )


# Media.


async def test_upload_png_records_size(publisher):
    response = await upload(publisher, png(640, 480))

    assert response.status_code == 201
    assert response.json()["content_type"] == "image/png"
    assert response.json()["width"] == 640
    assert response.json()["height"] == 480


async def test_upload_jpeg_detected_by_content(publisher):
    response = await upload(publisher, jpeg(), filename="named.png")

    assert response.status_code == 201
    assert response.json()["content_type"] == "image/jpeg"


async def test_upload_rejects_non_image(publisher):
    response = await upload(publisher, b"#!/bin/sh\necho not an image\n", filename="script.png")

    assert response.status_code == 422
    assert response.json()["detail"].startswith("The file 'script.png' is not a PNG or JPEG image")


async def test_upload_rejects_truncated_image(publisher):
    whole = png(300, 300)

    response = await upload(publisher, whole[: len(whole) // 2], filename="half.png")

    assert response.status_code == 422
    assert "'half.png'" in response.json()["detail"]


async def test_upload_rejects_gif(publisher):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("P", (10, 10)).save(buffer, "GIF")

    response = await upload(publisher, buffer.getvalue(), filename="anim.gif")

    assert response.status_code == 422
    assert response.json()["detail"] == "The image 'anim.gif' is GIF; upload a PNG or JPEG image"


async def test_upload_rejects_decompression_bomb(publisher):
    # 5000x5000 of one colour compresses to a few kilobytes but is 25 million pixels,
    # above the 16 million the test settings allow.
    bomb = png(5000, 5000, color="black")

    response = await upload(publisher, bomb, filename="bomb.png")

    assert len(bomb) < 100_000
    assert response.status_code == 422
    assert response.json()["detail"] == "The image 'bomb.png' is 5000x5000 pixels; the maximum is 16000000 pixels in all"


async def test_upload_rejects_oversized_file(publisher):
    data = png(64, 64) + b"\0" * (2 * 1024 * 1024)

    response = await upload(publisher, data, filename="big.png")

    assert response.status_code == 413
    assert "the maximum is 2097152" in response.json()["detail"]


async def test_upload_needs_editor(publisher):
    response = await publisher.service.client.post(
        f"/organisations/{publisher.organisation_id}/media",
        files={"file": ("x.png", png(), "image/png")},
        headers=publisher.viewer_headers,
    )

    assert response.status_code == 403


async def test_draft_media_served_privately(publisher):
    data = png(300, 200)
    media = (await upload(publisher, data)).json()

    response = await publisher.service.client.get(f"/media/{media['id']}", headers=publisher.headers)

    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'


async def test_draft_media_hidden_from_anonymous(publisher):
    media = (await upload(publisher, png())).json()

    response = await publisher.service.client.get(f"/media/{media['id']}")

    assert response.status_code == 404


async def test_published_media_cached_publicly(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()
    listing = (await publisher.service.client.get(f"/products/{product['id']}")).json()

    response = await publisher.service.client.get(f"/{listing['logo_url']}")
    revalidated = await publisher.service.client.get(
        f"/{listing['logo_url']}", headers={"If-None-Match": response.headers["etag"]}
    )
    publisher_logo = await publisher.service.client.get(f"/{listing['publisher']['logo_url']}")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert revalidated.status_code == 304
    assert publisher_logo.status_code == 200


async def test_upload_replayed_with_idempotency_key(publisher):
    headers = {**publisher.headers, "Idempotency-Key": "logo-upload-1"}
    files = {"file": ("x.png", png(), "image/png")}

    first = await publisher.service.client.post(f"/organisations/{publisher.organisation_id}/media", files=files, headers=headers)
    second = await publisher.service.client.post(f"/organisations/{publisher.organisation_id}/media", files=files, headers=headers)

    assert first.status_code == 201
    assert second.json()["id"] == first.json()["id"]


# Profiles.


async def save(publisher, **fields):
    return await publisher.service.client.put(
        f"/organisations/{publisher.organisation_id}/profile", json=fields, headers=publisher.headers
    )


async def test_complete_profile(publisher):
    profile = await publisher.complete_profile()

    assert profile["complete"] is True
    assert profile["missing"] == []
    assert profile["phone"] == "+442079460958"
    assert profile["story_html"] == "<p>We build <strong>reliable</strong> software.</p>\n"


async def test_partial_profile_lists_missing(publisher):
    response = await save(publisher, legal_name="Acme Ltd", email="Hello@Acme.Example.com")

    assert response.status_code == 200
    assert response.json()["complete"] is False
    assert response.json()["missing"] == ["website", "phone", "logo_media_id", "story"]
    assert response.json()["email"] == "Hello@acme.example.com"


@pytest.mark.parametrize(
    ("phone", "expected"),
    [("+1 (415) 555-2671", "+14155552671"), ("+49 30 901820", "+4930901820"), ("+33 1 42 68 53 00", "+33142685300")],
)
async def test_phone_stored_as_e164(publisher, phone, expected):
    response = await save(publisher, phone=phone)

    assert response.json()["phone"] == expected


@pytest.mark.parametrize("phone", ["020 7946 0958", "+44 12", "call me"])
async def test_invalid_phone(publisher, phone):
    response = await save(publisher, phone=phone)

    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"Invalid phone number {phone!r}: write it in international form")


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "two@@example.com"])
async def test_invalid_email(publisher, email):
    response = await save(publisher, email=email)

    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"Invalid email address {email!r}")


async def test_invalid_website(publisher):
    response = await save(publisher, website="acme.example.com")

    assert response.status_code == 422
    assert response.json()["detail"] == "Invalid website 'acme.example.com': use an http or https URL"


@pytest.mark.parametrize(("width", "height"), [(511, 511), (800, 600)])
async def test_logo_must_be_square_and_large(publisher, width, height):
    logo = (await upload(publisher, png(width, height))).json()

    response = await save(publisher, logo_media_id=logo["id"])

    assert response.status_code == 422
    assert response.json()["detail"] == (
        f"The logo {logo['id']} is {width}x{height} pixels; it must be square and at least 512x512"
    )


async def test_logo_of_other_organisation(publisher, rival):
    logo = await rival.upload(png(512, 512))

    response = await save(publisher, logo_media_id=logo["id"])

    assert response.status_code == 422
    assert response.json()["detail"] == f"The logo {logo['id']} is not an image uploaded by this organisation"


async def test_profile_write_needs_editor(publisher):
    response = await publisher.service.client.put(
        f"/organisations/{publisher.organisation_id}/profile", json={"legal_name": "X"}, headers=publisher.viewer_headers
    )

    assert response.status_code == 403


async def test_profile_public_after_publication(publisher, rival):
    await publisher.complete_profile()
    await publisher.publish()

    response = await rival.service.client.get(f"/organisations/{publisher.organisation_id}/profile")

    assert response.status_code == 200
    assert response.json()["legal_name"] == f"{publisher.namespace.title()} Ltd"
