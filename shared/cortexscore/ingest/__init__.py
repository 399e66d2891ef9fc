"""``cortexscore ingest``: load the pinned public datasets from a mirror folder into the benchmark store.

Every dataset is pinned by its public source (repository at commit, path) and
the sha256 of each file (:mod:`cortexscore.ingest.manifest`). Ingest is
idempotent: a benchmark version whose catalogue document exists is skipped.
Files are stored first and the catalogue document last, so a reader never
sees half a benchmark, and two processes ingesting at once write the same
bytes under the same keys.
"""
from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Callable

from cortexscore.benchmarks.spec import BenchmarkSpec, DataRef
from cortexscore.data import write_assembly, write_stimulus_set
from cortexscore.ingest.builders import BUILDERS, Packaged
from cortexscore.ingest.catalog import catalog_key, ceiling_of, data_ref, register_benchmark
from cortexscore.ingest.manifest import DATASETS, Dataset, verify_dataset
from cortexscore.storage import ChecksumMismatch, ObjectStore, StorageError, open_store

logger = logging.getLogger("cortexscore.ingest")

# The mirror of the source URLs on the project machines, relative to the repository root.
DEFAULT_MIRROR = Path(__file__).resolve().parents[3].parent / "shared" / "data"


class IngestError(RuntimeError):
    """Some datasets of the mirror failed verification; the others were ingested."""


def _read_spec(store: ObjectStore, key: str) -> BenchmarkSpec:
    return BenchmarkSpec.model_validate_json(b"".join(store.iter_chunks(key)))


def _store_stimulus_set(store: ObjectStore, packaged: Packaged, version: int, out: Path) -> DataRef:
    files = write_stimulus_set(packaged.stimulus_set_identifier, packaged.table, packaged.image_dir,
                               out / "stimulus_sets" / packaged.stimulus_set_identifier)
    return data_ref(store, "stimulus_sets", packaged.stimulus_set_identifier, version,
                    {"csv": files.csv_path, "zip": files.zip_path})


def _store_benchmark(store: ObjectStore, dataset: Dataset, packaged: Packaged, stimulus_ref: DataRef,
                     out: Path) -> BenchmarkSpec:
    identifier = packaged.assembly.attrs["identifier"]
    path = write_assembly(packaged.assembly, out / "assemblies" / f"{packaged.fields['identifier']}.nc")
    prefix = "private/assemblies" if packaged.assembly_access == "private" else "assemblies"
    assembly_ref = data_ref(store, prefix, identifier, dataset.version, {"netcdf": path},
                            access=packaged.assembly_access)
    public_ref = None
    if packaged.public_assembly is not None:
        public_path = write_assembly(packaged.public_assembly,
                                     out / "assemblies" / f"{packaged.fields['identifier']}.public.nc")
        public_ref = data_ref(store, "assemblies", f"{identifier}.public", dataset.version, {"netcdf": public_path})
    spec = BenchmarkSpec(version=dataset.version, stimulus_set=stimulus_ref, assembly=assembly_ref,
                         public_assembly=public_ref, ceiling=ceiling_of(packaged.ceiling), **packaged.fields)
    if not 0 < spec.ceiling.value <= 1:
        raise ValueError(f"{spec.identifier}: ceiling {spec.ceiling.value} lies outside (0, 1]")
    return register_benchmark(store, spec)


