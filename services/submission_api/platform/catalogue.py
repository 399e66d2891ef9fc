"""The benchmark catalogue, read from the benchmark store over HTTP and cached briefly."""
from __future__ import annotations

import threading
import time

import httpx

from cortexscore.benchmarks.spec import BenchmarkSpec

CACHE_SECONDS = 10.0


class CatalogueUnavailable(RuntimeError):
    pass


class Catalogue:
    def __init__(self, store_url: str):
        self.store_url = store_url.rstrip("/")
        self._lock = threading.Lock()
        self._fetched_at = 0.0
        self._specs: list[BenchmarkSpec] = []

    def all(self) -> list[BenchmarkSpec]:
        with self._lock:
            if time.monotonic() - self._fetched_at > CACHE_SECONDS or not self._specs:
                try:
                    response = httpx.get(f"{self.store_url}/benchmarks", timeout=10)
                    response.raise_for_status()
                except httpx.HTTPError as error:
                    raise CatalogueUnavailable(
                        f"the benchmark store at {self.store_url} is unavailable ({error}); try again shortly"
                    ) from error
                self._specs = [BenchmarkSpec.model_validate(item) for item in response.json()]
                self._fetched_at = time.monotonic()
            return list(self._specs)

    def default_suite(self) -> list[BenchmarkSpec]:
        """The leaderboard suite; without any leaderboard benchmark, everything the store offers."""
        specs = self.all()
        return [spec for spec in specs if spec.leaderboard and not spec.synthetic] or specs

    def resolve(self, names: list[str] | None) -> tuple[list[BenchmarkSpec], list[str]]:
        """The benchmarks a submission asked for (None: the default suite), and the identifiers that do not exist."""
        if names is None:
            return self.default_suite(), []
        by_id = {spec.identifier: spec for spec in self.all()}
        return [by_id[name] for name in names if name in by_id], [name for name in names if name not in by_id]
