"""Neural predictivity: cross-validated regression from a source to a target, scored by Pearson r.

The metrics follow Brain-Score's ``CrossRegressedCorrelation``: the target is
averaged over repetitions, both assemblies are sorted by ``stimulus_id``, and
over 10 shuffle splits (train 0.9, random_state 1; stratified when a
coordinate is given) a regression is fitted on the train stimuli. Pearson r
per neuroid on the test stimuli, median over neuroids, mean over splits;
the error is the standard error over splits (std with ddof 0 / sqrt(splits)).

``pls``, ``ridge`` and ``ridgecv`` are written in terms of the source's Gram
matrix ``X @ X.T`` (stimuli x stimuli). It is computed once, in feature
chunks, and each split only centres a block of it, so a 3200 x 100k source
never builds a features x features matrix, nor repeats work across splits.
``linear`` solves least squares on the train rows, gathered per split.
"""
from __future__ import annotations

import itertools
import math
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import scipy.linalg
import xarray as xr

from cortexscore.metrics._assembly import (
    DEFAULT_STRATIFICATION, SourceRows, center_gram, centred_rank, check_not_constant, check_same_stimuli,
    make_splits, neuroid_ids, pearson_columns, prepare_source, prepare_target, stratification_labels,
    stratification_used,
)
from cortexscore.metrics._pls import kernel_pls_predict_splits
from cortexscore.score import Score

# Brain-Score's ``ALPHA_LIST`` for RidgeCV.
DEFAULT_ALPHAS = (
    0.01, 0.1, 0.5, 1.0,
    *np.linspace(1e1, 1e2, 4, endpoint=False), *np.linspace(1e2, 1e3, 18, endpoint=False),
    *np.linspace(1e3, 1e4, 18, endpoint=False), *np.linspace(1e4, 1e5, 18, endpoint=False),
    *np.linspace(1e5, 1e6, 18, endpoint=False), *np.linspace(1e6, 1e7, 19),
)

# A predictor maps (train indices, test indices, centred train target) to the centred test prediction.
# One with a ``splits`` attribute also maps (all splits, their centred train targets) to their predictions.
Predictor = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _ridge_predictor(gram: np.ndarray, alpha: float = 1.0) -> Predictor:
    """Ridge with intercept (sklearn ``Ridge(alpha)``), in its exact dual form."""
    def predict(train, test, target_train):
        train_gram = center_gram(gram, train, train)
        train_gram[np.diag_indices_from(train_gram)] += alpha
        dual_coef = scipy.linalg.solve(train_gram, target_train, assume_a="pos")
        return center_gram(gram, test, train) @ dual_coef
    return predict


def _ridgecv_predictor(gram: np.ndarray, alphas: Sequence[float] = DEFAULT_ALPHAS) -> Predictor:
    """Ridge whose alpha minimises the exact leave-one-out squared error on the train stimuli.

    One eigendecomposition of the centred train Gram matrix gives the
    leave-one-out residuals of every alpha in closed form, as sklearn's
    ``RidgeCV`` (efficient LOO) does; the intercept is not penalised.
    """
    alphas = np.asarray(alphas, dtype=float)

    def predict(train, test, target_train):
        eigenvalues, eigenvectors = np.linalg.eigh(center_gram(gram, train, train))
        eigenvalues = np.clip(eigenvalues, 0, None)
        projected = eigenvectors.T @ target_train
        squared_eigenvectors = eigenvectors ** 2
        loo_errors = []
        for alpha in alphas:
            shrink = eigenvalues / (eigenvalues + alpha)
            residual = target_train - eigenvectors @ (shrink[:, None] * projected)
            leverage = 1.0 / len(train) + squared_eigenvectors @ shrink  # the unpenalised intercept adds 1/n
            loo_errors.append(np.mean((residual / (1 - leverage)[:, None]) ** 2))
        best_alpha = alphas[int(np.argmin(loo_errors))]
        dual_coef = eigenvectors @ (projected / (eigenvalues + best_alpha)[:, None])
        predict.alphas_chosen.append(float(best_alpha))
        return center_gram(gram, test, train) @ dual_coef
    predict.alphas_chosen = []
    return predict


def _linear_predictor(source: SourceRows) -> Predictor:
    """Ordinary least squares with intercept: sklearn ``LinearRegression``'s minimum-norm lstsq on centred data.

    Unlike sklearn (scipy's default ``cond`` = machine eps), singular values
    below ``max(n, p) * eps * s_max`` count as zero, numpy's rank tolerance.
    With more features than train stimuli, centring leaves a singular value
    of pure rounding noise (~1e-13); keeping it, as sklearn does, adds a
    rounding-dependent component to the fit that changes predictions by up to
    ~0.05 between BLAS builds. Narrow sources are unaffected.
    """
    def predict(train, test, target_train):
        centered = source.rows(train)
        source_mean = centered.mean(axis=0)
        centered -= source_mean
        coef, *_ = scipy.linalg.lstsq(centered, target_train, cond=max(centered.shape) * np.finfo(float).eps,
                                      overwrite_a=True)
        return (source.rows(test) - source_mean) @ coef
    return predict


