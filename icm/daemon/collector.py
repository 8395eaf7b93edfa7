"""The daemon's garbage-collector settings, applied once it has started.

Under 100 calls/s (`python -m bench acd_e2e`) every full collection scanned every object of
Django, the configuration and the seeded state — ~150,000–200,000 objects that live as long
as the process — stalling every greenlet, and so the dispatch of waiting callers, for tens to
hundreds of milliseconds. After start-up those objects are frozen out of the collector's scans
(`gc.freeze`). The thresholds stay CPython's: collecting less often kept the database
connections of finished greenlets (reference cycles) open until PostgreSQL ran out of slots.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def settle_collector() -> None:
    """Collect once and freeze what start-up made."""
    gc.collect()
    gc.freeze()
    log.info("garbage collector: %d start-up objects frozen", gc.get_freeze_count())
