"""The client address of a request: REMOTE_ADDR, or X-Forwarded-For only behind a trusted proxy.

A reverse proxy appends the address it saw to X-Forwarded-For; everything left of that came
from the client and can be forged. So the header is read only when the direct peer is one of
IPBX_TRUSTED_PROXIES, from the right, skipping the trusted proxies: the first address that is
not one of them is the client.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def trusted_proxies() -> tuple[Network, ...]:
    """The networks of IPBX_TRUSTED_PROXIES (ValueError on a malformed entry)."""
    return _networks(tuple(getattr(settings, "IPBX_TRUSTED_PROXIES", ())))


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(request: Any) -> str:
    """The address of the client who sent `request` (an HttpRequest or DRF Request), as text;
    "" when unknown (no request, e.g. a shell's authenticate())."""
    if request is None:
        return ""
    remote_text = request.META.get("REMOTE_ADDR", "") or ""
    remote = _parse(remote_text)
    if remote is None:
        return remote_text[:64]
    proxies = trusted_proxies()
    if not any(remote in network for network in proxies):
        return str(remote)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        address = _parse(hop)
        if address is None:  # a proxy never writes garbage: stop at the last good hop
            break
        if not any(address in network for network in proxies):
            return str(address)
        remote = address
    return str(remote)
