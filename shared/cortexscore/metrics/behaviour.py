"""Behavioural metrics: error consistency (Geirhos et al. 2021) and I2n (Rajalingham et al. 2018).

Trial format
------------
Behavioural data is an ``xarray.DataArray`` with the single dim
``presentation``, one element per trial, whose values are the chosen labels
(strings). Coordinates on ``presentation``:

- ``stimulus_id``: the image key (for Geirhos 2021, the last ``_``-separated
  part of ``imagename``);
- ``truth``: the correct label (for cue-conflict, the shape category);
- ``condition``: the experimental condition (error consistency);
- ``subject``: who made the choice (humans);
- ``distractor``: the other label offered on a 2-way trial (I2n humans).

A model's choices use the same format with one trial per stimulus and no
``subject``; ``truth`` and ``condition`` are taken from the human trials.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import scipy.stats
import xarray as xr

from cortexscore.metrics._assembly import _describe, pearson_columns
from cortexscore.score import Score


def trials_table(trials: xr.DataArray, role: str, coords: tuple[str, ...]) -> pd.DataFrame:
    """The trials as a table with a ``choice`` column and one column per required coordinate, or a ValueError."""
    if not isinstance(trials, xr.DataArray) or trials.dims != ("presentation",):
        got = trials.dims if isinstance(trials, xr.DataArray) else type(trials).__name__
        raise ValueError(f"The {role} must be an xarray.DataArray of trials with the single dim 'presentation', "
                         f"got {got}.")
    missing = [coord for coord in coords if coord not in trials.coords]
    if missing:
        raise ValueError(f"The {role} trials need the 'presentation' coordinates {missing}; see the trial format in "
                         "cortexscore.metrics.behaviour.")
    table = pd.DataFrame({coord: np.asarray(trials[coord].values) for coord in coords})
    table["choice"] = np.asarray(trials.values)
    if table.isna().any().any():
        raise ValueError(f"The {role} trials contain missing values in {list(table.columns[table.isna().any()])}.")
    table["stimulus_id"] = table["stimulus_id"].astype(str)
    return table


def cohens_kappa(correct1: np.ndarray, correct2: np.ndarray) -> float:
    """Error consistency of two observers' per-trial correctness; NaN when both are always (or never) right.

    Examples
    --------
    >>> cohens_kappa(np.array([1, 1, 0, 0], bool), np.array([1, 0, 0, 0], bool))
    0.5
    """
    accuracy1, accuracy2 = correct1.mean(), correct2.mean()
    expected = accuracy1 * accuracy2 + (1 - accuracy1) * (1 - accuracy2)
    observed = (correct1 == correct2).mean()
    return float("nan") if expected == 1 else float((observed - expected) / (1 - expected))


def kappa_score(kappas: np.ndarray, pair_names: list, conditions: list, kind: str) -> Score:
    """Aggregate a (subject or pair) x condition kappa grid: |mean over rows of the mean over conditions|.

    Undefined kappas (both observers always right, or always wrong, in a
    condition) are left out, as Brain-Score's NaN-skipping means do, and counted
    in ``attrs['undefined_kappas']``.
    """
    if np.isnan(kappas).all():
        raise ValueError(f"Every {kind} x condition error consistency is undefined (the observers are always right "
                         "or always wrong in every condition); error consistency needs errors to compare.")
    per_row = np.nanmean(kappas, axis=1)
    return Score(value=float(abs(np.nanmean(per_row))), error=float(np.nanstd(kappas)), per_split=per_row,
                 attrs=dict(kappa=kappas, rows=pair_names, conditions=conditions, row_kind=kind,
                            undefined_kappas=int(np.isnan(kappas).sum())))


class ErrorConsistency:
    """Error consistency (Cohen's kappa of per-trial correctness) between a model's and each human's choices.

    Per subject and condition, kappa = (c_obs - c_exp) / (1 - c_exp); the
    score is |mean over subjects of the mean over conditions|, the error the
    std over all (subject, condition) kappas. ``per_split`` holds the
    per-subject means. See the module docstring for the trial format.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> human = xr.DataArray(["cat", "dog", "dog", "cat"], dims="presentation", coords={
    ...     "stimulus_id": ("presentation", ["a", "b", "c", "d"]), "truth": ("presentation", ["cat"] * 4),
    ...     "condition": ("presentation", ["noise"] * 4), "subject": ("presentation", ["s1"] * 4)})
    >>> float(ErrorConsistency()(human.drop_vars("subject"), human))
    1.0
    """

    def __repr__(self) -> str:
        return "ErrorConsistency()"

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        human = trials_table(target, "target", ("stimulus_id", "truth", "condition", "subject"))
        model = trials_table(source, "source", ("stimulus_id",))
        if model["stimulus_id"].duplicated().any():
            raise ValueError(f"The source has several choices for stimulus_id "
                             f"{_describe(model['stimulus_id'][model['stimulus_id'].duplicated()].unique())}; "
                             "a model gives one choice per stimulus.")
        missing = np.setdiff1d(human["stimulus_id"].unique(), model["stimulus_id"])
        if len(missing):
            raise ValueError(f"The source has no choice for the human-tested stimulus_id {_describe(missing)}.")
        human["model_choice"] = human["stimulus_id"].map(model.set_index("stimulus_id")["choice"])
        subjects, conditions = sorted(human["subject"].unique()), sorted(human["condition"].unique())
        kappas = np.full((len(subjects), len(conditions)), np.nan)
        for (subject, condition), trials in human.groupby(["subject", "condition"]):
            kappas[subjects.index(subject), conditions.index(condition)] = cohens_kappa(
                (trials["model_choice"] == trials["truth"]).to_numpy(), (trials["choice"] == trials["truth"]).to_numpy())
        return kappa_score(kappas, subjects, conditions, "subject")


def human_pair_kappas(target: xr.DataArray) -> Score:
    """Error consistency over all pairs of human subjects, on the stimuli both saw in each condition."""
    human = trials_table(target, "assembly", ("stimulus_id", "truth", "condition", "subject"))
    subjects, conditions = sorted(human["subject"].unique()), sorted(human["condition"].unique())
    if len(subjects) < 2:
        raise ValueError(f"The error-consistency ceiling needs at least 2 subjects, got {subjects}.")
    human["correct"] = human["choice"] == human["truth"]
    by_subject = {subject: trials.set_index(["condition", "stimulus_id"])["correct"]
                  for subject, trials in human.groupby("subject")}
    pairs = list(itertools.combinations(subjects, 2))
    kappas = np.full((len(pairs), len(conditions)), np.nan)
    for row, (left, right) in enumerate(pairs):
        both = pd.concat([by_subject[left], by_subject[right]], axis=1, join="inner")
        for condition, shared in both.groupby(level="condition"):
            kappas[row, conditions.index(condition)] = cohens_kappa(shared.iloc[:, 0].to_numpy(),
                                                                    shared.iloc[:, 1].to_numpy())
    return kappa_score(kappas, pairs, conditions, "subject pair")


def _probit(rates: np.ndarray) -> np.ndarray:
    return scipy.stats.norm.ppf(rates)


def dprime(hit_rates: np.ndarray, false_alarm_rates: np.ndarray) -> np.ndarray:
    """d' = Phi^-1(HR) - Phi^-1(FAR), clipped to [-5, 5] (rates of exactly 0 or 1 give +-5).

    Examples
    --------
    >>> dprime(np.array([0.5, 1.0, 0.9]), np.array([0.5, 0.2, 1.0])).round(3)
    array([ 0.,  5., -5.])
    """
    with np.errstate(invalid="ignore"):
        values = _probit(hit_rates) - _probit(false_alarm_rates)
    # inf - inf (both rates saturated at the same end) carries no information either way.
    return np.clip(np.where(np.isnan(values) & ~np.isnan(hit_rates) & ~np.isnan(false_alarm_rates), 0.0, values),
                   -5, 5)


def normalize_dprime(values: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Subtract, per (truth, distractor) group, the mean over that group's images (the 'n' in I2n)."""
    normalized = values.copy()
    for label in np.unique(truth):
        rows = truth == label
        observed = ~np.isnan(values[rows])
        # The truth's own column is all NaN (no d' against itself); it stays NaN.
        normalized[rows] -= np.nansum(values[rows], axis=0) / np.where(observed.any(axis=0), observed.sum(axis=0), np.nan)
    return normalized


class I2n:
    """Image-level normalised behavioural consistency (Rajalingham et al. 2018).

    ``source``: model choice probabilities, dims ``presentation`` x ``choice``
    with ``stimulus_id`` and ``truth`` on ``presentation`` and the labels on
    ``choice``. ``target``: human 2-way trials (module docstring format) with
    ``stimulus_id``, ``truth`` and ``distractor`` coordinates. The d' matrices
    are images x labels (the distractor); the score, per half of the human
    trials (split with ``random_state`` 0), is Pearson r(model, human half)
    over the entries where human data exists, divided by sqrt(ceiling), the
    Pearson r between the two halves; the value is the mean over the halves.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> labels, images = ["car", "dog"], [f"im{i}" for i in range(20)]
    >>> truth = np.repeat(labels, 10)
    >>> probabilities = rng.dirichlet([1, 1], size=20)
    >>> model = xr.DataArray(probabilities, dims=("presentation", "choice"), coords={
    ...     "stimulus_id": ("presentation", images), "truth": ("presentation", truth), "choice": labels})
    >>> picks = [np.where(rng.random(40) < probabilities[i, labels.index(t)], t, labels[1 - labels.index(t)])
    ...          for i, t in enumerate(truth)]
    >>> human = xr.DataArray(np.concatenate(picks), dims="presentation", coords={
    ...     "stimulus_id": ("presentation", np.repeat(images, 40)), "truth": ("presentation", np.repeat(truth, 40)),
    ...     "distractor": ("presentation", [labels[1 - labels.index(t)] for t in np.repeat(truth, 40)])})
    >>> score = I2n()(model, human)
    >>> len(score.per_split), 0 < float(score) < 1.5
    (2, True)
    """

    def __init__(self, *, random_state: int = 0):
        self.options = dict(random_state=random_state)

    def __repr__(self) -> str:
        return f"I2n(random_state={self.options['random_state']!r})"

    @staticmethod
    def model_dprime(source: xr.DataArray, images: np.ndarray, labels: list) -> np.ndarray:
        if set(source.dims) != {"presentation", "choice"} or "choice" not in source.coords:
            raise ValueError("The I2n source must be model probabilities with dims ('presentation', 'choice') and the "
                             "labels as the 'choice' coordinate.")
        ids = np.asarray(source["stimulus_id"].values).astype(str)
        missing = np.setdiff1d(images, ids)
        if len(missing):
            raise ValueError(f"The source has no probabilities for stimulus_id {_describe(missing)}.")
        missing_labels = sorted(set(labels) - set(np.asarray(source["choice"].values)))
        if missing_labels:
            raise ValueError(f"The source has no probability for the labels {missing_labels}.")
        probabilities = source.transpose("presentation", "choice").sel(choice=labels).values[
            pd.Index(ids).get_indexer(images)]
        truth_index = pd.Index(labels).get_indexer(np.asarray(source["truth"].values)[pd.Index(ids).get_indexer(images)])
        truth_probability = probabilities[np.arange(len(images)), truth_index][:, None]
        hit_rates = truth_probability / (truth_probability + probabilities)       # 1 - P_d / (P_d + P_t)
        # FAR(t, d): the model's rate of choosing t over d on images whose truth is d.
        false_alarms = np.array([[np.mean(probabilities[truth_index == d, t] /
                                          (probabilities[truth_index == d, t] + probabilities[truth_index == d, d]))
                                  if t != d and (truth_index == d).any() else np.nan
                                  for d in range(len(labels))] for t in range(len(labels))])
        values = dprime(hit_rates, false_alarms[truth_index])
        values[np.arange(len(images)), truth_index] = np.nan
        return normalize_dprime(values, truth_index)

    @staticmethod
    def human_dprime(trials: pd.DataFrame, images: np.ndarray, labels: list) -> np.ndarray:
        image_index = pd.Index(images).get_indexer(trials["stimulus_id"])
        truth_index = pd.Index(labels).get_indexer(trials["truth"])
        distractor_index = pd.Index(labels).get_indexer(trials["distractor"])
        correct = (trials["choice"] == trials["truth"]).to_numpy(float)
        shape = (len(images), len(labels))
        counts = np.zeros(shape)
        np.add.at(counts, (image_index, distractor_index), 1)
        hits = np.zeros(shape)
        np.add.at(hits, (image_index, distractor_index), correct)
        label_counts, label_false_alarms = np.zeros((len(labels),) * 2), np.zeros((len(labels),) * 2)
        np.add.at(label_counts, (distractor_index, truth_index), 1)         # [t, d]: trials of truth d offering t
        np.add.at(label_false_alarms, (distractor_index, truth_index), 1 - correct)
        with np.errstate(invalid="ignore", divide="ignore"):
            hit_rates = hits / counts
            false_alarms = label_false_alarms / label_counts
        image_truth = pd.Series(truth_index, index=image_index).groupby(level=0).first().reindex(
            range(len(images))).to_numpy()
        return normalize_dprime(dprime(hit_rates, false_alarms[image_truth]), image_truth)

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        human = trials_table(target, "target", ("stimulus_id", "truth", "distractor"))
        images = np.unique(human["stimulus_id"])
        labels = sorted(set(human["truth"]) | set(human["distractor"]))
        model = self.model_dprime(source, images, labels)
        order = np.random.RandomState(self.options["random_state"]).permutation(len(human))
        halves = [self.human_dprime(human.iloc[np.sort(part)], images, labels)
                  for part in np.array_split(order, 2)]

        def correlation(first, second):
            shared = np.isfinite(first) & np.isfinite(second)
            return float(pearson_columns(first[shared][:, None], second[shared][:, None])[0])

        ceiling = correlation(*halves)
        if not ceiling > 0:
            raise ValueError(f"The two halves of the human trials do not agree (r = {ceiling:.3g}), so I2n has no "
                             "positive ceiling to normalise by; more trials per image are needed.")
        raw = np.array([correlation(model, half) for half in halves])
        per_split = raw / math.sqrt(ceiling)
        return Score(value=float(per_split.mean()), error=float(per_split.std() / math.sqrt(len(per_split))),
                     per_split=per_split,
                     attrs=dict(metric="i2n", options=self.options, raw_per_split=raw, ceiling=ceiling,
                                labels=labels, n_images=len(images)))
