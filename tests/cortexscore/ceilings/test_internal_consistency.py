import numpy as np
import pytest
from sklearn.model_selection import ShuffleSplit

from cortexscore.ceilings import ceiling_names, load_ceiling
from cortexscore.ceilings.internal_consistency import spearman_brown
from tests.cortexscore.metrics.assemblies import neural, with_repetitions


def noisy_trials(seed=0, repetitions=6, stimuli=80, neuroids=10, noise=1.0):
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(stimuli, neuroids))
    return signal[None] + noise * rng.normal(size=(repetitions, stimuli, neuroids))


def straightforward_ceiling(trials):
    """The split-half recipe written out plainly: halves of repetitions, Pearson, Spearman-Brown, median, mean."""
    per_split = []
    for half, other in ShuffleSplit(10, train_size=0.5, random_state=1).split(np.zeros(len(trials))):
        first, second = np.nanmean(trials[half], axis=0), np.nanmean(trials[other], axis=0)
        r = np.array([np.corrcoef(first[:, j], second[:, j])[0, 1] for j in range(trials.shape[2])])
        per_split.append(np.median(2 * r / (1 + r)))
    return np.mean(per_split), np.std(per_split) / np.sqrt(len(per_split))


def test_spearman_brown_of_one_half_is_two_thirds():
    assert spearman_brown(0.5) == pytest.approx(2 / 3, abs=1e-15)


def test_identical_repetitions_give_exactly_one():
    trials = np.repeat(noisy_trials(noise=0)[:1], 4, axis=0)
    score = load_ceiling("internal_consistency")(with_repetitions(trials))
    assert score.value == pytest.approx(1.0, abs=1e-12)
    assert score.error == pytest.approx(0.0, abs=1e-12)


def test_matches_the_split_half_recipe():
    trials = noisy_trials()
    score = load_ceiling("internal_consistency")(with_repetitions(trials))
    value, error = straightforward_ceiling(trials)
    assert (score.value, score.error) == pytest.approx((value, error), abs=1e-12)
    assert score.attrs["per_split_per_neuroid"].shape == (10, 10)


def test_missing_trials_are_skipped():
    trials = noisy_trials(seed=1)
    trials[0, :5, :] = np.nan  # repetition 0 missed the first 5 stimuli
    score = load_ceiling("internal_consistency")(with_repetitions(trials))
    value, _ = straightforward_ceiling(trials)
    assert score.value == pytest.approx(value, abs=1e-12)


def test_a_stimulus_missing_from_a_whole_half_is_an_error():
    trials = noisy_trials(repetitions=2)
    trials[0, 3, :] = np.nan
    with pytest.raises(ValueError, match="no non-NaN trial for stimulus_id stim0003"):
        load_ceiling("internal_consistency")(with_repetitions(trials))


def test_needs_a_repetition_coordinate():
    with pytest.raises(ValueError, match="needs a 'repetition' coordinate"):
        load_ceiling("internal_consistency")(neural(noisy_trials()[0]))


def test_needs_two_repetitions():
    with pytest.raises(ValueError, match="Too few repetition values for the splits"):
        load_ceiling("internal_consistency")(with_repetitions(noisy_trials(repetitions=1)))


def test_constant_neuroid_is_an_error():
    trials = noisy_trials()
    trials[:, :, 2] = 1.0
    with pytest.raises(ValueError, match=r"neuroids n2 \(1 in total\) are constant"):
        load_ceiling("internal_consistency")(with_repetitions(trials))


def test_unknown_ceiling_lists_the_valid_ones():
    with pytest.raises(ValueError, match="choose one of: error_consistency, internal_consistency, rdm_subjects"):
        load_ceiling("split_half")
    assert "internal_consistency" in ceiling_names()
