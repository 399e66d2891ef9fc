from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.cortexscore.models.helpers import CountingNet
from cortexscore.models.activations import PytorchActivations
from cortexscore.models.commitment import reduce_for_selection, select_layer
from cortexscore.models.committed_model import CommittedModel
from cortexscore.models.errors import ModelError


def test_select_layer_takes_the_best_finite_score():
    assert select_layer({"a": 0.1, "b": float("nan"), "c": 0.3, "d": 0.2}) == "c"
    with pytest.raises(ValueError, match="every candidate layer scored NaN"):
        select_layer({"a": float("nan")})
    with pytest.raises(ValueError, match="layer_scores is empty"):
        select_layer({})


def test_pca_reduction_keeps_the_leading_variance():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(40, 3)) @ rng.normal(size=(3, 1500)) * 10
    features = signal + rng.normal(size=signal.shape) * 0.01
    reduced = reduce_for_selection(features, n_components=5)
    assert reduced.shape == (40, 5)
    explained = reduced.var(axis=0).sum() / features.var(axis=0).sum()
    assert explained > 0.999
    np.testing.assert_array_equal(reduce_for_selection(features[:, :5], n_components=5), features[:, :5])
    np.testing.assert_array_equal(reduce_for_selection(features, 5), reduce_for_selection(features, 5))


@pytest.fixture
def model(preprocessing16):
    return CommittedModel("counting", PytorchActivations(CountingNet(), preprocessing16, "counting"),
                          layers=["features.1", "logits"])


def test_recording_needs_a_committed_region(model, image_paths):
    with pytest.raises(ModelError, match=r"no layer committed for region 'V4'.*commit\('V4', layer\)"):
        model.start_recording("V4")
    with pytest.raises(ModelError, match="has no layer 'nope'"):
        model.commit("V4", "nope")


def test_recording_over_several_time_bins_repeats_the_response(model, image_paths):
    model.commit("V1", "features.1")
    model.start_recording("V1", [(70, 170), (170, 270)])
    recording = model.look_at(image_paths)
    assert recording.dims == ("presentation", "neuroid", "time_bin") and recording.shape == (5, 1024, 2)
    np.testing.assert_array_equal(recording.isel(time_bin=0), recording.isel(time_bin=1))
    assert list(recording["time_bin_start"].values) == [70, 170]
    assert set(recording["region"].values) == {"V1"}


def test_label_task_reads_imagenet_logits_or_a_fitted_readout(model, image_paths):
    model.start_task("label", "imagenet")
    labels = model.look_at(image_paths)
    assert labels.dims == ("presentation",) and labels.values.max() < 30
    table = pd.DataFrame({"stimulus_id": [p.stem for p in image_paths], "image_path": [str(p) for p in image_paths],
                          "image_label": list("xyxyx")})
    model.start_task("label", table)
    assert set(model.look_at(table).values) <= {"x", "y"}


def test_task_and_commitment_errors_say_what_to_do(model, image_paths):
    with pytest.raises(ValueError, match="task must be one of"):
        model.start_task("dance")
    with pytest.raises(ValueError, match="needs fitting_stimuli"):
        model.start_task("probabilities")
    model.start_task("passive")
    with pytest.raises(ValueError, match="the model is passive"):
        model.look_at(image_paths)
    with pytest.raises(ModelError, match="visual_degrees must be between 0 and 9000"):
        CommittedModel("m", model.activations_model, ["logits"], visual_degrees=0)
    with pytest.raises(ModelError, match="layers must be a non-empty list"):
        CommittedModel("m", model.activations_model, "logits")
