"""Best-practice checks and the Docker managed-plugin config validation."""

from __future__ import annotations

import pytest

from services.scanning.components import Distro
from services.scanning.inventory.checks import run_checks
from services.scanning.inventory.plugin_config import validate_plugin_config
from tests.scanning.layerkit import apply, directory, file, tar

VALID_PLUGIN = {
    "description": "sshFS plugin for Docker",
    "documentation": "https://docs.docker.com/engine/extend/plugins/",
    "entrypoint": ["/docker-volume-sshfs"],
    "network": {"type": "host"},
    "interface": {"socket": "sshfs.sock", "types": ["docker.volumedriver/1.0"]},
    "linux": {"capabilities": ["CAP_SYS_ADMIN"], "devices": [{"path": "/dev/fuse"}]},
    "mounts": [{"destination": "/mnt/state", "options": ["rbind"], "name": "state",
                "source": "/var/lib/docker/plugins/", "settable": ["source"], "type": "bind"}],
    "env": [{"name": "DEBUG", "settable": ["value"], "value": "0"}],
    "args": {"name": "args", "settable": ["value"], "value": []},
    "propagatedMount": "/mnt/volumes",
    "user": {"uid": 1000, "gid": 1000},
}


def results(config, tree=None, tags=("1.0",), distro=Distro("debian", "12"), is_plugin=False):
    checks = run_checks(config=config, tree=tree or apply(tar(file("x"))), tags=tags,
                        distro=distro, layer_count=3, is_plugin=is_plugin)
    return {check.id: check for check in checks}


def test_plugin_config_valid():
    assert validate_plugin_config(VALID_PLUGIN) == []


def test_plugin_config_keys_case_insensitive():
    config = {key.capitalize(): value for key, value in VALID_PLUGIN.items()}

    assert validate_plugin_config(config) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"interface": {"socket": "x.sock", "types": ["docker.storagedriver/1.0"]}}, "unsupported types"),
        ({"interface": {"socket": "/run/x.sock", "types": ["docker.authz/1.0"]}}, "interface.socket"),
        ({"interface": None}, "interface is missing"),
        ({"entrypoint": []}, "entrypoint must be a non-empty array"),
        ({"entrypoint": "/bin/plugin"}, "entrypoint must be a non-empty array"),
        ({"network": {"type": "overlay"}}, "network.type 'overlay'"),
        ({"mounts": [{"destination": "relative/path"}]}, "mounts[0].destination"),
        ({"mounts": [{"destination": "/m", "settable": ["everything"]}]}, "unknown fields"),
        ({"linux": {"capabilities": ["SYS_ADMIN"]}}, "invalid names ['SYS_ADMIN']"),
        ({"linux": {"devices": [{"path": "/etc/shadow"}]}}, "under /dev/"),
        ({"env": [{"value": "1"}]}, "env[0].name"),
        ({"user": {"uid": -1}}, "user.uid"),
        ({"description": ""}, "description must be a non-empty string"),
    ],
)
def test_plugin_config_invalid(change, problem):
    problems = validate_plugin_config({**VALID_PLUGIN, **change})

    assert any(problem in text for text in problems), problems


def test_plugin_checks_use_plugin_config():
    checks = results({**VALID_PLUGIN, "entrypoint": []}, is_plugin=True)

    assert not checks["plugin-config"].passed
    assert "non-root-user" not in checks


def test_root_user_fails():
    assert not results({"config": {"User": "0:0"}})["non-root-user"].passed
    assert not results({"config": {}})["non-root-user"].passed
    assert results({"config": {"User": "10001"}})["non-root-user"].passed


def test_required_labels_listed_when_missing():
    check = results({"config": {"Labels": {"name": "x", "vendor": "y"}}})["required-labels"]

    assert not check.passed
    assert "version, release, summary, description, maintainer" in check.detail


def test_latest_only_tag_fails():
    assert not results({"config": {}}, tags=("latest",))["versioned-tag"].passed


def test_secrets_found_by_place_not_value():
    config = {
        "config": {
            "Env": ["DB_PASSWORD=hunter2hunter2", "PASSWORD_FILE=/run/secrets/db", "PATH=/bin"],
            "Labels": {"deploy.key": "AKIAIOSFODNN7EXAMPLE"},
        },
        "history": [{"created_by": "RUN curl -u admin --token=abcdef123456 https://x"}],
    }

    check = results(config)["no-secrets"]

    assert not check.passed
    assert "environment variable DB_PASSWORD" in check.detail
    assert "PASSWORD_FILE" not in check.detail
    assert "label deploy.key" in check.detail
    assert "history entry 0" in check.detail
    assert "hunter2" not in check.detail


def test_healthcheck_none_fails():
    assert not results({"config": {"Healthcheck": {"Test": ["NONE"]}}})["healthcheck"].passed
    assert results({"config": {"Healthcheck": {"Test": ["CMD", "true"]}}})["healthcheck"].passed


def test_leftovers_and_licenses_from_tree():
    tree = apply(tar(
        directory("var/lib/apt/lists"), file("var/lib/apt/lists/lock"),
        file("var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease", "x"),
        directory("licenses"), file("licenses/LICENSE", "Apache-2.0"),
    ))

    checks = results({"config": {}}, tree=tree)

    assert not checks["package-manager-leftovers"].passed
    assert "/var/lib/apt/lists (1 entries)" in checks["package-manager-leftovers"].detail
    assert checks["license-files"].passed


def test_apt_lists_lock_only_passes():
    tree = apply(tar(directory("var/lib/apt/lists"), file("var/lib/apt/lists/lock")))

    assert results({"config": {}}, tree=tree)["package-manager-leftovers"].passed


def test_secure_base_recognised():
    assert results({"config": {}}, distro=Distro("alpine", "3.20"))["secure-base"].passed
    assert "distroless" in results({"config": {}}, distro=Distro("debian", "12", "Distroless"))["secure-base"].detail
    assert not results({"config": {}}, distro=Distro("centos", "7"))["secure-base"].passed
    assert not results({"config": {}}, distro=None)["secure-base"].passed


def test_forty_layers_fail():
    checks = run_checks(config={"config": {}}, tree=apply(tar(file("x"))), tags=("1",),
                        distro=None, layer_count=40, is_plugin=False)

    assert not {c.id: c for c in checks}["layer-count"].passed
