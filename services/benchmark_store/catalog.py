"""The catalogue: one JSON document per benchmark version, kept in the object store beside the data.

A benchmark's document is written last, after its files, so a reader never
sees a benchmark whose data is half-stored.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd

from cortexscore.benchmarks.spec import BenchmarkSpec, Ceiling, DataRef, FileRef
from cortexscore.storage import ObjectNotFound, ObjectStore, sha256_file

CATALOG_PREFIX = "catalog/"


def catalog_key(identifier: str, version: int) -> str:
    return f"{CATALOG_PREFIX}{identifier}/v{version}.json"


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


def put_file(store: ObjectStore, key: str, path: Path) -> FileRef:
    info = store.put_file(key, path)
    return FileRef(key=key, sha256=sha256_file(path), size=info.size)


def register_benchmark(store: ObjectStore, spec: BenchmarkSpec) -> BenchmarkSpec:
    with tempfile.TemporaryDirectory() as tmp:
        document = Path(tmp) / "spec.json"
        document.write_text(spec.model_dump_json(indent=2))
        store.put_file(catalog_key(spec.identifier, spec.version), document)
    return spec


def data_ref(store: ObjectStore, prefix: str, identifier: str, version: int, files: dict[str, Path],
             access: str = "public") -> DataRef:
    refs = {role: put_file(store, f"{prefix}/{identifier}/v{version}/{path.name}", path) for role, path in files.items()}
    return DataRef(identifier=identifier, version=version, files=refs, access=access)


def ceiling_of(score) -> Ceiling:
    return Ceiling(value=float(score), error=float(score.error), method=score.attrs.get("method", ""),
                   attrs={key: value for key, value in score.attrs.items() if isinstance(value, (int, float, str))})


def read_table(store: ObjectStore, ref: FileRef) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.csv"
        store.get_file(ref.key, path)
        return pd.read_csv(path, dtype={"stimulus_id": str})
