"""The rules of a product manifest, each with the message a publisher gets when it fails.

A draft may be incomplete, but every value it contains must already be valid. Submitting
also requires every item. `check_manifest` returns all problems at once, so a publisher
fixes a form in one round instead of one error per attempt.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from shared.text import disallowed_character

CATEGORIES = (
    "Database",
    "Networking",
    "Business Software",
    "Security",
    "Monitoring",
    "Developer Tools",
    "Analytics",
    "Storage",
    "Messaging",
    "Operating Systems",
    "Base Images",
    "Application Frameworks",
    "Machine Learning",
    "Other",
)
PRODUCT_TYPES = ("image", "plugin")
ACCESS_POLICIES = ("everyone", "logged_in", "purchasers")
BILLING_PERIODS = ("free", "one_time", "monthly", "yearly")

MAX_NAME = 100
MAX_SHORT_DESCRIPTION = 140
MAX_MARKDOWN = 50_000
MAX_TAGS = 20
MAX_SCREENSHOTS = 10
MIN_TIERS = 1
MAX_TIERS = 10

# Repository path components and tags as the Docker Distribution reference grammar
# defines them (distribution/reference, regexp.go). The patterns below end in \Z, not $,
# because $ also matches before a trailing newline.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
SOURCE_REFERENCE = re.compile(
    rf"^staging/(?P<namespace>{_PATH_COMPONENT})/(?P<repository>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*):(?P<tag>{_TAG})\Z"
)
SLUG = re.compile(rf"^{_PATH_COMPONENT}\Z")
TAG_WORD = re.compile(r"^[a-z0-9][a-z0-9+#.-]{0,39}\Z")
CURRENCY = re.compile(r"^[A-Z]{3}\Z")
HTTP_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*\Z", re.IGNORECASE)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")

# Every item a submitted manifest must have.
REQUIRED_ITEMS = (
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
)


@dataclass(frozen=True)
class ManifestError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def slugify(name: str) -> str:
    """Turn a product name into the repository-safe slug of its store URL."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:100].rstrip("-")


def check_name(name: str) -> list[ManifestError]:
    errors = []
    stripped = name.strip()
    if not stripped:
        errors.append(ManifestError("name", "The product name is missing"))
    elif len(stripped) > MAX_NAME:
        errors.append(ManifestError("name", f"The product name has {len(stripped)} characters; the maximum is {MAX_NAME}"))
    elif (found := disallowed_character(stripped)) is not None:
        errors.append(ManifestError("name", f"The product name contains {found}, which is not allowed in names: remove it"))
    elif not slugify(stripped):
        errors.append(
            ManifestError("name", f"The product name {stripped!r} needs at least one letter or digit for its URL slug")
        )
    return errors


def check_manifest(
    manifest: dict[str, Any],
    *,
    namespace: str,
    media_ids: set[uuid.UUID],
    complete: bool,
) -> list[ManifestError]:
    """Check a manifest; with `complete`, also require every item a submission needs.

    `media_ids` holds the images the organisation has uploaded; a logo or screenshot
    must be one of them. `namespace` is the organisation's, which every tier's source
    repository must be in.
    """
    errors: list[ManifestError] = []

    if complete:
        for item in REQUIRED_ITEMS:
            if _is_missing(manifest.get(item)):
                errors.append(ManifestError(item, _MISSING[item]))

    errors += _check_media(manifest, media_ids)
    errors += _check_texts(manifest)
    errors += _check_category_and_tags(manifest)
    errors += _check_support(manifest.get("support"), complete=complete)
    errors += _check_licence(manifest.get("licence"), complete=complete)
    errors += _check_policy(manifest)
    errors += check_tiers(manifest.get("tiers") or [], namespace=namespace)
    return errors


