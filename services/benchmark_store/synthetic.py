"""Registers the synthetic benchmark at first start, so the platform scores with no external data."""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from cortexscore.benchmarks import synthetic
from cortexscore.benchmarks.neural import compute_ceiling
from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.data import write_assembly, write_stimulus_set
from cortexscore.ingest.catalog import catalog_key, ceiling_of, data_ref, register_benchmark
from cortexscore.storage import ObjectStore

log = logging.getLogger("benchmark_store")


def ensure_synthetic(store: ObjectStore, n_stimuli: int = synthetic.N_STIMULI) -> None:
    """Register the synthetic benchmarks of ``n_stimuli`` stimuli (each metric's variant) unless they are there."""
    variants = [synthetic.benchmark_fields(metric, n_stimuli) for metric in synthetic.METRICS]
    if all(store.exists(catalog_key(fields["identifier"], fields["version"])) for fields in variants):
        return
    identifier, stimulus_set_identifier, assembly_identifier = synthetic.names(n_stimuli)
    log.info("generating the synthetic benchmark %s (seed %d)", identifier, synthetic.SEED)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        table, image_dir, assembly = synthetic.generate(out, n_stimuli)
        files = write_stimulus_set(stimulus_set_identifier, table, image_dir, out / "packaged")
        assembly_path = write_assembly(assembly, out / "packaged" / f"{assembly_identifier}.nc")
        stimulus_ref = data_ref(store, "stimulus_sets", stimulus_set_identifier, synthetic.VERSION,
                                {"csv": files.csv_path, "zip": files.zip_path})
        assembly_ref = data_ref(store, "assemblies", assembly_identifier, synthetic.VERSION,
                                {"netcdf": assembly_path})
        specs = [BenchmarkSpec(stimulus_set=stimulus_ref, assembly=assembly_ref, **fields) for fields in variants]
        ceiling = ceiling_of(compute_ceiling(specs[0], assembly, table))
    for spec in specs:
        spec.ceiling = ceiling
        register_benchmark(store, spec)
        log.info("registered %s with ceiling %.4f", spec.ref, spec.ceiling.value)
