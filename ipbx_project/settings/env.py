"""Typed readers for settings that come from the environment."""

import os


def env_str(name: str, default: str = "") -> str:
    """Return the environment variable `name`, or `default` when unset or empty."""
    value = os.environ.get(name, "")
    return value if value != "" else default


def env_int(name: str, default: int) -> int:
    """Return the environment variable `name` as an int, or `default`."""
    value = os.environ.get(name, "")
    return int(value) if value else default


def env_bool(name: str, default: bool = False) -> bool:
    """Return the environment variable `name` read as a boolean (1/true/yes/on)."""
    value = os.environ.get(name, "")
    if not value:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """Return a comma-separated environment variable as a list of stripped items."""
    value = os.environ.get(name, "")
    if not value:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]
