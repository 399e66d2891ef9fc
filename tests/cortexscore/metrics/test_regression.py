import warnings

import numpy as np
import pytest
from sklearn.cross_decomposition import PLSRegression
from sklearn.linear_model import LinearRegression, Ridge, RidgeCV
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

from cortexscore.metrics import load_metric, metric_names, regression
from cortexscore.metrics._pls import kernel_pls_predict, kernel_pls_predict_splits
from cortexscore.metrics.regression import DEFAULT_ALPHAS
from tests.cortexscore.metrics.assemblies import neural, stimulus_names, with_repetitions


def linear_data(seed=0, stimuli=200, features=60, neuroids=12, noise=1.0):
    rng = np.random.default_rng(seed)
    source = rng.normal(size=(stimuli, features))
    target = source @ rng.normal(size=(features, neuroids)) * 0.2 + noise * rng.normal(size=(stimuli, neuroids))
    return source, target


def straightforward_score(estimator, source, target, splitter, labels=None):
    """The reference recipe written out plainly with sklearn and a per-neuroid Pearson loop."""
    per_split = []
    for train, test in splitter.split(source, labels):
        prediction = estimator.fit(source[train], target[train]).predict(source[test])
        per_split.append(np.median([np.corrcoef(prediction[:, j], target[test, j])[0, 1]
                                    for j in range(target.shape[1])]))
    per_split = np.array(per_split)
    return per_split.mean(), per_split.std() / np.sqrt(len(per_split))


@pytest.mark.parametrize("name, estimator", [
    ("pls", PLSRegression(n_components=25, scale=False)),
    ("ridge", Ridge(alpha=1)),
    ("linear", LinearRegression()),
    ("ridgecv", RidgeCV(alphas=DEFAULT_ALPHAS)),
])
def test_matches_the_sklearn_recipe(name, estimator):
    source, target = linear_data()
    score = load_metric(name)(neural(source), neural(target))
    value, error = straightforward_score(estimator, source, target, ShuffleSplit(10, train_size=0.9, random_state=1))
    assert score.value == pytest.approx(value, abs=1e-9)
    assert score.error == pytest.approx(error, abs=1e-9)
    assert score.attrs["per_split_per_neuroid"].shape == (10, 12)
    assert score.per_split == pytest.approx(np.median(score.attrs["per_split_per_neuroid"], axis=1))


def test_pls_of_a_wide_source_matches_sklearn():
    source, target = linear_data(seed=3, stimuli=120, features=700, neuroids=5)
    score = load_metric("pls")(neural(source), neural(target))
    value, _ = straightforward_score(PLSRegression(25, scale=False), source, target,
                                     ShuffleSplit(10, train_size=0.9, random_state=1))
    assert score.value == pytest.approx(value, abs=1e-9)


def test_stratified_splits_follow_sklearn():
    source, target = linear_data(seed=1)
    objects = np.repeat(np.array(["car", "dog", "face", "tree"]), 50)
    score = load_metric("ridge", stratification_coord="object_name")(
        neural(source), neural(target, object_name=objects))
    value, _ = straightforward_score(Ridge(alpha=1), source, target,
                                     StratifiedShuffleSplit(10, train_size=0.9, random_state=1), objects)
    assert score.value == pytest.approx(value, abs=1e-9)
    assert score.attrs["options"]["stratification_coord"] == "object_name"


def test_an_assembly_regressed_on_itself_gives_one():
    source, _ = linear_data(seed=2, stimuli=300, features=25)  # PLS-25 then spans the whole source
    source *= 1.0 / np.arange(1, 26)  # distinct singular values keep NIPALS' power iterations short
    for name, options in [("pls", {}), ("linear", {}), ("ridgecv", {}), ("ridge", {"alpha": 1e-6})]:
        score = load_metric(name, **options)(neural(source), neural(source))
        assert score.value == pytest.approx(1.0, abs=1e-5), name


def test_pls_components_are_capped_at_the_source_rank():
    source, target = linear_data(features=20)
    score = load_metric("pls")(neural(source), neural(target))
    expected, _ = straightforward_score(PLSRegression(n_components=20, scale=False), source, target,
                                        ShuffleSplit(n_splits=10, train_size=0.9, random_state=1))
    assert score.value == pytest.approx(expected, abs=1e-9)
    assert (score.attrs["n_components"], score.attrs["source_rank"], score.attrs["n_components_capped_at_rank"]) \
        == (20, 20, True)


