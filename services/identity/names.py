"""Rules for usernames, organisation namespaces, email addresses and passwords."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from shared.errors import InvalidValue
from shared.text import disallowed_character

# One path component of a Distribution repository name (lowercase letters and digits,
# single separators), so a name can appear in `staging/<namespace>/<repository>`. It ends
# in `\Z` because `$` also matches before a final newline.
_REGISTRY_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")

USERNAME_LENGTH = (3, 30)
NAMESPACE_LENGTH = (2, 64)
PASSWORD_LENGTH = (10, 256)

# Namespaces that would read as the store's own content.
RESERVED_NAMESPACES = frozenset({"admin", "library", "official", "root", "staging", "store", "wharf"})


def _check_name(value: str, what: str, length: tuple[int, int]) -> str:
    low, high = length
    if not low <= len(value) <= high:
        raise InvalidValue(f"Invalid {what} {value!r}: use {low} to {high} characters", field=what)
    if not _REGISTRY_COMPONENT.match(value):
        raise InvalidValue(
            f"Invalid {what} {value!r}: use lowercase letters and digits, separated by single "
            "'.', '_', '__' or dashes, starting and ending with a letter or digit",
            field=what,
        )
    return value


def check_username(value: str) -> str:
    return _check_name(value, "username", USERNAME_LENGTH)


def check_namespace(value: str) -> str:
    _check_name(value, "namespace", NAMESPACE_LENGTH)
    if value in RESERVED_NAMESPACES:
        raise InvalidValue(f"The namespace {value!r} is reserved: choose another", field="namespace")
    return value


def check_display_name(value: str) -> str:
    """Return a user's or organisation's display name without surrounding whitespace."""
    found = disallowed_character(value)
    if found is not None:
        raise InvalidValue(
            f"Invalid display_name: it contains {found}, which is not allowed in names: remove it",
            field="display_name",
        )
    return value.strip()


def normalise_email(value: str) -> str:
    """Return the address in the form it is stored and compared in (validated, lowercase)."""
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValue(f"Invalid email address {value!r}: {exc}", field="email") from None
    return result.normalized.lower()


def check_password(password: str, *, username: str, email: str) -> None:
    low, high = PASSWORD_LENGTH
    if not low <= len(password) <= high:
        # The password itself is never echoed back.
        raise InvalidValue(f"Invalid password: use {low} to {high} characters", field="password")
    lowered = password.lower()
    if lowered in (username.lower(), email.lower(), email.split("@")[0].lower()):
        raise InvalidValue("Invalid password: it must differ from the username and email address", field="password")
