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
from cortexscore.models.commitment import reduce_for_selection, select_layer
from cortexscore.score import Score


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


@register("neural_predictivity")
def score_neural_predictivity(
    spec: BenchmarkSpec,
    assembly: xr.DataArray,
    stimuli: pd.DataFrame,
    layer_features: dict[str, np.ndarray],
    ceiling: Score | None = None,
    log: Callable[[str], None] = print,
) -> BenchmarkResult:
    """Commit the best layer on the public stimuli, then score it on the private ones.

    ``layer_features`` maps each candidate layer to (n_stimuli, n_features)
    activations in the row order of ``stimuli``.
    """
    stimulus_ids = stimuli["stimulus_id"].astype(str).to_numpy()
    selection_ids, scoring_ids = split_stimuli(stimuli)
    metric = load_metric(spec.metric, **spec.metric_options)
    target_selection = _select(assembly, selection_ids)
    layer_scores: dict[str, float] = {}
    for layer, features in layer_features.items():
        started = time.perf_counter()
        rows = np.isin(stimulus_ids, selection_ids)
        reduced = reduce_for_selection(features[rows])
        score = metric(source_assembly(reduced, stimulus_ids[rows], layer), target_selection)
        layer_scores[layer] = float(score)
        log(f"layer {layer}: {float(score):.4f} on {rows.sum()} public stimuli ({time.perf_counter() - started:.1f}s)")
    layer = select_layer(layer_scores)
    log(f"committed layer {layer} for region {spec.region}")
    rows = np.isin(stimulus_ids, scoring_ids)
    raw = metric(source_assembly(layer_features[layer][rows], stimulus_ids[rows], layer), _select(assembly, scoring_ids))
    if ceiling is None:
        ceiling = compute_ceiling(spec, assembly, stimuli)
    return ceiled_result(
        spec, raw, ceiling, layer, metric_options=raw.attrs.get("options", spec.metric_options),
        layer_scores=layer_scores, selection_stimuli=int(len(selection_ids)), scoring_stimuli=int(len(scoring_ids)),
        seeds={"cross_validation": raw.attrs.get("random_state", 1), "pca": 0},
    )
