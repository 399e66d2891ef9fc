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

Brain-Score's trial assemblies are accepted as they are: their I2n
coordinates ``sample_obj`` and ``dist_obj`` stand for ``truth`` and
``distractor`` (:data:`BRAIN_SCORE_COORDS`), and a trailing length-1 dim
beside ``presentation`` is squeezed.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import scipy.stats
import xarray as xr

from cortexscore.metrics._assembly import _describe, pearson_columns
from cortexscore.score import Score


# Brain-Score's names for the trial coordinates -> ours.
BRAIN_SCORE_COORDS = {"sample_obj": "truth", "dist_obj": "distractor"}


def _brain_score_trials(trials: xr.DataArray) -> xr.DataArray:
    """Rename Brain-Score's trial coordinates to ours (where ours are absent) and squeeze length-1 dims."""
    extra = [dim for dim in trials.dims if dim != "presentation" and trials.sizes[dim] == 1]
    if extra and "presentation" in trials.dims:
        trials = trials.squeeze(extra, drop=True)
    for theirs, ours in BRAIN_SCORE_COORDS.items():
        if theirs in trials.coords and ours not in trials.coords:
            trials = trials.assign_coords({ours: ("presentation", np.asarray(trials[theirs].values))})
    return trials


def trials_table(trials: xr.DataArray, role: str, coords: tuple[str, ...]) -> pd.DataFrame:
    """The trials as a table with a ``choice`` column and one column per required coordinate, or a ValueError.

    >>> trials = xr.DataArray(["dog"], dims="presentation", coords={"stimulus_id": ("presentation", ["a"]),
    ...                       "sample_obj": ("presentation", ["dog"]), "dist_obj": ("presentation", ["cat"])})
    >>> trials_table(trials, "target", ("stimulus_id", "truth", "distractor")).to_dict("records")
    [{'stimulus_id': 'a', 'truth': 'dog', 'distractor': 'cat', 'choice': 'dog'}]
    """
    if isinstance(trials, xr.DataArray):
        trials = _brain_score_trials(trials)
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
                            undefined_kappas=int(np.isnan(kappas).sum())))  # undefined, or no shared trials


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


def i2_dprime(choice_rates: np.ndarray, image_truth: np.ndarray) -> np.ndarray:
    """Normalised image-by-distractor d' from a response matrix, as Brain-Score's I2n computes it.

    ``choice_rates[i, d]`` is the rate of choosing label d (instead of the
    truth) on image i, NaN where d is the truth; ``image_truth[i]`` is the
    label index of image i. HR = 1 - rate; FAR(t, d) = the mean over images of
    truth d of their rate of choosing t; d' = Phi^-1(HR) - Phi^-1(FAR),
    clipped to [-5, 5]; then the mean of each (truth, distractor) group is
    subtracted.

    Examples
    --------
    >>> rates = np.array([[np.nan, 0.2], [np.nan, 0.4], [0.1, np.nan]])
    >>> i2_dprime(rates, np.array([0, 0, 1])).round(3)
    array([[   nan,  0.294],
           [   nan, -0.294],
           [ 0.   ,    nan]])
    """
    labels = choice_rates.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # labels without images give all-NaN means, kept as NaN
        # false_alarms[t, d]: mean rate of choosing t on images whose truth is d
        false_alarms = np.stack([np.nanmean(choice_rates[image_truth == d], axis=0) if (image_truth == d).any()
                                 else np.full(labels, np.nan) for d in range(labels)], axis=1)
        values = np.clip(scipy.stats.norm.ppf(1 - choice_rates) - scipy.stats.norm.ppf(false_alarms[image_truth]),
                         -5, 5)
        for label in np.unique(image_truth):
            rows = image_truth == label
            values[rows] -= np.nanmean(values[rows], axis=0)
    return values


