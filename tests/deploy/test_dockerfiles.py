"""Every Dockerfile follows the store's advice to publishers and builds the same way."""

from __future__ import annotations

import re
import subprocess

import pytest

from services.gateway.app import SERVICES
from tests.deploy.conftest import REPOSITORY

REQUIRED_LABELS = ("name", "vendor", "version", "release", "summary", "description", "maintainer")
NAMES = (*SERVICES, "gateway")


def dockerfile(name: str) -> str:
    return (REPOSITORY / "services" / name / "Dockerfile").read_text()


def runtime_stage(text: str) -> str:
    return text[text.rindex("\nFROM ") :]


def build_stage(text: str) -> str:
    return text[text.index("\nFROM ") : text.rindex("\nFROM ")]


def shared_build_steps(text: str) -> str:
    """Return the build stage up to the gateway's own step, which adds the web front end."""
    stage = build_stage(text)
    return stage.split("# The web front end")[0]


@pytest.mark.parametrize("name", NAMES)
def test_dockerfile_is_multi_stage(name):
    text = dockerfile(name)

    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim-bookworm$", text, re.MULTILINE)
    assert "FROM ${BASE_IMAGE} AS build" in text
    assert "COPY --from=build /out/ /" in runtime_stage(text)


@pytest.mark.parametrize("name", NAMES)
def test_dockerfile_runtime_has_few_layers(name):
    instructions = re.findall(r"^(RUN|COPY|ADD)\b", runtime_stage(dockerfile(name)), re.MULTILINE)

    assert len(instructions) <= 2, instructions


@pytest.mark.parametrize("name", NAMES)
def test_dockerfile_runs_as_non_root(name):
    text = runtime_stage(dockerfile(name))

    assert re.search(r"^USER 10001$", text, re.MULTILINE)
    assert "--uid 10001" in text


@pytest.mark.parametrize("name", NAMES)
def test_dockerfile_labels_licence_and_healthcheck(name):
    text = runtime_stage(dockerfile(name))

    for label in REQUIRED_LABELS:
        assert re.search(rf"\b{label}=\"", text), f"{name}: label {label} missing"
    assert f'name="wharf-{name}"' in text
    assert "/licenses/LICENSE" in dockerfile(name)
    assert "HEALTHCHECK" in text


@pytest.mark.parametrize("name", NAMES)
def test_dockerfile_keeps_the_command(name):
    command = re.findall(r"^CMD (.*)$", dockerfile(name), re.MULTILINE)

    if name == "gateway":
        assert command == ['["python", "-m", "wharf", "gateway"]']
    else:
        assert command == [f'["python", "-m", "wharf", "serve", "{name}", "--host", "0.0.0.0", "--port", "8000"]']


@pytest.mark.parametrize("name", NAMES)
def test_dockerfile_removes_build_tools_in_the_install_step(name):
    install = re.search(r"^RUN .*?(?<!\\)\n", build_stage(dockerfile(name)), re.MULTILINE | re.DOTALL).group(0)

    assert "pip install --no-cache-dir" in install
    assert "pip uninstall --yes --disable-pip-version-check pip setuptools" in install
    assert "rm -rf /root/.cache" in install


def test_build_stage_is_shared_by_every_image():
    # Identical build stages let `buildah bud --layers` install the dependencies once.
    stages = {name: shared_build_steps(dockerfile(name)) for name in NAMES}

    assert len(set(stages.values())) == 1, sorted(stages)


@pytest.mark.parametrize("script", sorted((REPOSITORY / "deploy" / "images").glob("*.sh")), ids=lambda path: path.name)
def test_image_scripts_parse(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr


def make_arguments() -> list[str]:
    """Return the makefiles to read: the main one, plus the fragment until it is included."""
    makefile = (REPOSITORY / "Makefile").read_text()
    if "include deploy/deploy.mk" in makefile:
        return ["-f", "Makefile"]
    return ["-f", "Makefile", "-f", "deploy/deploy.mk"]


@pytest.mark.parametrize("target", ["base-image", "images", "dogfood", "k8s-render", "compose-config"])
def test_make_targets_parse(target):
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", *make_arguments(), target],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert "deploy/" in result.stdout or "kubectl" in result.stdout or "compose" in result.stdout


def test_make_test_builds_no_image():
    result = subprocess.run(["make", "--dry-run", *make_arguments(), "test"], cwd=REPOSITORY, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert "buildah" not in result.stdout
    assert "deploy/images" not in result.stdout


def test_gateway_image_carries_the_web_front_end():
    text = build_stage(dockerfile("gateway"))

    assert "COPY web/ /tmp/web/" in text
    # The gateway serves web/dist below the application folder by default.
    assert "cp -r /tmp/web/dist /out/app/web/dist" in text
