"""Address checks for webhook URLs; these resolve nothing but literals and localhost."""

from __future__ import annotations

import ipaddress

import pytest

from services.notifications.addresses import AddressNotAllowed, check_address, resolve_target, split_url


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_address_allowed(address):
    check_address(ipaddress.ip_address(address), allow_private=False)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.1.2.3", "loopback"),
        ("::1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("10.0.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("fc00::1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("100.64.1.1", "not a public"),
        ("224.0.0.1", "not a public"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("64:ff9b::7f00:1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "metadata"),
        ("2002:7f00:1::", "loopback"),
        ("2002:a9fe:a9fe::", "metadata"),
        ("::127.0.0.1", "loopback"),
    ],
)
def test_non_public_address_refused(address, reason):
    with pytest.raises(AddressNotAllowed, match=reason):
        check_address(ipaddress.ip_address(address), allow_private=False)


def test_private_address_allowed_when_operator_allows():
    check_address(ipaddress.ip_address("127.0.0.1"), allow_private=True)
    check_address(ipaddress.ip_address("10.0.0.1"), allow_private=True)


def test_metadata_address_refused_when_operator_allows_private():
    with pytest.raises(AddressNotAllowed, match="metadata"):
        check_address(ipaddress.ip_address("169.254.169.254"), allow_private=True)


def test_production_requires_https():
    with pytest.raises(AddressNotAllowed, match="https"):
        split_url("http://hooks.example.test/wharf", require_https=True)


def test_default_ports_follow_scheme():
    assert split_url("https://hooks.example.test/wharf", require_https=True)[2] == 443
    assert split_url("http://hooks.example.test/wharf", require_https=False)[2] == 80


async def test_hostname_checked_by_resolved_address():
    with pytest.raises(AddressNotAllowed, match="'localhost' resolves to"):
        await resolve_target("http://localhost/hook", allow_private=False, require_https=False)


async def test_literal_public_address_resolves_to_itself():
    target = await resolve_target("https://93.184.216.34:8443/hook", allow_private=False, require_https=True)

    assert target.addresses == (ipaddress.ip_address("93.184.216.34"),)
    assert target.port == 8443