_MISSING = {
    "logo_media_id": "The product logo is missing: upload an image and set its id",
    "short_description": "The short description is missing",
    "category": "The category is missing: choose one of " + ", ".join(CATEGORIES),
    "long_description": "The long description is missing",
    "screenshots": "At least one screenshot is required",
    "support": "The support link is missing",
    "tiers": "At least one tier is required",
    "install_instructions": "The installation instructions are missing",
    "licence": "The link to the licence agreement is missing",
    "access_policy": "The access policy is missing: choose one of " + ", ".join(ACCESS_POLICIES),
}


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str | list | dict) and not value:
        return True
    return isinstance(value, str) and not value.strip()


def _check_media(manifest: dict[str, Any], media_ids: set[uuid.UUID]) -> list[ManifestError]:
    errors = []
    logo = manifest.get("logo_media_id")
    if logo is not None and _as_uuid(logo) not in media_ids:
        errors.append(ManifestError("logo_media_id", f"The product logo {logo} is not an image uploaded by this organisation"))

    screenshots = manifest.get("screenshots") or []
    if len(screenshots) > MAX_SCREENSHOTS:
        errors.append(
            ManifestError("screenshots", f"There are {len(screenshots)} screenshots; the maximum is {MAX_SCREENSHOTS}")
        )
    if len(set(map(str, screenshots))) != len(screenshots):
        errors.append(ManifestError("screenshots", "A screenshot appears more than once"))
    for index, media_id in enumerate(screenshots):
        if _as_uuid(media_id) not in media_ids:
            errors.append(
                ManifestError(f"screenshots.{index}", f"Screenshot {media_id} is not an image uploaded by this organisation")
            )
    return errors


def _check_texts(manifest: dict[str, Any]) -> list[ManifestError]:
    errors = []
    short = manifest.get("short_description")
    if short is not None and len(short) > MAX_SHORT_DESCRIPTION:
        errors.append(
            ManifestError(
                "short_description",
                f"The short description has {len(short)} characters; the maximum is {MAX_SHORT_DESCRIPTION}",
            )
        )
    for field in ("long_description", "install_instructions"):
        text = manifest.get(field)
        if text is not None and len(text) > MAX_MARKDOWN:
            errors.append(ManifestError(field, f"The {field.replace('_', ' ')} has {len(text)} characters; the maximum is {MAX_MARKDOWN}"))
    return errors


def _check_category_and_tags(manifest: dict[str, Any]) -> list[ManifestError]:
    errors = []
    category = manifest.get("category")
    if category is not None and category not in CATEGORIES:
        errors.append(
            ManifestError("category", f"Unknown category {category!r}: choose one of " + ", ".join(CATEGORIES))
        )

    tags = manifest.get("tags") or []
    if len(tags) > MAX_TAGS:
        errors.append(ManifestError("tags", f"There are {len(tags)} tags; the maximum is {MAX_TAGS}"))
    for index, tag in enumerate(tags):
        if not TAG_WORD.match(tag):
            errors.append(
                ManifestError(
                    f"tags.{index}",
                    f"Invalid tag {tag!r}: use 1 to 40 lowercase letters, digits and the characters + # . -",
                )
            )
    return errors


def _check_support(support: dict[str, Any] | None, *, complete: bool) -> list[ManifestError]:
    if support is None:
        return []
    errors = []
    url = support.get("url")
    if complete and not url:
        errors.append(ManifestError("support.url", "The support link is missing"))
    if url and not HTTP_URL.match(url):
        errors.append(ManifestError("support.url", f"Invalid support link {url!r}: use an http or https URL"))

    email = support.get("email")
    if email and not EMAIL.match(email):
        errors.append(ManifestError("support.email", f"Invalid support email {email!r}"))

    # Support email and SLA are needed exactly when the publisher offers support.
    if support.get("offered") and complete:
        for field, label in (("email", "support email"), ("hours", "support hours"), ("response_time", "support response time")):
            if not support.get(field):
                errors.append(ManifestError(f"support.{field}", f"The {label} is missing: it is required when support is offered"))
    return errors


def _check_licence(licence: dict[str, Any] | None, *, complete: bool) -> list[ManifestError]:
    if licence is None:
        return []
    errors = []
    url = licence.get("url")
    if complete and not url:
        errors.append(ManifestError("licence.url", "The link to the licence agreement is missing"))
    if url and not HTTP_URL.match(url):
        errors.append(ManifestError("licence.url", f"Invalid licence link {url!r}: use an http or https URL"))
    return errors


