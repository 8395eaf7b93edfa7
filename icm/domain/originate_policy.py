"""What an originate request reaches (issue 18 item 4): the dialplan contexts it runs in and
the number it sends to a trunk, read from its endpoint — so the API's context allow-list
cannot be stepped around with `loopback/<ext>/<any context>`.

FreeSWITCH's loopback endpoint is `loopback/<extension>[/<context>[/<dialplan>]]`: the
extension runs in that context (`default` when none is given) with that dialplan (XML when
none is given; `inline` would run applications). So an originate reaches the context it
names for its destination *and* its loopback endpoint's context; both must be allowed, and
a loopback's dialplan must be XML. Pure: the caller passes the allow-list.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

_EXTENSION = re.compile(r"[0-9A-Za-z_*#+-]{1,40}")
_CONTEXT = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class OriginateNotAllowed(ValueError):
    """The originate would run in a context (or a dialplan) callers may not use."""


@dataclass(frozen=True, slots=True)
class OriginateTarget:
    contexts: tuple[str, ...]  # every dialplan context the call runs in
    gateway: str = ""  # sofia/gateway/<gateway>/<number>: the trunk …
    number: str = ""  # … and the number sent to it
    loopback_extension: str = ""  # what a loopback endpoint dials in its context


def originate_target(endpoint: str, context: str, allowed: Collection[str]) -> OriginateTarget:
    """Parse `endpoint` and check every context the originate reaches against `allowed`,
    or raise OriginateNotAllowed saying which one."""
    contexts = [context or "default"]
    gateway = number = loopback = ""
    parts = str(endpoint).split("/")
    if parts[0] == "loopback":
        if not 2 <= len(parts) <= 4 or not _EXTENSION.fullmatch(parts[1]):
            raise OriginateNotAllowed(
                f"endpoint {endpoint[:80]!r}: a loopback endpoint is "
                "loopback/<extension>[/<context>[/XML]]"
            )
        loopback = parts[1]
        contexts.append(parts[2] if len(parts) > 2 and parts[2] else "default")
        if len(parts) == 4 and parts[3] != "XML":
            raise OriginateNotAllowed(
                f"endpoint {endpoint[:80]!r}: a loopback endpoint may only use the XML dialplan"
            )
    elif parts[:2] == ["sofia", "gateway"]:
        if len(parts) != 4:
            raise OriginateNotAllowed(
                f"endpoint {endpoint[:80]!r}: a trunk endpoint is sofia/gateway/<gateway>/<number>"
            )
        gateway, number = parts[2], parts[3]
    for name in contexts:
        if not _CONTEXT.fullmatch(name) or name not in allowed:
            raise OriginateNotAllowed(f"context {name!r} is not allowed for originate")
    return OriginateTarget(tuple(dict.fromkeys(contexts)), gateway, number, loopback)