def test_a_pure_noise_target_gives_zero():
    rng = np.random.default_rng(4)
    score = load_metric("pls")(neural(rng.normal(size=(500, 40))), neural(rng.normal(size=(500, 30))))
    assert abs(score.value) < 0.05


def test_target_is_averaged_over_repetitions_and_aligned_by_stimulus_id():
    source, target = linear_data(seed=5)
    rng = np.random.default_rng(5)
    trials = target[None] + rng.normal(size=(3, *target.shape))
    shuffled = rng.permutation(len(source))
    averaged = load_metric("ridge")(neural(source), neural(trials.mean(axis=0)))
    from_trials = load_metric("ridge")(neural(source[shuffled], stimulus_names(len(source))[shuffled]),
                                       with_repetitions(trials))
    assert from_trials.value == pytest.approx(averaged.value, abs=1e-12)


def test_source_and_target_need_the_same_stimuli():
    source, target = linear_data()
    with pytest.raises(ValueError, match="same set of stimulus_id.*only in source: stim0199"):
        load_metric("pls")(neural(source), neural(target[:-1]))


def test_too_few_stimuli_for_the_splits():
    source, target = linear_data(stimuli=10)
    with pytest.raises(ValueError, match="Too few stimuli for the splits: 10 stimuli .* 1 for testing"):
        load_metric("ridge")(neural(source), neural(target))


def test_constant_neuroids_are_rejected():
    source, target = linear_data()
    target[:, 3] = 7.0
    with pytest.raises(ValueError, match="constant neuroids .*n3"):
        load_metric("pls")(neural(source), neural(target))


def test_nans_are_rejected():
    source, target = linear_data()
    source[10, 2] = np.nan
    with pytest.raises(ValueError, match="source contains NaN values at presentations with stimulus_id stim0010"):
        load_metric("pls")(neural(source), neural(target))


def test_wrong_dims_are_rejected():
    source, target = linear_data()
    with pytest.raises(ValueError, match="exactly the dims"):
        load_metric("pls")(neural(source).rename(neuroid="unit"), neural(target))


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="choose one of: cka, cka_biased"):
        load_metric("plss")
    assert {"pls", "ridge", "linear", "ridgecv", "rdm", "rdm_cv", "cka", "cka_biased"} <= set(metric_names())


def test_options_and_split_matrix_are_recorded():
    source, target = linear_data()
    score = load_metric("ridgecv", splits=4, random_state=7)(neural(source), neural(target))
    assert score.attrs["options"]["splits"] == 4 and score.attrs["random_state"] == 7
    assert len(score.per_split) == 4 and len(score.attrs["alpha_per_split"]) == 4
    assert list(score.attrs["neuroid_id"][:2]) == ["n0", "n1"]


@pytest.mark.parametrize("name", ["pls", "ridge", "cka", "rdm"])
def test_a_wide_source_is_never_copied_whole(name):
    """40k float32 features: no features x features matrix, not even one float64 copy of the source."""
    import tracemalloc

    rng = np.random.default_rng(8)
    source = rng.normal(size=(200, 40_000)).astype(np.float32)
    target = source[:, :5].astype(float) * [1, 2, 3, 4, 5] + rng.normal(size=(200, 5))
    tracemalloc.start()
    load_metric(name)(neural(source), neural(target))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < source.nbytes, f"peak {peak / 1e6:.0f} MB for a {source.nbytes / 1e6:.0f} MB source"


def test_options_are_checked_when_the_metric_is_built():
    with pytest.raises(ValueError, match=r"Unknown options \['alpha'\] for 'pls'; it takes .*n_components"):
        load_metric("pls", alpha=1.0)
    with pytest.raises(ValueError, match="0 < train_size < 1"):
        load_metric("ridge", train_size=1.5)


def test_numeric_stimulus_ids_sort_as_numbers():
    source, target = linear_data(stimuli=120)
    numbers = np.arange(120)
    as_numbers = load_metric("ridge")(neural(source, numbers), neural(target, numbers))
    # zero-padded strings sort like the numbers, so the splits, and the score, are the same
    as_padded = load_metric("ridge")(neural(source, stimulus_names(120)), neural(target, stimulus_names(120)))
    assert as_numbers.value == pytest.approx(as_padded.value, abs=1e-12)
    with pytest.raises(ValueError, match="stimulus_id values are int64 but the target's are <U"):
        load_metric("ridge")(neural(source, numbers), neural(target, numbers.astype(str)))