def _check_policy(manifest: dict[str, Any]) -> list[ManifestError]:
    errors = []
    policy = manifest.get("access_policy")
    if policy is not None and policy not in ACCESS_POLICIES:
        errors.append(
            ManifestError("access_policy", f"Unknown access policy {policy!r}: choose one of " + ", ".join(ACCESS_POLICIES))
        )

    tiers = manifest.get("tiers") or []
    if policy == "purchasers" and tiers and all(tier.get("billing_period") == "free" for tier in tiers):
        errors.append(
            ManifestError("access_policy", "The access policy 'purchasers' needs at least one paid tier")
        )
    return errors


def check_tiers(tiers: list[dict[str, Any]], *, namespace: str) -> list[ManifestError]:
    """Check the tiers: names, prices and each source in the organisation's staging namespace."""
    errors = []
    if len(tiers) > MAX_TIERS:
        errors.append(ManifestError("tiers", f"There are {len(tiers)} tiers; the maximum is {MAX_TIERS}"))

    seen_names: set[str] = set()
    for index, tier in enumerate(tiers):
        prefix = f"tiers.{index}"
        name = (tier.get("name") or "").strip()
        if not name:
            errors.append(ManifestError(f"{prefix}.name", "The tier name is missing"))
        elif (found := disallowed_character(name)) is not None:
            errors.append(
                ManifestError(f"{prefix}.name", f"The tier name {name!r} contains {found}, which is not allowed in names: remove it")
            )
        elif name.lower() in seen_names:
            errors.append(ManifestError(f"{prefix}.name", f"Two tiers are named {name!r}; tier names must be unique"))
        seen_names.add(name.lower())

        if not (tier.get("description") or "").strip():
            errors.append(ManifestError(f"{prefix}.description", f"The description of tier {name!r} is missing"))

        errors += _check_price(tier, prefix, name)
        errors += _check_source(tier.get("source") or "", prefix, name, namespace)
    return errors


def _check_price(tier: dict[str, Any], prefix: str, name: str) -> list[ManifestError]:
    errors = []
    amount = tier.get("price_amount")
    period = tier.get("billing_period")
    currency = tier.get("currency")
    if period not in BILLING_PERIODS:
        errors.append(
            ManifestError(
                f"{prefix}.billing_period",
                f"Unknown billing period {period!r} for tier {name!r}: choose one of " + ", ".join(BILLING_PERIODS),
            )
        )
    if not isinstance(amount, int) or amount < 0:
        errors.append(
            ManifestError(f"{prefix}.price_amount", f"Invalid price {amount!r} for tier {name!r}: use an integer amount in minor units, 0 or more")
        )
    elif period == "free" and amount != 0:
        errors.append(ManifestError(f"{prefix}.price_amount", f"The free tier {name!r} must have the price 0, not {amount}"))
    elif period in ("one_time", "monthly", "yearly") and amount == 0:
        errors.append(
            ManifestError(f"{prefix}.price_amount", f"The paid tier {name!r} has the price 0: use the billing period 'free' instead")
        )
    if not isinstance(currency, str) or not CURRENCY.match(currency):
        errors.append(
            ManifestError(f"{prefix}.currency", f"Invalid currency {currency!r} for tier {name!r}: use an ISO 4217 code such as EUR")
        )
    return errors


def _check_source(source: str, prefix: str, name: str, namespace: str) -> list[ManifestError]:
    match = SOURCE_REFERENCE.match(source)
    if match is None:
        return [
            ManifestError(
                f"{prefix}.source",
                f"Invalid source {source!r} for tier {name!r}: use staging/{namespace}/<repository>:<tag>",
            )
        ]
    if match["namespace"] != namespace:
        return [
            ManifestError(
                f"{prefix}.source",
                f"The source {source!r} of tier {name!r} is outside this organisation's staging namespace staging/{namespace}/",
            )
        ]
    return []


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
