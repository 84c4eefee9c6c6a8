"""Which network addresses a publisher-supplied webhook URL may reach.

Only globally routable addresses are allowed unless the operator allows non-public ones.
A hostname is resolved and every address it resolves to is checked, at registration and
again before each delivery. The request then goes to a checked address, so a DNS record
that changes in between cannot point a delivery at an internal host.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance metadata endpoints, refused even when non-public addresses are allowed.
# AWS, GCP, Azure and OpenStack use 169.254.169.254. AWS also serves metadata on
# fd00:ec2::254 (IPv6) and task credentials on 169.254.170.2 (ECS). Alibaba Cloud uses
# 100.100.100.200.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)


class AddressNotAllowed(ValueError):
    """The URL is malformed, does not resolve, or reaches an address that is not allowed."""


class ForbiddenAddress(AddressNotAllowed):
    """An address that is not allowed, with its kind in `reason` (e.g. "a loopback address")."""

    def __init__(self, address: IPAddress, reason: str) -> None:
        super().__init__(f"{address} is {reason}")
        self.address = address
        self.reason = reason


@dataclass(frozen=True)
class ResolvedTarget:
    scheme: str
    hostname: str
    port: int
    addresses: tuple[IPAddress, ...]


NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_PREFIX or (address in IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def check_address(address: IPAddress, *, allow_private: bool) -> None:
    """Raise AddressNotAllowed unless a request may go to `address`."""
    # IPv6 forms that carry an IPv4 address reach the IPv4 host they embed: mapped
    # (::ffff:a.b.c.d), 6to4 (2002:AABB:CCDD::), NAT64 (64:ff9b::a.b.c.d, RFC 6052) and
    # the deprecated IPv4-compatible form (::a.b.c.d).
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded is not None:
            address = embedded

    if address in METADATA_ADDRESSES:
        raise ForbiddenAddress(address, "a cloud metadata address")
    if allow_private:
        return
    if address.is_unspecified:
        raise ForbiddenAddress(address, "the unspecified address, which reaches the local host")
    if address.is_loopback:
        raise ForbiddenAddress(address, "a loopback address")
    if address.is_link_local:
        raise ForbiddenAddress(address, "a link-local address")
    if address.is_private:
        raise ForbiddenAddress(address, "a private address")
    if address.is_multicast or not address.is_global:
        raise ForbiddenAddress(address, "not a public unicast address")


def split_url(url: str, *, require_https: bool) -> tuple[str, str, int]:
    """Return (scheme, hostname, port) of a webhook URL, or raise AddressNotAllowed if unusable."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise AddressNotAllowed(f"{url!r} is not a valid URL: {exc}") from None

    allowed_schemes = ("https",) if require_https else ("https", "http")
    if parts.scheme not in allowed_schemes:
        raise AddressNotAllowed(f"the scheme must be {' or '.join(allowed_schemes)}, not {parts.scheme!r}")
    if not parts.hostname:
        raise AddressNotAllowed(f"{url!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise AddressNotAllowed("the URL must not contain a user name or password")
    if parts.fragment:
        raise AddressNotAllowed("the URL must not contain a fragment")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve_target(url: str, *, allow_private: bool, require_https: bool) -> ResolvedTarget:
    """Resolve the URL's host and check every address, raising AddressNotAllowed on any bad one."""
    scheme, hostname, port = split_url(url, require_https=require_https)

    try:
        literal = ipaddress.ip_address(hostname)
    except ValueError:
        literal = None

    if literal is not None:
        addresses: tuple[IPAddress, ...] = (literal,)
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                hostname, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise AddressNotAllowed(f"the host {hostname!r} could not be resolved: {exc}") from None
        # The scope suffix of an IPv6 link-local result ("fe80::1%eth0") is not part of the address.
        unique = dict.fromkeys(ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos)
        addresses = tuple(unique)
        if not addresses:
            raise AddressNotAllowed(f"the host {hostname!r} has no addresses")

    for address in addresses:
        try:
            check_address(address, allow_private=allow_private)
        except ForbiddenAddress as exc:
            if literal is not None:
                raise
            raise AddressNotAllowed(
                f"the host {hostname!r} resolves to {exc.address}, which is {exc.reason}"
            ) from None
    return ResolvedTarget(scheme=scheme, hostname=hostname, port=port, addresses=addresses)
