"""Writing the catalogue: one JSON document per benchmark version, kept in the object store beside the data.

A benchmark's document is written last, after its files, so a reader never
sees a benchmark whose data is half-stored, and two processes ingesting at
once write identical bytes under identical keys.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from cortexscore.benchmarks.spec import BenchmarkSpec, Ceiling, DataRef, FileRef
from cortexscore.storage import ObjectStore, sha256_file

CATALOG_PREFIX = "catalog/"


def catalog_key(identifier: str, version: int) -> str:
    """The key of a benchmark version's catalogue document.

    >>> catalog_key("Bashivan2019.V4-pls", 1)
    'catalog/Bashivan2019.V4-pls/v1.json'
    """
    return f"{CATALOG_PREFIX}{identifier}/v{version}.json"


def put_file(store: ObjectStore, key: str, path: Path) -> FileRef:
    info = store.put_file(key, path)
    return FileRef(key=key, sha256=sha256_file(path), size=info.size)


def register_benchmark(store: ObjectStore, spec: BenchmarkSpec) -> BenchmarkSpec:
    """Write ``spec``'s catalogue document; call it after every file it refers to is stored."""
    with tempfile.TemporaryDirectory() as tmp:
        document = Path(tmp) / "spec.json"
        document.write_text(spec.model_dump_json(indent=2))
        store.put_file(catalog_key(spec.identifier, spec.version), document)
    return spec


def data_ref(store: ObjectStore, prefix: str, identifier: str, version: int, files: dict[str, Path],
             access: str = "public") -> DataRef:
    """Store ``files`` (role -> local path) under ``prefix/identifier/v<version>/`` and describe them."""
    refs = {role: put_file(store, f"{prefix}/{identifier}/v{version}/{path.name}", path) for role, path in files.items()}
    return DataRef(identifier=identifier, version=version, files=refs, access=access)


def ceiling_of(score) -> Ceiling:
    """A catalogue ceiling from a ceiling Score, keeping its scalar attrs."""
    return Ceiling(value=float(score), error=float(score.error), method=score.attrs.get("method", ""),
                   attrs={key: value for key, value in score.attrs.items() if isinstance(value, (int, float, str))})
