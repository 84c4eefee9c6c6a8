"""Fixtures of the deployment tests: the repository root and the rendered overlays."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPOSITORY = Path(__file__).resolve().parents[2]
K8S = REPOSITORY / "deploy" / "k8s"
OVERLAYS = ("development", "production")


def render(path: Path) -> list[dict]:
    """Render a Kustomize directory with `kubectl kustomize` into its objects."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl renders deploy/k8s: apt-get install kubectl"

    result = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, f"kubectl kustomize {path} failed: {result.stderr}"
    return [document for document in yaml.safe_load_all(result.stdout) if document]


@pytest.fixture(scope="session", params=OVERLAYS)
def overlay(request) -> tuple[str, list[dict]]:
    """(name, objects) of each overlay, rendered once per session."""
    return request.param, render(K8S / "overlays" / request.param)


def by_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {item["metadata"]["name"]: item for item in objects if item["kind"] == kind}


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]
