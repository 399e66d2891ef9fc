import numpy as np
import pytest
import scipy.stats

from cortexscore.metrics import load_metric
from cortexscore.metrics.representational import cka
from tests.cortexscore.metrics.assemblies import neural, stimulus_names


def random_pair(seed=0, stimuli=40):
    rng = np.random.default_rng(seed)
    source = rng.normal(size=(stimuli, 15))
    return source, source @ rng.normal(size=(15, 8)) + rng.normal(size=(stimuli, 8))


def test_rdm_of_identical_inputs_is_one():
    source, _ = random_pair()
    assert float(load_metric("rdm")(neural(source), neural(source))) == pytest.approx(1.0, abs=1e-12)
    assert float(load_metric("rdm_cv")(neural(source), neural(source))) == pytest.approx(1.0, abs=1e-12)


def test_rdm_is_spearman_of_upper_triangles_in_stimulus_order():
    source, target = random_pair()
    upper = np.triu_indices(40, k=1)
    expected = scipy.stats.spearmanr((1 - np.corrcoef(source))[upper], (1 - np.corrcoef(target))[upper])[0]
    shuffled = np.random.default_rng(1).permutation(40)
    score = load_metric("rdm")(neural(source[shuffled], stimulus_names(40)[shuffled]), neural(target))
    assert score.value == pytest.approx(expected, abs=1e-12)


def test_rdm_pools_subjects_by_default_and_averages_them_when_asked():
    source, target = random_pair()
    assembly = neural(target)
    assembly = assembly.assign_coords(subject=("neuroid", ["a"] * 4 + ["b"] * 4))
    pooled = load_metric("rdm")(neural(source), assembly)
    assert pooled.value == pytest.approx(float(load_metric("rdm")(neural(source), neural(target))), abs=1e-12)
    score = load_metric("rdm", subject_coord="subject")(neural(source), assembly)
    per_subject = [float(load_metric("rdm")(neural(source), neural(target[:, part])))
                   for part in (slice(0, 4), slice(4, 8))]
    assert score.value == pytest.approx(np.mean(per_subject), abs=1e-12)
    assert score.attrs["subjects"] == ["a", "b"]


def test_rdm_cv_evaluates_ninety_percent_per_split():
    source, target = random_pair(stimuli=50)
    score = load_metric("rdm_cv")(neural(source), neural(target))
    assert len(score.per_split) == 10 and score.attrs["options"]["test_size"] == 0.9
    assert 0 < score.value < 1 and score.error > 0


def test_rdm_rejects_a_stimulus_constant_over_neuroids():
    source, target = random_pair()
    source[5] = 1.0
    with pytest.raises(ValueError, match="same value on every neuroid.*stim0005"):
        load_metric("rdm")(neural(source), neural(target))


@pytest.mark.parametrize("name", ["cka", "cka_biased"])
def test_cka_is_invariant_to_orthogonal_transforms_and_isotropic_scaling(name):
    source, target = random_pair(seed=3)
    rotation, _ = np.linalg.qr(np.random.default_rng(4).normal(size=(15, 15)))
    metric = load_metric(name)
    original = metric(neural(source), neural(target)).value
    assert metric(neural(2.5 * source @ rotation), neural(target)).value == pytest.approx(original, abs=1e-12)
    assert metric(neural(source), neural(source)).value == pytest.approx(1.0, abs=1e-12)


def test_unbiased_cka_matches_the_formula():
    source, target = random_pair(seed=5, stimuli=12)

    def hsic(k, l):
        n = len(k)
        k, l = k - np.diag(np.diag(k)), l - np.diag(np.diag(l))
        ones = np.ones(n)
        return (np.trace(k @ l) + (ones @ k @ ones) * (ones @ l @ ones) / ((n - 1) * (n - 2))
                - 2 * ones @ k @ l @ ones / (n - 2)) / (n * (n - 3))

    k, l = source @ source.T, target @ target.T
    assert cka(source, target) == pytest.approx(hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l)), abs=1e-12)


def test_biased_cka_matches_the_formula():
    source, target = random_pair(seed=6, stimuli=12)
    centering = np.eye(12) - 1 / 12
    k, l = centering @ source @ source.T @ centering, centering @ target @ target.T @ centering
    assert cka(source, target, unbiased=False) == pytest.approx((k * l).sum() / np.sqrt((k * k).sum() * (l * l).sum()))


def test_cka_needs_four_stimuli():
    with pytest.raises(ValueError, match="at least 4 stimuli, got 3"):
        cka(np.eye(3), np.eye(3))
