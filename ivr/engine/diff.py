"""What changed between two flow versions (the editor's version history): nodes added,
removed and changed (parameter by parameter, exits included), and a moved start."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def diff_graphs(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    old_nodes: Mapping[str, Any] = old.get("nodes") or {}
    new_nodes: Mapping[str, Any] = new.get("nodes") or {}
    changed: dict[str, dict[str, list[Any]]] = {}
    for node_id in sorted(set(old_nodes) & set(new_nodes)):
        before, after = old_nodes[node_id], new_nodes[node_id]
        if before == after:
            continue
        keys = (
            sorted(set(before) | set(after))
            if isinstance(before, dict) and isinstance(after, dict)
            else ["node"]
        )
        changed[node_id] = {
            key: [_get(before, key), _get(after, key)]
            for key in keys
            if _get(before, key) != _get(after, key)
        }
    result: dict[str, Any] = {
        "added": sorted(set(new_nodes) - set(old_nodes)),
        "removed": sorted(set(old_nodes) - set(new_nodes)),
        "changed": changed,
    }
    for key in ("start", "on_error"):
        if old.get(key) != new.get(key):
            result[key] = [old.get(key), new.get(key)]
    return result


def _get(node: Any, key: str) -> Any:
    if key == "node" or not isinstance(node, dict):
        return node
    return node.get(key)
