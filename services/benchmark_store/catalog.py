"""The catalogue: one JSON document per benchmark version, kept in the object store beside the data.

A benchmark's document is written last, after its files, so a reader never
sees a benchmark whose data is half-stored.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from cortexscore.benchmarks.spec import BenchmarkSpec, FileRef
from cortexscore.ingest.catalog import CATALOG_PREFIX, catalog_key
from cortexscore.storage import ObjectNotFound, ObjectStore


def list_benchmarks(store: ObjectStore) -> list[BenchmarkSpec]:
    """The newest version of every benchmark."""
    newest: dict[str, BenchmarkSpec] = {}
    for key in store.keys(CATALOG_PREFIX):
        spec = BenchmarkSpec.model_validate_json(b"".join(store.iter_chunks(key)))
        if spec.identifier not in newest or spec.version > newest[spec.identifier].version:
            newest[spec.identifier] = spec
    return sorted(newest.values(), key=lambda spec: spec.identifier)


def get_benchmark(store: ObjectStore, identifier: str, version: int | None = None) -> BenchmarkSpec:
    if version is None:
        for spec in list_benchmarks(store):
            if spec.identifier == identifier:
                return spec
        raise ObjectNotFound(identifier)
    return BenchmarkSpec.model_validate_json(b"".join(store.iter_chunks(catalog_key(identifier, version))))


def read_table(store: ObjectStore, ref: FileRef) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.csv"
        store.get_file(ref.key, path)
        return pd.read_csv(path, dtype={"stimulus_id": str})
