"""Neural predictivity: score the region's committed layer on the private stimuli (all stimuli without a split).

The layer is the region's (see :mod:`cortexscore.benchmarks.commitment`): chosen on the region's
commitment data, which for the benchmark that provides it is its own public split.

The scorer and ``cortexscore score`` both reach this through
:func:`cortexscore.benchmarks.scoring.score_activations`, so a local score and
a platform score are the same computation.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from cortexscore.benchmarks.scoring import ceiled_result, register
from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.ceilings import load_ceiling
from cortexscore.metrics import load_metric
from cortexscore.benchmarks.commitment import SELECTION_METRIC, CommitmentData, choose_layer, commitment_data
from cortexscore.models.commitment import LayerCommitments
from cortexscore.score import BenchmarkScore, Score
from cortexscore.stored import StoredMatrix


def split_stimuli(stimuli: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Public stimuli choose the layer; private ones give the score. Without a split both use all."""
    ids = stimuli["stimulus_id"].astype(str).to_numpy()
    if "split" not in stimuli.columns:
        return ids, ids
    public = ids[stimuli["split"].to_numpy() == "public"]
    private = ids[stimuli["split"].to_numpy() == "private"]
    return (public if len(public) else ids), (private if len(private) else ids)


def source_assembly(features: np.ndarray | StoredMatrix, stimulus_ids: np.ndarray, layer: str) -> xr.DataArray:
    """The layer as a ``presentation x neuroid`` assembly; a stored layer stays on disk, wrapped unread.

    A stored layer gets no ``neuroid_id`` labels: no metric reads a source's, and for a layer of millions
    of features they alone would take hundreds of megabytes.
    """
    coords = {"stimulus_id": ("presentation", stimulus_ids)}
    if not isinstance(features, StoredMatrix):
        coords["neuroid_id"] = ("neuroid", [f"{layer}.{i}" for i in range(features.shape[1])])
    return xr.DataArray(features, dims=("presentation", "neuroid"), coords=coords)


def _select(assembly: xr.DataArray, stimulus_ids: np.ndarray) -> xr.DataArray:
    return assembly.isel(presentation=np.isin(assembly["stimulus_id"].values, stimulus_ids))


def compute_ceiling(spec: BenchmarkSpec, assembly: xr.DataArray, stimuli: pd.DataFrame) -> Score:
    """The benchmark's ceiling on the stimuli that give the score; the catalogue's where the data allow none."""
    if spec.ceiling_method in (None, "none"):
        if spec.ceiling is None:
            raise ValueError(f"{spec.identifier} has no ceiling method and the catalogue gives no ceiling")
        return Score(spec.ceiling.value, spec.ceiling.error, attrs={"method": spec.ceiling.method})
    _, scoring_ids = split_stimuli(stimuli)
    return load_ceiling(spec.ceiling_method)(_select(assembly, scoring_ids))


def own_commitment(spec: BenchmarkSpec, assembly: xr.DataArray, stimuli: pd.DataFrame,
                   layer_features: dict[str, np.ndarray]) -> CommitmentData | None:
    """A benchmark that provides its region's commitment data commits on its own public split."""
    if not spec.commits_region or "split" not in stimuli.columns:
        return None
    return commitment_data(spec, stimuli, assembly, layer_features)


@register("neural_predictivity", commits_region=True)
def score_neural_predictivity(
    spec: BenchmarkSpec,
    assembly: xr.DataArray,
    stimuli: pd.DataFrame,
    layer_features: dict[str, np.ndarray],
    ceiling: Score | None = None,
    log: Callable[[str], None] = print,
    commitments: LayerCommitments | None = None,
    commitment: CommitmentData | None = None,
    region_layer_map: dict | None = None,
) -> BenchmarkScore:
    """Score the region's committed layer on the private stimuli (all of them without a split).

    ``layer_features`` maps each candidate layer to (n_stimuli, n_features)
    activations in the row order of ``stimuli``.
    """
    stimulus_ids = stimuli["stimulus_id"].astype(str).to_numpy()
    _, scoring_ids = split_stimuli(stimuli)
    rows = np.isin(stimulus_ids, scoring_ids)
    commitment = commitment or own_commitment(spec, assembly, stimuli, layer_features)
    layer, selection = choose_layer(spec, stimuli[rows], list(layer_features), commitment=commitment,
                                    region_layer_map=region_layer_map, commitments=commitments, log=log)
    metric = load_metric(spec.metric, **spec.metric_options)
    raw = metric(source_assembly(layer_features[layer][rows], stimulus_ids[rows], layer), _select(assembly, scoring_ids))
    if ceiling is None:
        ceiling = compute_ceiling(spec, assembly, stimuli)
    details = {key: raw.attrs[key] for key in ("stratification", "n_components", "source_rank",
                                                "n_components_capped_at_rank") if key in raw.attrs}
    dropped = raw.attrs.get("dropped_neuroids") or {}
    if dropped:
        details["dropped_neuroids"] = {"count": len({n for ids in dropped.values() for n in ids}),
                                       "per_split": {str(split): ids for split, ids in dropped.items()}}
    return ceiled_result(
        spec, raw, ceiling, layer, metric_options=raw.attrs.get("options", spec.metric_options),
        layer_selection=selection, layer_scores=selection["layer_scores"], selection_metric=SELECTION_METRIC,
        scoring_stimuli=int(rows.sum()), metric_details=details,
        seeds={"cross_validation": raw.attrs.get("random_state", 1), "pca": 0},
    )
