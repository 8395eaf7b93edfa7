"""The daemon's dispatcher: routes each item of the inbox to the handlers registered for its type.

Features register `(type, handler)` pairs (their contract's `handles`); the wiring registers them
in the order they must run. An item goes to the handlers of the most specific registered type in
its class's MRO (a handler for a base class is a fallback, never called twice). An item with no
handler is dropped with a debug line: a feature that is not wired simply does not see it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[Any], object]


class Dispatcher:
    """Type → ordered handlers; `dispatch(item)` runs them in registration order."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = {}
        self._resolved: dict[type, tuple[Handler, ...]] = {}

    def on(self, kind: type, handler: Handler) -> None:
        """Run `handler(item)` for every item of type `kind` (after those registered before)."""
        self._handlers.setdefault(kind, []).append(handler)
        self._resolved.clear()

    def register(self, pairs: Iterable[tuple[type, Handler]]) -> None:
        for kind, handler in pairs:
            self.on(kind, handler)

    def handlers_for(self, kind: type) -> tuple[Handler, ...]:
        """The handlers an item of type `kind` goes to (cached: dispatch is the hot path)."""
        found = self._resolved.get(kind)
        if found is None:
            found = ()
            for base in kind.__mro__:
                if base in self._handlers:
                    found = tuple(self._handlers[base])
                    break
            self._resolved[kind] = found
        return found

    def dispatch(self, item: object) -> None:
        handlers = self.handlers_for(type(item))
        if not handlers:
            log.debug("no handler for %s", type(item).__name__)
        for handler in handlers:
            handler(item)
