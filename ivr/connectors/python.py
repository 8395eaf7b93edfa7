"""User-defined connectors: Python callables registered in settings.IVR_PYTHON_CONNECTORS
(`{"crm": "mycompany.ivr.crm_lookup"}`), each `params -> {field: value}`. Only code an
operator installed can run: the database names an entry point, never a module path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

WORKERS = 8
_pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ivr-connector")
_running = 0  # calls not finished, time-outs included (a hung entry point keeps a worker)


class PythonConfigError(ValueError):
    pass


def entry_point(config: Mapping[str, Any]) -> Callable[[dict[str, Any]], Mapping[str, Any]]:
    name = str(config.get("entry_point") or "")
    registered = getattr(settings, "IVR_PYTHON_CONNECTORS", {})
    if name not in registered:
        raise PythonConfigError(
            f"entry point {name!r} is not registered in IVR_PYTHON_CONNECTORS "
            f"(registered: {sorted(registered)})"
        )
    try:
        return import_string(registered[name])
    except ImportError as exc:
        raise PythonConfigError(f"entry point {name!r}: {exc}") from exc


def check(config: Mapping[str, Any]) -> None:
    entry_point(config)


def run(config: Mapping[str, Any], params: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    global _running
    func = entry_point(config)
    if _running >= WORKERS:
        raise RuntimeError("every Python connector worker is busy (hung entry points?)")
    _running += 1
    future = _pool.submit(func, dict(params))

    def done(_: object) -> None:
        global _running
        _running -= 1

    future.add_done_callback(done)
    result = future.result(timeout=timeout)
    if result is None:
        return {}
    if not isinstance(result, Mapping):
        return {"value": result}
    return dict(result)
