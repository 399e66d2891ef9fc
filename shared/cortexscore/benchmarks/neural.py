"""Neural predictivity: commit the best layer on the public stimuli, then fit and score on the private ones.

The scorer and ``cortexscore score`` both reach this through
:func:`cortexscore.benchmarks.scoring.score_activations`, so a local score and
a platform score are the same computation.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from cortexscore.benchmarks.scoring import BenchmarkResult, ceiled_result, register
from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.ceilings import load_ceiling
from cortexscore.metrics import load_metric
from cortexscore.models.commitment import LayerCommitments, reduce_for_selection, select_layer
from cortexscore.score import Score

# Brain-Score commits each region's layer with a PLS benchmark, whatever metric a benchmark then scores with.
SELECTION_METRIC = "pls"
# The options of the selection's cross-validation that a benchmark may set (e.g. stratification).
SELECTION_OPTIONS = ("splits", "train_size", "stratification_coord", "random_state")


def split_stimuli(stimuli: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Public stimuli choose the layer; private ones give the score. Without a split both use all."""
    ids = stimuli["stimulus_id"].astype(str).to_numpy()
    if "split" not in stimuli.columns:
        return ids, ids
    public = ids[stimuli["split"].to_numpy() == "public"]
    private = ids[stimuli["split"].to_numpy() == "private"]
    return (public if len(public) else ids), (private if len(private) else ids)


def source_assembly(features: np.ndarray, stimulus_ids: np.ndarray, layer: str) -> xr.DataArray:
    return xr.DataArray(
        features, dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", stimulus_ids),
                "neuroid_id": ("neuroid", [f"{layer}.{i}" for i in range(features.shape[1])])},
    )


def _select(assembly: xr.DataArray, stimulus_ids: np.ndarray) -> xr.DataArray:
    return assembly.isel(presentation=np.isin(assembly["stimulus_id"].values, stimulus_ids))


def compute_ceiling(spec: BenchmarkSpec, assembly: xr.DataArray, stimuli: pd.DataFrame) -> Score:
    """The benchmark's ceiling on the stimuli that give the score."""
    _, scoring_ids = split_stimuli(stimuli)
    return load_ceiling(spec.ceiling_method)(_select(assembly, scoring_ids))


def commitment_key(spec: BenchmarkSpec) -> str:
    """What decides a region's layer: the region, and the stimulus set and assembly its public split comes from."""
    data = [(ref.identifier, ref.version, sorted((role, file.sha256) for role, file in ref.files.items()))
            for ref in (spec.stimulus_set, spec.assembly)]
    return f"{spec.region}|{data}"


def selection_metric(spec: BenchmarkSpec):
    options = {key: value for key, value in spec.metric_options.items()
               if key in SELECTION_OPTIONS or spec.metric == SELECTION_METRIC}
    return load_metric(SELECTION_METRIC, **options)


def commit_layer(spec: BenchmarkSpec, assembly: xr.DataArray, stimuli: pd.DataFrame,
                 layer_features: dict[str, np.ndarray], log: Callable[[str], None],
                 commitments: LayerCommitments | None = None) -> tuple[str, dict[str, float]]:
    """The region's layer and every candidate's score on the public stimuli, searched once per region and data."""
    key = commitment_key(spec)
    known = commitments.get(key) if commitments is not None else None
    if known is not None and set(known[1]) == set(layer_features):
        log(f"reusing the committed layer {known[0]} for region {spec.region}")
        return known
    stimulus_ids = stimuli["stimulus_id"].astype(str).to_numpy()
    selection_ids, _ = split_stimuli(stimuli)
    metric = selection_metric(spec)
    target_selection = _select(assembly, selection_ids)
    rows = np.isin(stimulus_ids, selection_ids)
    layer_scores: dict[str, float] = {}
    for layer, features in layer_features.items():
        started = time.perf_counter()
        score = metric(source_assembly(reduce_for_selection(features[rows]), stimulus_ids[rows], layer),
                       target_selection)
        layer_scores[layer] = float(score)
        log(f"layer {layer}: {float(score):.4f} on {rows.sum()} public stimuli ({time.perf_counter() - started:.1f}s)")
    layer = select_layer(layer_scores)
    log(f"committed layer {layer} for region {spec.region}")
    if commitments is not None:
        commitments.put(key, layer, layer_scores)
    return layer, layer_scores


@register("neural_predictivity", commits_region=True)
def score_neural_predictivity(
    spec: BenchmarkSpec,
    assembly: xr.DataArray,
    stimuli: pd.DataFrame,
    layer_features: dict[str, np.ndarray],
    ceiling: Score | None = None,
    log: Callable[[str], None] = print,
    commitments: LayerCommitments | None = None,
) -> BenchmarkResult:
    """Commit the region's layer on the public stimuli (or reuse its commitment), then score it on the private ones.

    ``layer_features`` maps each candidate layer to (n_stimuli, n_features)
    activations in the row order of ``stimuli``.
    """
    stimulus_ids = stimuli["stimulus_id"].astype(str).to_numpy()
    selection_ids, scoring_ids = split_stimuli(stimuli)
    layer, layer_scores = commit_layer(spec, assembly, stimuli, layer_features, log, commitments)
    metric = load_metric(spec.metric, **spec.metric_options)
    rows = np.isin(stimulus_ids, scoring_ids)
    raw = metric(source_assembly(layer_features[layer][rows], stimulus_ids[rows], layer), _select(assembly, scoring_ids))
    if ceiling is None:
        ceiling = compute_ceiling(spec, assembly, stimuli)
    return ceiled_result(
        spec, raw, ceiling, layer, metric_options=raw.attrs.get("options", spec.metric_options),
        layer_scores=layer_scores, selection_metric=SELECTION_METRIC,
        selection_stimuli=int(len(selection_ids)), scoring_stimuli=int(len(scoring_ids)),
        seeds={"cross_validation": raw.attrs.get("random_state", 1), "pca": 0},
    )