class I2n:
    """Image-level normalised behavioural consistency (Rajalingham et al. 2018), as Brain-Score computes it.

    ``source``: model choice probabilities, dims ``presentation`` x ``choice``
    with ``stimulus_id`` on ``presentation`` and the labels on ``choice``.
    ``target``: human 2-way trials (module docstring format) with
    ``stimulus_id``, ``truth`` and ``distractor`` coordinates. Both become
    image x label d' matrices (:func:`i2_dprime`). Two random halves of the
    human trials are drawn in turn from one ``RandomState(0)``; per draw the
    score is Pearson r(model, first half) over the entries with human data,
    divided by sqrt(ceiling), the Pearson r between the two halves; the value
    is the mean over the two draws.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> labels, images = ["car", "dog"], [f"im{i}" for i in range(20)]
    >>> truth = np.repeat(labels, 10)
    >>> probabilities = rng.dirichlet([1, 1], size=20)
    >>> model = xr.DataArray(probabilities, dims=("presentation", "choice"), coords={
    ...     "stimulus_id": ("presentation", images), "choice": labels})
    >>> picks = [np.where(rng.random(40) < probabilities[i, labels.index(t)], t, labels[1 - labels.index(t)])
    ...          for i, t in enumerate(truth)]
    >>> human = xr.DataArray(np.concatenate(picks), dims="presentation", coords={
    ...     "stimulus_id": ("presentation", np.repeat(images, 40)), "truth": ("presentation", np.repeat(truth, 40)),
    ...     "distractor": ("presentation", [labels[1 - labels.index(t)] for t in np.repeat(truth, 40)])})
    >>> score = I2n()(model, human)
    >>> len(score.per_split), 0.5 < float(score) < 1.5
    (2, True)
    """

    def __init__(self, *, random_state: int = 0, draws: int = 2):
        self.options = dict(random_state=random_state, draws=draws)

    def __repr__(self) -> str:
        return "I2n(" + ", ".join(f"{k}={v!r}" for k, v in self.options.items()) + ")"

    @staticmethod
    def model_rates(source: xr.DataArray, images: np.ndarray, image_truth: np.ndarray, labels: list) -> np.ndarray:
        """rate[i, d] = P_d / (P_d + P_t) for image i with truth t."""
        if set(source.dims) != {"presentation", "choice"} or "choice" not in source.coords:
            raise ValueError("The I2n source must be model probabilities with dims ('presentation', 'choice') and the "
                             "labels as the 'choice' coordinate.")
        ids = pd.Index(np.asarray(source["stimulus_id"].values).astype(str))
        missing = np.setdiff1d(images, ids)
        if len(missing):
            raise ValueError(f"The source has no probabilities for stimulus_id {_describe(missing)}.")
        missing_labels = sorted(set(labels) - set(np.asarray(source["choice"].values)))
        if missing_labels:
            raise ValueError(f"The source has no probability for the labels {missing_labels}.")
        probabilities = source.transpose("presentation", "choice").sel(choice=labels).values[ids.get_indexer(images)]
        truth_probability = probabilities[np.arange(len(images)), image_truth][:, None]
        rates = probabilities / (probabilities + truth_probability)
        rates[np.arange(len(images)), image_truth] = np.nan
        return rates

    @staticmethod
    def human_rates(trials: pd.DataFrame, images: np.ndarray, labels: list) -> np.ndarray:
        """rate[i, d] = how often d was chosen on image i / how often d was offered with image i."""
        cells = (pd.Index(images).get_indexer(trials["stimulus_id"]), pd.Index(labels).get_indexer(trials["distractor"]))
        offered, errors = np.zeros((len(images), len(labels))), np.zeros((len(images), len(labels)))
        np.add.at(offered, cells, 1)
        np.add.at(errors, cells, (trials["choice"] == trials["distractor"]).to_numpy(float))
        with np.errstate(invalid="ignore"):
            return errors / offered  # 0 / 0 = NaN where d was never offered (including d = truth)

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        human = trials_table(target, "target", ("stimulus_id", "truth", "distractor"))
        images, first = np.unique(human["stimulus_id"], return_index=True)
        labels = sorted(set(human["truth"]) | set(human["distractor"]))
        image_truth = pd.Index(labels).get_indexer(human["truth"].to_numpy()[first])
        model = i2_dprime(self.model_rates(source, images, image_truth, labels), image_truth)
        random_state = np.random.RandomState(self.options["random_state"])
        raw, ceilings = [], []
        for _ in range(self.options["draws"]):
            order = np.arange(len(human))
            random_state.shuffle(order)
            halves = [i2_dprime(self.human_rates(human.iloc[part], images, labels), image_truth)
                      for part in (order[:len(order) // 2], order[len(order) // 2:])]
            raw.append(_masked_pearson(model, halves[0]))
            ceilings.append(_masked_pearson(halves[1], halves[0], skipna=True))
        raw, ceilings = np.array(raw), np.array(ceilings)
        if not (ceilings > 0).all():
            raise ValueError(f"The two halves of the human trials do not agree (r = {ceilings.round(3).tolist()}), so "
                             "I2n has no positive ceiling to normalise by; more trials per image are needed.")
        per_split = raw / np.sqrt(ceilings)
        return Score(value=float(per_split.mean()), error=float(per_split.std()), per_split=per_split,
                     attrs=dict(metric="i2n", options=self.options, raw_per_split=raw, ceiling_per_split=ceilings,
                                labels=labels, n_images=len(images)))


def _masked_pearson(source: np.ndarray, target: np.ndarray, skipna: bool = False) -> float:
    """Pearson r over the entries where the target (human) d' exists (``skipna``: where both exist).

    The split-half ceiling skips the entries one half lacks (an image and distractor offered only in the other
    half), as Brain-Score's ceiling does; a model must have a d' wherever the humans do.
    """
    shared = ~np.isnan(target) & (~np.isnan(source) if skipna else True)
    if np.isnan(source[shared]).any():
        raise ValueError("The model d' is undefined where human data exists; check the model's probabilities.")
    return float(pearson_columns(source[shared][:, None], target[shared][:, None])[0])
