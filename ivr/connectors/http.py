"""The HTTP JSON connector: a request built from a URL template, answered JSON, fields
picked out with JSON paths.

Parameters are URL-quoted into the template (`{account}`); headers may name secrets
(`{secret:BILLING_TOKEN}` reads IVR_SECRET_BILLING_TOKEN from the environment: secrets never
live in the database). No redirects, a time-out on connect and read, at most 1 MiB read.

Where it may connect (issue 18 item 9, SSRF): never to a link-local, cloud-metadata
(169.254.169.254 and friends), multicast or unspecified address; when
`IVR_HTTP_ALLOWED_HOSTS` is set, only to the hosts (names, `.suffix`es or IP networks) it
lists; when it is empty, only to public addresses (no loopback, private or shared ranges).
The check runs on every address the host name resolves to, and the connection goes to a
checked address (no second look-up a rebinding DNS server could answer differently);
environment proxies are ignored (a proxy would hide the real destination).
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from django.conf import settings
from jsonpath_ng import parse as jsonpath
from jsonpath_ng.exceptions import JsonPathParserError
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError, NameResolutionError

MAX_BYTES = 1 << 20
_FIELD = re.compile(r"\{(secret:)?(\w+)\}")


class HttpConfigError(ValueError):
    pass


class HostNotAllowed(HttpConfigError):
    """A destination the HTTP connector may not call; says why."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Never, even when listed: link-local (169.254.169.254, the cloud metadata service of AWS,
# GCP, Azure, OpenStack …), AWS's IPv6 and Alibaba's metadata addresses, "this host" and
# multicast.
_NEVER = [
    ipaddress.ip_network(n)
    for n in (
        "169.254.0.0/16",
        "fe80::/10",
        "fd00:ec2::254/128",
        "100.100.100.200/32",
        "0.0.0.0/8",
        "::/128",
        "224.0.0.0/4",
        "ff00::/8",
    )
]
_METADATA_NAMES = {"metadata", "metadata.google.internal", "metadata.azure.internal"}


def _ip(text: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0].strip("[]"))
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip


def _allowed_hosts() -> list[str]:
    entries = getattr(settings, "IVR_HTTP_ALLOWED_HOSTS", None) or []
    return [str(e).strip().lower().rstrip(".") for e in entries if str(e).strip()]


def _listed(host: str, ip: IPAddress | None, entries: list[str]) -> bool:
    for entry in entries:
        if "/" in entry or _ip(entry) is not None:
            try:
                if ip is not None and ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        elif host == entry or (entry.startswith(".") and host.endswith(entry)):
            return True
    return False


def refusal(host: str, address: str) -> str:
    """Why the connector may not call `host` at `address` (one address it resolved to);
    "" when it may."""
    host = host.strip("[]").lower().rstrip(".")
    ip = _ip(address)
    if ip is None:
        return f"{address!r} is not an IP address"
    if (
        ip.is_link_local
        or ip.is_multicast
        or ip.is_unspecified
        or any(ip.version == net.version and ip in net for net in _NEVER)
    ):
        return f"{host} ({ip}) is a link-local, metadata or unspecified address: never allowed"
    entries = _allowed_hosts()
    if entries:
        return "" if _listed(host, ip, entries) else f"host {host} is not on IVR_HTTP_ALLOWED_HOSTS"
    if not ip.is_global:
        return (
            f"{host} ({ip}) is a loopback, private or shared address: list the host in "
            "IVR_HTTP_ALLOWED_HOSTS to allow it"
        )
    return ""


def check_host(host: str) -> None:
    """Refuse, when the connector is defined, a destination that can never be allowed."""
    name = host.strip("[]").lower().rstrip(".")
    if name in _METADATA_NAMES:
        raise HostNotAllowed(f"{name} is a cloud metadata service: never allowed")
    if _ip(name) is not None:
        why = refusal(name, name)
        if why:
            raise HostNotAllowed(why)
        return
    entries = _allowed_hosts()
    networks = [e for e in entries if "/" in e or _ip(e) is not None]
    if entries and not networks and not _listed(name, None, entries):
        raise HostNotAllowed(f"host {name} is not on IVR_HTTP_ALLOWED_HOSTS")


