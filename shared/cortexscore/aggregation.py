"""Leaderboard aggregation: average -> {neural -> {V1, V2, V4, IT}, behavior}; engineering is its own root.

A parent is the equal-weight mean of its direct children. A failed or missing
child counts as 0 while at least one sibling has a number; a parent whose
children are all missing is missing itself. Leaves are ceiled scores clipped
to [0, 1]; engineering leaves use raw values.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

TREE: dict[str, tuple[str, ...]] = {
    "average": ("neural", "behavior"),
    "neural": ("V1", "V2", "V4", "IT"),
}


def _mean_with_missing(values: list[float | None]) -> float | None:
    if all(value is None for value in values):
        return None
    return float(np.mean([0.0 if value is None else value for value in values]))


def aggregate_model(leaves: list[dict]) -> dict[str, float]:
    """Hierarchical means for one model.

    Each leaf has ``benchmark``, ``kind`` (neural/behavior/engineering),
    ``region`` and ``value`` (None when failed or not yet scored).

    >>> aggregate_model([{"benchmark": "a", "kind": "neural", "region": "IT", "value": 0.8},
    ...                  {"benchmark": "b", "kind": "behavior", "region": None, "value": None}])
    {'IT': 0.8, 'neural': 0.2, 'average': 0.1}
    """
    groups: dict[str, list[float | None]] = defaultdict(list)
    for leaf in leaves:
        value = leaf["value"]
        if value is not None and leaf["kind"] != "engineering":
            value = float(np.clip(value, 0.0, 1.0))
        node = "behavior" if leaf["kind"] == "behavior" else leaf["kind"] if leaf["kind"] == "engineering" else leaf["region"]
        groups[node].append(value)
    nodes: dict[str, float | None] = {node: _mean_with_missing(values) for node, values in groups.items()}
    for parent in ("neural", "average"):
        nodes[parent] = _mean_with_missing([nodes.get(child) for child in TREE[parent]])
    return {node: value for node, value in nodes.items() if value is not None}
