import numpy as np
import pytest
import xarray as xr

from cortexscore.ceilings import load_ceiling
from cortexscore.metrics import load_metric


def trials(choices, stimuli, truth, condition, subject=None):
    coords = {"stimulus_id": ("presentation", stimuli), "truth": ("presentation", truth),
              "condition": ("presentation", condition)}
    if subject is not None:
        coords["subject"] = ("presentation", subject)
    return xr.DataArray(np.asarray(choices), dims="presentation", coords=coords)


def random_humans(seed=0, subjects=3, stimuli=40):
    rng = np.random.default_rng(seed)
    labels = np.array(["cat", "dog", "car"])
    truth = labels[rng.integers(0, 3, stimuli)]
    ids = [f"img{i}" for i in range(stimuli)]
    conditions = np.where(np.arange(stimuli) < stimuli // 2, "low", "high")
    choices = [np.where(rng.random(stimuli) < 0.7, truth, labels[rng.integers(0, 3, stimuli)]) for _ in range(subjects)]
    return trials(np.concatenate(choices), ids * subjects, np.tile(truth, subjects), np.tile(conditions, subjects),
                  np.repeat([f"s{i}" for i in range(subjects)], stimuli))


def test_a_subject_with_itself_gives_one():
    humans = random_humans(subjects=1)
    model = humans.drop_vars(["subject"])
    assert float(load_metric("error_consistency")(model, humans)) == pytest.approx(1.0, abs=1e-12)


def test_hand_computed_kappa():
    # 10 trials, one subject, one condition. Model right on 1-6, human right on 1-4 and 7-8.
    truth = ["cat"] * 10
    model = ["cat"] * 6 + ["dog"] * 4
    human = ["cat"] * 4 + ["dog"] * 2 + ["cat"] * 2 + ["dog"] * 2
    ids = [f"i{k}" for k in range(10)]
    # a_m = .6, a_h = .6, c_exp = .36 + .16 = .52; c_obs = (4 both right + 2 both wrong) / 10 = .6
    expected = (0.6 - 0.52) / (1 - 0.52)
    score = load_metric("error_consistency")(
        xr.DataArray(model, dims="presentation", coords={"stimulus_id": ("presentation", ids)}),
        trials(human, ids, truth, ["c"] * 10, ["s"] * 10))
    assert score.value == pytest.approx(expected, abs=1e-12)
    assert score.attrs["kappa"].shape == (1, 1)


def test_aggregate_is_mean_over_subjects_of_mean_over_conditions():
    humans = random_humans(seed=1)
    rng = np.random.default_rng(2)
    ids = np.unique(humans["stimulus_id"].values)
    model_choices = rng.choice(["cat", "dog", "car"], len(ids))
    model = xr.DataArray(model_choices, dims="presentation", coords={"stimulus_id": ("presentation", ids)})
    score = load_metric("error_consistency")(model, humans)
    kappas = score.attrs["kappa"]
    assert kappas.shape == (3, 2)
    assert score.value == pytest.approx(abs(kappas.mean(axis=1).mean()))
    assert score.error == pytest.approx(kappas.std())


def test_human_pair_ceiling_of_identical_subjects_is_one():
    one = random_humans(subjects=1)
    two = xr.concat([one, one.assign_coords(subject=("presentation", ["s1"] * one.sizes["presentation"]))],
                    dim="presentation")
    score = load_ceiling("error_consistency")(two)
    assert float(score) == pytest.approx(1.0, abs=1e-12)
    assert score.attrs["rows"] == [("s0", "s1")]


def test_ceiling_covers_every_pair():
    score = load_ceiling("error_consistency")(random_humans(subjects=4))
    assert len(score.attrs["rows"]) == 6 and 0 <= score.value <= 1


def test_missing_model_choices_are_an_error():
    humans = random_humans(subjects=1)
    model = humans.drop_vars(["subject"]).isel(presentation=slice(1, None))
    with pytest.raises(ValueError, match="no choice for the human-tested stimulus_id img0"):
        load_metric("error_consistency")(model, humans)


def test_missing_coordinates_are_named():
    with pytest.raises(ValueError, match=r"need the 'presentation' coordinates \['subject'\]"):
        load_metric("error_consistency")(random_humans().drop_vars("subject"), random_humans().drop_vars("subject"))


def test_i2n_of_a_model_that_generated_the_human_trials_is_high():
    rng = np.random.default_rng(0)
    labels, images = ["car", "dog", "face"], [f"im{i}" for i in range(60)]
    truth = np.repeat(labels, 20)
    probabilities = rng.dirichlet([2, 2, 2], size=60)
    model = xr.DataArray(probabilities, dims=("presentation", "choice"),
                         coords={"stimulus_id": ("presentation", images), "choice": labels})
    rows = []
    for image, true in zip(images, truth):
        p = probabilities[images.index(image)]
        for distractor in labels:
            if distractor == true:
                continue
            p_true = p[labels.index(true)] / (p[labels.index(true)] + p[labels.index(distractor)])
            for _ in range(30):
                rows.append((image, true, distractor, true if rng.random() < p_true else distractor))
    image, true, distractor, choice = map(np.array, zip(*rows))
    human = xr.DataArray(choice, dims="presentation", coords={
        "stimulus_id": ("presentation", image), "truth": ("presentation", true),
        "distractor": ("presentation", distractor)})
    score = load_metric("i2n")(model, human)
    assert len(score.per_split) == 2
    assert score.value > 0.7
    shuffled = model.copy(data=probabilities[rng.permutation(60)])
    assert load_metric("i2n")(shuffled, human).value < score.value - 0.3
