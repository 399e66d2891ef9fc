import numpy as np
import pytest
import scipy.stats

from cortexscore.ceilings import load_ceiling
from tests.cortexscore.metrics.assemblies import neural


def subjects_assembly(seed=0, subjects=4, noise=1.0):
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(30, 6))
    blocks = [signal + noise * rng.normal(size=signal.shape) for _ in range(subjects)]
    assembly = neural(np.hstack(blocks))
    return assembly.assign_coords(subject=("neuroid", np.repeat([f"sub{i}" for i in range(subjects)], 6))), blocks


def test_upper_and_lower_bounds_follow_nili():
    assembly, blocks = subjects_assembly()
    rdms = [1 - np.corrcoef(block) for block in blocks]
    upper_triangle = np.triu_indices(30, k=1)

    def spearman(a, b):
        return scipy.stats.spearmanr(a[upper_triangle], b[upper_triangle])[0]

    mean_rdm = np.mean(rdms, axis=0)
    upper = np.mean([spearman(r, mean_rdm) for r in rdms])
    lower = np.mean([spearman(r, np.mean([o for j, o in enumerate(rdms) if j != i], axis=0))
                     for i, r in enumerate(rdms)])
    score = load_ceiling("rdm_subjects")(assembly)
    assert score.value == pytest.approx(upper, abs=1e-12)
    assert score.attrs["lower_bound"] == pytest.approx(lower, abs=1e-12)
    assert score.attrs["lower_bound"] < score.value


def test_identical_subjects_give_one():
    assembly, _ = subjects_assembly(noise=0.0)
    score = load_ceiling("rdm_subjects")(assembly)
    assert (score.value, score.attrs["lower_bound"]) == pytest.approx((1.0, 1.0), abs=1e-12)


def test_needs_two_subjects():
    assembly, _ = subjects_assembly(subjects=1)
    with pytest.raises(ValueError, match="at least 2 subjects"):
        load_ceiling("rdm_subjects")(assembly)


def test_needs_a_subject_coordinate():
    assembly, _ = subjects_assembly()
    with pytest.raises(ValueError, match="needs a 'subject' coordinate on the 'neuroid' dim"):
        load_ceiling("rdm_subjects")(assembly.drop_vars("subject"))
