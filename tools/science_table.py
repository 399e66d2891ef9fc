"""Score a submission's models on every benchmark of a store, in this process, as the scorer does; print a table.

The scorer's computation without its sandbox: each benchmark's full data (private split included) from the
store, the model's activations per stimulus set, the region's layer committed on its commitment data
(:func:`cortexscore.benchmarks.commitment.commitment_source`), the catalogue's ceiling, then
:func:`cortexscore.benchmarks.scoring.score_activations`. Used for the reference numbers in
docs/benchmarks.md and by tests/e2e/test_science.py.

Usage: python tools/science_table.py SUBMISSION_FOLDER [--store DIR] [--mirror DIR] [--synthetic]
[--benchmarks ID ...] (without --store, the mirror is ingested into a temporary store first; --synthetic adds
the store service's generated benchmarks, which needs services/ on PYTHONPATH).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from cortexscore import code_version
from cortexscore.aggregation import aggregate_model
from cortexscore.benchmarks.commitment import commitment_data, commitment_source
from cortexscore.benchmarks.scoring import procedure, score_activations
from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.data import load_assembly, load_stimulus_set
from cortexscore.models.commitment import LayerCommitments
from cortexscore.models.placement import place_images
from cortexscore.models.submission import load_submission
from cortexscore.score import Score
from cortexscore.storage import FilesystemStore

from benchmark_store.catalog import list_benchmarks

BATCH_SIZE = 64  # the scorer's


class Data:
    """Stimulus tables and assemblies read from the store once, and each model's activations on them."""

    def __init__(self, store, work: Path):
        self.store, self.work = store, work
        self.tables, self.assemblies, self.features = {}, {}, {}

    def _file(self, ref, role: str) -> Path:
        file = ref.files[role]
        path = self.work / "objects" / f"{file.sha256}{Path(file.key).suffix}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            self.store.get_file(file.key, path)
        return path

    def table(self, spec: BenchmarkSpec):
        sha = spec.stimulus_set.files["zip"].sha256
        if sha not in self.tables:
            self.tables[sha] = load_stimulus_set(self._file(spec.stimulus_set, "csv"),
                                                 self._file(spec.stimulus_set, "zip"), self.work / "stimuli" / sha)
        return self.tables[sha]

    def assembly(self, ref):
        sha = ref.files["netcdf"].sha256
        if sha not in self.assemblies:
            self.assemblies[sha] = load_assembly(self._file(ref, "netcdf"))
        return self.assemblies[sha]

    def activations(self, model, name: str, spec: BenchmarkSpec):
        layer_mode = procedure(spec).layers
        key = (name, spec.stimulus_set.files["zip"].sha256, spec.visual_degrees, layer_mode)
        if key not in self.features:
            table = self.table(spec)
            layers = ["logits"] if layer_mode == "logits" else list(model.layers)
            placed = place_images(list(table["image_path"]), self.work / "placed" / str(abs(hash(key))),
                                  model.visual_degrees(), spec.visual_degrees)
            self.features[key] = model.activations([str(path) for path in placed], layers, batch_size=BATCH_SIZE)
        return self.features[key]


def score_submission(store, root: Path, work: Path, models: list[str] | None = None, log=lambda _line: None,
                     benchmarks: list[str] | None = None) -> list[dict]:
    """One row per (model, benchmark): model, benchmark, version, region, kind, leaderboard, raw, ceiling,
    ceiled, layer and the layer_selection provenance. ``benchmarks`` limits the benchmarks scored (the whole
    catalogue still names each region's commitment data)."""
    submission = load_submission(root)
    specs = list_benchmarks(store)
    data = Data(store, work)
    rows = []
    for name in models or submission.model_identifiers():
        model = submission.brain_model(name)
        region_layer_map = dict(getattr(model, "region_layer_map", None) or {})
        searches: dict[str, LayerCommitments] = {}
        for spec in specs:
            if benchmarks is not None and spec.identifier not in benchmarks:
                continue
            features = data.activations(model, name, spec)
            commitment, source = None, commitment_source(spec, specs) if spec.region not in region_layer_map else None
            if source is not None and source.identifier != spec.identifier:
                commitment = commitment_data(source, data.table(source),
                                             data.assembly(source.public_assembly or source.assembly),
                                             data.activations(model, name, source))
            ceiling = Score(spec.ceiling.value, spec.ceiling.error) if spec.ceiling else None
            result = score_activations(spec, data.assembly(spec.assembly), data.table(spec), features,
                                       ceiling=ceiling, log=log, commitment=commitment,
                                       commitments=searches.setdefault(str(spec.region), LayerCommitments()),
                                       region_layer_map=region_layer_map)
            rows.append(dict(model=name, benchmark=spec.identifier, version=spec.version, region=spec.region,
                             kind=spec.kind, leaderboard=spec.leaderboard, raw=result.raw, ceiling=result.ceiling,
                             ceiled=result.ceiled, layer=result.layer,
                             layer_selection=result.provenance.get("layer_selection")))
            log(f"{name} {spec.identifier}: ceiled {result.ceiled:.4f} (layer {result.layer})")
    return rows


def aggregates(rows: list[dict]) -> dict[str, dict[str, float]]:
    models = sorted({row["model"] for row in rows})
    return {model: aggregate_model([{"benchmark": row["benchmark"], "kind": row["kind"], "region": row["region"],
                                     "value": row["ceiled"]} for row in rows
                                    if row["model"] == model and row["leaderboard"]]) for model in models}


def markdown(rows: list[dict]) -> str:
    models = sorted({row["model"] for row in rows})
    lines = [f"| Benchmark | {' | '.join(f'{model} ceiled (layer)' for model in models)} |",
             "|---|" + "---|" * len(models)]
    for benchmark in sorted({row["benchmark"] for row in rows}):
        cells = []
        for model in models:
            [row] = [row for row in rows if row["model"] == model and row["benchmark"] == benchmark]
            cells.append(f"{row['ceiled']:.3f} ({row['layer']})")
        version = next(row["version"] for row in rows if row["benchmark"] == benchmark)
        lines.append(f"| `{benchmark}` v{version} | {' | '.join(cells)} |")
    nodes = aggregates(rows)
    for node in ("V1", "V2", "V4", "IT", "neural", "behavior", "average"):
        lines.append(f"| **{node}** | " + " | ".join(f"{nodes[model].get(node, float('nan')):.3f}"
                                                     for model in models) + " |")
    return "\n".join(lines) + f"\n\ncode version {code_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submission", type=Path)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--mirror", type=Path)
    parser.add_argument("--benchmarks", nargs="*", help="only these (default: every benchmark of the store)")
    parser.add_argument("--synthetic", action="store_true", help="add the synthetic benchmarks to the store")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.store is None:
            from cortexscore.ingest import DEFAULT_MIRROR, ingest_all

            args.store = Path(tmp) / "store"
            ingest_all(FilesystemStore(args.store), args.mirror or DEFAULT_MIRROR, print)
        if args.synthetic:
            from benchmark_store.synthetic import ensure_synthetic

            ensure_synthetic(FilesystemStore(args.store))
        rows = score_submission(FilesystemStore(args.store), args.submission, Path(tmp) / "work", log=print,
                                benchmarks=args.benchmarks)
    print(markdown(rows))


if __name__ == "__main__":
    main()
