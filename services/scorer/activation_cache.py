"""A local on-disk activations cache, content-addressed, with a size cap and least-recently-used eviction."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


class ActivationCache:
    def __init__(self, root: Path, max_bytes: int):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes

    def _path(self, key: str) -> Path:
        return self.root / f"{key}.npz"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        path = self._path(key)
        if not path.exists():
            return None
        os.utime(path)  # marks it recently used
        with np.load(path) as stored:
            layers = [str(name) for name in stored["__layers__"]]
            return {layer: stored[f"layer{index}"] for index, layer in enumerate(layers)}

    def put(self, key: str, features: dict[str, np.ndarray]) -> None:
        fd, staging = tempfile.mkstemp(dir=self.root, suffix=".part.npz")
        os.close(fd)
        arrays = {f"layer{index}": values for index, values in enumerate(features.values())}
        np.savez(staging, __layers__=np.array(list(features)), **arrays)
        os.replace(staging, self._path(key))
        self._evict()

    def _evict(self) -> None:
        entries = sorted(self.root.glob("*.npz"), key=lambda path: path.stat().st_mtime)
        total = sum(path.stat().st_size for path in entries)
        for path in entries[:-1]:
            if total <= self.max_bytes:
                break
            total -= path.stat().st_size
            path.unlink(missing_ok=True)