def ingest_dataset(store: ObjectStore, mirror_dir: Path, dataset: Dataset,
                   log: Callable[[str], None]) -> list[BenchmarkSpec]:
    """Ingest one dataset's benchmarks that the catalogue lacks; return all of its benchmarks."""
    build, identifiers = BUILDERS[dataset.name]
    keys = {identifier: catalog_key(identifier, dataset.version) for identifier in identifiers}
    present = {identifier for identifier, key in keys.items() if store.exists(key)}
    if present == set(identifiers):
        log(f"{dataset.name}: already ingested ({', '.join(identifiers)} v{dataset.version})")
        return [_read_spec(store, keys[identifier]) for identifier in identifiers]
    started = time.perf_counter()
    folder = verify_dataset(mirror_dir, dataset)
    log(f"{dataset.name}: verified the sha256 of every pinned file in {folder} ({time.perf_counter() - started:.1f}s)")
    with tempfile.TemporaryDirectory(prefix=f"ingest-{dataset.folder}-") as tmp:
        out = Path(tmp)
        stimulus_refs: dict[str, DataRef] = {}
        for packaged in build(folder, out):
            identifier = packaged.fields["identifier"]
            if identifier in present:
                continue
            if packaged.stimulus_set_identifier not in stimulus_refs:
                stimulus_refs[packaged.stimulus_set_identifier] = _store_stimulus_set(store, packaged,
                                                                                      dataset.version, out)
            spec = _store_benchmark(store, dataset, packaged, stimulus_refs[packaged.stimulus_set_identifier], out)
            log(f"{dataset.name}: registered {spec.ref} ({spec.num_stimuli} stimuli, ceiling "
                f"{spec.ceiling.value:.4f} by {spec.ceiling.method})")
    log(f"{dataset.name}: done in {time.perf_counter() - started:.1f}s")
    return [_read_spec(store, keys[identifier]) for identifier in identifiers]


def ingest_all(store: ObjectStore, mirror_dir: Path | str, log: Callable[[str], None] = logger.info
               ) -> list[BenchmarkSpec]:
    """Ingest every pinned dataset found in ``mirror_dir``; log one line for each dataset that is missing.

    Returns the catalogue entries of every benchmark of every dataset found,
    whether ingested now or before. A dataset whose files are missing or fail
    their sha256 is logged and left out; IngestError names them all at the end.
    """
    mirror_dir = Path(mirror_dir)
    specs: list[BenchmarkSpec] = []
    failures: list[str] = []
    for dataset in DATASETS:
        if not (mirror_dir / dataset.folder).is_dir():
            log(f"skipping {dataset.name}: {mirror_dir / dataset.folder} does not exist; get it from {dataset.urls}")
            continue
        try:
            specs.extend(ingest_dataset(store, mirror_dir, dataset, log))
        except (ChecksumMismatch, FileNotFoundError) as error:
            # A damaged dataset must not keep the others out of the catalogue.
            log(f"failed {dataset.name}: {error}")
            failures.append(str(error))
    if failures:
        raise IngestError(f"{len(failures)} dataset(s) failed verification: " + "; ".join(failures))
    return specs


def object_store_url(store_url: str | None) -> str:
    """The object store to ingest into: ``store_url`` when it names one, else the store service's own.

    An ``http(s)://`` URL names the store *service*, which serves its object
    store read-only; ingest then writes to that object store directly, taken
    from ``STORE_OBJECT_STORE`` or ``$STORE_VAR_DIR/store`` (default ``var/store``)
    as the service does.

    >>> object_store_url("s3://127.0.0.1:9000/benchmarks")
    's3://127.0.0.1:9000/benchmarks'
    >>> object_store_url("http://127.0.0.1:8001")
    'var/store'
    """
    if store_url and not store_url.startswith(("http://", "https://")):
        return store_url
    return os.environ.get("STORE_OBJECT_STORE") or str(Path(os.environ.get("STORE_VAR_DIR") or "var") / "store")


def run_ingest_command(mirror: Path | None, store_url: str | None) -> int:
    """``cortexscore ingest [--mirror DIR]``: ingest into the object store that ``store_url`` names.

    See :func:`object_store_url`; S3 keys come from ``STORE_S3_ACCESS_KEY`` /
    ``STORE_S3_SECRET_KEY``. The mirror defaults to ``../shared/data`` next to
    the repository.
    Returns the process exit code: 0 on success, 1 on a verification or
    storage failure.
    """
    url = object_store_url(store_url)
    mirror = Path(mirror) if mirror is not None else DEFAULT_MIRROR
    try:
        store = open_store(url, access_key=os.environ.get("STORE_S3_ACCESS_KEY", ""),
                           secret_key=os.environ.get("STORE_S3_SECRET_KEY", ""))
        specs = ingest_all(store, mirror, print)
    except (IngestError, StorageError, ValueError) as error:
        print(f"ingest failed: {error}")
        return 1
    print(f"{len(specs)} benchmarks in the catalogue at {url} from the mirror {mirror}")
    return 0


__all__ = ["DATASETS", "DEFAULT_MIRROR", "IngestError", "ingest_all", "ingest_dataset", "object_store_url",
           "run_ingest_command"]