def sklearn_pls(source, target, splits, n_components=25, **options):
    """The reference: sklearn's ``PLSRegression(scale=False)`` fitted and applied per split."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y residual is constant", ConvergenceWarning
        return [PLSRegression(n_components, scale=False, **options).fit(source[train], target[train])
                .predict(source[test]) for train, test in splits]


@pytest.fixture
def pls_batches(monkeypatch):
    """The number of fits in each call of the batched PLS, as the metric makes them."""
    batches = []

    def spy(train_grams, *args, **kwargs):
        batches.append(len(train_grams))
        return kernel_pls_predict_splits(train_grams, *args, **kwargs)
    monkeypatch.setattr(regression, "kernel_pls_predict_splits", spy)
    return batches


def metric_pls(source, target, splits, n_components=25):
    """The PLS metric's predictions for the given splits, through its batched path."""
    predictor = regression._pls_predictor(source @ source.T, n_components, n_features=source.shape[1])
    means = [target[train].mean(axis=0) for train, _ in splits]
    predictions = predictor.splits(splits, (target[train] - mean for (train, _), mean in zip(splits, means)))
    return [prediction + mean for prediction, mean in zip(predictions, means)]


def assert_each_split_matches(ours, reference, atol=1e-9):
    assert len(ours) == len(reference)
    for split, (prediction, expected) in enumerate(zip(ours, reference)):
        np.testing.assert_allclose(prediction, expected, rtol=0, atol=atol, err_msg=f"split {split}")


@pytest.mark.parametrize("neuroids", [12, 1])
def test_pls_splits_are_fitted_together_and_each_matches_sklearn(neuroids, pls_batches):
    # With one neuroid, 25 components are a Krylov basis of 25 vectors, whose rounding sklearn amplifies to
    # ~1e-7 on some sources (this implementation's rounding differs from sklearn's); this one stays ~1e-10.
    source, target = linear_data(seed=6, stimuli=100, features=60, neuroids=neuroids)
    splits = list(ShuffleSplit(10, train_size=0.9, random_state=1).split(source))
    assert_each_split_matches(metric_pls(source, target, splits), sklearn_pls(source, target, splits))
    assert pls_batches == [10]
    score = load_metric("pls")(neural(source), neural(target))
    value, error = straightforward_score(PLSRegression(25, scale=False), source, target,
                                         ShuffleSplit(10, train_size=0.9, random_state=1))
    assert score.value == pytest.approx(value, abs=1e-9) and score.error == pytest.approx(error, abs=1e-9)
    assert pls_batches == [10, 10]


def test_pls_with_stratified_splits_matches_sklearn(pls_batches):
    source, target = linear_data(seed=1, stimuli=120, features=50, neuroids=6)
    objects = np.repeat(np.array(["car", "dog", "face", "tree"]), 30)
    splitter = StratifiedShuffleSplit(10, train_size=0.9, random_state=1)
    splits = list(splitter.split(source, objects))
    assert_each_split_matches(metric_pls(source, target, splits), sklearn_pls(source, target, splits))
    score = load_metric("pls", stratification_coord="object_name")(
        neural(source), neural(target, object_name=objects))
    value, _ = straightforward_score(PLSRegression(25, scale=False), source, target, splitter, objects)
    assert score.value == pytest.approx(value, abs=1e-9)
    assert pls_batches == [10, 10]


def test_pls_zeroes_constant_and_near_zero_target_columns_as_sklearn_does():
    source, target = linear_data(seed=9, stimuli=100, features=30, neuroids=5)
    target[:, 1] = 3.0                                                             # centred: exactly zero
    target[:, 3] = 1e-17 * np.random.default_rng(9).normal(size=len(target))  # below sklearn's 10 eps
    splits = list(ShuffleSplit(4, train_size=0.9, random_state=1).split(source))
    ours, reference = metric_pls(source, target, splits, n_components=8), sklearn_pls(source, target, splits, 8)
    assert_each_split_matches(ours, reference)
    assert all(np.all(prediction[:, 1] == 3.0) for prediction in ours)


def eigenvector_target(rng, stimuli, features):
    """A source and a target whose first PLS component explains the target entirely (centred)."""
    basis, _ = np.linalg.qr(rng.normal(size=(stimuli, features)))
    basis, _ = np.linalg.qr(basis - basis.mean(axis=0))  # centred orthonormal columns
    source = basis * np.linspace(3, 1, features) + rng.normal(size=features)
    return source, np.column_stack([2 * basis[:, 0] + 1, -basis[:, 0]])


