"""Helpers shared by the adapters: applying field transforms to plain dicts."""

from __future__ import annotations

import copy
from typing import Any

from functions.store.base import DELETE_FIELD, Increment

__all__ = ["apply_changes", "deep_merge", "resolve_transforms"]


def resolve_transforms(data: dict[str, Any], old: dict[str, Any] | None) -> dict:
    """`data` with every Increment replaced by its result against `old`."""
    result: dict[str, Any] = {}
    for key, value in data.items():
        previous = (old or {}).get(key)
        if isinstance(value, Increment):
            base = previous if isinstance(previous, int | float) else 0
            result[key] = base + value.amount
        elif isinstance(value, dict):
            result[key] = resolve_transforms(
                value, previous if isinstance(previous, dict) else None
            )
        elif value is DELETE_FIELD:
            continue
        else:
            result[key] = copy.deepcopy(value)
    return result


def deep_merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Merge `new` into a copy of `old` the way Firestore's set(merge=True) does."""
    merged = copy.deepcopy(old)
    for key, value in new.items():
        if value is DELETE_FIELD:
            merged.pop(key, None)
        elif isinstance(value, Increment):
            base = merged.get(key)
            merged[key] = (base if isinstance(base, int | float) else 0) + value.amount
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        elif isinstance(value, dict):
            merged[key] = resolve_transforms(value, None)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def apply_changes(old: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply an update's dotted-name changes to a copy of `old`."""
    result = copy.deepcopy(old)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = result
        for name in parents:
            child = node.get(name)
            if not isinstance(child, dict):
                child = {}
                node[name] = child
            node = child
        if value is DELETE_FIELD:
            node.pop(leaf, None)
        elif isinstance(value, Increment):
            base = node.get(leaf)
            node[leaf] = (base if isinstance(base, int | float) else 0) + value.amount
        else:
            node[leaf] = copy.deepcopy(value)
    return result
