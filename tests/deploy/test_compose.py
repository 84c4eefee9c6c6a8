"""docker-compose.yml runs the distributed mode and commits no secret."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from services.gateway.app import SERVICES
from tests.deploy.conftest import REPOSITORY

COMPOSE_FILE = REPOSITORY / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_command() -> list[str]:
    """The Compose v2 plugin, or the standalone docker-compose 1.x."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    assert standalone, "Compose validates docker-compose.yml: apt-get install docker-compose (or the docker compose plugin)"
    return [standalone]


def test_compose_config_validates(tmp_path):
    # A copy beside a throwaway .env, because the services read `env_file: .env`.
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    values = re.findall(r"^([A-Z_]+)=", (REPOSITORY / ".env.example").read_text(), re.MULTILINE)
    (tmp_path / ".env").write_text("".join(f"{name}=value-of-{name.lower()}\n" for name in values))

    result = subprocess.run(
        [*compose_command(), "-f", str(tmp_path / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr


def test_compose_requires_every_secret(tmp_path):
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text("POSTGRES_PASSWORD=x\n")

    result = subprocess.run(
        [*compose_command(), "-f", str(tmp_path / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "set RABBITMQ_PASSWORD in .env" in result.stderr


def test_compose_has_every_service(compose):
    for name in (*SERVICES, "gateway", "postgres", "rabbitmq", "registry"):
        assert name in compose["services"], name


def test_compose_healthchecks_and_start_order(compose):
    for name, service in compose["services"].items():
        assert "healthcheck" in service, name
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in compose["services"], f"{name} depends on unknown {dependency}"
            assert condition["condition"] == "service_healthy", name
    for name in SERVICES:
        assert set(compose["services"][name]["depends_on"]) == {"postgres", "rabbitmq"}, name
    assert set(compose["services"]["gateway"]["depends_on"]) == set(SERVICES)


def test_compose_services_run_hardened(compose):
    for name in (*SERVICES, "gateway"):
        service = compose["services"][name]
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["build"]["dockerfile"] == f"services/{name}/Dockerfile", name


def test_compose_uses_named_volumes(compose):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith("./") or source in compose["volumes"], f"{name}: {volume}"


def test_compose_gateway_routes_every_service(compose):
    upstreams = yaml.safe_load(compose["services"]["gateway"]["environment"]["WHARF_GATEWAY_UPSTREAMS"])

    assert sorted(upstreams) == sorted(SERVICES)


def test_compose_commits_no_secret(compose):
    for name, service in compose["services"].items():
        for key, value in service.get("environment", {}).items():
            if re.search(r"PASSWORD|SECRET|TOKEN$", key):
                assert re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]*)?\}", value), f"{name}: {key} is set in the file"
            for password in re.findall(r"://[^:/@]+:([^@]+)@", str(value)):
                assert password.startswith("${"), f"{name}: {key} holds a password"
    assert ".env" in (REPOSITORY / ".gitignore").read_text().split()


def test_env_example_lists_every_variable(compose):
    text = COMPOSE_FILE.read_text()
    example = set(re.findall(r"^([A-Z_]+)=", (REPOSITORY / ".env.example").read_text(), re.MULTILINE))

    for name in set(re.findall(r"\$\{([A-Z_]+)", text)):
        if name != "WHARF_ENVIRONMENT":  # optional, with a default
            assert name in example, f"{name} is missing from .env.example"


def test_env_example_holds_no_value():
    for line in (REPOSITORY / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            if name != "COMPOSE_PROJECT_NAME":
                assert value == "", f".env.example sets {name}; secrets must be filled in by the operator"


def test_compose_registry_trusts_licensing_keys(compose):
    config = yaml.safe_load((REPOSITORY / "deploy/registry/config.yml").read_text())
    registry = compose["services"]["registry"]
    licensing = compose["services"]["licensing"]

    assert "licensing-data:/licensing:ro" in registry["volumes"]
    assert "licensing-data:/var/lib/wharf" in licensing["volumes"]
    assert licensing["environment"]["WHARF_LICENSING_DATA_DIR"] == "/var/lib/wharf"
    # licensing writes <data dir>/keys/bundle.pem.
    assert config["auth"]["token"]["rootcertbundle"] == "/licensing/keys/bundle.pem"
    assert "notifications" not in config
