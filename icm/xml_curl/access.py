"""Who may fetch configuration: HTTP basic auth against XML_CURL_USER/SECRET and an address ACL."""

import base64
import binascii
import functools
import hmac
import ipaddress
import logging
from collections.abc import Iterable

from django.conf import settings

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def allowed_networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """Parse addresses and CIDRs; an invalid entry is logged (once) and ignored."""
    networks: list[IPNetwork] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            logger.error("xml_curl: ignoring invalid XML_CURL_ALLOWED_ADDRESSES entry %r", entry)
    return tuple(networks)


def address_allowed(remote_addr: str | None, entries: Iterable[str] | None = None) -> bool:
    """True when `remote_addr` lies in one of the allowed networks (IPv4-mapped IPv6 included)."""
    if not remote_addr:
        return False
    try:
        address: IPAddress = ipaddress.ip_address(remote_addr.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if entries is None:
        entries = settings.XML_CURL_ALLOWED_ADDRESSES
    return any(address in network for network in allowed_networks(tuple(entries)))


def credentials_valid(authorization: str | None) -> bool:
    """Check an `Authorization: Basic …` header against XML_CURL_USER and XML_CURL_SECRET.

    Always refuses when no secret is configured; compares in constant time.
    """
    expected_user: str = settings.XML_CURL_USER
    expected_secret: str = settings.XML_CURL_SECRET
    if not expected_secret:
        logger.error("xml_curl: XML_CURL_SECRET is not set; refusing every request")
        return False
    if not authorization:
        return False
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    user, separator, secret = decoded.partition(b":")
    if not separator:
        return False
    user_ok = hmac.compare_digest(user, expected_user.encode())
    secret_ok = hmac.compare_digest(secret, expected_secret.encode())
    return user_ok and secret_ok
