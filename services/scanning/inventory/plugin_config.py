"""Validation of a Docker managed plugin's config.json ("Plugin Config Version 1 of Plugin V2").

The format is the one in Docker's engine documentation (docs/extend/config.md). The engine
decodes it with Go's case-insensitive JSON matching, so ``Interface`` and ``interface``
are the same key here too. Checked: the field types, the interface types the engine
supports, the socket name, the entrypoint, the network type, mounts, environment,
arguments, Linux capabilities and devices, and the user.
"""

from __future__ import annotations

import re
from typing import Any

INTERFACE_TYPES = frozenset(
    {
        "docker.volumedriver/1.0",
        "docker.networkdriver/1.0",
        "docker.ipamdriver/1.0",
        "docker.authz/1.0",
        "docker.logdriver/1.0",
        "docker.metricscollector/1.0",
    }
)
NETWORK_TYPES = frozenset({"bridge", "host", "none"})
SETTABLE_FIELDS = frozenset({"source", "destination", "type", "options", "path", "value"})
_CAPABILITY = re.compile(r"^CAP_[A-Z_]+$")


def validate_plugin_config(config: dict[str, Any]) -> list[str]:
    """Return the problems found in a plugin config, one sentence each; empty when valid."""
    config = _lower_keys(config)
    problems: list[str] = []

    for name in ("description", "documentation"):
        if not isinstance(config.get(name), str) or not config[name].strip():
            problems.append(f"{name} must be a non-empty string")

    _check_interface(config.get("interface"), problems)

    entrypoint = config.get("entrypoint")
    if not _is_string_list(entrypoint) or not entrypoint:
        problems.append("entrypoint must be a non-empty array of strings")

    workdir = config.get("workdir", "")
    if not isinstance(workdir, str) or (workdir and not workdir.startswith("/")):
        problems.append("workdir must be an absolute path")

    network = _lower_keys(config.get("network") or {})
    if network and network.get("type") not in NETWORK_TYPES:
        problems.append(f"network.type {network.get('type')!r} must be one of {sorted(NETWORK_TYPES)}")

    for index, mount in enumerate(_list(config, "mounts", problems)):
        _check_mount(index, mount, problems)
    for index, variable in enumerate(_list(config, "env", problems)):
        _check_setting(f"env[{index}]", variable, problems, string_value=True)
    if "args" in config:
        _check_setting("args", config["args"], problems, string_value=False)

    _check_linux(config.get("linux"), problems)
    _check_user(config.get("user"), problems)

    propagated = config.get("propagatedmount", "")
    if not isinstance(propagated, str) or (propagated and not propagated.startswith("/")):
        problems.append("propagatedMount must be an absolute path")
    for flag in ("ipchost", "pidhost"):
        if flag in config and not isinstance(config[flag], bool):
            problems.append(f"{flag} must be a boolean")
    return problems


def _check_interface(interface: Any, problems: list[str]) -> None:
    if not isinstance(interface, dict):
        problems.append("interface is missing")
        return
    interface = _lower_keys(interface)
    types = interface.get("types")
    if not _is_string_list(types) or not types:
        problems.append("interface.types must be a non-empty array of strings")
    else:
        unknown = [value for value in types if value not in INTERFACE_TYPES]
        if unknown:
            problems.append(f"interface.types has unsupported types {unknown}")
    socket = interface.get("socket")
    if not isinstance(socket, str) or not socket or "/" in socket:
        problems.append("interface.socket must be a socket file name without '/'")


def _check_mount(index: int, mount: Any, problems: list[str]) -> None:
    if not isinstance(mount, dict):
        problems.append(f"mounts[{index}] must be an object")
        return
    mount = _lower_keys(mount)
    destination = mount.get("destination")
    if not isinstance(destination, str) or not destination.startswith("/"):
        problems.append(f"mounts[{index}].destination must be an absolute path")
    source = mount.get("source", "")
    if source is not None and not isinstance(source, str):
        problems.append(f"mounts[{index}].source must be a string")
    if "options" in mount and not _is_string_list(mount["options"]):
        problems.append(f"mounts[{index}].options must be an array of strings")
    _check_settable(f"mounts[{index}]", mount, problems)


def _check_setting(where: str, setting: Any, problems: list[str], string_value: bool) -> None:
    if not isinstance(setting, dict):
        problems.append(f"{where} must be an object")
        return
    setting = _lower_keys(setting)
    if not isinstance(setting.get("name"), str) or not setting["name"]:
        problems.append(f"{where}.name must be a non-empty string")
    value = setting.get("value")
    if value is not None:
        valid = isinstance(value, str) if string_value else _is_string_list(value)
        if not valid:
            kind = "a string" if string_value else "an array of strings"
            problems.append(f"{where}.value must be {kind}")
    _check_settable(where, setting, problems)


def _check_settable(where: str, item: dict[str, Any], problems: list[str]) -> None:
    settable = item.get("settable")
    if settable is None:
        return
    if not _is_string_list(settable):
        problems.append(f"{where}.settable must be an array of strings")
        return
    unknown = [field for field in settable if field not in SETTABLE_FIELDS]
    if unknown:
        problems.append(f"{where}.settable has unknown fields {unknown}")


def _check_linux(linux: Any, problems: list[str]) -> None:
    if linux is None:
        return
    if not isinstance(linux, dict):
        problems.append("linux must be an object")
        return
    linux = _lower_keys(linux)
    capabilities = linux.get("capabilities") or []
    if not _is_string_list(capabilities):
        problems.append("linux.capabilities must be an array of strings")
    else:
        invalid = [value for value in capabilities if not _CAPABILITY.match(value)]
        if invalid:
            problems.append(f"linux.capabilities has invalid names {invalid} (expected CAP_*)")
    if "allowalldevices" in linux and not isinstance(linux["allowalldevices"], bool):
        problems.append("linux.allowAllDevices must be a boolean")
    for index, device in enumerate(linux.get("devices") or []):
        device = _lower_keys(device) if isinstance(device, dict) else None
        if device is None or not str(device.get("path", "")).startswith("/dev/"):
            problems.append(f"linux.devices[{index}].path must be a path under /dev/")


def _check_user(user: Any, problems: list[str]) -> None:
    if user is None:
        return
    if not isinstance(user, dict):
        problems.append("user must be an object")
        return
    user = _lower_keys(user)
    for key in ("uid", "gid"):
        value = user.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append(f"user.{key} must be a non-negative integer")


def _list(config: dict[str, Any], key: str, problems: list[str]) -> list[Any]:
    value = config.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{key} must be an array")
        return []
    return value


def _is_string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _lower_keys(document: dict[str, Any]) -> dict[str, Any]:
    return {str(key).lower(): value for key, value in document.items()}
