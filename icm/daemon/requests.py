"""Bus commands that must run in the consumer greenlet (the single writer of live state): the
command greenlet posts a request with a result slot to the inbox and waits for the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import gevent
import gevent.event

from icm.bus.commands import CommandError


class Request(Protocol):
    result: gevent.event.AsyncResult


def in_consumer(post: Callable[[object], None], request: Request, timeout: float) -> dict[str, Any]:
    """Run `request` in the consumer greenlet; its result (a refusal raises CommandError)."""
    post(request)
    try:
        result: dict[str, Any] = request.result.get(timeout=timeout)
    except gevent.Timeout as exc:
        raise CommandError("icm is busy: try again in a moment") from exc
    return result