# The PLS splits fitted together hold at most this many bytes of train Gram matrices. Past a few hundred train
# stimuli a fit's n x n products outweigh its per-iteration Python work, which is what fitting together saves.
PLS_BATCH_BYTES = 64 * 2**20


def _pls_predictor(gram: np.ndarray, n_components: int = 25, *, n_features: int) -> Predictor:
    """sklearn ``PLSRegression(n_components, scale=False)`` (NIPALS), run in kernel form.

    The number of components is capped at the source's centred rank (:func:`centred_rank`): past it, every
    further component is fitted to rounding noise, and the score then changes with a column permutation or a
    rescaling of the source (sklearn's too). ``predict.n_components`` and ``predict.rank`` say what was used.
    ``predict.splits`` fits consecutive splits of the same sizes together (see
    :func:`~cortexscore.metrics._pls.kernel_pls_predict_splits`).
    """
    rank = centred_rank(gram, n_features)
    if rank == 0:
        raise ValueError("PLS needs a source that varies across stimuli; every feature is constant.")
    used = min(n_components, rank)

    def predict(train, test, target_train):
        return next(predict_splits([(train, test)], [target_train]))

    def predict_splits(split_indices: Sequence[tuple[np.ndarray, np.ndarray]],
                       targets_train: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        targets_train = iter(targets_train)
        for batch in _equal_size_batches(split_indices, PLS_BATCH_BYTES):
            (n_train, n_test), n_fits = map(len, batch[0]), len(batch)
            train_grams, test_grams = np.empty((n_fits, n_train, n_train)), np.empty((n_fits, n_test, n_train))
            for fit, (train, test) in enumerate(batch):
                train_grams[fit], test_grams[fit] = center_gram(gram, train, train), center_gram(gram, test, train)
            yield from kernel_pls_predict_splits(train_grams, test_grams,
                                                 np.stack(list(itertools.islice(targets_train, n_fits))),
                                                 n_components=used)
    predict.splits = predict_splits
    predict.n_components, predict.rank = used, rank
    return predict


def _equal_size_batches(split_indices, max_bytes):
    """Runs of consecutive splits with equal train and test sizes, each with at most ``max_bytes`` of train Grams.

    Examples
    --------
    >>> splits = [(np.arange(n_train), np.arange(n_test)) for n_train, n_test in [(9, 1), (9, 1), (9, 1), (8, 2)]]
    >>> [len(batch) for batch in _equal_size_batches(splits, max_bytes=2 * 8 * 9 ** 2)]
    [2, 1, 1]
    """
    batch = []
    for train, test in split_indices:
        if batch and ((len(train), len(test)) != (len(batch[0][0]), len(batch[0][1]))
                      or (len(batch) + 1) * 8 * len(train) ** 2 > max_bytes):
            yield batch
            batch = []
        batch.append((train, test))
    if batch:
        yield batch


# The regression-specific options each metric accepts.
REGRESSION_OPTIONS = {"pls": ("n_components",), "ridge": ("alpha",), "linear": (), "ridgecv": ("alphas",)}


class RegressionCorrelation:
    """Cross-validated regression from ``source`` to ``target``, scored by Pearson r per neuroid.

    Build it with :func:`cortexscore.metrics.load_metric` (``pls``, ``ridge``,
    ``linear``, ``ridgecv``) rather than directly.

    Parameters
    ----------
    regression : {'pls', 'ridge', 'linear', 'ridgecv'}
    splits : int
        Number of shuffle splits (10).
    train_size : float
        Fraction of stimuli to train on in each split (0.9).
    stratification_coord : str or None
        A ``presentation`` coordinate to stratify the splits on; None for
        plain shuffle splits. The default, ``object_name``, is Brain-Score's;
        when neither assembly has it the splits are plain, and
        ``attrs['stratification']`` is None.
    random_state : int
        Seed of the splits (1).
    **regression_options
        ``n_components`` for pls (25, capped at the source's centred rank;
        ``attrs['n_components']`` says how many were used), ``alpha`` for
        ridge (1.0), ``alphas`` for ridgecv (Brain-Score's alpha list).

    Notes
    -----
    A neuroid whose test target (or prediction) is constant in a split has
    no Pearson r there. As Brain-Score's NaN-skipping median does, it is left
    out of that split's median; ``attrs['dropped_neuroids']`` lists it per
    split (split index -> neuroid ids). A split where no neuroid is left
    raises a ValueError.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> features = rng.normal(size=(200, 40))
    >>> ids = [f"img{i:03d}" for i in range(200)]
    >>> source = xr.DataArray(features, dims=("presentation", "neuroid"), coords={"stimulus_id": ("presentation", ids)})
    >>> responses = features[:, :5] + 0.5 * rng.normal(size=(3, 200, 5))  # 3 repetitions of 5 neuroids
    >>> target = xr.DataArray(responses.reshape(600, 5), dims=("presentation", "neuroid"), coords={
    ...     "stimulus_id": ("presentation", ids * 3), "repetition": ("presentation", np.repeat([0, 1, 2], 200))})
    >>> score = RegressionCorrelation(regression="pls")(source, target)
    >>> round(score.value, 2), score.per_split.shape, score.attrs["per_split_per_neuroid"].shape
    (0.95, (10,), (10, 5))
    """

    def __init__(self, *, regression: str, splits: int = 10, train_size: float = 0.9,
                 stratification_coord: str | None = DEFAULT_STRATIFICATION, random_state: int = 1,
                 **regression_options):
        if regression not in REGRESSION_OPTIONS:
            raise ValueError(f"Unknown regression {regression!r}; choose one of: {', '.join(REGRESSION_OPTIONS)}.")
        unknown = sorted(set(regression_options) - set(REGRESSION_OPTIONS[regression]))
        if unknown:
            raise ValueError(
                f"Unknown options {unknown} for {regression!r}; it takes splits, train_size, stratification_coord, "
                f"random_state{''.join(', ' + name for name in REGRESSION_OPTIONS[regression])}.")
        if not (isinstance(splits, int) and splits >= 1 and 0 < train_size < 1):
            raise ValueError(f"splits must be a positive integer and 0 < train_size < 1, got splits={splits!r}, "
                             f"train_size={train_size!r}.")
        self.regression = regression
        self.options = dict(splits=splits, train_size=train_size, stratification_coord=stratification_coord,
                            random_state=random_state, **regression_options)
        self.regression_options = regression_options

    def __repr__(self) -> str:
        options = ", ".join(f"{key}={value!r}" for key, value in self.options.items())
        return f"RegressionCorrelation(regression={self.regression!r}, {options})"

    def _predictor(self, source: SourceRows) -> Predictor:
        if self.regression == "linear":
            return _linear_predictor(source, **self.regression_options)
        if self.regression == "pls":
            return _pls_predictor(source.gram(), n_features=source.n_features, **self.regression_options)
        factory = {"ridge": _ridge_predictor, "ridgecv": _ridgecv_predictor}[self.regression]
        return factory(source.gram(), **self.regression_options)

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        source_ids, source_rows = prepare_source(source)
        target_ids, target_values = prepare_target(target)
        check_same_stimuli(source_ids, target_ids)
        target_neuroids = neuroid_ids(target)
        check_not_constant(target_values, target_neuroids, "target (averaged over repetitions)")
        labels = stratification_labels(source, target, target_ids, self.options["stratification_coord"])
        split_indices = make_splits(
            len(target_ids), splits=self.options["splits"], train_size=self.options["train_size"],
            random_state=self.options["random_state"], stratification=labels)
        predictor = self._predictor(source_rows)
        per_split_per_neuroid = np.empty((len(split_indices), target_values.shape[1]))
        target_means = [target_values[train].mean(axis=0) for train, _ in split_indices]
        targets_train = (target_values[train] - mean for (train, _), mean in zip(split_indices, target_means))
        if hasattr(predictor, "splits"):
            predictions = predictor.splits(split_indices, targets_train)
        else:
            predictions = (predictor(train, test, target)
                           for (train, test), target in zip(split_indices, targets_train))
        dropped = {}
        for split, ((_, test), target_mean, prediction) in enumerate(zip(split_indices, target_means, predictions)):
            correlations = pearson_columns(prediction + target_mean, target_values[test])
            undefined = np.isnan(correlations)
            if undefined.all():
                raise ValueError(
                    f"In split {split}, the {self.regression} prediction or the test target is constant for every "
                    "neuroid, so Pearson r is undefined; use more stimuli.")
            if undefined.any():
                dropped[split] = np.asarray(target_neuroids)[undefined].tolist()
            per_split_per_neuroid[split] = correlations
        per_split = np.nanmedian(per_split_per_neuroid, axis=1)
        attrs = dict(metric=self.regression, options=self.options, random_state=self.options["random_state"],
                     per_split_per_neuroid=per_split_per_neuroid, neuroid_id=np.asarray(target_neuroids),
                     n_stimuli=len(target_ids),
                     stratification=stratification_used(self.options["stratification_coord"], labels),
                     dropped_neuroids=dropped)
        if self.regression == "pls":
            attrs.update(n_components=predictor.n_components, source_rank=predictor.rank,
                         n_components_capped_at_rank=predictor.n_components < self.options.get("n_components", 25))
        if self.regression == "ridgecv":
            attrs["alpha_per_split"] = np.asarray(predictor.alphas_chosen)
        return Score(value=float(per_split.mean()), error=float(per_split.std() / math.sqrt(len(per_split))),
                     per_split=per_split, attrs=attrs)
