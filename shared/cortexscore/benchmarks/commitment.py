"""Region commitment: one layer per region, chosen on data that no score of that region is computed on.

As Brain-Score's ``ModelCommitment`` does, a model commits one layer per region,
and every benchmark of that region scores that layer. The layer is chosen on the
region's *commitment data*: the public split of the one real benchmark of the
region marked ``commits_region`` in the catalogue (:func:`commitment_source`).
Its stimuli are disjoint from every stimulus a leaderboard score of the region
is computed on: the other benchmarks use other images, and the benchmark that
provides it scores its private split only. Each score's provenance records the
choice under ``layer_selection`` (:func:`choose_layer`), including the number of
scored stimuli whose image is also in the commitment data (0, checked by content).

A benchmark with ``layer_selection='nested_cv'`` (a region without such data)
chooses inside its cross-validation instead; a layer the user committed in the
submission (``region_layer_map``) is used as given.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.metrics import load_metric
from cortexscore.models.commitment import LayerCommitments, reduce_for_selection, select_layer
from cortexscore.stored import StoredMatrix

# Brain-Score commits a region's layer with PLS on responses, whatever metric a benchmark then scores with.
SELECTION_METRIC = "pls"
MATRIX_DIMS = ("matrix", "presentation", "stimulus_column")


@dataclass
class CommitmentData:
    """A region's commitment data with one model's activations on it.

    ``target`` holds responses (``presentation`` x ``neuroid``) or dissimilarity matrices (a matrix
    assembly, see :func:`cortexscore.benchmarks.rsa.matrix_assembly`) on ``stimulus_ids`` only;
    ``layer_features`` maps each candidate layer to (len(stimulus_ids), n_features) in that order.
    """

    benchmark: str
    region: str | None
    stimulus_ids: np.ndarray
    target: xr.DataArray
    layer_features: dict[str, np.ndarray]
    key: str
    image_digests: set[str] = field(default_factory=set)

    @property
    def metric(self) -> str:
        return "rdm" if tuple(self.target.dims) == MATRIX_DIMS else SELECTION_METRIC


def commitment_source(spec: BenchmarkSpec, catalogue: list[BenchmarkSpec]) -> BenchmarkSpec | None:
    """The benchmark whose public split commits ``spec``'s region, or None when ``spec`` needs none.

    Real data wins over synthetic data; a platform with only the synthetic benchmarks commits on those.

    >>> from cortexscore.benchmarks.spec import DataRef
    >>> ref = DataRef(identifier="d", version=1, files={})
    >>> make = lambda name, **fields: BenchmarkSpec(identifier=name, region="IT", metric="pls", stimulus_set=ref,
    ...                                            assembly=ref, num_stimuli=1, **fields)
    >>> catalogue = [make("synthetic", commits_region=True, synthetic=True), make("real", commits_region=True)]
    >>> commitment_source(make("other"), catalogue).identifier
    'real'
    >>> commitment_source(make("other", layer_selection="nested_cv"), catalogue) is None
    True
    """
    if spec.kind != "neural" or spec.layer_selection == "nested_cv":
        return None
    candidates = [other for other in catalogue if other.commits_region and other.region == spec.region]
    if not candidates:
        raise LookupError(f"{spec.identifier}: region {spec.region} has no commitment data in the catalogue (no "
                          "benchmark of the region with commits_region); ingest the dataset that provides it")
    return min(candidates, key=lambda other: (other.synthetic, other.identifier))


def public_rows(stimuli: pd.DataFrame) -> np.ndarray:
    """Rows of the public split; every row when the table has no split."""
    if "split" not in stimuli.columns:
        return np.ones(len(stimuli), dtype=bool)
    return stimuli["split"].to_numpy() == "public"


def image_digests(stimuli: pd.DataFrame) -> set[str]:
    """sha256 of each stimulus image (``image_path``); the stimulus ids when the table has no images on disk."""
    if "image_path" not in stimuli.columns:
        return {f"id:{value}" for value in stimuli["stimulus_id"].astype(str)}
    digests = set()
    for path in stimuli["image_path"]:
        with open(path, "rb") as handle:
            digests.add(hashlib.sha256(handle.read()).hexdigest())
    return digests


def _restrict(target: xr.DataArray, ids: np.ndarray) -> xr.DataArray:
    if tuple(target.dims) == MATRIX_DIMS:
        keep = np.isin(np.asarray(target["stimulus_id"].values).astype(str), ids)
        return target.isel(presentation=keep, stimulus_column=keep)
    return target.isel(presentation=np.isin(np.asarray(target["stimulus_id"].values).astype(str), ids))


def commitment_data(source: BenchmarkSpec, stimuli: pd.DataFrame, target: xr.DataArray,
                    layer_features: dict[str, np.ndarray]) -> CommitmentData:
    """The public split of ``source`` (its stimulus table, responses and a model's activations on all its rows)."""
    rows = public_rows(stimuli)
    ids = stimuli["stimulus_id"].astype(str).to_numpy()[rows]
    data = [(ref.identifier, ref.version, sorted((role, file.sha256) for role, file in ref.files.items()))
            for ref in (source.stimulus_set, source.public_assembly or source.assembly)]
    return CommitmentData(
        benchmark=source.ref, region=source.region, stimulus_ids=ids, target=_restrict(target, ids),
        # Row selection of a stored layer selects its rows lazily; numpy arrays are copied as before.
        layer_features={layer: values[rows] if isinstance(values, StoredMatrix) else np.asarray(values)[rows]
                        for layer, values in layer_features.items()},
        key=f"{source.region}|{data}", image_digests=image_digests(stimuli[rows]))


def score_layers(data: CommitmentData, log: Callable[[str], None] = print) -> dict[str, float]:
    """Every candidate layer's score on the commitment data.

    Responses: PLS (Brain-Score's selection metric) on each layer reduced to at most 1000 principal
    components. Matrices: the mean over subjects of the Spearman r between the layer's RDM and the subject's.
    """
    scores: dict[str, float] = {}
    if data.metric == "rdm":
        from cortexscore.benchmarks.rsa import subject_matrices
        from cortexscore.metrics.representational import rdm, rdm_similarity

        ids, _, matrices = subject_matrices(data.target)
        rows = pd.Index(data.stimulus_ids).get_indexer(ids)
    else:
        metric = load_metric(SELECTION_METRIC)
    for layer, features in data.layer_features.items():
        started = time.perf_counter()
        if data.metric == "rdm":
            model_rdm = rdm(np.asarray(features, dtype=np.float64)[rows], ids, f"layer {layer}")
            scores[layer] = float(np.mean([rdm_similarity(model_rdm, matrix) for matrix in matrices]))
        else:
            source = xr.DataArray(reduce_for_selection(features), dims=("presentation", "neuroid"),
                                  coords={"stimulus_id": ("presentation", data.stimulus_ids)})
            scores[layer] = float(metric(source, data.target))
        log(f"layer {layer}: {scores[layer]:.4f} on {len(data.stimulus_ids)} commitment stimuli of "
            f"{data.benchmark} ({time.perf_counter() - started:.1f}s)")
    return scores


def choose_layer(spec: BenchmarkSpec, scored: pd.DataFrame, layers: list[str], *,
                 commitment: CommitmentData | None = None, region_layer_map: dict | None = None,
                 commitments: LayerCommitments | None = None,
                 log: Callable[[str], None] = print) -> tuple[str, dict]:
    """The region's layer and the ``layer_selection`` provenance of a score computed on the ``scored`` stimuli.

    A layer the user committed for the region wins; otherwise the best layer on ``commitment``, searched
    once per region and commitment data when ``commitments`` keeps it.
    """
    if region_layer_map and spec.region in region_layer_map:
        layer = region_layer_map[spec.region]
        if layer not in layers:
            raise ValueError(f"the submission commits layer {layer!r} for region {spec.region}, which is not among "
                             f"the model's layers {layers}")
        log(f"using the layer {layer} the submission commits for region {spec.region}")
        return layer, {"method": "user", "benchmark": None, "user_given": True, "stimuli": 0,
                       "overlap_with_scored_stimuli": 0, "layer_scores": {}}
    if commitment is None:
        raise ValueError(f"{spec.identifier}: no commitment data for region {spec.region} was given, so no layer "
                         "can be chosen on data disjoint from the scored stimuli")
    known = commitments.get(commitment.key) if commitments is not None else None
    if known is not None and set(known[1]) == set(commitment.layer_features):
        layer, layer_scores = known
        log(f"reusing the committed layer {layer} for region {spec.region}")
    else:
        layer_scores = score_layers(commitment, log)
        layer = select_layer(layer_scores)
        log(f"committed layer {layer} for region {spec.region} on {commitment.benchmark}")
        if commitments is not None:
            commitments.put(commitment.key, layer, layer_scores)
    overlap = len(image_digests(scored) & commitment.image_digests)
    return layer, {"method": "benchmark", "benchmark": commitment.benchmark, "user_given": False,
                   "metric": commitment.metric, "stimuli": int(len(commitment.stimulus_ids)),
                   "overlap_with_scored_stimuli": overlap, "layer_scores": layer_scores}
