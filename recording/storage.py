"""The storage page's figures (REC-7): space used per format, hours stored, the disk's free
space, the recent recording rate, and the hours and days left at that rate."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Sum

from recording.models import Recording

RATE_DAYS = 7  # the "current rate" is the last week's


def figures(now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(tz=UTC)
    ready = Recording.objects.filter(status=Recording.Status.READY)
    by_format = [
        {
            "format": r["format"],
            "recordings": r["n"],
            "bytes": r["size"] or 0,
            "hours": round((r["seconds"] or 0) / 3600, 3),
            "seconds": r["seconds"] or 0.0,
            "mb_per_hour": round((r["size"] or 0) / 1e6 / ((r["seconds"] or 0) / 3600), 1)
            if r["seconds"]
            else None,
        }
        for r in ready.values("format")
        .annotate(n=Count("id"), size=Sum("size_bytes"), seconds=Sum("duration_seconds"))
        .order_by("format")
    ]
    used = sum(f["bytes"] for f in by_format)
    seconds = sum(f["seconds"] for f in by_format)
    recent = ready.filter(started_at__gte=now - timedelta(days=RATE_DAYS)).aggregate(
        size=Sum("size_bytes"), seconds=Sum("duration_seconds")
    )
    per_day = (recent["size"] or 0) / RATE_DAYS
    bytes_per_hour = (used / (seconds / 3600)) if seconds else None
    directory = settings.IPBX_RECORDINGS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    disk = shutil.disk_usage(directory)
    return {
        "directory": str(directory),
        "used_bytes": used,
        "hours_stored": round(seconds / 3600, 3),
        "recordings": sum(f["recordings"] for f in by_format),
        "by_format": by_format,
        "free_bytes": disk.free,
        "total_bytes": disk.total,
        "bytes_per_day": round(per_day),
        "days_left": round(disk.free / per_day, 1) if per_day else None,
        "hours_left": round(disk.free / bytes_per_hour, 1) if bytes_per_hour else None,
    }
