"""Coggan2024 fMRI: the reference benchmark's own RSA rules, which differ from the generic RDM metric.

The subjects' 24 x 24 similarity matrices (RSMs) are not symmetric, so every
off-diagonal entry counts, not one triangle. The model RSM is built from units
that pass the reference's selection (drop zero-variance units; keep units whose
mean over conditions exceeds 3.1 x the std of those means in absolute value;
z-score each unit over conditions; Pearson r between conditions). raw = the
mean over subjects of the Pearson r between off-diagonal entries; the ceiling
is the leave-one-subject-out lower bound; ceiled = (raw / ceiling)**2 (the
``legacy_r_over_ceiling_squared`` convention), as the reference computes it.

The target assembly is a matrix assembly (:func:`cortexscore.benchmarks.rsa.matrix_assembly`).
With only 24 stimuli there is no public/private split. V4 and IT score the
layer their region committed on other data (Bashivan2019's and Kriegeskorte2008's
public splits). V1 and V2 have no other primate data, so their layer is chosen
inside the cross-validation (``layer_selection='nested_cv'``,
:func:`score_nested`): 10 splits of the stimuli in halves stratified on
``object_name``; on each, the best layer on the train half is scored on the
test half, and the ceiling is the same leave-one-subject-out bound on the same
test halves (:func:`nested_ceiling`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from cortexscore.benchmarks.rsa import subject_matrices
from cortexscore.benchmarks.scoring import ceiled_result, mean_score, register
from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.metrics._assembly import make_splits, pearson_columns
from cortexscore.models.commitment import LayerCommitments, select_layer
from cortexscore.score import BenchmarkScore, Score

SELECTION_THRESHOLD = 3.1
# The nested cross-validation of V1 and V2: halves of the stimuli, stratified on the object.
NESTED_SPLITS = dict(splits=10, train_size=0.5, random_state=1)


def off_diagonal(matrices: np.ndarray) -> np.ndarray:
    """Every off-diagonal entry of (..., n, n) matrices, row-major: (..., n * (n - 1)).

    >>> off_diagonal(np.arange(9.).reshape(3, 3)).tolist()
    [1.0, 2.0, 3.0, 5.0, 6.0, 7.0]
    """
    n = matrices.shape[-1]
    return matrices[..., ~np.eye(n, dtype=bool)]


def model_rsm(features: np.ndarray) -> np.ndarray:
    """The reference's model RSM from (n_conditions, n_units) responses, or a ValueError when no unit passes.

    >>> rng = np.random.default_rng(0)
    >>> responses = np.concatenate([rng.normal(size=(6, 40)), 10 + rng.normal(size=(6, 2))], axis=1)
    >>> model_rsm(responses).shape
    (6, 6)
    """
    features = np.asarray(features, dtype=np.float64)
    features = features[:, features.std(axis=0) > 0]
    means = features.mean(axis=0)
    selected = features[:, np.abs(means) > SELECTION_THRESHOLD * means.std()]
    if selected.shape[1] < 2:
        raise ValueError(f"only {selected.shape[1]} of {features.shape[1]} varying units have |mean| > "
                         f"{SELECTION_THRESHOLD} x the std of the unit means, too few for an RSM")
    zscored = (selected - selected.mean(axis=0)) / selected.std(axis=0)
    flat = np.flatnonzero(np.ptp(zscored, axis=1) == 0)
    if len(flat):
        raise ValueError(f"conditions {', '.join(map(str, flat))} have the same response on every selected unit "
                         "after z-scoring, so their correlation with other conditions is undefined")
    return np.corrcoef(zscored)


def _subject_correlations(reference: np.ndarray, subject_rsms: np.ndarray) -> np.ndarray:
    """Pearson r between the off-diagonal entries of ``reference`` and of each subject's RSM."""
    entries = off_diagonal(subject_rsms).T
    return pearson_columns(np.repeat(off_diagonal(reference)[:, None], entries.shape[1], axis=1), entries)


def coggan_ceiling(assembly: xr.DataArray) -> Score:
    """Mean over subjects of r(subject, mean RSM of the other subjects), on all off-diagonal entries.

    >>> from cortexscore.benchmarks.rsa import matrix_assembly
    >>> rng = np.random.default_rng(0)
    >>> shared = rng.normal(size=(5, 5))
    >>> rsms = np.stack([shared + 0.1 * rng.normal(size=(5, 5)) for _ in range(3)])
    >>> assembly = matrix_assembly(rsms, list("abcde"), ["s1", "s2", "s3"], [1, 1, 1],
    ...                            identifier="x", stimulus_set_identifier="y", kind="rsm")
    >>> 0.9 < float(coggan_ceiling(assembly)) <= 1
    True
    """
    _, names, rsms = subject_matrices(assembly)
    if len(names) < 2:
        raise ValueError(f"the leave-one-subject-out ceiling needs at least 2 subjects, got {names}")
    others = (rsms.sum(axis=0) - rsms) / (len(names) - 1)
    per_subject = pearson_columns(off_diagonal(others).T, off_diagonal(rsms).T)
    return mean_score(per_subject, method="leave_one_subject_out", subjects=len(names),
                      n_stimuli=int(rsms.shape[1]))


