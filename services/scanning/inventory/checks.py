"""Best-practice checks computed from an image's config and file tree.

They are the review behind the certified badge: each result has a pass or fail, a level
(``error`` blocks certification, ``warning`` should be fixed, ``info`` is advice) and a
suggestion. Secrets found are named by where they are, never by their value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.scanning.components import Distro
from services.scanning.inventory.filesystem import FileTree
from services.scanning.inventory.plugin_config import validate_plugin_config

REQUIRED_LABELS = ("name", "vendor", "version", "release", "summary", "description", "maintainer")
MAX_LAYERS = 40
LICENSE_DIRECTORY = "/licenses"
SECURE_BASES = {"debian": "Debian", "alpine": "Alpine"}
ROOT_USERS = {"", "root", "0", "root:root", "0:0", "root:0", "0:root"}

# Leftovers by package manager: (folder, names in it that are expected to stay).
LEFTOVER_FOLDERS = (
    ("/var/lib/apt/lists", {"lock", "partial", "auxfiles"}),
    ("/var/cache/apt/archives", {"lock", "partial"}),
    ("/var/cache/apk", set()),
    ("/root/.cache/pip", set()),
)

_SECRET_NAME = re.compile(
    r"(?i)(passw(or)?d|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)"
)
_SECRET_VALUES = (
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key id
    re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    re.compile(r"gh[pousr]_[A-Za-z0-9]{36}"),  # GitHub tokens
    re.compile(r"xox[abprs]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"sk_live_[A-Za-z0-9]{16,}"),  # Stripe live secret keys
    re.compile(r"AIza[0-9A-Za-z_-]{35}"),  # Google API keys
)
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)(?:passw(?:or)?d|secret|token|api[_-]?key)\s*[=:]\s*['\"]?[^\s'\"$]{6,}"
)


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: str
    passed: bool
    level: str  # "error", "warning" or "info"
    detail: str
    suggestion: str


def run_checks(
    *,
    config: dict[str, Any],
    tree: FileTree,
    tags: tuple[str, ...],
    distro: Distro | None,
    layer_count: int,
    is_plugin: bool,
) -> list[CheckResult]:
    """Run every check that applies to an image (or to a managed plugin)."""
    if is_plugin:
        checks: list[Callable[[], CheckResult]] = [
            lambda: check_plugin_config(config),
            lambda: check_plugin_secrets(config),
        ]
    else:
        image_config = config.get("config") or {}
        checks = [
            lambda: check_non_root(image_config),
            lambda: check_labels(image_config),
            lambda: check_tags(tags),
            lambda: check_healthcheck(image_config),
            lambda: check_secrets(image_config, config.get("history") or []),
        ]
    checks += [
        lambda: check_layer_count(layer_count),
        lambda: check_licenses(tree),
        lambda: check_leftovers(tree),
        lambda: check_base(distro),
    ]
    return [check() for check in checks]


def check_non_root(image_config: dict[str, Any]) -> CheckResult:
    user = str(image_config.get("User") or "")
    passed = user not in ROOT_USERS
    return CheckResult(
        "non-root-user",
        passed,
        "error",
        f"runs as user {user!r}" if passed else "runs as root (no USER set, or USER root)",
        "add `USER <uid>` with a non-zero numeric uid to the Dockerfile",
    )


def check_labels(image_config: dict[str, Any]) -> CheckResult:
    labels = image_config.get("Labels") or {}
    missing = [label for label in REQUIRED_LABELS if not str(labels.get(label, "")).strip()]
    return CheckResult(
        "required-labels",
        not missing,
        "warning",
        f"missing labels: {', '.join(missing)}" if missing else "all required labels present",
        "add `LABEL " + " ".join(f'{label}="..."' for label in REQUIRED_LABELS) + "`",
    )


def check_tags(tags: tuple[str, ...]) -> CheckResult:
    versioned = [tag for tag in tags if tag and tag != "latest"]
    return CheckResult(
        "versioned-tag",
        bool(versioned),
        "warning",
        f"tags: {', '.join(versioned)}" if versioned else "only the tag 'latest' is used",
        "tag each release with its version, for example `1.4.2`, besides `latest`",
    )


def check_layer_count(layer_count: int) -> CheckResult:
    return CheckResult(
        "layer-count",
        layer_count < MAX_LAYERS,
        "warning",
        f"{layer_count} layers (the maximum is {MAX_LAYERS - 1})",
        "combine RUN steps or use a multi-stage build to reduce the number of layers",
    )


def check_licenses(tree: FileTree) -> CheckResult:
    files = tree.list_dir(LICENSE_DIRECTORY)
    return CheckResult(
        "license-files",
        bool(files),
        "warning",
        f"{len(files)} entries in {LICENSE_DIRECTORY}" if files else f"{LICENSE_DIRECTORY} is missing or empty",
        f"copy the licence texts of the software in the image into {LICENSE_DIRECTORY}/",
    )


def check_leftovers(tree: FileTree) -> CheckResult:
    found = []
    for folder, expected in LEFTOVER_FOLDERS:
        leftovers = [name for name in tree.list_dir(folder) if name not in expected]
        if leftovers:
            found.append(f"{folder} ({len(leftovers)} entries)")
    return CheckResult(
        "package-manager-leftovers",
        not found,
        "warning",
        "leftovers in " + ", ".join(found) if found else "no package-manager caches left",
        "clean up in the same RUN step: `rm -rf /var/lib/apt/lists/*`, `apk add --no-cache`, "
        "`pip install --no-cache-dir`",
    )


def check_healthcheck(image_config: dict[str, Any]) -> CheckResult:
    test = (image_config.get("Healthcheck") or {}).get("Test") or []
    passed = bool(test) and test[0] != "NONE"
    return CheckResult(
        "healthcheck",
        passed,
        "info",
        "HEALTHCHECK defined" if passed else "no HEALTHCHECK defined",
        "add `HEALTHCHECK CMD <command that exits 0 when the service is healthy>`",
    )


def check_secrets(image_config: dict[str, Any], history: list[Any]) -> CheckResult:
    places = []
    for entry in image_config.get("Env") or []:
        name, _, value = str(entry).partition("=")
        if _looks_secret(name, value):
            places.append(f"environment variable {name}")
    for name, value in (image_config.get("Labels") or {}).items():
        if _looks_secret(str(name), str(value)):
            places.append(f"label {name}")
    for index, entry in enumerate(history):
        command = str(entry.get("created_by", "")) if isinstance(entry, dict) else ""
        if _SECRET_ASSIGNMENT.search(command) or any(p.search(command) for p in _SECRET_VALUES):
            places.append(f"history entry {index}")
    return _secrets_result(places)


def check_plugin_secrets(config: dict[str, Any]) -> CheckResult:
    places = []
    for variable in config.get("env") or config.get("Env") or []:
        if isinstance(variable, dict):
            name = str(variable.get("name") or variable.get("Name") or "")
            value = str(variable.get("value") or variable.get("Value") or "")
            if _looks_secret(name, value):
                places.append(f"plugin environment variable {name}")
    return _secrets_result(places)


def _secrets_result(places: list[str]) -> CheckResult:
    return CheckResult(
        "no-secrets",
        not places,
        "error",
        "possible secrets in " + ", ".join(places) if places else "no secrets found",
        "pass secrets at run time (`docker run --env-file`, Docker secrets, build secrets "
        "with `RUN --mount=type=secret`), never in ENV, LABEL or build commands",
    )


def _looks_secret(name: str, value: str) -> bool:
    if any(pattern.search(value) for pattern in _SECRET_VALUES):
        return True
    # FOO_PASSWORD_FILE=/run/secrets/foo names a file, which is the recommended practice.
    if name.upper().endswith("_FILE") or value.startswith("/"):
        return False
    return bool(_SECRET_NAME.search(name)) and len(value) >= 6


def check_base(distro: Distro | None) -> CheckResult:
    name = SECURE_BASES.get(distro.id) if distro else None
    if name and distro and "distroless" in distro.pretty_name.lower():
        name = "distroless"
    return CheckResult(
        "secure-base",
        name is not None,
        "warning",
        f"based on {name} ({distro.pretty_name or distro.version_id})" if name and distro
        else f"base {distro.id if distro else 'unknown'!r} is not a recognised secure base",
        "build FROM a maintained Debian, Alpine or distroless base image",
    )


def check_plugin_config(config: dict[str, Any]) -> CheckResult:
    problems = validate_plugin_config(config)
    return CheckResult(
        "plugin-config",
        not problems,
        "error",
        "; ".join(problems) if problems else "plugin config.json is valid",
        "fix config.json as the Docker managed plugin config format (version 1) defines it",
    )