class _CheckedConnection(HTTPConnection):
    """Resolves the host once, refuses it unless every address passes `refusal`, and
    connects to those very addresses."""

    def _new_conn(self) -> socket.socket:
        try:
            infos = socket.getaddrinfo(self._dns_host, self.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            why = refusal(self.host, address)
            if why:
                raise HostNotAllowed(why)
        name, error = self._dns_host, None
        try:
            for address in addresses:
                self._dns_host = address
                try:
                    return super()._new_conn()
                except (OSError, HTTPError) as exc:  # could not connect: the next address
                    error = exc
        finally:
            self._dns_host = name
        raise error or OSError(f"no address for {self.host}")


class _CheckedHTTPSConnection(_CheckedConnection, HTTPSConnection):
    pass


class _CheckedPool(HTTPConnectionPool):
    ConnectionCls = _CheckedConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _CheckedPool, "https": _CheckedHTTPSPool}


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no HTTP(S)_PROXY: the checked address is the one connected
    session.mount("http://", _CheckedAdapter())
    session.mount("https://", _CheckedAdapter())
    return session


def check(config: Mapping[str, Any]) -> None:
    url = str(config.get("url") or "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HttpConfigError("an HTTP connector needs an http:// or https:// url")
    if "{" in parts.scheme + parts.netloc:
        raise HttpConfigError("parameters go in the path or query, never in the host")
    if str(config.get("method") or "GET").upper() not in ("GET", "POST"):
        raise HttpConfigError("method must be GET or POST")
    if "{secret:" in url:
        raise HttpConfigError("secrets belong in headers, not in the url")
    headers = config.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise HttpConfigError("headers must be an object")
    fields = config.get("fields") or {}
    if not isinstance(fields, Mapping):
        raise HttpConfigError("fields must be an object of name: JSON path")
    for name, path in fields.items():
        try:
            jsonpath(str(path))
        except (JsonPathParserError, Exception) as exc:
            raise HttpConfigError(f"field {name!r}: bad JSON path {path!r}: {exc}") from exc
    check_host(parts.hostname or "")


def run(config: Mapping[str, Any], params: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    method = str(config.get("method") or "GET").upper()
    url = _fill(str(config["url"]), params, quote_values=True)
    headers = {str(k): _fill(str(v), params) for k, v in (config.get("headers") or {}).items()}
    body = dict(params) if method == "POST" else None
    with (
        _session() as session,
        session.request(
            method,
            url,
            headers=headers,
            json=body,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
        ) as response,
    ):
        if response.status_code == 404:
            return {}
        response.raise_for_status()
        raw = response.raw.read(MAX_BYTES + 1, decode_content=True)
    if len(raw) > MAX_BYTES:
        raise ValueError("response larger than 1 MiB")
    data = requests.models.complexjson.loads(raw)
    fields = config.get("fields") or {}
    if not fields:
        if not isinstance(data, Mapping):
            return {"value": data}
        return {k: v for k, v in data.items() if not isinstance(v, dict | list)}
    out: dict[str, Any] = {}
    for name, path in fields.items():
        found = jsonpath(str(path)).find(data)
        out[str(name)] = found[0].value if found else None
    return out


def _fill(template: str, params: Mapping[str, Any], quote_values: bool = False) -> str:
    def value(match: re.Match[str]) -> str:
        secret, name = match.group(1), match.group(2)
        if secret:
            found = os.environ.get(f"IVR_SECRET_{name}")
            if found is None:
                raise LookupError(f"secret {name} is not set (IVR_SECRET_{name})")
            return found
        if name not in params:
            raise LookupError(f"missing parameter {name!r}")
        text = "" if params[name] is None else str(params[name])
        if not quote_values:
            return re.sub(r"[\r\n]", " ", text)  # a header value stays one line
        # dots too: ".." must not climb to another path of the back-end
        return quote(text, safe="").replace(".", "%2E")

    return _FIELD.sub(value, template)