def test_each_fit_of_a_batch_stops_where_sklearn_stops():
    """Fits whose y residual becomes constant (from the start, after one component) leave the others unchanged."""
    rng = np.random.default_rng(10)
    n_train, n_test, features = 40, 8, 30
    fits = [linear_data(seed=11, stimuli=n_train, features=features, neuroids=2), None, None,
            linear_data(seed=12, stimuli=n_train, features=features, neuroids=2)]
    fits[1] = (rng.normal(size=(n_train, features)), np.ones((n_train, 2)))
    fits[2] = eigenvector_target(rng, n_train, features)
    test_sources = rng.normal(size=(len(fits), n_test, features))
    with pytest.warns(UserWarning, match="y residual is constant at iteration 1"):
        PLSRegression(5, scale=False).fit(*fits[2])
    grams, test_grams, targets, expected = [], [], [], []
    for (source, target), test_source in zip(fits, test_sources):
        mean, centred = source.mean(axis=0), source - source.mean(axis=0)
        grams.append(centred @ centred.T)
        test_grams.append((test_source - mean) @ centred.T)
        targets.append(target - target.mean(axis=0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected.append(PLSRegression(5, scale=False).fit(source, target).predict(test_source)
                            - target.mean(axis=0))
    together = kernel_pls_predict_splits(np.stack(grams), np.stack(test_grams), np.stack(targets), n_components=5)
    assert_each_split_matches(together, expected)
    assert_each_split_matches(together, [kernel_pls_predict(*fit, n_components=5)
                                         for fit in zip(grams, test_grams, targets)], atol=1e-12)
    assert np.all(together[1] == 0)


@pytest.mark.parametrize("max_iter", [3, 20])
def test_pls_that_reaches_max_iter_keeps_sklearns_last_iterate(max_iter):
    source, target = linear_data(seed=13, stimuli=80, features=40, neuroids=6, noise=3.0)
    splits = list(ShuffleSplit(3, train_size=0.9, random_state=1).split(source))
    grams, test_grams, targets, means = [], [], [], []
    for train, test in splits:
        mean, centred = source[train].mean(axis=0), source[train] - source[train].mean(axis=0)
        grams.append(centred @ centred.T)
        test_grams.append((source[test] - mean) @ centred.T)
        means.append(target[train].mean(axis=0))
        targets.append(target[train] - means[-1])
    together = kernel_pls_predict_splits(np.stack(grams), np.stack(test_grams), np.stack(targets),
                                         n_components=6, max_iter=max_iter)
    assert_each_split_matches(together + np.array(means)[:, None],
                              sklearn_pls(source, target, splits, 6, max_iter=max_iter))


def test_pls_splits_of_unequal_sizes_or_past_the_memory_bound_are_fitted_apart(pls_batches, monkeypatch):
    source, target = linear_data(seed=14, stimuli=100, features=30, neuroids=4)
    order = np.random.default_rng(14).permutation(100)
    splits = [(order[:90], order[90:])] * 3 + [(order[:80], order[80:])] * 2 + [(order[:90], order[90:])]
    assert_each_split_matches(metric_pls(source, target, splits), sklearn_pls(source, target, splits))
    assert pls_batches == [3, 2, 1]
    monkeypatch.setattr(regression, "PLS_BATCH_BYTES", 2 * 8 * 90 ** 2)
    assert_each_split_matches(metric_pls(source, target, splits), sklearn_pls(source, target, splits))
    assert pls_batches[3:] == [2, 1, 2, 1]


@pytest.mark.parametrize("n_components, features, stimuli, message", [
    (5, 30, 10, "Too few stimuli for the splits: 10 stimuli with train_size=0.9 leave 9 for training and 1"),
])
def test_pls_errors_are_unchanged(n_components, features, stimuli, message):
    source, target = linear_data(stimuli=stimuli, features=features)
    with pytest.raises(ValueError, match=message):
        load_metric("pls", n_components=n_components)(neural(source), neural(target))


def test_a_source_of_lower_rank_than_n_components_is_capped_and_stable():
    """Past the source's rank, components fit rounding noise; capped at the rank, a column permutation and a
    rescaling of the source leave the score unchanged."""
    rng = np.random.default_rng(15)
    source = rng.normal(size=(120, 3)) @ rng.normal(size=(3, 30))
    for neuroids in (4, 1):
        target = neural(rng.normal(size=(120, neuroids)) + source[:, :1])
        score = load_metric("pls")(neural(source), target)
        moved = load_metric("pls")(neural(1e-9 * source[:, rng.permutation(30)]), target)
        assert score.attrs["n_components"] == 3
        assert moved.value == pytest.approx(score.value, abs=1e-9)
