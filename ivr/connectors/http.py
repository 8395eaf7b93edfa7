"""The HTTP JSON connector: a request built from a URL template, answered JSON, fields
picked out with JSON paths.

Parameters are URL-quoted into the template (`{account}`); headers may name secrets
(`{secret:BILLING_TOKEN}` reads IVR_SECRET_BILLING_TOKEN from the environment: secrets never
live in the database). No redirects, a time-out on connect and read, at most 1 MiB read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from jsonpath_ng import parse as jsonpath
from jsonpath_ng.exceptions import JsonPathParserError

MAX_BYTES = 1 << 20
_FIELD = re.compile(r"\{(secret:)?(\w+)\}")


class HttpConfigError(ValueError):
    pass


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


def run(config: Mapping[str, Any], params: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    method = str(config.get("method") or "GET").upper()
    url = _fill(str(config["url"]), params, quote_values=True)
    headers = {str(k): _fill(str(v), params) for k, v in (config.get("headers") or {}).items()}
    body = dict(params) if method == "POST" else None
    with requests.request(method, url, headers=headers, json=body, timeout=(timeout, timeout),
                          allow_redirects=False, stream=True) as response:  # fmt: skip
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
