"""The daemon's garbage-collector settings, applied once it has started.

Under 100 calls/s (`python -m bench acd_e2e`) CPython's default thresholds (700, 10, 10) ran a
full collection every few seconds over every object of Django, the configuration and the
seeded state — ~150,000 objects that live as long as the process — stalling every greenlet,
and so the dispatch of waiting callers, for tens to hundreds of milliseconds. After start-up
those objects are frozen out of the collector's scans (`gc.freeze`) and the young generation
is collected less often; cycles are still collected.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 20_000  # allocations between two young collections (CPython: 700)
OLDER_THRESHOLDS = (20, 20)  # young / middle collections between two older ones (10, 10)


def settle_collector() -> None:
    """Collect once, freeze what start-up made, and collect the young less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    log.info("garbage collector: %d start-up objects frozen", gc.get_freeze_count())