def nested_splits(ids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The nested cross-validation's splits of the sorted stimulus ids, stratified on the object (the id's prefix).

    >>> ids = np.array([f"{name}_{part}" for name in "abcdefgh" for part in ("complete", "lower", "upper")])
    >>> [(len(train), len(test)) for train, test in nested_splits(ids)][:2]
    [(12, 12), (12, 12)]
    """
    objects = np.array([str(stimulus).split("_")[0] for stimulus in ids])
    return make_splits(len(ids), **NESTED_SPLITS, stratification=objects, minimum=2)


def nested_ceiling(assembly: xr.DataArray) -> Score:
    """The leave-one-subject-out ceiling averaged over the test halves of :func:`nested_splits`."""
    ids, names, rsms = subject_matrices(assembly)
    if len(names) < 2:
        raise ValueError(f"the leave-one-subject-out ceiling needs at least 2 subjects, got {len(names)} ({names})")
    return nested_ceiling_from(rsms, names, nested_splits(ids))


def _layer_scores(layer_features: dict[str, np.ndarray], rows: np.ndarray, subject_rsms: np.ndarray,
                  log: Callable[[str], None], where: str) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Each layer's mean r over subjects on ``rows`` (NaN where too few units pass) and the per-subject r."""
    scores, per_subject = {}, {}
    for layer, features in layer_features.items():
        try:
            per_subject[layer] = _subject_correlations(model_rsm(np.asarray(features)[rows]), subject_rsms)
            scores[layer] = float(per_subject[layer].mean())
        except ValueError as error:
            scores[layer] = float("nan")
            log(f"layer {layer}: not scorable on {where} ({error})")
    return scores, per_subject


def score_nested(spec: BenchmarkSpec, ids: np.ndarray, rows: np.ndarray, subject_rsms: np.ndarray,
                 layer_features: dict[str, np.ndarray], ceiling: Score | None, log: Callable[[str], None],
                 names: list[str]) -> BenchmarkScore:
    """Choose the layer on each split's train half and score it on its test half."""
    chosen, per_split, train_scores = [], [], []
    splits = nested_splits(ids)
    for split, (train, test) in enumerate(splits):
        train, test = np.sort(train), np.sort(test)
        scores, _ = _layer_scores(layer_features, rows[train], subject_rsms[:, train][:, :, train], log,
                                  f"split {split}'s train half")
        layer = select_layer(scores)
        tested = _subject_correlations(model_rsm(np.asarray(layer_features[layer])[rows[test]]),
                                       subject_rsms[:, test][:, :, test])
        chosen.append(layer)
        train_scores.append(scores)
        per_split.append(float(tested.mean()))
        log(f"split {split}: layer {layer} (train r {scores[layer]:.4f}), test r {per_split[-1]:.4f}")
    counts = {layer: chosen.count(layer) for layer in layer_features if layer in chosen}
    layer = max(counts, key=counts.get)  # the most often chosen; the earliest candidate wins ties
    raw = mean_score(per_split)
    if ceiling is None:
        ceiling = nested_ceiling_from(subject_rsms, names, splits)
    layer_scores = {name: float(np.nanmean([scores[name] for scores in train_scores]))
                    if not all(np.isnan(scores[name]) for scores in train_scores) else float("nan")
                    for name in layer_features}
    selection = {"method": "nested_cv", "benchmark": "nested_cv", "user_given": False, "stimuli": len(splits[0][0]),
                 "overlap_with_scored_stimuli": max(len(np.intersect1d(train, test)) for train, test in splits),
                 "layer_scores": layer_scores, "per_split_layers": chosen, "splits": NESTED_SPLITS}
    return ceiled_result(spec, raw, ceiling, layer, layer_selection=selection, layer_scores=layer_scores,
                         scoring_stimuli=len(ids), subjects=names, unit_selection_threshold=SELECTION_THRESHOLD)


def nested_ceiling_from(rsms: np.ndarray, names: list[str], splits) -> Score:
    per_split = []
    for _, test in splits:
        part = rsms[:, test][:, :, test]
        others = (part.sum(axis=0) - part) / (len(names) - 1)
        per_split.append(pearson_columns(off_diagonal(others).T, off_diagonal(part).T).mean())
    return mean_score(per_split, method="leave_one_subject_out_nested", subjects=len(names))


@register("coggan_rsa", commits_region=True)
def score_coggan(spec: BenchmarkSpec, assembly: xr.DataArray, stimuli: pd.DataFrame,
                 layer_features: dict[str, np.ndarray], ceiling: Score | None = None,
                 log: Callable[[str], None] = print, commitments: LayerCommitments | None = None,
                 commitment=None, region_layer_map: dict | None = None) -> BenchmarkScore:
    """Score the region's committed layer (V1, V2: the layer chosen inside the cross-validation) by the
    reference's rules."""
    from cortexscore.benchmarks.commitment import choose_layer

    ids, names, subject_rsms = subject_matrices(assembly)
    rows = pd.Index(stimuli["stimulus_id"].astype(str)).get_indexer(ids)
    if (rows < 0).any():
        raise ValueError(f"the stimulus table lacks the target's stimuli {ids[rows < 0][:5].tolist()}")
    user_given = bool(region_layer_map and spec.region in region_layer_map)
    if spec.layer_selection == "nested_cv" and not user_given:
        return score_nested(spec, ids, rows, subject_rsms, layer_features, ceiling, log, names)
    layer, selection = choose_layer(spec, stimuli.iloc[rows], list(layer_features), commitment=commitment,
                                    region_layer_map=region_layer_map, commitments=commitments, log=log)
    per_subject = _subject_correlations(model_rsm(np.asarray(layer_features[layer])[rows]), subject_rsms)
    raw = mean_score(per_subject)
    if ceiling is None:
        ceiling = nested_ceiling(assembly) if spec.layer_selection == "nested_cv" else coggan_ceiling(assembly)
    return ceiled_result(spec, raw, ceiling, layer, layer_selection=selection, layer_scores=selection["layer_scores"],
                         scoring_stimuli=len(ids), subjects=names, unit_selection_threshold=SELECTION_THRESHOLD)
